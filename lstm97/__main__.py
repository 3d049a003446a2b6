"""Command line: python -m lstm97 list | run EXPERIMENT [--trials N] [--scale smoke|paper] [--json]
| readme [--check]."""
import argparse
import json
import sys

from . import experiments, paper
from .runner import SCALES, RecordError, run_trials
from .summary import summarise


def _parser():
    ap = argparse.ArgumentParser(prog="python -m lstm97", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every configuration with its paper row")
    run = sub.add_parser("run", help="run the trials of one experiment, beside the paper's row")
    run.add_argument("experiment")
    run.add_argument("--trials", type=int, default=None, help="default: the paper's trial count")
    run.add_argument("--scale", default="smoke", choices=SCALES)
    run.add_argument("--scheduler", default=None, help="Dask scheduler address (or LSTM97_SCHEDULER)")
    run.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    run.add_argument("--results", default=None, help="default: data/results (paper), results/smoke (smoke)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--json", action="store_true", help="print one JSON object")
    readme = sub.add_parser("readme", help="rewrite the README's generated results from the records")
    readme.add_argument("--results", default="data/results")
    readme.add_argument("--file", default="README.md")
    readme.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the file's results differ from the records")
    return ap


def readme(results, path, check):
    """Replace the README's generated results block (summary.readme_block) with one from the records."""
    from pathlib import Path
    from .runner import load_records
    from .summary import README_BEGIN, README_END, readme_block
    text = Path(path).read_text()
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise ValueError(f"{path} needs exactly one {README_BEGIN!r} ... {README_END!r} block")
    records = {i: load_records(results, i) for i in experiments.EXPERIMENTS}
    pairs = [(experiments.EXPERIMENTS[i], r) for i, r in records.items() if r]
    block = readme_block(pairs, [i for i, r in records.items() if not r])
    head, rest = text.split(README_BEGIN)
    new = head + block + rest.split(README_END, 1)[1]
    if check:
        if new != text:
            print(f"{path}: the results block differs from the records in {results}; "
                  f"run python -m lstm97 readme", file=sys.stderr)
            return 1
        return 0
    Path(path).write_text(new)
    return 0


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def main(argv=None):
    ap = _parser()
    args = ap.parse_args(argv)
    if args.command == "list":
        print(f"{'id':<12} {'paper row':<26} {'criterion':<8} {'trials':>6} {'weights':>7} {'lr':>5}  budget")
        for e in experiments.EXPERIMENTS.values():
            rows = ", ".join(f"{paper.RESULTS[r]['table'] or 'text'} {r}" for r in e.rows)
            print(f"{e.id:<12} {rows:<26} {e.criterion:<8} {e.trials:>6} {e.n_weights:>7} {e.lr:>5}  {e.budget:,}")
        return 0
    if args.command == "readme":
        try:
            return readme(args.results, args.file, args.check)
        except (ValueError, RecordError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        exp = experiments.get(args.experiment)
        if args.trials is not None and args.trials < 1:
            raise ValueError(f"--trials must be a positive integer, got {args.trials}")
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be a positive integer, got {args.workers}")
        scheduler = args.scheduler
        if scheduler:
            from .runner import connect
            connect(scheduler).close()              # fail before anything is written
        results = args.results or ("data/results" if args.scale == "paper" else "results/smoke")
        records = run_trials(exp, args.trials, scale=args.scale, results=results, seed=args.seed,
                             scheduler=scheduler, workers=args.workers, progress=not args.json)
    except (ValueError, RecordError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table = summarise(exp, records)
    if args.json:
        print(json.dumps(table, default=str))
        return 0
    print(f"\n{exp.id}: {len(records)} trials at {args.scale} scale  ({results})")
    keys = [k for k in table["ours"][0] if k != "row"]
    print(f"{'':<18}" + "".join(f"{k:>16}" for k in keys))
    for ours, theirs in zip(table["ours"], table["paper"]):
        print(f"{'ours ' + ours['row']:<18}" + "".join(f"{_fmt(ours[k]):>16}" for k in keys))
        print(f"{'paper ' + theirs['row']:<18}" + "".join(f"{_fmt(theirs.get(k)):>16}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
