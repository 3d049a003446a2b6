"""Command line of lstm97.

  python -m lstm97 list
  python -m lstm97 run EXPERIMENT [--trials N] [--scale smoke|paper] [--results DIR] [--json]
  python -m lstm97 study [--train] [--results DIR]
  python -m lstm97 readme [--check]
  python -m lstm97 plan [--scale paper|smoke] [--workers W] [--notebooks 01 04 ...] [--results DIR]

The environment variable LSTM97_LANES (8, 16 or 32) sets the lane kernel's width, how many
trials a process trains at once in the lane engine; records are the same at every width
(lstm97/lanevec.py). Unset, it is 16, and 8 in the worker processes of a run that gives each of
them 8 trials or fewer. `run --lanes N` takes the same values.

`run` takes an experiment id of `list`, a paper row (5-13), or a main run followed by readings
(2c-5+cells-from-inputs, lstm97/readings.py). It writes one record per trial into
DIR/EXPERIMENT/ (default DIR: results/<scale> under the current directory), after checking that
DIR can be written, and reuses the records already there. The committed records in data/results
are written only when `--results data/results` is given explicitly, at paper scale, and never
beyond an experiment's configured trial count. `plan` prints what `make reproduce` would train,
per notebook, and its estimated wall time on W workers (lstm97/plan.py, lstm97/trialqueue.py),
without training. Paper citations such as "docs/paper.md §4.4"
refer to the project's description of the paper in docs/paper.md.
"""
import argparse
import json
import os
import signal
import sys
from pathlib import Path

try:
    from . import experiments, paper, plan as planning, readings, trialcost
    from .lanevec import LANES, width
    from .runner import (SCALES, SMOKE, RecordError, check_writable, checkpoint_path, connect,
                         load_records, record_path, run_trials, trial_count)
except ValueError as e:                     # a bad LSTM97_LANES (lanevec.width_from)
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
from .report import readme as rewrite_readme
from .summary import summarise

# The committed trial records of this checkout (behind the notebooks and the README).
COMMITTED = Path(__file__).resolve().parents[1] / "data" / "results"

# Paper row ids that are not experiment ids, e.g. "5-13" -> "5" (lstm97.paper.RESULTS rows
# are measured by the experiments whose Experiment.rows name them).
ALIASES = {row: e.id for e in experiments.EXPERIMENTS.values() if not e.variant
           for row in e.rows if row not in experiments.EXPERIMENTS}

# The columns of the run table, with readable headers; only those that apply are shown.
BASE_COLUMNS = {"trials": "trials", "success_pct": "success %", "mean": "mean seq",
                "median": "median seq", "min": "min seq", "max": "max seq", "ratio": "ratio"}
EXTRA_COLUMNS = {"st1": "ST1 at", "wrong": "wrong", "test_size": "test size",
                 "fraction_misclassified": "misclassified", "av_difference": "av. difference",
                 "mse": "MSE", "diverged": "diverged"}


class _Parser(argparse.ArgumentParser):
    """argparse, with errors as one line naming the problem and a pointer to --help (exit 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_from(lowest, what):
    """An argparse type: an integer >= lowest, or an error saying ``what`` was expected."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


_positive = _int_from(1, "a positive integer")
_seed = _int_from(0, "an integer >= 0")


def _experiment(text):
    """An experiment id (experiments.get: also a main run followed by readings), or a paper row
    id measured by one experiment (5-13 -> 5)."""
    if text in ALIASES:
        return text
    try:
        experiments.get(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}; paper rows {', '.join(ALIASES)} are also accepted "
                                         f"(python -m lstm97 list)") from None
    return text


def _parser():
    ap = _Parser(prog="python -m lstm97", description=__doc__,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="every configuration with its paper row")
    run = sub.add_parser(
        "run", help="run the trials of one experiment, beside the paper's row",
        description="Train the trials of one experiment that have no record yet in "
                    "RESULTS/EXPERIMENT/, then print them beside the paper's row. Says whether "
                    "it trained, resumed, or only read existing records.")
    run.add_argument("experiment", type=_experiment,
                     help="an id of python -m lstm97 list, or a paper row such as 5-13")
    run.add_argument("--trials", type=_positive, default=None, metavar="N",
                     help="trials 0..N-1 (default: the paper's trial count at paper scale, "
                          f"at most {SMOKE['trials']} at smoke scale)")
    run.add_argument("--scale", default="smoke", choices=SCALES,
                     help="paper: the paper's budgets; smoke: tiny budgets, seconds per trial "
                          "(default: smoke)")
    run.add_argument("--results", default=None, metavar="DIR",
                     help="folder of the trial records (default: results/<scale> under the "
                          "current directory). The committed records are written only with "
                          "--results data/results given explicitly, at paper scale and up to "
                          "the experiment's trial count")
    run.add_argument("--scheduler", default=None, help="Dask scheduler address (or LSTM97_SCHEDULER)")
    run.add_argument("--workers", type=_positive, default=None, metavar="N",
                     help="local processes (default: all cores)")
    run.add_argument("--lanes", default=str(LANES), metavar="N",
                     help="trials trained at once per process in the lane engine: 8, 16 or 32, as "
                          f"LSTM97_LANES (default {LANES}, the kernel's width)")
    run.add_argument("--seed", type=_seed, default=0, help="base seed, an integer >= 0 (default: 0)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    ap.run_parser = run
    study = sub.add_parser("study", help="the readings study (notebook 08): list its pre-registered "
                           "pairs with their records, or train the missing ones (--train)")
    study.add_argument("--results", default="data/results",
                       help="where the study's records are (default: the committed data/results, "
                            "which --train adds to: that is its purpose)")
    study.add_argument("--train", action="store_true", help="train every planned trial not recorded yet "
                       "(the results folder is checked to be writable first)")
    study.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    plan = sub.add_parser(
        "plan", help="what make reproduce trains, per notebook, and its estimated wall time; trains nothing",
        description="Per notebook, the trials make reproduce would train and their share of the time: "
                    "every trial packed into one queue of lane groups and single trials, each task "
                    "estimated from the committed records and scheduled longest first on W workers "
                    "(lstm97/trialqueue.py). The last line is 'N trials, estimated H h on W workers'.")
    plan.add_argument("--scale", default="paper", choices=SCALES, help="default: paper")
    plan.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, metavar="W",
                      help="processes or Dask worker threads the run has (default: this machine's cores)")
    plan.add_argument("--notebooks", nargs="+", default=None, metavar="NN",
                      help="the notebooks by number, e.g. 01 04 (default: all)")
    plan.add_argument("--results", default=None, metavar="DIR",
                      help="plan only what this folder of records lacks (default: a complete run, "
                           "nothing recorded)")
    plan.add_argument("--measure", action="store_true",
                      help="first measure, on this machine, what a trial-step, the work outside the "
                           "learner and a pass of the lanes cost for each experiment of the plan (about "
                           "a second each), and keep it in data/trial_costs.json, which the plan reads "
                           "(lstm97/trialcost.py)")
    ap.plan_parser = plan
    readme = sub.add_parser("readme", help="rewrite the README's generated results from the records, "
                            "and docs/experiments.md from the experiments")
    readme.add_argument("--results", default="data/results")
    readme.add_argument("--file", default="README.md")
    readme.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the file's results differ from the records "
                        "or docs/experiments.md from the experiments")
    return ap


PLANNED_WORKERS = (2, 16, 64)     # the machine sizes the README plans a complete run for


def readme(results, path, check):
    """Rewrite (or check) the README's generated blocks, headline figure and docs/experiments.md
    (lstm97.report), with the queue's plan of a complete run on PLANNED_WORKERS workers."""
    notebooks = sorted((planning.ROOT / "notebooks").glob("[0-9]*.ipynb"))
    planned = []
    for w in PLANNED_WORKERS:
        p = planning.make_plan(notebooks, "paper", None, w, basis=results)
        planned.append((w, sum(len(s.missing) for _, steps in p.notebooks for s in steps), p.hours()))
    return rewrite_readme(results, path, check, planned=planned)


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def format_run_table(table):
    """Ours beside the paper's row(s), with only the columns that apply to the experiment: the
    base columns, and each further one for which ours or the paper has a value."""
    rows = [r for o, p in zip(table["ours"], table["paper"])
            for r in ((f"ours {o['row']}", o), (f"paper {p['row']}", p))]
    extra = [k for k in EXTRA_COLUMNS
             if any(row.get(k) if k == "diverged" else row.get(k) is not None for _, row in rows)]
    labels = {**BASE_COLUMNS, **EXTRA_COLUMNS}
    keys = list(BASE_COLUMNS) + extra
    body = [[name] + [_fmt(row.get(k)) for k in keys] for name, row in rows]
    head = [""] + [labels[k] for k in keys]
    widths = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in body])


def _committed(folder):
    """'exact' if folder is the committed data/results, 'inside' if it lies within it, else ''."""
    committed = COMMITTED.resolve()
    if folder == committed:
        return "exact"
    return "inside" if committed in folder.parents else ""


def _recorded(folder, exp_id, trials):
    return [t for t in range(trials) if record_path(folder, exp_id, t).exists()]


def _on_interrupt(signum, frame):
    """Ctrl-C: stop the local worker processes at once, then interrupt the run (an unfinished
    trial resumes from its last checkpoint next time). Without this the process pool would
    first run its queued trials."""
    import multiprocessing
    for child in multiprocessing.active_children():
        child.terminate()
    raise KeyboardInterrupt


def run(ap, args):
    lanes = width(args.lanes, "--lanes")     # the rule and the error of LSTM97_LANES (exit 2)
    exp = experiments.get(ALIASES.get(args.experiment, args.experiment))
    say = lambda msg: print(msg, file=sys.stderr)
    trials = args.trials or trial_count(exp, args.scale)
    given = args.results or os.path.join("results", args.scale)
    folder = Path(given).resolve()
    if folder.exists() and not folder.is_dir():
        ap.error(f"argument --results: {given} exists and is not a folder")
    where = _committed(folder)
    if where == "inside":
        ap.error(f"argument --results: {given} lies inside the committed records {COMMITTED}; "
                 f"name another folder (or exactly {COMMITTED} to add to them)")
    if where == "exact":
        if args.scale != "paper":
            ap.error(f"argument --scale: the committed records in {COMMITTED} are paper scale; "
                     f"write {args.scale}-scale trials to another --results folder")
        if trials > exp.trials:
            ap.error(f"argument --trials: {exp.id} has {exp.trials} trials; the committed records "
                     f"in {COMMITTED} take no more (use another --results folder for extra trials)")
    check_writable(folder)                               # ValueError: one line, exit 2
    scheduler = args.scheduler or os.environ.get("LSTM97_SCHEDULER") or None
    if scheduler:
        try:
            connect(scheduler).close()                   # fail before anything is written
        except ValueError as e:
            ap.error(f"{'argument --scheduler' if args.scheduler else 'LSTM97_SCHEDULER'}: {e}")
    if args.experiment != exp.id:
        say(f"{args.experiment} is a paper row of experiment {exp.id}; running {exp.id}")
    out = folder / exp.id
    before = _recorded(folder, exp.id, trials)
    if where:
        say(f"writing into the committed records {COMMITTED} (named with --results)")
    if not before:
        say(f"training {trials} trial{'s' * (trials != 1)} of {exp.id} at {args.scale} scale into {out}")
    elif len(before) < trials:
        say(f"resuming: {len(before)} of {trials} trials already recorded in {out}; "
            f"training the other {trials - len(before)}")
    else:
        say(f"nothing to train: {'all ' * (trials > 1)}{trials} trial{'s' * (trials != 1)} "
            f"already recorded in {out}")
    midway = [t for t in range(trials) if t not in before and checkpoint_path(folder, exp.id, t).exists()]
    if midway and not scheduler:
        say(f"{len(midway)} of them resume{'s' * (len(midway) == 1)} from the checkpoint a stopped run left "
            f"(trial{'s' * (len(midway) != 1)} {', '.join(map(str, midway))})")
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:           # not when Ctrl-C is ignored
        signal.signal(signal.SIGINT, _on_interrupt)
    try:
        records = run_trials(exp, trials, scale=args.scale, results=folder, seed=args.seed,
                             scheduler=scheduler, workers=args.workers, lanes=lanes, progress=not args.json)
    except KeyboardInterrupt:
        done = len(_recorded(folder, exp.id, trials))
        say(f"interrupted: {done} of {trials} trials recorded in {out}; "
            f"run the same command again to resume")
        return 130
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)
    trained = trials - len(before)
    table = summarise(exp, records)
    if args.json:
        table.update(scale=args.scale, results=str(folder), trials=trials, trained=trained,
                     read_from_records=len(before))
        print(json.dumps(table, default=str))
        return 0
    more = len(list(out.glob("trial_*.json"))) - trials
    print(f"\n{exp.id}: {trials} trial{'s' * (trials != 1)} at {args.scale} scale in {out}: "
          f"{trained} trained now, {len(before)} read from records"
          + (f" ({more} further records there not shown)" if more > 0 else ""))
    print(format_run_table(table))
    return 0


def plan(ap, args):
    """Print the plan of the chosen notebooks (lstm97/plan.py); the last line is its estimate."""
    found = {p.name[:2]: p for p in sorted((planning.ROOT / "notebooks").glob("[0-9]*.ipynb"))}
    wanted = [n.zfill(2) for n in args.notebooks] if args.notebooks else list(found)
    unknown = [n for n in wanted if n not in found]
    if unknown:
        ap.error(f"argument --notebooks: no notebook {', '.join(unknown)}; there are {', '.join(found)}")
    results = Path(args.results) if args.results else None
    chosen = [found[n] for n in sorted(set(wanted))]
    made = planning.make_plan(chosen, args.scale, results, args.workers)
    if args.measure:
        print(f"measuring what a trial costs, per experiment, into {trialcost.PATH}")
        trialcost.measure_all(s.experiment for _, steps in made.notebooks for s in steps)
        made = planning.make_plan(chosen, args.scale, results, args.workers)
    print(f"plan at {args.scale} scale of {'what ' + str(results) + ' lacks' if results else 'a complete run'}, "
          + (f"estimated from the committed records in {planning.COMMITTED} and the costs measured "
             f"in {trialcost.PATH} ({len(trialcost.load())} experiments)" if args.scale == "paper"
             else f"{planning.SMOKE_SECONDS} core seconds a smoke trial alone"))
    for line in planning.describe(made):
        print(line)
    return 0


def run_study(results="data/results", workers=None, pairs=None, progress=True):
    """Run every pair of readings.PLAN (or of ``pairs``) that lacks records, in order, resumably.

    The study's records belong in the committed ``data/results``; pass another folder to try it
    elsewhere."""
    for exp_id, trials in pairs or readings.PLAN:
        run_trials(exp_id, trials, results=results, workers=workers, progress=progress)


def study(args):
    """The readings study's plan with its records so far; --train adds the missing trials."""
    if args.workers is not None and args.workers < 1:
        print(f"error: argument --workers: must be a positive integer, got {args.workers}", file=sys.stderr)
        return 2
    if args.train:
        try:
            check_writable(args.results)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        try:
            run_study(args.results, workers=args.workers)
        except KeyboardInterrupt:
            print(f"interrupted: every finished trial is recorded in {args.results}; "
                  "run the same command again to resume", file=sys.stderr)
            return 130
    for exp_id, n in readings.PLAN:
        try:
            recs = load_records(args.results, exp_id)
        except RecordError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"{exp_id:<32} {len(recs):>3} of {n:>3} trials, {sum(r['success'] for r in recs):>3} solved")
    for pair, why in readings.SAME_AS_MAIN.items():
        print(f"{pair:<32} the main run itself: {why}")
    return 0


def main(argv=None):
    ap = _parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:                               # --help, or a bad argument (2)
        return e.code
    if args.command == "list":
        print(f"{'id':<12} {'paper row':<26} {'criterion':<8} {'trials':>6} {'weights':>7} {'lr':>5}  budget")
        for e in experiments.EXPERIMENTS.values():
            rows = ", ".join(f"{paper.RESULTS[r]['table'] or 'text'} {r}" for r in e.rows)
            print(f"{e.id:<12} {rows:<26} {e.criterion:<8} {e.trials:>6} {e.n_weights:>7} {e.lr:>5}  {e.budget:,}")
        print(f"\ncompetitors (learner; guessing budgets are in guesses):")
        for e in experiments.BASELINES.values():
            rows = ", ".join(f"{paper.result(r)['table']} {r}" for r in e.rows) or "- (no paper numbers)"
            print(f"{e.id:<20} {e.gradient:<6} {rows:<26} {e.criterion:<8} {e.trials:>6} {e.n_weights:>7} "
                  f"{e.lr:>5}  {e.budget:,}")
        print("\nreadings (run any main id followed by them, e.g. 2c-5+cells-from-inputs): "
              + ", ".join(readings.READINGS))
        print("\nchoices where the paper is silent (docs/paper.md §6):")
        for name, choice in experiments.CHOICES.items():
            print(f"{name}: {choice}")
        return 0
    if args.command == "study":
        return study(args)
    if args.command == "readme":
        try:
            return readme(args.results, args.file, args.check)
        except (ValueError, RecordError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        if args.command == "plan":
            return plan(ap.plan_parser, args)
        return run(ap.run_parser, args)
    except SystemExit as e:                               # ap.error: a bad option value (2)
        return e.code
    except (ValueError, RecordError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _command_line():
    """main() for a shell: a reader that closes the pipe early (python -m lstm97 list | head -1)
    ends the output quietly, with the exit status of a process that SIGPIPE ended (141)."""
    try:
        code = main()
        sys.stdout.flush()                                # a closed pipe shows here at the latest
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit
        return 128 + signal.SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(_command_line())
