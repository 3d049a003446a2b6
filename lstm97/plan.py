"""What ``make reproduce`` trains, and for how long, before it trains anything.

``experiments_of(notebook, scale)`` lists the (experiment, trials) a notebook trains when it runs
with ``train = True``: the ids of its ``IDS = [...]`` cell, read from the notebook's code, and what
it trains besides them, from a small mapping by notebook number (``EXTRA``: the competitor rows of
notebooks 01-03, the readings study's plan in 08, the cell ablation study's in 09), since those are
chosen by code too varied to read. Its trial counts are ``runner.trial_count``'s, the rule the
notebooks' one call for their records (``runner.records``) applies. ``make_plan`` keeps the trials
missing from a results folder and estimates each one's time; ``train`` runs them experiment by
experiment through ``runner.run_trials``, with the notebooks' own trial counts and seed, so their
records are the ones the notebooks would make and the notebooks then find every record present and
train nothing.

Estimates: at paper scale a trial takes the mean ``wall_time`` (core seconds) of its
experiment's committed records in data/results (of its main run's, for a reading not run yet);
at smoke scale ``SMOKE_SECONDS``. Their sum is divided over the workers.
"""
import ast
import os
from dataclasses import dataclass
from pathlib import Path

from . import ablations, experiments, readings
from .runner import connect, load_records, record_path, run_trials, trial_count

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "results"
# Core seconds of one smoke trial, start-up costs included: training one takes 0.02-0.6 s (2,000
# sequences), but each experiment's run starts its worker processes, which load the compiled
# kernels of its learner. Measured once: 24 smoke trials of 12 experiments in one process took
# 24 s (3-8 s of it at the first trial of each learner), and 2 trials of one experiment on 2
# fresh worker processes 2-5 s on a busy 2-core machine. So about 2 core seconds a trial: the 190
# trials of a full smoke reproduce in about 3 minutes on 2 cores.
SMOKE_SECONDS = 2.0


def _competitors(test):
    return [i for i, e in experiments.BASELINES.items() if test(e)], None


# What a notebook trains besides its IDS, by the number its name starts with: (ids, plan), the
# plan the notebook passes to runner.records for them (None: none, the paper's counts).
EXTRA = {
    "01": _competitors(lambda e: e.rows and e.rows[0].startswith("T1-")),
    "02": _competitors(lambda e: e.rows and e.rows[0].startswith("T2-")),
    "03": _competitors(lambda e: e.gradient == "guess"),
    "08": ([i for i, _ in readings.PLAN], readings.PLAN),
    "09": ([i for i, _ in ablations.RUNS], ablations.RUNS),
}


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def parameter_defaults(nb):
    """The names and default values the parameters cell assigns (literals only)."""
    values = {}
    for node in ast.parse(parameters_cell(nb).source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def _read(notebook):
    import nbformat
    return nbformat.read(notebook, as_version=4)


def _code(nb):
    """The notebook's code cells as Python, IPython's %magic lines left out."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _ids(nb):
    """The list the notebook's code assigns to IDS, e.g. ``IDS = ["2a", "2b"] + [f"2c-{i}" for i
    in range(1, 10)]``: the plain assignments of that cell up to IDS, evaluated with ``range`` as
    the only builtin (the others of the cell, imports and calls, are left out); [] without IDS."""
    for code in _code(nb):
        names = {"__builtins__": {"range": range}}
        for node in ast.parse(code).body:
            if not (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)):
                continue
            is_ids = any(t.id == "IDS" for t in node.targets)
            try:
                value = eval(compile(ast.Expression(node.value), "IDS", "eval"), names)
            except Exception as e:
                if is_ids:
                    raise ValueError(f"cannot read the notebook's IDS ({type(e).__name__}: {e})") from None
                continue
            names.update({t.id: value for t in node.targets})
            if is_ids:
                return list(value)
    return []


def experiments_of(notebook, scale="paper"):
    """[(experiment id, trials)] the notebook trains with ``train = True`` at ``scale``, in its
    order, trials as its ``runner.records`` calls train them (its ``trials`` parameter, else
    ``trial_count`` of the id, with the study's plan for the ids of EXTRA that have one); [] for
    a notebook that trains nothing."""
    nb = _read(notebook)
    try:
        ids = [(i, None) for i in _ids(nb)]
    except ValueError as e:
        raise ValueError(f"{notebook}: {e}") from None
    given = parameter_defaults(nb).get("trials")
    extra, plan = EXTRA.get(Path(notebook).name[:2], ([], None))
    ids += [(i, plan) for i in extra]
    return [(i, given if given is not None else trial_count(i, scale, plan)) for i, plan in ids]


def trial_seconds(exp_id, scale, basis=COMMITTED):
    """Estimated core seconds of one trial (module docstring); None without a basis."""
    if scale != "paper":
        return SMOKE_SECONDS
    for i in dict.fromkeys([exp_id, experiments.get(exp_id).base]):
        times = [r["wall_time"] for r in load_records(basis, i) if r.get("wall_time") is not None]
        if times:
            return sum(times) / len(times)
    return None


def workers(scheduler=None):
    """The processes the trials run on: the Dask cluster's threads, else this machine's cores."""
    if scheduler:
        client = connect(scheduler)
        try:
            return max(1, sum(client.nthreads().values()))
        finally:
            client.close()
    return os.cpu_count() or 1


@dataclass
class Step:
    """One experiment's part of the plan: run_trials(experiment, trials, seed=seed) trains the
    ``missing`` trial numbers, each estimated at ``seconds`` (None: no estimate)."""
    experiment: str
    trials: int
    seed: int
    missing: list
    seconds: float | None


def make_plan(notebooks, scale, results, basis=COMMITTED):
    """[(notebook path, [Step])]: what each notebook would train, in order, that ``results``
    lacks and no earlier notebook trains."""
    covered, plan = {}, []
    for path in notebooks:
        seed = parameter_defaults(_read(path)).get("seed")
        steps = []
        for exp_id, n in experiments_of(path, scale):
            missing = [t for t in range(covered.get(exp_id, 0), n)
                       if not record_path(results, exp_id, t).exists()]
            covered[exp_id] = max(n, covered.get(exp_id, 0))
            if missing:
                steps.append(Step(exp_id, n, seed or 0, missing, trial_seconds(exp_id, scale, basis)))
        plan.append((Path(path), steps))
    return plan


def totals(steps):
    """(trials, estimated core seconds, trials without an estimate) of plan steps."""
    return (sum(len(s.missing) for s in steps),
            sum(len(s.missing) * s.seconds for s in steps if s.seconds is not None),
            sum(len(s.missing) for s in steps if s.seconds is None))


def _minutes(seconds):
    return f" ({seconds / 60:.1f} min)" if seconds < 3600 else ""


def describe(plan, n_workers):
    """The plan in lines: one per notebook, then ``N trials, estimated H h on W workers``
    (and the minutes, under an hour)."""
    lines = []
    for path, steps in plan:
        trials, seconds, unknown = totals(steps)
        if not trials:
            lines.append(f"  {path.stem:<28} nothing to train")
            continue
        lines.append(f"  {path.stem:<28} {trials:>5} trial{'s' * (trials != 1)} of {len(steps):>3} "
                     f"experiment{'s' * (len(steps) != 1)}, estimated {seconds / n_workers / 3600:6.2f} h"
                     + _minutes(seconds / n_workers)
                     + (f" (no estimate for {unknown} of them)" if unknown else ""))
    trials, seconds, _ = totals([s for _, steps in plan for s in steps])
    lines.append(f"{trials} trials, estimated {seconds / n_workers / 3600:.2f} h on {n_workers} workers"
                 + _minutes(seconds / n_workers))
    return lines


def train(plan, scale, results, scheduler=None, n_workers=1):
    """Train every trial of the plan, experiment by experiment, with one progress bar for the
    whole run: its length is the estimated time, and each record advances it by its trial's
    estimate, so its ETA is the plan's estimate corrected by the pace so far. Returns the number
    of trials trained."""
    from tqdm import tqdm
    steps = [s for _, steps in plan for s in steps]
    trials, seconds, _ = totals(steps)
    if not trials:
        return 0
    by_time = seconds > 0
    bar = tqdm(total=seconds / n_workers if by_time else trials, desc="reproduce",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")
    done = 0
    try:
        for step in steps:
            def heard(rec, step=step):
                nonlocal done
                done += 1
                bar.set_postfix_str(f"{done} of {trials} trials, {step.experiment}", refresh=False)
                bar.update((step.seconds or 0) / n_workers if by_time else 1)
            bar.set_postfix_str(f"{done} of {trials} trials, {step.experiment}")
            run_trials(step.experiment, step.trials, scale=scale, results=results, seed=step.seed,
                       scheduler=scheduler or None, progress=heard)
    finally:
        bar.close()
    return done
