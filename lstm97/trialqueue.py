"""One queue of trials across experiments: ``missing`` lists the trials of many (experiment,
trials, seed) jobs that a results folder lacks, ``pack`` forms them into tasks, ``wall_time``
plans the tasks on W workers, ``run`` trains them.

Tasks. Trials that can share the lane kernel's calls go into lane groups of up to
``lanes.LANES`` trials across experiments: the lanes' learner, the same net topology and masks
(``lanes._topology``), learning rate and update timing (``lane_key``). A group is one task; its
trials start at once and train side by side (``scheduling.train_lanes``), its last
``lanes.SOLO`` one by one in the single-trial engine. Every other trial is a task of its own:
the learners without lanes (RTRL, BPTT, full gradient, guessing, Elman), and a lane trial that
the rule below leaves out of a group (trained alone, with the lanes' exp). A lane trial's record
is the one it gets alone, so no record depends on the packing, and an interrupted run packs the
trials still missing afresh, each resuming from its own checkpoint.

Estimates, in core seconds. A trial alone: the trial's own record in the basis folder (the
committed records; same experiment, trial and seed): its ``wall_time`` where a single-trial
learner made it; where the lanes made it (its ``wall_time`` is a share of the kernel calls),
its trial-steps at the single-trial rate (core seconds per trial-step) of the experiment's
records made by a single-trial learner, else of its main run's. Without a record of its own,
the mean of the experiment's records so estimated, else of its main run's (a reading not run
yet); without either, the mean of every other trial of the plan. At smoke scale every trial
alone counts ``SMOKE_SECONDS``. A lane group: a pass of the kernel costs ``PASS`` single-trial
steps whatever the number of busy lanes, so with its trials' times alone t1 >= t2 >= ... the
group costs PASS * t(SOLO+1) for the passes, plus t1 - t(SOLO+1), ..., t(SOLO) - t(SOLO+1) for
its last SOLO trials trained one by one.

Packing. Per lane key the trials go longest first into groups of LANES (a group of SOLO
trials or fewer becomes single trials), so trials of like length share a group. Then the rule
for the longest trials: take the lane group that costs most; try taking its j longest trials
out as single trials (j = 1 .. its size), or making it narrower (its later trials move on to
the key's next groups), and keep the change that lowers the planned wall time most; repeat
until no change lowers it. With few workers the total work decides the wall time and groups
stay full; with many, the longest trials decide it, and they go to workers of their own.

Order and plan. Tasks go longest first; each worker takes the next task as it frees (list
scheduling), which ``wall_time`` simulates with the estimates: the plan's wall time.
"""
import heapq
from dataclasses import dataclass
from functools import cache, partial
from itertools import chain
from queue import SimpleQueue

from . import experiments, lanes
from .learners import learner_of
from .nets import make_net
from .runner import LANES, Progress, load_records, recorded, store
from .scheduling import connect, run_local, run_on_dask, task_job, threads

# Core seconds of one smoke trial, start-up costs included: training one takes 0.02-0.6 s (2,000
# sequences), but each run starts its worker processes, which load the compiled kernels of its
# learners. Measured once: 24 smoke trials of 12 experiments in one process took 24 s (3-8 s of
# it at the first trial of each learner), and 2 trials of one experiment on 2 fresh worker
# processes 2-5 s on a busy 2-core machine.
SMOKE_SECONDS = 2.0

# A pass of the lane kernel in steps of the single-trial engine with exp="poly", by kernel
# width: the middle of the ranges measured for lanes.SOLO (bench.py's nets, one pinned core):
# 2.3-2.7 at 8 lanes, 3.7-4.6 at 16, 7.3-10.0 at 32.
PASS = {8: 2.5, 16: 4.15, 32: 8.65}


@dataclass
class Task:
    """Trials trained together on one worker: ``trials`` [(experiment id, trial, seed)], in lanes
    if ``lanes`` (a lane group), else one trial alone; ``seconds``, its estimated core seconds."""
    trials: list
    seconds: float
    lanes: bool


def missing(jobs, results, scale):
    """[(experiment id, trial, seed)] of the jobs [(experiment id, trials, seed)] that ``results``
    has no record of (trials 0..trials-1; each trial once; None: no folder, nothing recorded).
    The records there are checked to be of their configuration and scale (RecordError), before
    anything trains."""
    out, seen = [], set()
    for exp_id, trials, seed in jobs:
        done = {} if results is None else recorded(experiments.get(exp_id), trials, scale, results)
        for t in range(trials):
            if t not in done and (exp_id, t) not in seen:
                seen.add((exp_id, t))
                out.append((exp_id, t, seed))
    return out


@cache
def lane_key(exp_id):
    """What trials must share to train in one lane group (lanes.train_batches): the topology
    and masks of their net, learning rate and update timing; None for a learner without lanes."""
    exp = experiments.get(exp_id)
    if learner_of(exp) != LANES:
        return None
    net = make_net(exp)
    return (lanes._topology(net), tuple(net.masks[k].tobytes() for k in lanes.KEYS), exp.lr, exp.update)


def _single_rate(records):
    """Core seconds per trial-step of the records a single-trial learner made; None without."""
    own = [r for r in records if r.get("engine") != LANES and r.get("steps")]
    return sum(r["wall_time"] for r in own) / sum(r["steps"] for r in own) if own else None


def _alone(records, rate):
    """{(trial, seed): core seconds} of the records' trials alone (module docstring); a lane
    record without a single-trial ``rate`` gives none."""
    out = {}
    for r in records:
        if r.get("engine") != LANES:
            out[r["trial"], r["seed"]] = r["wall_time"]
        elif rate is not None:
            out[r["trial"], r["seed"]] = r["steps"] * rate
    return out


def estimator(scale, basis):
    """seconds((experiment id, trial, seed)): the trial's core seconds alone (module
    docstring), None without a basis."""
    if scale != "paper":
        return lambda item: SMOKE_SECONDS

    @cache
    def of(exp_id):
        records = load_records(basis, exp_id)
        base = experiments.get(exp_id).base
        rate = _single_rate(records)
        if rate is None and base != exp_id:
            rate = _single_rate(load_records(basis, base))
        times = _alone(records, rate)
        return times, sum(times.values()) / len(times) if times else None

    def seconds(item):
        exp_id, trial, seed = item
        times, mean = of(exp_id)
        base = experiments.get(exp_id).base
        if (trial, seed) in times:
            return times[trial, seed]
        return mean if mean is not None or base == exp_id else of(base)[1]
    return seconds


def group_seconds(times):
    """Core seconds of trials trained at once in lanes, given their times alone (module docstring)."""
    t = sorted(times, reverse=True)
    if len(t) <= lanes.SOLO:
        return sum(t)
    cut = t[lanes.SOLO]
    return PASS[lanes.LANES] * cut + sum(x - cut for x in t[:lanes.SOLO])


def wall_time(tasks, workers):
    """Seconds until the last task ends when ``workers`` workers take the tasks longest first,
    each the next one as it frees (list scheduling)."""
    free = [0.0] * max(1, min(workers, len(tasks)))
    for s in sorted((t.seconds for t in tasks), reverse=True):
        heapq.heapreplace(free, free[0] + s)
    return max(free)


def _split(trials, alone, first):
    """Tasks of one lane key's trials [(seconds, item)], longest first: the ``alone`` longest
    single, the next ``first`` one group, the rest in groups of LANES; a group of SOLO trials or
    fewer is single trials."""
    rest = range(alone + first, len(trials), lanes.LANES)
    groups = [trials[i:i + 1] for i in range(alone)] + [trials[alone:alone + first]] \
        + [trials[i:i + lanes.LANES] for i in rest]
    tasks = []
    for g in groups:
        if len(g) > lanes.SOLO:
            tasks.append(Task([item for _, item in g], group_seconds([s for s, _ in g]), True))
        else:
            tasks += [Task([item], s, False) for s, item in g]
    return tasks


def pack(items, seconds, workers):
    """The tasks of ``items`` [(experiment id, trial, seed)], longest first, planned for
    ``workers`` workers (module docstring); ``seconds(item)`` is a trial's core seconds alone
    (None: unknown, counted as the mean of the others)."""
    est = {item: seconds(item) for item in items}
    known = [s for s in est.values() if s is not None]
    guess = sum(known) / len(known) if known else 0.0
    est = {item: guess if s is None else s for item, s in est.items()}
    single, keyed = [], {}
    for item in items:
        key = lane_key(item[0])
        if key is None:
            single.append(Task([item], est[item], False))
        else:
            keyed.setdefault(key, []).append((est[item], item))
    keys = list(keyed)
    trials = [sorted(keyed[k], key=lambda x: -x[0]) for k in keys]
    cuts = [(0, lanes.LANES)] * len(keys)           # per key: (its longest trials alone, first group)
    parts = [_split(t, *c) for t, c in zip(trials, cuts)]
    planned = lambda parts: wall_time(single + list(chain(*parts)), workers)
    best = planned(parts)
    while True:
        top = max(((t.seconds, i) for i, p in enumerate(parts) for t in p if t.lanes), default=None)
        if top is None:
            break
        i = top[1]
        alone, first = cuts[i]
        size = min(first, len(trials[i]) - alone)
        options = [(alone + j, first) for j in range(1, size + 1)] + [(alone, g) for g in range(lanes.SOLO + 1, size)]
        tried = [(planned(parts[:i] + [_split(trials[i], *o)] + parts[i + 1:]), o) for o in options]
        w, o = min(tried)
        if w >= best:
            break
        best, cuts[i], parts[i] = w, o, _split(trials[i], *o)
    return sorted(single + list(chain(*parts)), key=lambda t: -t.seconds)


class _Now:
    """A queue whose ``put`` hands each message on at once (one worker, in this process)."""

    def __init__(self, take):
        self.put = take


def run(tasks, scale, results, workers, scheduler=None, heard=None):
    """Train every trial of ``tasks``, in their order, on ``workers`` local processes (one:
    in this process), or on the worker threads of the Dask cluster at ``scheduler``, every
    worker taking the next task as it frees. Each record is written into ``results`` as its
    trial ends (runner.store), then given to ``heard(record)``; ``heard`` also gets each
    Progress of the workers' running trials, named (experiment id, trial). Local trials keep
    a checkpoint in ``results`` and resume from it; trials on a Dask cluster keep none."""
    items = [[list(item) for item in task.trials] for task in tasks]

    def finished(message):
        if not isinstance(message, Progress):
            store(results, message)
        if heard is not None:
            heard(message)
    if not items:
        return
    if scheduler:
        client = connect(scheduler)
        try:
            run_on_dask(client, min(len(items), threads(client)), partial(task_job, scale), items, finished)
        finally:
            client.close()
    elif min(workers, len(items)) == 1:
        pending = SimpleQueue()
        for task in items + [None]:
            pending.put(task)
        task_job(scale, pending, _Now(finished), results)
    else:
        run_local(min(workers, len(items)), partial(task_job, scale, checkpoints=results), items, finished)
