"""Executing, normalising and publishing the notebooks (``make reproduce``, ``make render``, ``make html``).

    python -m lstm97.notebooks reproduce --scale smoke|paper [--scheduler ADDR] [--out DIR] NOTEBOOK...
    python -m lstm97.notebooks render NOTEBOOK...
    python -m lstm97.notebooks html [--out build/html] NOTEBOOK...
    python -m lstm97.notebooks check NOTEBOOK...

The conventions every notebook in ``notebooks/`` follows (``tests/test_notebooks.py`` checks them):

* One code cell tagged ``parameters`` (papermill's tag). Its defaults are what ``make render`` uses:
  ``scale = "paper"``, ``results = "../data/results"``, ``train = False``; every notebook also has
  ``scheduler`` and ``seed``. ``render`` passes no parameters, so papermill injects no second
  (``injected-parameters``) cell; ``reproduce`` passes them, and its copies show the injected cell.
* nbval reads cell tags, not comments: ``nbval-check-output`` on every cell whose output
  ``make test`` compares (``pytest --nbval-lax`` checks only those), ``nbval-ignore-output`` /
  ``nbval-skip`` where needed.
* The first output of every notebook states its scale (``summary.scale_statement``), and the
  results tables repeat it with the number of trials behind them.
* A notebook gets its records through one call, ``runner.records(experiment, scale, ...)`` with
  the parameters cell's ``results``, ``trials``, ``train``, ``seed`` and ``scheduler`` (and a
  study's ``plan``): it reads them, and with ``train`` first trains the missing ones. It owns the
  trial count (``runner.trial_count``: the paper's or the study plan's, fewer at smoke scale), so
  no notebook defines a function, calls ``run_trials`` or writes a trial count of its own.
* The committed notebooks are stored normalised (:func:`normalise`): no papermill or execution
  timing metadata, fixed kernel metadata, stable cell ids, adjacent stream outputs merged. So a
  ``make render`` from unchanged records changes no byte.

``reproduce`` first prints the plan (lstm97.plan: the trials each notebook needs and the estimated
time) and trains every missing trial through one queue (lstm97.trialqueue: lane groups across
the experiments, longest first) under one progress bar, then executes the notebooks, which
find their records and only read them. It never writes into ``notebooks/``: each executed notebook goes to its own output
folder (default ``results/reproduce/<scale>/notebooks``), written to a temporary file and moved
into place, so an interrupted run leaves either the previous copy or none, never half of one.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import html as report, plan as planning
from .plan import parameter_defaults, parameters_cell  # noqa: F401  (the notebooks' parameters)
from .records import check_writable

ROOT = Path(__file__).resolve().parents[1]
RENDER_DEFAULTS = {"scale": "paper", "results": "../data/results", "train": False}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime")


# --------------------------------------------------------------------------- normalisation
def normalise(nb):
    """Strip what changes from one execution to the next (in place; returns ``nb``).

    Papermill's metadata (timestamps, durations, paths), the kernel's execution timestamps and the
    Python patch version go; kernel metadata is fixed; the injected-parameters cell gets a fixed id;
    adjacent stream outputs of the same stream are merged (how the kernel splits them varies), and
    of a line redrawn with carriage returns (progress bars) only its last version is kept.
    Everything a reader sees (sources, outputs, execution counts, tags) stays.
    """
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = json.loads(json.dumps(LANGUAGE_INFO))
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        if cell.cell_type == "code":
            merged = []
            for out in cell.outputs:
                if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                        and merged[-1].name == out.name):
                    merged[-1].text += out.text
                else:
                    merged.append(out)
            for out in merged:
                if out.output_type == "stream" and "\r" in out.text:
                    out.text = _as_displayed(out.text)
            cell.outputs = merged
    return nb


def _as_displayed(text):
    """Text as a terminal shows it: of the carriage-return-separated versions of a line (progress
    bars redraw themselves), only the last is kept."""
    lines = text.split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def dumps(nb):
    import nbformat
    return nbformat.writes(nb) + "\n"


def is_normalised(path):
    """True if the file at ``path`` is byte for byte what :func:`normalise` makes of it."""
    import nbformat
    text = Path(path).read_text()
    return dumps(normalise(nbformat.reads(text, as_version=4))) == text


def drop_injected(nb):
    """Remove papermill's injected-parameters cells (in place; returns ``nb``)."""
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    return nb


# --------------------------------------------------------------------------- execution
def execute(source, target, parameters=None, *, strip_injected=False, log=True):
    """Run notebook ``source`` with papermill in its own folder and write the normalised result to
    ``target`` atomically (temporary file in the target's folder, then rename). Returns seconds."""
    import nbformat
    import papermill
    source, target = Path(source).resolve(), Path(target).resolve()
    nb = nbformat.read(source, as_version=4)
    if strip_injected:
        drop_injected(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    # hidden name, so no glob of the notebooks ([0-9]*.ipynb) ever sees a half-written one
    tmp = target.parent / f".{target.stem}.partial{os.getpid()}.ipynb"
    t0 = time.perf_counter()
    try:
        out = papermill.execute_notebook(nb, str(tmp), parameters=parameters or None,
                                         cwd=str(source.parent), progress_bar=False, log_output=False)
        tmp.write_text(dumps(normalise(out)))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    if log:
        print(f"   {target} ({seconds:.0f} s)", flush=True)
    return seconds


def render(notebooks):
    """Re-execute the committed notebooks in place from the committed records, with their own
    parameter defaults (which must be RENDER_DEFAULTS), and store them normalised."""
    import nbformat
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        defaults = parameter_defaults(nb)
        wrong = {k: defaults.get(k) for k, v in RENDER_DEFAULTS.items() if defaults.get(k) != v}
        if wrong:
            raise ValueError(f"{path}: the parameters cell must default to {RENDER_DEFAULTS}; "
                             f"it has {wrong}")
        print(f"== {path} (render: paper scale, committed records)", flush=True)
        execute(path, path, strip_injected=True)


def reproduce(notebooks, scale, out=None, results=None, scheduler="", basis=None):
    """Train what ``results`` lacks and execute every notebook into ``out``: nothing tracked changes.

    First the plan (lstm97/plan.py): per notebook, the trials it would train that ``results``
    lacks, with the estimated time (from the committed records in ``basis``, default
    data/results); then those trials, through one queue of lane groups and single trials
    (lstm97/trialqueue.py) with one progress bar for the whole run; then the notebooks, which
    find every record present and train nothing."""
    base = ROOT / "results" / "reproduce" / scale
    results = Path(results).resolve() if results else base
    out = Path(out).resolve() if out else results / "notebooks"
    for folder in (results, out):
        check_writable(folder)                    # ValueError: one line, before any training
    params = dict(scale=scale, results=str(results), scheduler=scheduler or "", train=True)
    t0 = time.perf_counter()
    plan = planning.make_plan(notebooks, scale, results, planning.workers(scheduler), basis or planning.COMMITTED)
    print(f"reproduce at {scale} scale into {results}: "
          + ("estimates from the committed records"
             if scale == "paper" else f"estimates at {planning.SMOKE_SECONDS} core seconds a smoke trial"), flush=True)
    for line in planning.describe(plan):
        print(line, flush=True)
    trained = planning.train(plan, scale, results, scheduler)
    if trained:
        print(f"reproduce: trained {trained} trials in {time.perf_counter() - t0:.0f} s", flush=True)
    before = set(results.glob("*/trial_*.json"))
    for path in notebooks:
        print(f"== {path} (scale={scale}, records in {results})", flush=True)
        execute(path, out / Path(path).name, params)
    extra = sorted(str(p.relative_to(results)) for p in set(results.glob("*/trial_*.json")) - before)
    if extra:
        print(f"reproduce: the notebooks trained {len(extra)} trials the plan did not list "
              f"(lstm97/plan.py misses them): {', '.join(extra[:5])}{' ...' * (len(extra) > 5)}", flush=True)
    print(f"reproduce: {len(notebooks)} notebooks in {time.perf_counter() - t0:.0f} s; "
          f"executed notebooks in {out}", flush=True)
    return out


# --------------------------------------------------------------------------- static HTML
def html(notebooks, out):
    """The report as static pages in ``out`` (lstm97/html.py); returns the index's path."""
    return report.build(notebooks, out)


# --------------------------------------------------------------------------- command line
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m lstm97.notebooks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="train and execute every notebook into results/")
    rep.add_argument("--scale", default="paper", choices=("paper", "smoke"))
    rep.add_argument("--scheduler", default="")
    rep.add_argument("--results", default=None, help="records (default results/reproduce/<scale>)")
    rep.add_argument("--out", default=None, help="executed notebooks (default <results>/notebooks)")
    ren = sub.add_parser("render", help="re-execute the committed notebooks in place from the records")
    htm = sub.add_parser("html", help="static HTML pages and an index")
    htm.add_argument("--out", default=str(ROOT / "build" / "html"))
    chk = sub.add_parser("check", help="exit 1 unless every notebook is stored normalised")
    for p in (rep, ren, htm, chk):
        p.add_argument("notebooks", nargs="+")
    args = ap.parse_args(argv)
    try:
        if args.command == "reproduce":
            reproduce(args.notebooks, args.scale, args.out, args.results, args.scheduler)
        elif args.command == "render":
            render(args.notebooks)
        elif args.command == "html":
            html(args.notebooks, args.out)
        else:
            bad = [p for p in args.notebooks if not is_normalised(p)]
            for p in bad:
                print(f"{p}: not normalised; run make render", file=sys.stderr)
            return 1 if bad else 0
    except KeyboardInterrupt:
        print("interrupted; no half-written notebook was left behind", file=sys.stderr)
        return 130
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
