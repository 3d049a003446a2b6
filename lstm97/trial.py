"""One trial's life: one online training run per seed, judged by its experiment's criterion.

``run_trial(experiment, trial)`` trains one net until its criterion (criteria.py) holds, the
sequence budget is used up, or a weight becomes NaN/inf, and returns its record (records.py).
Inside, a trial is a generator (``chunks``) that yields each chunk of training to whoever trains
it (``run_trial`` alone, ``scheduling.run_lanes`` beside others in the lane engine) and carries
its state from chunk to chunk in a :class:`TrialState`, the state a checkpoint saves.
"""
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import criteria, guessing
from .experiments import get
from .learners import LEARNERS, learner_of
from .nets import make_net, trial_seeds
from .online import ABS_END, SSE
from .records import (GUESS, fingerprint, load_checkpoint, make_record, save_checkpoint, scaled,
                      thin_curve, versions)
from .sources import SOURCES

CHECKPOINT_EVERY = 600.0    # seconds (wall clock) between two checkpoints of a running trial


@dataclass
class TrialState:
    """Everything a trial carries over a chunk boundary (what a checkpoint saves)."""
    net: object
    rng: np.random.Generator                # training data
    test_rng: np.random.Generator           # test sets
    criterion: criteria.Criterion
    full: dict = None                       # 2a/2b: the masks with the cell, until it is added
    grow_prev: float = None                 # 2a/2b: the previous chunk's mean error
    cell_added_at: int = None
    n: int = 0                              # sequences trained
    steps: int = 0
    stages: dict = field(default_factory=dict)
    tests: dict = field(default_factory=dict)
    curve: list = field(default_factory=list)
    spent: float = 0.0                      # seconds spent for this trial outside the generator
    stopped: str = "budget"
    reason: str = ""


def chunk_size(exp, task):
    """Sequences per chunk of training: the criterion's check interval, else about 300,000 steps."""
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


def _start(exp, trial, seed):
    """A trial's state before any training."""
    net_ss, data_ss, test_ss = trial_seeds(exp, trial, seed)
    net = make_net(exp, net_ss)
    rng, test_rng = np.random.default_rng(data_ss), np.random.default_rng(test_ss)
    crit = criteria.of(exp)
    full = _grow_masks(net) if exp.grow else None
    return TrialState(net, rng, test_rng, crit, full,
                      reason=f"no success within {exp.budget} sequences")


def _replay(s, exp, task, learner, batch, stats, snapshot):
    """Stream criteria: train the chunk again from ``snapshot`` up to each stage it reached,
    record the stage there, and on to the chunk's end unless the final stage ended the trial.
    Returns the sequences of the chunk kept."""
    hits = s.criterion.scan(stats)
    if not hits:
        return len(batch)
    s.net.set_weights(snapshot)
    done = 0
    for i, stage in hits:
        learner(s.net, batch.take(np.arange(done, i + 1)), exp.lr, exp.update)
        done = i + 1
        count = s.criterion.count(s.n + done)
        s.stages[stage] = count
        s.tests[stage] = s.criterion.test(s.net, task, s.test_rng) if exp.test_size else {}
        if stage == s.criterion.final:
            s.stopped, s.reason = "solved", s.criterion.reason(stage, count)
            return done
    if done < len(batch):
        learner(s.net, batch.take(np.arange(done, len(batch))), exp.lr, exp.update)
    return len(batch)


def _between_chunks(s, exp, task, stats):
    """After a chunk: 2a/2b add the cell once the error stops falling; the checked criteria."""
    if s.full is not None and s.cell_added_at is None:
        m = stats[:, SSE].mean()
        if s.grow_prev is not None and m >= 0.99 * s.grow_prev:
            _add_cell(s.net, s.full)
            s.cell_added_at = s.n
        s.grow_prev = m
    for stage in s.criterion.check(s.net, task, s.test_rng):
        s.stages.setdefault(stage, s.n)
        if stage == s.criterion.final:
            s.tests[stage] = s.criterion.test(s.net, task, s.test_rng)
            s.stopped, s.reason = "solved", s.criterion.reason(stage, s.n)


def chunks(exp, trial, seed, scale, keep_weights, on_chunk, name, checkpoint=None):
    """One trial as a generator: yields (net, batch, sequences trained so far) for each chunk of
    training and receives (stats, diverged, seconds) from whoever trained it (``run_trial``
    alone, ``run_lanes`` beside others); replays to a stage and the tests run here. Returns
    the record, whose wall_time is this trial's own time plus its share of the training calls:
    core seconds.
    With a ``checkpoint`` file it starts from the state saved there (if that state is from
    this very trial) and saves its state there between chunks, every CHECKPOINT_EVERY seconds."""
    exp = scaled(exp, scale)
    t0 = time.perf_counter()
    task = exp.make_task(trial)
    learner, chunk = LEARNERS[name], chunk_size(exp, task)
    key = dict(experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
               engine=name, versions=versions(), sources=SOURCES)
    s = load_checkpoint(checkpoint, key) if checkpoint is not None else None
    if not isinstance(s, TrialState):
        s = _start(exp, trial, seed)
    last_save = time.perf_counter()
    while s.n < exp.budget and s.stopped == "budget":
        batch = task.sample(s.rng, min(chunk, exp.budget - s.n))
        snapshot = {k: w.copy() for k, w in s.net.weights.items()}
        away = time.perf_counter()
        stats, bad, seconds = yield s.net, batch, s.n
        s.spent += seconds - (time.perf_counter() - away)
        if bad >= 0:
            s.stopped, s.reason = "diverged", f"NaN/inf in sequence {s.n + bad + 1}"
            s.n += bad + 1
            break
        done = _replay(s, exp, task, learner, batch, stats, snapshot)
        s.steps += int(batch.starts[done])
        s.n += done
        s.curve.append([s.n, float(stats[:, SSE].mean()), float(np.mean(stats[:, ABS_END] < exp.abs))])
        if on_chunk is not None:
            on_chunk(s.n, s.net)
        if s.stopped != "budget":
            break
        _between_chunks(s, exp, task, stats)
        if checkpoint is not None and s.stopped == "budget" and s.n < exp.budget \
                and time.perf_counter() - last_save >= CHECKPOINT_EVERY:
            save_checkpoint(checkpoint, key, replace(s, spent=time.perf_counter() - t0 + s.spent))
            last_save = time.perf_counter()
    return make_record(exp, trial, seed, scale, stopped=s.stopped, reason=s.reason, final=s.criterion.final,
                       stages=s.stages, tests=s.tests, net=s.net, keep=keep_weights, engine=name,
                       wall_time=time.perf_counter() - t0 + s.spent, sequences_trained=s.n, steps=s.steps,
                       curve=thin_curve(s.curve), cell_added_at=s.cell_added_at)


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
    crit = criteria.of(exp)
    stages, tests = {}, {}
    if W is not None:
        net.set_weights({"W_h": W, "W_o": net.weights["W_o"]})
        stages[crit.final] = n
        tests[crit.final] = crit.test(net, task, np.random.default_rng(test_ss)) if exp.test_size else {}
    return make_record(exp, trial, seed, scale, stopped="solved" if W is not None else "budget",
                       reason=f"guess {n} passed" if W is not None else f"no guess of {n} passed",
                       final=crit.final, stages=stages, tests=tests, net=net, keep=keep_weights,
                       engine=GUESS, wall_time=time.perf_counter() - t0, sequences_trained=0,
                       steps=steps, curve=[], guesses=n, sequences_evaluated=seqs)


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
    gen = chunks(exp, trial, seed, scale, keep_weights, on_chunk, name, checkpoint)
    try:
        net, batch, _ = next(gen)
        while True:
            t0 = time.perf_counter()
            stats, bad = train(net, batch, exp.lr, exp.update)
            net, batch, _ = gen.send((stats, bad, time.perf_counter() - t0))
    except StopIteration as stop:
        return stop.value
