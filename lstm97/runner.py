"""Trials: one online training run per seed, judged by the paper's criteria; many in parallel.

``run_trial(experiment, trial)`` trains one net until its experiment's criterion holds, the
sequence budget is used up, or a weight becomes NaN/inf, and returns a JSON-able record.
``run_lanes`` trains many trials of one experiment at once in the lane engine (``lanes.py``),
each record equal to the one ``run_trial`` gives. ``run_trials`` runs them on local processes
or a Dask cluster and writes each finished record to disk at once, atomically, so an
interrupted run loses no finished trial and resumes where it stopped; a long trial also leaves
a checkpoint beside its record every ``CHECKPOINT_EVERY`` seconds and resumes from it, so a run
stopped in the middle of a lane group loses at most that much. A record's ``engine`` names the
learner that made it (it is retrained with that one), and its ``wall_time`` is the core time
the trial took: its own time plus its share of each lane-engine call.
"""
import hashlib
import json
import os
import pickle
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from . import SOURCES, bptt, elman, engine, fullgrad, guessing, lanes, lanevec, rnn, rtrl
from .engine import ABS_ALL, ABS_END, ERR_END, SSE
from .experiments import get
from .network import LSTM97
from .tasks import reber

SCALES = ("paper", "smoke")
SMOKE = dict(budget=2000, test_size=256, trials=2)  # smoke: the whole pipeline in seconds, no success expected
MAX_CURVE = 400
CHECKPOINT_EVERY = 600.0    # seconds (wall clock) between two checkpoints of a running trial
PROGRESS_EVERY = 2.0        # seconds between two progress reports of a worker (and bar updates)


class RecordError(Exception):
    """A results file that cannot be used (corrupt, or from another configuration)."""


def scaled(exp, scale):
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if scale == "smoke":
        return replace(exp, budget=min(exp.budget, SMOKE["budget"]), test_size=SMOKE["test_size"],
                       check_every=min(exp.check_every, 500) if exp.check_every else 0)
    return exp


# the Experiment fields that decide a trial's record (new fields must be added on purpose)
FINGERPRINT_FIELDS = ("id", "condition", "task", "net", "lr", "criterion", "budget", "abs", "beta",
                      "window", "all_steps", "st1_wrong", "st2_mean", "check_every", "check_size",
                      "test_size", "nseq", "update", "grow")
# fields added later: part of the fingerprint only where they differ from their default, so
# that the records made before them keep their fingerprints
LATER_FIELDS = {"gradient": "truncated", "seed_id": ""}


def fingerprint(exp, scale):
    """Short hash of everything that determines a trial's record except its seed."""
    fields = asdict(scaled(exp, scale))
    keep = {k: fields[k] for k in FINGERPRINT_FIELDS}
    keep.update({k: fields[k] for k, default in LATER_FIELDS.items() if fields[k] != default})
    text = json.dumps([keep, scale], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# the compiled learners, by the name records give them ("engine"): train_batch(net, batch, lr,
# update) -> (stats, diverged). Records keep the name of the learner that made them, and a
# record is retrained with that learner (tests/test_records.py).
ENGINE = "lstm97.engine: truncated gradient, eqs. 19-28"
LANES = "lstm97.lanes: truncated gradient, eqs. 19-28, trials in SIMD lanes, exp_poly"
FULL = "lstm97.fullgrad: full gradient, BPTT / exact online RTRL"
# the competitors (experiments.BASELINES), on rnn.RNN nets
RTRL = "lstm97.rtrl: real-time recurrent learning"
BPTT = "lstm97.bptt: backpropagation through time per sequence"
ELMAN = "lstm97.elman: Elman's procedure, backprop truncated after one step"
GUESS = "lstm97.guessing: random weight guessing in [-100, 100]"
# RTRL and BPTT with the readout's σ by exp_poly (vectorised; within 1 ulp of libm's exp, so
# not the bits of RTRL/BPTT): the default since the long 2a runs at p = 10 and 100 (1.4-1.6x
# faster there); the 2a rows at p = 4 were recorded with RTRL. Table 1's nets have no readout
# (their outputs are recurrent units): there the two compute the same.
RTRL_POLY = "lstm97.rtrl: real-time recurrent learning, readout σ with exp_poly"
BPTT_POLY = "lstm97.bptt: backpropagation through time per sequence, readout σ with exp_poly"
LEARNERS = {ENGINE: engine.train_batch,
            LANES: lambda net, batch, lr, update: lanes.train_batches([net], [batch], lr, update)[0],
            FULL: fullgrad.train_batch, RTRL: rtrl.train_batch, BPTT: bptt.train_batch,
            ELMAN: elman.train_batch,
            RTRL_POLY: lambda net, batch, lr, update: rtrl.train_batch(net, batch, lr, update, exp="poly"),
            BPTT_POLY: lambda net, batch, lr, update: bptt.train_batch(net, batch, lr, update, exp="poly")}
BY_GRADIENT = {"full": FULL, "rtrl": RTRL_POLY, "bptt": BPTT_POLY, "elman": ELMAN, "guess": GUESS}


def learner_of(exp, lane_engine=True):
    """The name of the learner that trains ``exp``: the one its ``gradient`` names (the full
    gradient, a competitor's), else the truncated gradient, in SIMD lanes by default."""
    if exp.gradient in BY_GRADIENT:
        return BY_GRADIENT[exp.gradient]
    return LANES if lane_engine else ENGINE


def make_net(exp, seed=None):
    """The net an experiment trains: an LSTM97, or a competitor's rnn.RNN (guessing: its A1/A2 net)."""
    if exp.gradient == "guess":
        return guessing.architecture(**exp.net, seed=seed)
    if exp.is_baseline:
        return rnn.RNN(**exp.net, seed=seed)
    return LSTM97(**exp.net, seed=seed)


def evaluate(net, batch):
    """Forward pass of either kind of net: (stats, outputs at every step), as engine.evaluate."""
    return (rnn.evaluate if isinstance(net, rnn.RNN) else engine.evaluate)(net, batch)


def versions():
    """What a record was made with."""
    import platform
    import numba
    return dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__)


# --------------------------------------------------------------------------- criteria
def _runs(ok, carry):
    """Length of the run of consecutive True ending at each index, continuing ``carry``."""
    idx = np.arange(len(ok))
    last_bad = np.maximum.accumulate(np.where(~ok, idx, -1))
    return np.where(last_bad >= 0, idx - last_bad, carry + idx + 1)


class StreamCriterion:
    """Criteria read off the training stream itself (2a-2c, 4, 5, 6): exact to the sequence.

    ``scan(stats)`` consumes one chunk of per-sequence statistics and returns the stages
    reached in it as (index in chunk, stage name).
    """

    def __init__(self, exp):
        self.exp = exp
        self.run = 0                    # consecutive good sequences so far
        self.tail_err = np.zeros(0)     # last `window` end errors (for ST3 and n_seq)
        self.tail_bad = np.zeros(0, bool)
        self.todo = [f"nseq{n}" for n in exp.nseq] if exp.criterion == "nseq" else ["solved"]

    def scan(self, stats):
        exp, hits = self.exp, []
        if exp.criterion == "window":
            ok = stats[:, ABS_ALL if exp.all_steps else ABS_END] < exp.abs
            runs = _runs(ok, self.run)
            self.run = int(runs[-1])
            i = np.flatnonzero(runs >= exp.window)
            if len(i):
                hits.append((int(i[0]), "solved"))
            return hits
        w = exp.window
        err = np.concatenate([self.tail_err, stats[:, ERR_END]])
        bad = np.concatenate([self.tail_bad, stats[:, ABS_END] >= exp.abs])
        off = len(self.tail_err)
        self.tail_err, self.tail_bad = err[-w:], bad[-w:]
        if len(err) < w:
            return hits
        csum_err = np.concatenate([[0.0], np.cumsum(err)])
        csum_bad = np.concatenate([[0], np.cumsum(bad)])
        end = np.arange(max(w, off + 1), len(err) + 1)          # windows err[end-w:end]
        mean_err = (csum_err[end] - csum_err[end - w]) / w
        n_bad = csum_bad[end] - csum_bad[end - w]
        if exp.criterion == "st3":
            i = np.flatnonzero((mean_err < exp.beta) & (n_bad == 0))
            if len(i):
                hits.append((int(end[i[0]] - 1 - off), "solved"))
        else:
            for stage in list(self.todo):
                i = np.flatnonzero(n_bad < int(stage[4:]))
                if not len(i):
                    break
                hits.append((int(end[i[0]] - 1 - off), stage))
                self.todo.remove(stage)
        return hits

    def final(self, stage):
        return stage == final_stage(self.exp)


def final_stage(exp):
    """Name of the stage whose sequence count is the trial's 'success after'."""
    return {"st12": "st2", "nseq": f"nseq{exp.nseq[-1]}" if exp.nseq else ""}.get(exp.criterion, "solved")


def _end_outputs(net, batch):
    stats, outputs = evaluate(net, batch)
    return stats, outputs[batch.starts[1:] - 1]


def check_st12(exp, net, task, rng, n):
    """ST1/ST2 of Exp 3 on n fresh sequences: (misclassified, mean |error|) (docs/paper.md §4.3)."""
    batch = task.sample(rng, n)
    _, y = _end_outputs(net, batch)
    if exp.condition == "3c":
        diff = np.abs(y[:, 0] - batch.info["clean"])            # against the noise-free target
    else:
        diff = np.abs(y[:, 0] - batch.end_targets()[:, 0])
    return int(np.sum(diff > exp.abs)), float(diff.mean())


def check_reber(net, task):
    """Wrong predictions on the training and the test set (docs/paper.md §4.1)."""
    wrong = []
    for batch, legal in ((task.train_batch, task.train_legal), (task.test_batch, task.test_legal)):
        _, outputs = evaluate(net, batch)
        wrong.append(int(np.sum(~reber.correct(outputs, legal))))
    return wrong


def test_measures(exp, net, task, rng):
    """The test figures the paper reports for this experiment, on a fresh test set."""
    if exp.criterion == "reber":
        tr, te = check_reber(net, task)
        return dict(train_wrong=tr, test_wrong=te)
    n = exp.test_size
    if exp.criterion == "st12":
        wrong, mean_abs = check_st12(exp, net, task, rng, n)
        out = dict(test_size=n, wrong=wrong, fraction_misclassified=wrong / n)
        out["av_difference" if exp.condition == "3c" else "mean_abs_error"] = mean_abs
        return out
    batch = task.sample(rng, n)
    stats, _ = evaluate(net, batch)
    column = ABS_ALL if exp.all_steps else ABS_END
    return dict(test_size=n, wrong=int(np.sum(stats[:, column] >= exp.abs)),
                mse=float(stats[:, ERR_END].mean() / net.n_out),
                mean_error=float(stats[:, ERR_END].mean()))


# --------------------------------------------------------------------------- one trial
def _chunk_size(exp, task):
    if exp.check_every:
        return exp.check_every
    probe = task.sample(np.random.default_rng(0), 20)
    per_seq = probe.starts[-1] / len(probe)
    return int(np.clip(300_000 // per_seq, 200, 2000))


def _grow_masks(net):
    """2a/2b before the cell is added: only the direct input->output layer exists (docs/paper.md §6.7)."""
    full = {k: m.copy() for k, m in net.masks.items()}
    net.masks["W_in"][:] = 0.0
    net.masks["W_c"][:] = 0.0
    net.masks["W_k"][:, :net.C] = 0.0
    for k in net.weights:
        net.weights[k] *= net.masks[k]
    return full


def _add_cell(net, full):
    for k in ("W_in", "W_c", "W_k"):
        new = (full[k] > 0) & (net.masks[k] == 0)
        net.weights[k][new] = net.rng.uniform(-net.init, net.init, int(new.sum()))
        net.masks[k] = full[k]


def trial_seeds(exp, trial, seed):
    """A trial's three independent random streams: initial weights, training data, tests.
    Readings use their main run's (``seed_id``), so trial i of both starts alike."""
    return np.random.SeedSequence([seed, trial, zlib.crc32((exp.seed_id or exp.id).encode())]).spawn(3)


def initial_net(experiment, trial, seed=0):
    """The net that trial ``trial`` of ``experiment`` starts from: its Table-10 initialisation
    (docs/paper.md §3), before any training. The scale does not change it."""
    exp = get(experiment) if isinstance(experiment, str) else experiment
    return make_net(exp, trial_seeds(exp, trial, seed)[0])


def run_trial(experiment, trial, seed=0, scale="paper", keep_weights=False, on_chunk=None,
              engine=None, checkpoint=None):
    """Train one net of ``experiment`` (an id or Experiment) for trial number ``trial``.

    The same (experiment, trial, seed, scale, engine) always gives the same record (wall time
    aside). ``engine``: a name from LEARNERS (a record's "engine"), default ``learner_of(exp)``;
    a trial trained alone in the lane engine equals the same trial trained beside others.
    ``on_chunk(n, net)``, if given, is called after each chunk of training with the number of
    sequences so far (for looking at a net during training; it must not change the net).
    ``checkpoint``: a file (``checkpoint_path``) to resume from and to save the trial's state
    to while it runs; the record is the one an uninterrupted run gives (wall time aside).
    """
    exp = get(experiment) if isinstance(experiment, str) else experiment
    if exp.gradient == "guess":
        return guess_trial(scaled(exp, scale), trial, seed, scale, keep_weights)
    name = engine or learner_of(exp)
    if name not in LEARNERS:
        raise ValueError(f"unknown engine {name!r}; expected one of: {', '.join(LEARNERS)}")
    train = LEARNERS[name]
    gen = _trial(exp, trial, seed, scale, keep_weights, on_chunk, name, checkpoint)
    try:
        net, batch, _ = next(gen)
        while True:
            t0 = time.perf_counter()
            stats, bad = train(net, batch, exp.lr, exp.update)
            net, batch, _ = gen.send((stats, bad, time.perf_counter() - t0))
    except StopIteration as stop:
        return stop.value


def run_lanes(experiment, next_trial, emit, seed=0, scale="paper", width=lanes.LANES,
              checkpoints=None, progress=None):
    """Train many trials of ``experiment`` at once in the lane engine, ``width`` at a time.

    ``next_trial()`` gives the next trial number to start (None: no more); ``emit(record)`` gets
    each record as soon as its trial ends, and a freed lane takes the next trial. Every trial's
    record is the one ``run_trial`` gives it alone. Trials that need another learner, or whose
    masks differ at the moment (2a/2b before the cell is added), train in separate groups; a
    group of at most ``lanes.SOLO`` trials (the last trials of a row) trains in the single-trial
    engine with the lanes' exp, which costs less than a pass of all lanes and gives the same.
    ``checkpoints``: the results folder, where each trial keeps its checkpoint (None: none).
    ``progress(trial, n)``, if given, hears after each chunk how many sequences a running
    trial has trained so far.
    """
    exp = get(experiment) if isinstance(experiment, str) else experiment
    name = learner_of(exp)

    def ckpt(t):
        return None if checkpoints is None else checkpoint_path(checkpoints, exp.id, t)
    if name != LANES:
        while (t := next_trial()) is not None:
            look = None if progress is None else (lambda n, net, t=t: progress(t, n))
            emit(run_trial(exp, t, seed, scale, keep_weights(exp, t), look, engine=name,
                           checkpoint=ckpt(t)))
        return
    active = []                                   # [generator, (net, batch, n so far), trial]

    def refill():
        while len(active) < width and (t := next_trial()) is not None:
            gen = _trial(exp, t, seed, scale, keep_weights(exp, t), None, name, ckpt(t))
            try:
                active.append([gen, next(gen), t])
            except StopIteration as stop:
                emit(stop.value)

    refill()
    while active:
        groups = {}
        for a in active:
            net = a[1][0]
            key = (lanes._topology(net),) + tuple(net.masks[k].tobytes() for k in lanes.KEYS)
            groups.setdefault(key, []).append(a)
        for group in groups.values():
            t0 = time.perf_counter()
            if len(group) > lanes.SOLO:
                out = lanes.train_batches([a[1][0] for a in group], [a[1][1] for a in group],
                                          exp.lr, exp.update)
            else:       # cheaper one by one, bit for bit what the lanes give (lanes.SOLO)
                out = [engine.train_batch(*a[1][:2], exp.lr, exp.update, exp="poly") for a in group]
            share = (time.perf_counter() - t0) / len(group)     # a trial's part of the core time
            for a, (stats, bad) in zip(group, out):
                try:
                    a[1] = a[0].send((stats, bad, share))
                    if progress is not None:
                        progress(a[2], a[1][2])
                except StopIteration as stop:
                    emit(stop.value)
                    a[0] = None
        active[:] = [a for a in active if a[0] is not None]
        refill()


def _trial(exp, trial, seed, scale, keep_weights, on_chunk, name, checkpoint=None):
    """One trial as a generator: yields (net, batch, sequences trained so far) for each chunk of
    training and receives (stats, diverged, seconds) from whoever trained it (``run_trial``
    alone, ``run_lanes`` beside others); replays to a stage and the tests run here. Returns
    the record, whose wall_time is this trial's own time plus its share of the training calls:
    core seconds.
    With a ``checkpoint`` file it starts from the state saved there (if that state is from
    this very trial) and saves its state there between chunks, every CHECKPOINT_EVERY seconds."""
    exp = scaled(exp, scale)
    t0 = time.perf_counter()
    spent = 0.0                                   # seconds outside this generator, for this trial
    task = exp.make_task(trial)
    net_ss, data_ss, test_ss = trial_seeds(exp, trial, seed)
    net = make_net(exp, net_ss)
    learner = LEARNERS[name]
    rng, test_rng = np.random.default_rng(data_ss), np.random.default_rng(test_ss)
    chunk = _chunk_size(exp, task)
    stream = StreamCriterion(exp) if exp.criterion in ("window", "st3", "nseq") else None
    full = _grow_masks(net) if exp.grow else None
    grow_prev, cell_added_at = None, None

    n = steps = 0
    stages, tests, curve = {}, {}, []
    stopped, reason = "budget", f"no success within {exp.budget} sequences"
    key = dict(experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
               engine=name, versions=versions(), sources=SOURCES)
    saved = _load_checkpoint(checkpoint, key) if checkpoint is not None else None
    if saved is not None:       # everything a chunk boundary carries over, as it was saved
        net, rng, test_rng, stream, full, grow_prev, cell_added_at, n, steps, stages, tests, curve, spent = saved
    last_save = time.perf_counter()
    while n < exp.budget and stopped == "budget":
        batch = task.sample(rng, min(chunk, exp.budget - n))
        snapshot = {k: w.copy() for k, w in net.weights.items()}
        away = time.perf_counter()
        stats, bad, seconds = yield net, batch, n
        spent += seconds - (time.perf_counter() - away)
        if bad >= 0:
            stopped, reason = "diverged", f"NaN/inf in sequence {n + bad + 1}"
            n += bad + 1
            break
        hits = stream.scan(stats) if stream else []
        done = 0                                  # sequences of this chunk kept so far
        if hits:                                  # replay up to each stage, exactly
            net.set_weights(snapshot)
            for i, stage in hits:
                learner(net, batch.take(np.arange(done, i + 1)), exp.lr, exp.update)
                done = i + 1
                count = n + done
                if exp.criterion == "window":
                    count = n + done - exp.window      # sequences before the window started
                stages[stage] = count
                tests[stage] = test_measures(exp, net, task, test_rng) if exp.test_size else {}
                if stream.final(stage):
                    stopped, reason = "solved", f"{stage} after {count} sequences"
                    break
            if stopped == "budget" and done < len(batch):
                learner(net, batch.take(np.arange(done, len(batch))), exp.lr, exp.update)
                done = len(batch)
        else:
            done = len(batch)
        steps += int(batch.starts[done])
        n += done
        curve.append([n, float(stats[:, SSE].mean()), float(np.mean(stats[:, ABS_END] < exp.abs))])
        if on_chunk is not None:
            on_chunk(n, net)
        if stopped != "budget":
            break
        if full is not None and cell_added_at is None:
            m = stats[:, SSE].mean()
            if grow_prev is not None and m >= 0.99 * grow_prev:
                _add_cell(net, full)
                cell_added_at = n
            grow_prev = m
        if exp.criterion == "reber":
            wrong = check_reber(net, task)
            if wrong == [0, 0]:
                stages["solved"] = n
                tests["solved"] = test_measures(exp, net, task, test_rng)
                stopped, reason = "solved", f"all correct after {n} sequences"
        elif exp.criterion == "st12":
            wrong, mean_abs = check_st12(exp, net, task, test_rng, exp.check_size)
            if wrong <= exp.st1_wrong:
                stages.setdefault("st1", n)
                if mean_abs < exp.st2_mean:
                    stages["st2"] = n
                    tests["st2"] = test_measures(exp, net, task, test_rng)
                    stopped, reason = "solved", f"ST2 after {n} sequences"
        if checkpoint is not None and stopped == "budget" and n < exp.budget \
                and time.perf_counter() - last_save >= CHECKPOINT_EVERY:
            _save_checkpoint(checkpoint, key, (net, rng, test_rng, stream, full, grow_prev, cell_added_at,
                                               n, steps, stages, tests, curve,
                                               time.perf_counter() - t0 + spent))
            last_save = time.perf_counter()

    while len(curve) > MAX_CURVE:
        curve = curve[::2] if len(curve) % 2 else curve[::2] + [curve[-1]]
    record = dict(
        experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
        success=stopped == "solved", stopped=stopped, reason=reason,
        sequences=stages.get(final_stage(exp)) if stopped == "solved" else None,
        stages=stages, test=tests, sequences_trained=n, steps=steps, curve=curve,
        cell_added_at=cell_added_at, wall_time=time.perf_counter() - t0 + spent,
        engine=name, versions=versions())
    if keep_weights:
        record["weights"] = {k: w.tolist() for k, w in net.weights.items()}
    return record


def guess_trial(exp, trial, seed=0, scale="paper", keep_weights=False):
    """One trial of random weight guessing (guessing.py): guesses until one passes the LSTM row's
    stopping test or the budget (in guesses) is spent. The record has the fields of run_trial's;
    its "sequences" and stages count guesses; "sequences_evaluated" and "steps" count the
    sequences and steps the guesses were run on; nothing is trained."""
    t0 = time.perf_counter()
    task = exp.make_task(trial)
    net_ss, data_ss, test_ss = trial_seeds(exp, trial, seed)
    net = make_net(exp, net_ss)
    n, seqs, steps, W = guessing.search(exp, task, net, np.random.default_rng(net_ss),
                                        np.random.default_rng(data_ss))
    stage = final_stage(exp)
    stages, tests = {}, {}
    if W is not None:
        net.set_weights({"W_h": W, "W_o": net.weights["W_o"]})
        stages[stage] = n
        tests[stage] = test_measures(exp, net, task, np.random.default_rng(test_ss)) if exp.test_size else {}
    record = dict(
        experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
        success=W is not None, stopped="solved" if W is not None else "budget",
        reason=f"guess {n} passed" if W is not None else f"no guess of {n} passed",
        sequences=n if W is not None else None, unit="guesses", guesses=n,
        stages=stages, test=tests, sequences_trained=0, sequences_evaluated=seqs, steps=steps,
        curve=[], cell_added_at=None, wall_time=time.perf_counter() - t0,
        engine=GUESS, versions=versions())
    if keep_weights:
        record["weights"] = {k: w.tolist() for k, w in net.weights.items()}
    return record


# --------------------------------------------------------------------------- records on disk
def record_path(results, experiment_id, trial):
    return Path(results) / experiment_id / f"trial_{trial:03d}.json"


def checkpoint_path(results, experiment_id, trial):
    """Where a running trial keeps its state (git-ignored; deleted once its record is written)."""
    return Path(results) / experiment_id / f"trial_{trial:03d}.checkpoint"


def _write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: a temporary file beside it, then a rename
    into place. A write that fails leaves the old file as it was and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save_checkpoint(path, key, state):
    """A pickle of (key, state), written atomically."""
    _write_atomic(path, pickle.dumps((key, state), protocol=pickle.HIGHEST_PROTOCOL))


def _load_checkpoint(path, key):
    """The state saved in ``path`` if it is from the trial ``key`` describes (same experiment,
    trial, seed, scale, configuration, engine, library versions and package sources), else
    None: the trial then starts over and says why on stderr. The file is left alone until the
    trial saves anew."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved_key, state = pickle.loads(path.read_bytes())
    except Exception as e:                        # truncated or foreign file: only time is lost
        print(f"checkpoint {path} is unreadable ({type(e).__name__}: {e}); trial starts over",
              file=sys.stderr)
        return None
    if saved_key != key:
        diff = ", ".join(k for k in key if saved_key.get(k) != key[k]) if isinstance(saved_key, dict) else "all"
        print(f"checkpoint {path} is from another run (differs in: {diff}); trial starts over",
              file=sys.stderr)
        return None
    return state


def check_writable(folder):
    """ValueError in one line naming ``folder`` and the reason unless records can be written
    there: the folder is created if missing, and a temporary file written in it; what this
    created is removed again. Called before any training, so a run fails at once, not after
    its first trial."""
    folder = Path(folder).absolute()
    made = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"cannot write records to {folder}: {e.strerror or e}") from None
    finally:
        for p in made:                            # the deepest first
            try:
                p.rmdir()
            except OSError:
                pass


def load_record(path, exp=None, scale=None):
    """Read one record; RecordError naming the file if it is corrupt or from another config."""
    try:
        rec = json.loads(Path(path).read_text())
        if not isinstance(rec, dict) or "success" not in rec or "experiment" not in rec:
            raise ValueError("not a trial record")
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"corrupt results file {path}: {e}. Move it away to rerun that trial; "
                          "it was not used or overwritten.") from None
    if exp is not None and rec.get("config") != fingerprint(exp, scale):
        raise RecordError(f"results file {path} was made by another configuration or scale "
                          f"({rec.get('config')} != {fingerprint(exp, scale)}); move it away to rerun")
    return rec


def write_record(path, record):
    """The record as JSON, written atomically."""
    _write_atomic(path, json.dumps(record, indent=1).encode())


def load_records(results, experiment_id, scale="paper"):
    """All finished records of an experiment, by trial order (checked like run_trials does)."""
    exp = get(experiment_id)
    folder = Path(results) / experiment_id
    return [load_record(p, exp, scale) for p in sorted(folder.glob("trial_*.json"))]


def keep_weights(exp, trial):
    """Records store trained weights (for looking inside nets): every trial of a net with at
    most 1,000 weights, the first three trials of bigger nets."""
    return trial < 3 or exp.n_weights <= 1000


def _die_with_parent():
    """Pool workers end when the run that started them is killed (Linux), instead of
    training on, orphaned, for a result nobody will write."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _lane_job(exp_id, seed, scale, pending, done, width, checkpoints=None):
    """One worker's share of a run: trials taken from the queue ``pending`` until it gives
    None, ``width`` at a time in lanes; each record goes to the queue ``done`` as soon as its
    trial ends, and every PROGRESS_EVERY seconds {"progress": {trial: sequences so far}} for
    its running trials."""
    ended = False
    latest, sent = {}, [time.perf_counter() - PROGRESS_EVERY]

    def next_trial():
        nonlocal ended
        t = None if ended else pending.get()
        ended = t is None
        return t

    def progress(t, n):
        latest[t] = n
        if time.perf_counter() - sent[0] >= PROGRESS_EVERY:
            done.put({"progress": {str(k): v for k, v in latest.items()}})
            sent[0] = time.perf_counter()

    def emit(rec):
        latest.pop(rec["trial"], None)
        done.put(rec)
    run_lanes(exp_id, next_trial, emit, seed, scale, width, checkpoints, progress)


def _progress_bar():
    """tqdm's widget bar where ipywidgets can draw it, else the plain text bar. (tqdm.auto in a
    kernel without ipywidgets prints an "IProgress not found" warning that papermill would save
    into the executed notebook.)"""
    import importlib.util
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm


def run_trials(experiment, trials=None, *, scale="paper", results=None, seed=0,
               scheduler=None, workers=None, lanes=lanes.LANES, progress=True):
    """Run trials 0..trials-1 of an experiment that have no record yet; return all records.

    ``progress``: True, a progress bar of this experiment's trials; False, none; a function,
    no bar but ``progress(record)`` with each record as it is written (for one bar over many
    experiments, as ``make reproduce`` keeps).

    Records go to ``results`` (default ``results/<scale>`` under the current directory, never
    the committed ``data/results`` unless it is named). Local processes by default
    (``workers``, default all cores); a Dask cluster when ``scheduler`` (or the
    LSTM97_SCHEDULER variable) gives its address. Each process trains up to ``lanes`` trials at
    once in the lane engine (``run_lanes``); a record is written as soon as its trial ends.
    Local runs keep each running trial's checkpoint (``checkpoint_path``) in ``results`` and
    resume from it; trials on a Dask cluster, whose workers may not share the disk, keep none.
    """
    results = Path("results") / scale if results is None else results
    exp = get(experiment) if isinstance(experiment, str) else experiment
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if trials is None:
        trials = exp.trials if scale == "paper" else min(exp.trials, SMOKE["trials"])
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise ValueError(f"trials must be a non-negative integer, got {trials!r}")
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
        raise ValueError(f"lanes must be a positive integer, got {lanes!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    scheduler = scheduler or os.environ.get("LSTM97_SCHEDULER") or None
    records = {}
    for t in range(trials):                       # read everything first: fail before training
        p = record_path(results, exp.id, t)
        if p.exists():
            records[t] = load_record(p, exp, scale)
    for t in records:                             # left if a run stopped between record and cleanup
        checkpoint_path(results, exp.id, t).unlink(missing_ok=True)
    todo = [(exp.id, t, seed, scale) for t in range(trials) if t not in records]
    if todo:
        bar, hear = None, progress if callable(progress) else None
        if progress and hear is None:
            bar = _progress_bar()(total=trials, initial=trials - len(todo), desc=exp.id, unit="trial")
        t0, seqs, shown = time.perf_counter(), 0, 0.0
        running, budget = {}, scaled(exp, scale).budget     # trial -> sequences trained so far

        def show():
            nonlocal shown
            post = dict(solved=sum(r["success"] for r in records.values()))
            if seqs:
                post["seq_per_s"] = f"{seqs / (time.perf_counter() - t0):,.0f}"
            if running:
                lo, hi = min(running.values()), max(running.values())
                post["running"] = (f"{len(running)} at {lo:,}" + (f"-{hi:,}" if hi > lo else "")
                                   + f" of {budget:,} sequences")
            bar.set_postfix(post)
            shown = time.perf_counter()

        def finished(rec):
            nonlocal seqs
            if "progress" in rec:                 # a worker's running trials, not a record
                running.update({int(t): n for t, n in rec["progress"].items() if int(t) not in records})
                if bar and time.perf_counter() - shown >= PROGRESS_EVERY:
                    show()
                return
            write_record(record_path(results, exp.id, rec["trial"]), rec)
            checkpoint_path(results, exp.id, rec["trial"]).unlink(missing_ok=True)
            records[rec["trial"]] = rec
            running.pop(rec["trial"], None)
            seqs += rec["sequences_trained"]
            if hear:
                hear(rec)
            if bar:
                show()
                bar.update(1)

        try:
            trials_left = [job[1] for job in todo]
            n_workers = min(workers or os.cpu_count() or 1, len(todo))
            if scheduler:
                _run_dask(scheduler, exp.id, seed, scale, trials_left, finished, lanes)
            elif n_workers == 1:
                run_lanes(exp.id, lambda: trials_left.pop(0) if trials_left else None, finished, seed, scale,
                          lanes, checkpoints=results, progress=lambda t, n: finished({"progress": {t: n}}))
            else:
                _run_pool(n_workers, exp.id, seed, scale, trials_left, finished, lanes, results)
        finally:
            if bar:
                bar.close()
    return [records[t] for t in sorted(records)]


def _width(n_trials, n_workers, most=lanes.LANES):
    """Lanes per worker: at most ``most``, and few enough that every worker gets trials."""
    return max(1, min(most, -(-n_trials // n_workers)))


def _kernel_width(share, environ=os.environ):
    """The lane kernel's width (LSTM97_LANES) for worker processes that train ``share`` trials
    at once each: 8 where share <= 8, since idle lanes cost as much as busy ones and a pass of 8
    lanes costs 0.53-0.61 of a pass of 16 (docs/performance.md; a row of 10 trials
    on 2 processes); else None, the default. None also where the user set LSTM97_LANES: that
    width is kept. Records are the same at every width."""
    small = lanevec.WIDTHS[0]
    return None if "LSTM97_LANES" in environ or share > small else small


@contextmanager
def _environment(name, value):
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


def _worker_width():
    """The lane kernel's width in this process (lanes.LANES): what a pool worker runs."""
    return lanes.LANES


def _drain(done, jobs, finished):
    """Pass each record from the queue ``done`` to ``finished`` until every job has ended;
    a job's error is raised here."""
    import queue
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


def _pool(n_workers):
    """A pool of spawned processes that end with the run (_die_with_parent)."""
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn"), initializer=_die_with_parent)


def _run_pool(n_workers, exp_id, seed, scale, trials, finished, lanes, checkpoints=None):
    """Local processes, each training its lanes from one shared queue of trials."""
    from multiprocessing import Manager
    with Manager() as manager:
        pending, done = manager.Queue(), manager.Queue()
        for t in trials + [None] * n_workers:
            pending.put(t)
        width = _width(len(trials), n_workers, lanes)
        pool = _pool(n_workers)
        try:
            with _environment("LSTM97_LANES", _kernel_width(width)):   # a process starts at each submit
                jobs = [pool.submit(_lane_job, exp_id, seed, scale, pending, done, width, checkpoints)
                        for _ in range(n_workers)]
            _drain(done, jobs, finished)
        except KeyboardInterrupt:      # finished trials are on disk; queued ones never start
            running = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in running:
                proc.terminate()
            raise
        pool.shutdown()


def connect(scheduler, timeout=5):
    """A Dask client for ``scheduler``; ValueError naming the address if it cannot be reached."""
    from dask.distributed import Client
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ValueError(f"cannot reach Dask scheduler {scheduler!r}: {e}") from None


class _DaskQueue:
    """A named distributed.Queue with the put/get(timeout) of a multiprocessing queue. Items
    travel as JSON text: Dask's own transport would turn the records' lists into tuples."""

    def __init__(self, name, client=None):
        from distributed import Queue
        self.q = Queue(name, client=client)

    def put(self, item):
        self.q.put(json.dumps(item))

    def get(self, timeout=None):
        import queue
        try:
            return json.loads(self.q.get(timeout=timeout))
        except TimeoutError:
            raise queue.Empty from None


def _dask_lane_job(exp_id, seed, scale, names, width):
    """_lane_job on a Dask worker, with the run's two queues found by name."""
    _lane_job(exp_id, seed, scale, _DaskQueue(names[0]), _DaskQueue(names[1]), width)


def _run_dask(scheduler, exp_id, seed, scale, trials, finished, lanes):
    """One lane job per worker thread of the cluster, all fed from one Dask queue of trials;
    records come back one by one as their trials end."""
    import uuid
    client = connect(scheduler)
    try:
        n = min(len(trials), max(1, sum(client.nthreads().values())))
        names = (f"lstm97-pending-{uuid.uuid4().hex}", f"lstm97-done-{uuid.uuid4().hex}")
        pending, done = _DaskQueue(names[0], client), _DaskQueue(names[1], client)
        for t in trials + [None] * n:
            pending.put(t)
        jobs = [client.submit(_dask_lane_job, exp_id, seed, scale, names, _width(len(trials), n, lanes),
                              pure=False) for _ in range(n)]
        _drain(done, jobs, finished)
    finally:
        client.close()
