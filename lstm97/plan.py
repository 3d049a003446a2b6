"""What ``make reproduce`` trains, and for how long, before it trains anything.

``experiments_of(notebook, scale)`` lists the (experiment, trials) a notebook trains when it runs
with ``train = True``: the ids of its ``IDS = [...]`` cell, read from the notebook's code, and what
it trains besides them, from a small mapping by notebook number (``EXTRA``: the competitor rows of
notebooks 01-03, the readings study's plan in 08, the cell ablation study's in 09), since those are
chosen by code too varied to read. Its trial counts are ``runner.trial_count``'s, the rule the
notebooks' one call for their records (``runner.records``) applies. ``make_plan`` keeps the trials
missing from a results folder and packs them all into one queue of tasks (trialqueue.py: lane
groups across experiments, single trials, longest first, with their estimated times); ``train``
runs that queue, with the notebooks' own trial counts and seed, so their records are the ones the
notebooks would make and the notebooks then find every record present and train nothing.

The plan's wall time is the queue's list schedule of its tasks' estimates on the workers
(trialqueue.py says how a trial, a lane group and the schedule are estimated).
"""
import ast
import os
from dataclasses import dataclass
from pathlib import Path

from . import ablations, experiments, readings, tables, trialcost, trialqueue
from .runner import Progress, connect, scaled, trial_count
from .trialqueue import SMOKE_SECONDS  # noqa: F401  (the estimate of a smoke trial)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "results"
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
    """One experiment's part of the plan: of its trials 0..trials-1 (seed ``seed``), the
    ``missing`` trial numbers, which no earlier notebook of the plan trains."""
    experiment: str
    trials: int
    seed: int
    missing: list


@dataclass
class Plan:
    """What a run trains: ``notebooks`` [(notebook path, [Step])]; ``tasks``, all their trials
    packed for ``workers`` workers (trialqueue.Task, longest first); ``sample``, the estimator's
    (trialqueue.estimator) for the rows whose trials' times are known only as a sample."""
    notebooks: list
    tasks: list
    workers: int
    sample: object = None
    _hours: float = None

    def hours(self):
        """The estimated wall time on the plan's workers: the mean over random orders of the
        rows whose trials' times are known only as a sample (trialqueue.expected_wall_time)."""
        if self._hours is None:
            seconds = trialqueue.wall_time(self.tasks, self.workers) if self.sample is None \
                else trialqueue.expected_wall_time(self.tasks, self.workers, self.sample)
            self._hours = seconds / 3600
        return self._hours


def make_plan(notebooks, scale, results, workers, basis=COMMITTED, costs=trialcost.PATH):
    """The Plan of ``notebooks``: what each would train, in order, that ``results`` lacks
    (records there are checked first, RecordError) and no earlier notebook trains, packed into
    tasks estimated from the records in ``basis`` and, at paper scale, the lane costs measured
    in the file ``costs`` (trialcost.py)."""
    seen, steps_of = set(), []
    for path in notebooks:
        seed = parameter_defaults(_read(path)).get("seed") or 0
        steps = []
        for exp_id, n in experiments_of(path, scale):
            todo = [t for _, t, _ in trialqueue.missing([(exp_id, n, seed)], results, scale) if (exp_id, t) not in seen]
            seen.update((exp_id, t) for t in todo)
            if todo:
                steps.append(Step(exp_id, n, seed, todo))
        steps_of.append((Path(path), steps))
    items = [(s.experiment, t, s.seed) for _, steps in steps_of for s in steps for t in s.missing]
    costs = trialcost.load(costs) if scale == "paper" else {}
    seconds = trialqueue.estimator(scale, basis, costs)
    return Plan(steps_of, trialqueue.pack(items, seconds, workers, costs), workers, getattr(seconds, "sample", None))


def _shares(tasks):
    """{(experiment id, trial): core seconds}: each task's estimate shared by its trials."""
    return {(e, t): task.seconds / len(task.trials) for task in tasks for e, t, _ in task.trials}


def _time(seconds):
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds / 60:.1f} min"


hours_text = tables.hours           # the one format of planned hours (the README's too)


def describe(plan):
    """The plan in lines: one per notebook (its trials, their share of the whole estimated
    core time and that time), one on the tasks, then ``N trials, estimated H h on W workers``."""
    share = _shares(plan.tasks)
    total = sum(share.values())
    lines = []
    for path, steps in plan.notebooks:
        trials = [(s.experiment, t) for s in steps for t in s.missing]
        if not trials:
            lines.append(f"  {path.stem:<28} nothing to train")
            continue
        seconds = sum(share[k] for k in trials)
        lines.append(f"  {path.stem:<28} {len(trials):>6,} trial{'s' * (len(trials) != 1)} of {len(steps):>3} "
                     f"experiment{'s' * (len(steps) != 1)}, {100 * seconds / (total or 1):5.1f}% of the time "
                     f"({_time(seconds)} of one core)")
    groups = [t for t in plan.tasks if t.lanes]
    if plan.tasks:
        lines.append(f"  {len(plan.tasks):,} tasks: {len(groups):,} lane groups of "
                     f"{sum(len(t.trials) for t in groups):,} trials, {len(plan.tasks) - len(groups):,} "
                     f"single trials; {_time(total)} of one core, the longest task "
                     f"{_time(plan.tasks[0].seconds)}")
    lines.append(f"{len(share):,} trials, estimated {hours_text(plan.hours())} h on {plan.workers} workers")
    return lines


def train(plan, scale, results, scheduler=None):
    """Train every trial of the plan through its queue (trialqueue.run), with one progress bar
    for the whole run: its length is the plan's wall time, and each trial moves it by its share
    of its task's estimate (in proportion), as it trains (the sequences trained of its budget)
    and in full when its record is written; so its ETA is the plan's estimate corrected by the
    pace so far. Returns the number of trials trained."""
    from tqdm import tqdm
    share = _shares(plan.tasks)
    if not share:
        return 0
    total = sum(share.values())
    unit = plan.hours() * 3600 / total if total else 1.0
    budget = {e: scaled(experiments.get(e), scale).budget for e, _ in share}
    bar = tqdm(total=total * unit if total else len(share), desc="reproduce",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")
    done, part = {}, {}

    def heard(message):
        if isinstance(message, Progress):
            part.update({k: share[k] * min(1.0, n / budget[k[0]]) for k, n in message.running.items()
                         if k in share and k not in done})
        else:
            key = (message["experiment"], message["trial"])
            done[key] = share[key] if total else 1.0
            part.pop(key, None)
            bar.set_postfix_str(f"{len(done):,} of {len(share):,} trials, {key[0]}", refresh=False)
        bar.update((sum(done.values()) + sum(part.values())) * unit - bar.n)
    try:
        trialqueue.run(plan.tasks, scale, results, plan.workers, scheduler or None, heard)
    finally:
        bar.close()
    return len(done)
