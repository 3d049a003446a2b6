"""One queue of trials across experiments: ``missing`` lists the trials of many (experiment,
trials, seed) jobs that a results folder lacks, ``pack`` forms them into tasks, ``wall_time``
plans the tasks on W workers, ``run`` trains them.

Tasks. Trials that can share a lane kernel's calls (``learners.LANE_KERNELS``: the LSTM's, and
RTRL's and BPTT's on Table 2's nets) go into lane groups of up to ``lanes.LANES`` trials across
experiments: one learner, one net key (topology and masks), learning rate and update timing
(``lane_key``). A group is one task; its trials start at once and train side by side
(``scheduling.train_lanes``), its last ``solo`` one by one in the single-trial learner. Every
other trial is a task of its own: the learners without lanes (full gradient, guessing, Elman,
Table 1's RTRL nets), and a lane trial that the rule below leaves out of a group (trained
alone, with the lanes' exp). A lane trial's record
is the one it gets alone, so no record depends on the packing, and an interrupted run packs the
trials still missing afresh, each resuming from its own checkpoint.

Estimates, in core seconds. A trial alone: where the experiment's costs are measured on this
machine (trialcost.py, ``data/trial_costs.json``), its record's trial-steps (same experiment,
trial and seed) times the measured seconds per step of its learner alone, divided by 1 - the
measured fraction ``other`` of a trial's time spent outside the learner (drawing chunks, the
criterion's checks). Otherwise from the records' times: its ``wall_time`` where a single-trial
learner made it; where the lanes made it (its ``wall_time`` is a share of the kernel calls), its
trial-steps at the single-trial rate of the experiment's records made by a single-trial
learner, else of its main run's. Without a record of its own, the mean of the experiment's
records so estimated, else of its main run's (a reading or variant not run yet, at its own
measured rate); without either, the mean of every other trial of the plan. At smoke scale every
trial alone counts ``SMOKE_SECONDS``.

A lane group: a pass of the kernel costs ``pass`` single-trial steps whatever the number of busy
lanes, as measured for the net (trialcost.py: 2.7-9.3 for the LSTM's 16 lanes), else the
kernel's one number (``LaneKernel.cost``). With its trials' learner parts l1 >= l2 >= ... (a
trial's time alone less its part ``other``, which the lanes do not share) the group costs
cost * l(solo+1) for the passes, plus l1 - l(solo+1), ..., l(solo) - l(solo+1) for its last
``solo`` trials trained one by one, plus every trial's part outside the learner.

Which trials run long. Where another learner made a row's records (the engine with libm's exp)
or the row has none, the queue's learner gives other numbers and other trials run long: the
estimates say how long its trials take, not which. ``expected_wall_time`` deals such a row's
times to its trials at random and averages the wall time over many deals; the packing still
follows the estimates, as the queue does.

Packing. Per lane key the trials go longest first into groups of LANES (a group of ``solo``
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
from dataclasses import dataclass, replace
from functools import cache, partial
from itertools import chain
from queue import SimpleQueue

import numpy as np

from . import experiments, lanes
from .learners import LANE_KERNELS, learner_of
from .nets import make_net
from .runner import LANES, Progress, load_records, recorded, store
from .scheduling import connect, run_local, run_on_dask, task_job, threads

# Core seconds of one smoke trial, start-up costs included: training one takes 0.02-0.6 s (2,000
# sequences), but each run starts its worker processes, which load the compiled kernels of its
# learners. Measured once: 24 smoke trials of 12 experiments in one process took 24 s (3-8 s of
# it at the first trial of each learner), and 2 trials of one experiment on 2 fresh worker
# processes 2-5 s on a busy 2-core machine.
SMOKE_SECONDS = 2.0



@dataclass
class Task:
    """Trials trained together on one worker: ``trials`` [(experiment id, trial, seed)], in lanes
    if ``lanes`` (a lane group), else one trial alone; ``seconds``, its estimated core seconds;
    ``times``, its trials' estimated times alone, ``kernel`` (with its pass cost) and ``other``
    (each trial's fraction outside its learner), from which ``cost`` recomputes it."""
    trials: list
    seconds: float
    lanes: bool
    times: list = None
    kernel: object = None
    other: list = None

    def cost(self, times):
        """Its core seconds if its trials took ``times`` alone."""
        return group_seconds(times, self.kernel, self.other) if self.lanes else sum(times)


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
    """What trials must share to train in one lane group (learners.LaneKernel): the learner, the
    key of their net, learning rate and update timing; None for a learner without lanes or a net
    its kernel does not train."""
    exp = experiments.get(exp_id)
    name = learner_of(exp)
    kernel = LANE_KERNELS.get(name)
    if kernel is None:
        return None
    net = make_net(exp)
    return (name, kernel.key(net), exp.lr, exp.update) if kernel.supports(net) else None


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


def estimator(scale, basis, costs=None):
    """seconds((experiment id, trial, seed)): the trial's core seconds alone (module
    docstring), None without a basis; ``seconds.sample(exp_id)``, the times its trials take in
    an order nobody knows, or None. ``costs``: {experiment id: trialcost.measure's dict}."""
    if scale != "paper":
        return lambda item: SMOKE_SECONDS
    costs = costs or {}

    def rate(exp_id):
        """Measured core seconds per trial-step of a trial alone (trialcost.py), else None."""
        c = costs.get(exp_id, {})
        return c["step"] / (1.0 - min(c["other"], 0.99)) if "step" in c else None

    @cache
    def of(exp_id):
        """{(trial, seed): seconds alone} from the experiment's records, else its main run's."""
        exp, measured = experiments.get(exp_id), rate(exp_id)
        for source in dict.fromkeys((exp_id, exp.base)):
            records = load_records(basis, source)
            if measured is not None:
                times = {(r["trial"], r["seed"]): r["steps"] * measured for r in records if r.get("steps")}
            else:
                single = _single_rate(records) or _single_rate(load_records(basis, experiments.get(source).base))
                times = _alone(records, single)
            if times:
                return times, source == exp_id
        return {}, True

    def seconds(item):
        exp_id, trial, seed = item
        times, own = of(exp_id)
        if own and (trial, seed) in times:
            return times[trial, seed]
        return sum(times.values()) / len(times) if times else None

    @cache
    def sample(exp_id):
        """The times alone that the experiment's trials take, in an order nobody knows: its
        records' where another learner made them (the queue's learner gives other numbers, so
        other trials run long), or its main run's where it has none; None where its records are
        the queue learner's own (each trial's time is known)."""
        exp = experiments.get(exp_id)
        records = load_records(basis, exp_id)
        if records and all(r.get("engine") == learner_of(exp) for r in records):
            return None
        return tuple(sorted(of(exp_id)[0].values())) or None
    seconds.sample = sample
    return seconds


def group_seconds(times, kernel=LANE_KERNELS[LANES], other=None):
    """Core seconds of trials trained at once in ``kernel``'s lanes, given their times alone
    and, in ``other``, the fraction of each spent outside the learner, which the lanes do not
    share (module docstring; None: none)."""
    other = [0.0] * len(times) if other is None else other
    learn = sorted(((1 - f) * t for t, f in zip(times, other)), reverse=True)
    own = sum(f * t for t, f in zip(times, other))
    solo = kernel.solo
    if len(learn) <= solo:
        return sum(times)
    cut = learn[solo]
    return kernel.cost * cut + sum(x - cut for x in learn[:solo]) + own


def expected_wall_time(tasks, workers, sample, draws=64, seed=0):
    """The mean of ``wall_time`` over ``draws`` runs in which each experiment with a
    ``sample(exp_id)`` (the estimator's) has its trials' times drawn from it in random order
    (without replacement while the sample lasts): which of its trials run long is not known.
    Without such experiments, ``wall_time`` itself."""
    where = {}
    for i, task in enumerate(tasks):
        for j, (exp_id, _, _) in enumerate(task.trials):
            if sample(exp_id):
                where.setdefault(exp_id, []).append((i, j))
    if not where:
        return wall_time(tasks, workers)
    rng, total = np.random.default_rng(seed), 0.0
    for _ in range(draws):
        times = [list(t.times) for t in tasks]
        for exp_id, places in where.items():
            s = np.array(sample(exp_id))
            picks = np.concatenate([rng.permutation(s) for _ in range(-(-len(places) // len(s)))])
            for (i, j), x in zip(places, picks):
                times[i][j] = float(x)
        total += wall_time([replace(t, seconds=t.cost(ts)) for t, ts in zip(tasks, times)], workers)
    return total / draws


def wall_time(tasks, workers):
    """Seconds until the last task ends when ``workers`` workers take the tasks longest first,
    each the next one as it frees (list scheduling)."""
    free = [0.0] * max(1, min(workers, len(tasks)))
    for s in sorted((t.seconds for t in tasks), reverse=True):
        heapq.heapreplace(free, free[0] + s)
    return max(free)


def _pass_costs(costs):
    """{lane key: a pass's measured cost} of the experiments of ``costs`` that still exist."""
    out = {}
    for exp_id, c in costs.items():
        try:
            key = lane_key(exp_id)
        except ValueError:             # an experiment renamed or removed since it was measured
            continue
        if key is not None and "pass" in c:
            out[key] = c["pass"]
    return out


def _split(trials, kernel, alone, first, other=None):
    """Tasks of one lane key's trials [(seconds, item)], longest first: the ``alone`` longest
    single, the next ``first`` one group, the rest in groups of LANES; a group of the kernel's
    ``solo`` trials or fewer is single trials. ``other``: {item: fraction of its time outside
    the learner} (group_seconds)."""
    rest = range(alone + first, len(trials), lanes.LANES)
    groups = [trials[i:i + 1] for i in range(alone)] + [trials[alone:alone + first]] \
        + [trials[i:i + lanes.LANES] for i in rest]
    tasks = []
    for g in groups:
        if len(g) > kernel.solo:
            fractions = [(other or {}).get(item, 0.0) for _, item in g]
            times = [s for s, _ in g]
            tasks.append(Task([item for _, item in g], group_seconds(times, kernel, fractions), True,
                              times, kernel, fractions))
        else:
            tasks += [Task([item], s, False, [s]) for s, item in g]
    return tasks


def pack(items, seconds, workers, costs=None):
    """The tasks of ``items`` [(experiment id, trial, seed)], longest first, planned for
    ``workers`` workers (module docstring); ``seconds(item)`` is a trial's core seconds alone
    (None: unknown, counted as the mean of the others). ``costs``: {experiment id:
    trialcost.measure's dict}; a lane key with an experiment there takes its ``pass`` instead of
    its kernel's ``cost``, and each of its trials its fraction ``other``."""
    est = {item: seconds(item) for item in items}
    known = [s for s in est.values() if s is not None]
    guess = sum(known) / len(known) if known else 0.0
    est = {item: guess if s is None else s for item, s in est.items()}
    single, keyed = [], {}
    for item in items:
        key = lane_key(item[0])
        if key is None:
            single.append(Task([item], est[item], False, [est[item]]))
        else:
            keyed.setdefault(key, []).append((est[item], item))
    keys = list(keyed)
    trials = [sorted(keyed[k], key=lambda x: -x[0]) for k in keys]
    cuts = [(0, lanes.LANES)] * len(keys)           # per key: (its longest trials alone, first group)
    measured = _pass_costs(costs or {})
    kernels = [replace(LANE_KERNELS[k[0]], cost=measured.get(k, LANE_KERNELS[k[0]].cost)) for k in keys]
    other = {item: costs[item[0]].get("other", 0.0) for item in items if item[0] in (costs or {})}
    split = lambda i, cut: _split(trials[i], kernels[i], *cut, other)
    parts = [split(i, c) for i, c in enumerate(cuts)]
    planned = lambda parts: wall_time(single + list(chain(*parts)), workers)
    best = planned(parts)
    while True:
        top = max(((t.seconds, i) for i, p in enumerate(parts) for t in p if t.lanes), default=None)
        if top is None:
            break
        i = top[1]
        alone, first = cuts[i]
        size = min(first, len(trials[i]) - alone)
        options = [(alone + j, first) for j in range(1, size + 1)] + [(alone, g) for g in range(kernels[i].solo + 1, size)]
        tried = [(planned(parts[:i] + [split(i, o)] + parts[i + 1:]), o) for o in options]
        w, o = min(tried)
        if w >= best:
            break
        best, cuts[i], parts[i] = w, o, split(i, o)
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
