"""Where trials run: lane groups in one process (``run_lanes``), local worker processes, a Dask
cluster, the lane-width rule, and the messages workers send back (records, and ``Progress``)."""
import json
import os
import queue
import signal
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing import Manager, get_context

from . import lanes, lanevec
from .experiments import get
from .learners import LANE_KERNELS, learner_of
from .records import LANES, checkpoint_path, keep_weights
from .trial import chunks, run_trial

PROGRESS_EVERY = 2.0        # seconds between two progress reports of a worker (and bar updates)


@dataclass
class Progress:
    """A worker's running trials: {trial: sequences trained so far}. Travels on the records' queue."""
    running: dict


@dataclass
class _Running:
    """A trial in a lane: its generator, the chunk it waits to have trained, its experiment (whose
    learning rate and update timing train the chunk), what ``progress`` calls it and its learner."""
    gen: object
    net: object
    batch: object
    n: int
    exp: object
    item: object
    name: str = LANES


def run_lanes(experiment, next_trial, emit, seed=0, scale="paper", width=lanes.LANES,
              checkpoints=None, progress=None):
    """Train many trials of ``experiment`` at once in the lane engine, ``width`` at a time.

    ``next_trial()`` gives the next trial number to start (None: no more); ``emit(record)`` gets
    each record as soon as its trial ends, and a freed lane takes the next trial. Every trial's
    record is the one ``run_trial`` gives it alone (``train_lanes``).
    ``checkpoints``: the results folder, where each trial keeps its checkpoint (None: none).
    ``progress(trial, n)``, if given, hears after each chunk how many sequences a running
    trial has trained so far.
    """
    exp = get(experiment) if isinstance(experiment, str) else experiment

    def next_item():
        t = next_trial()
        return None if t is None else (exp, t, seed)
    train_lanes(next_item, emit, scale, width, checkpoints,
                None if progress is None else lambda item, n: progress(item[1], n))


def train_lanes(next_item, emit, scale="paper", width=lanes.LANES, checkpoints=None, progress=None):
    """Train trials of any experiments at once in the lane engine, ``width`` at a time.

    ``next_item()`` gives the next (Experiment, trial, seed) to start (None: no more);
    ``emit(record)`` gets each record as soon as its trial ends, and a freed lane takes the
    next trial. Every trial's record is the one ``run_trial`` gives it alone. Trials share a
    kernel call where ``lanes.train_batches`` allows it (``_groups``: the same topology and
    masks, learning rate, update timing and input layout), so trials of several experiments
    train side by side, and 2a/2b trials before their cell is added apart from those after; a
    group of at most ``solo`` trials (the last trials of a group) trains one by one in the
    single-trial learner, which costs less than a pass of all lanes and gives the same. The
    LSTM's lanes, those of RTRL and BPTT on Table 2's nets and those of the full gradient
    (``learners.LANE_KERNELS``) train so; a trial of any other learner trains alone as it comes.
    ``checkpoints``: the results folder (None: no checkpoints). ``progress(item, n)``, if
    given, hears after each chunk how many sequences a running trial has trained so far.
    """
    active = []

    def refill():
        while len(active) < width and (item := next_item()) is not None:
            exp, t, seed = item
            name = learner_of(exp)
            ckpt = None if checkpoints is None else checkpoint_path(checkpoints, exp.id, t)
            if name not in LANE_KERNELS:
                look = None if progress is None else (lambda n, net, item=item: progress(item, n))
                emit(run_trial(exp, t, seed, scale, keep_weights(exp, t), look, engine=name, checkpoint=ckpt))
                continue
            gen = chunks(exp, t, seed, scale, keep_weights(exp, t), None, name, ckpt)
            try:
                active.append(_Running(gen, *next(gen), exp, item, name))
            except StopIteration as stop:
                emit(stop.value)

    refill()
    while active:
        for group in _groups(active):
            for a, result in zip(group, _train_group(group)):
                try:
                    a.net, a.batch, a.n = a.gen.send(result)
                    if progress is not None:
                        progress(a.item, a.n)
                except StopIteration as stop:
                    emit(stop.value)
                    a.gen = None
        active[:] = [a for a in active if a.gen is not None]
        refill()


def _groups(active):
    """The running trials in groups that can share lanes: same learner, net key (topology and
    masks), learning rate, update timing and number of inputs per step (learners.LaneKernel); a
    net its kernel does not support is a group of its own."""
    groups = {}
    for a in active:
        kernel = LANE_KERNELS[a.name]
        net = kernel.key(a.net) if kernel.supports(a.net) else id(a)
        key = (a.name, net, a.exp.lr, a.exp.update, a.batch.x_idx.shape[1])
        groups.setdefault(key, []).append(a)
    return list(groups.values())


def _train_group(group):
    """One chunk of every trial of the group: [(stats, diverged, its share of the core seconds)]."""
    exp, kernel = group[0].exp, LANE_KERNELS[group[0].name]
    t0 = time.perf_counter()
    if len(group) > kernel.solo and kernel.supports(group[0].net):
        out = kernel.train([a.net for a in group], [a.batch for a in group], exp.lr, exp.update)
    else:       # cheaper one by one, bit for bit what the lanes give (LaneKernel.solo)
        out = [kernel.single(a.net, a.batch, exp.lr, exp.update) for a in group]
    share = (time.perf_counter() - t0) / len(group)     # a trial's part of the core time
    return [(stats, bad, share) for stats, bad in out]


def _die_with_parent():
    """Pool workers end when the run that started them is killed (Linux), instead of
    training on, orphaned, for a result nobody will write."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _reporter(done, key):
    """A worker's (progress, emit): ``emit(record)`` puts the record on the queue ``done``;
    ``progress(k, n)`` notes that the running trial ``k`` has trained n sequences and, every
    PROGRESS_EVERY seconds, puts a Progress of all its running trials there. ``key(record)``
    is what progress calls the record's trial."""
    latest, sent = {}, [time.perf_counter() - PROGRESS_EVERY]

    def progress(k, n):
        latest[k] = n
        if time.perf_counter() - sent[0] >= PROGRESS_EVERY:
            done.put(Progress(dict(latest)))
            sent[0] = time.perf_counter()

    def emit(rec):
        latest.pop(key(rec), None)
        done.put(rec)
    return progress, emit


def _lane_job(exp_id, seed, scale, pending, done, width, checkpoints=None):
    """One worker's share of a run: trials taken from the queue ``pending`` until it gives
    None, ``width`` at a time in lanes; each record goes to the queue ``done`` as soon as its
    trial ends, and every PROGRESS_EVERY seconds a Progress of its running trials."""
    ended = False

    def next_trial():
        nonlocal ended
        t = None if ended else pending.get()
        ended = t is None
        return t
    progress, emit = _reporter(done, lambda rec: rec["trial"])
    run_lanes(exp_id, next_trial, emit, seed, scale, width, checkpoints, progress)


def task_job(scale, pending, done, checkpoints=None):
    """One worker's share of a queue of tasks: tasks taken from the queue ``pending`` until it
    gives None, each a list of [experiment id, trial, seed] trained at once (``train_lanes``,
    as many lanes as the task has trials); each record goes to the queue ``done`` as soon as
    its trial ends, and every PROGRESS_EVERY seconds a Progress of its running trials, each
    named (experiment id, trial)."""
    progress, emit = _reporter(done, lambda rec: (rec["experiment"], rec["trial"]))
    while (task := pending.get()) is not None:
        items = iter([(get(e), t, s) for e, t, s in task])
        train_lanes(lambda: next(items, None), emit, scale, len(task), checkpoints,
                    lambda item, n: progress((item[0].id, item[1]), n))


def width(n_trials, n_workers, most=lanes.LANES):
    """Lanes per worker: at most ``most``, and few enough that every worker gets trials."""
    return max(1, min(most, -(-n_trials // n_workers)))


def kernel_width(share, environ=os.environ):
    """The lane kernel's width (LSTM97_LANES) for worker processes that train ``share`` trials
    at once each: 8 where share <= 8, since idle lanes cost as much as busy ones and a pass of 8
    lanes costs 0.53-0.61 of a pass of 16 (docs/performance.md; a row of 10 trials
    on 2 processes); else None, the default. None also where the user set LSTM97_LANES: that
    width is kept. Records are the same at every width."""
    small = lanevec.WIDTHS[0]
    return None if "LSTM97_LANES" in environ or share > small else small


@contextmanager
def environment(name, value):
    """os.environ[name] = value inside the block (None: left as it is), then as before. A process
    started in the block inherits it: a spawned worker reads LSTM97_LANES as it imports lanevec."""
    old = os.environ.get(name)
    if value is not None:
        os.environ[name] = str(value)
    try:
        yield
    finally:
        if value is not None:
            if old is None:
                del os.environ[name]
            else:
                os.environ[name] = old


def worker_width():
    """The lane kernel's width in this process (lanes.LANES): what a pool worker runs."""
    return lanes.LANES


def _drain(done, jobs, finished):
    """Pass each message from the queue ``done`` to ``finished`` until every job has ended;
    a job's error is raised here."""
    while True:
        try:
            finished(done.get(timeout=0.2))
            continue
        except queue.Empty:
            pass
        if all(j.done() for j in jobs):
            for j in jobs:
                j.result()                        # raise a worker's error
            try:
                while True:
                    finished(done.get(timeout=0.2))
            except queue.Empty:
                return


def pool(n_workers):
    """A pool of spawned processes that end with the run (_die_with_parent)."""
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn"), initializer=_die_with_parent)


def run_local(n_workers, job, items, finished, lanes_env=None):
    """``n_workers`` local processes, each running ``job(pending, done)``: ``pending`` holds
    ``items`` and then a None per worker; each message a job puts on ``done`` goes to
    ``finished`` as it comes. ``lanes_env``: the workers' LSTM97_LANES (None: this one's)."""
    with Manager() as manager:
        pending, done = manager.Queue(), manager.Queue()
        for item in list(items) + [None] * n_workers:
            pending.put(item)
        workers = pool(n_workers)
        try:
            with environment("LSTM97_LANES", lanes_env):   # a process starts at each submit
                jobs = [workers.submit(job, pending, done) for _ in range(n_workers)]
            _drain(done, jobs, finished)
        except KeyboardInterrupt:      # finished trials are on disk; queued ones never start
            running = list((getattr(workers, "_processes", None) or {}).values())
            workers.shutdown(wait=False, cancel_futures=True)
            for proc in running:
                proc.terminate()
            raise
        workers.shutdown()


def run_pool(n_workers, exp_id, seed, scale, trials, finished, most, checkpoints=None):
    """Local processes, each training its lanes (at most ``most``) from one shared queue of trials."""
    share = width(len(trials), n_workers, most)
    run_local(n_workers, partial(_lane_job, exp_id, seed, scale, width=share, checkpoints=checkpoints),
              trials, finished, kernel_width(share))


def connect(scheduler, timeout=5):
    """A Dask client for ``scheduler``; ValueError naming the address if it cannot be reached."""
    from dask.distributed import Client
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ValueError(f"cannot reach Dask scheduler {scheduler!r}: {e}") from None


class _DaskQueue:
    """A named distributed.Queue with the put/get(timeout) of a multiprocessing queue. Items
    travel as JSON text: Dask's own transport would turn the records' lists into tuples. A
    Progress travels as its pairs, its trials' names as lists, and comes back with tuples."""

    def __init__(self, name, client=None):
        from distributed import Queue
        self.q = Queue(name, client=client)

    def put(self, item):
        self.q.put(json.dumps({"progress": list(item.running.items())} if isinstance(item, Progress) else item))

    def get(self, timeout=None):
        try:
            item = json.loads(self.q.get(timeout=timeout))
        except TimeoutError:
            raise queue.Empty from None
        if isinstance(item, dict) and "progress" in item:
            return Progress({tuple(k) if isinstance(k, list) else k: n for k, n in item["progress"]})
        return item


def threads(client):
    """The worker threads of a Dask cluster."""
    return max(1, sum(client.nthreads().values()))


def _with_queues(job, names):
    """``job(pending, done)`` on a Dask worker, with the run's two queues found by name."""
    job(_DaskQueue(names[0]), _DaskQueue(names[1]))


def run_on_dask(client, n, job, items, finished):
    """``job(pending, done)`` on ``n`` worker threads of the cluster, all fed from one Dask queue
    of ``items`` (then a None per job); each message comes back to ``finished`` as it is put."""
    names = (f"lstm97-pending-{uuid.uuid4().hex}", f"lstm97-done-{uuid.uuid4().hex}")
    pending, done = _DaskQueue(names[0], client), _DaskQueue(names[1], client)
    for item in list(items) + [None] * n:
        pending.put(item)
    jobs = [client.submit(_with_queues, job, names, pure=False) for _ in range(n)]
    _drain(done, jobs, finished)


def run_dask(scheduler, exp_id, seed, scale, trials, finished, most):
    """One lane job per worker thread of the cluster, all fed from one Dask queue of trials;
    records come back one by one as their trials end."""
    client = connect(scheduler)
    try:
        n = min(len(trials), threads(client))
        run_on_dask(client, n, partial(_lane_job, exp_id, seed, scale, width=width(len(trials), n, most)),
                    trials, finished)
    finally:
        client.close()
