"""What a trial costs on this machine, measured per experiment: the rates the queue's plan
(trialqueue.py) turns the records' trial-steps into time with.

For an experiment trained by a learner (not guessing), three numbers, each in CPU time of this
thread on a fresh net of the experiment at paper scale:

- ``step``: core seconds per trial-step of the learner that trains the experiment's trials one
  at a time (for the LSTM, the single-trial engine with exp_poly, which a lane equals bit for
  bit), best of three runs on one batch of about STEPS steps;
- ``other``: the fraction of a trial's time outside that learner over its first chunks:
  drawing each chunk of training sequences and the criterion's checks between chunks, the
  median of REPEATS measurements (single measurements of the 2a/2b net range over
  0.07-0.21). A trial alone then takes steps x step / (1 - other);
- ``pass`` (where a lane kernel trains the net, learners.LANE_KERNELS): a kernel call of LANES
  trials, each on its own batch, against one trial in the single-trial learner, in steps of the
  latter (the two run in turn on one core, ``alternate``, at least REPEATS runs of each, the
  fastest of each): a pass of
  the lanes costs this many single-trial steps whatever the number of busy lanes. The lanes
  share only the learner's part of their trials' time.

Measured with the machine's other core training, repeated measurements of one net differ by
up to 20%; docs/runtime.md gives the ranges. ``python -m lstm97 plan --measure`` measures the
experiments of a plan (a few seconds each) and keeps the numbers in ``data/trial_costs.json``
(the file's one purpose), which ``load`` reads. No record is touched.
"""
import json
import time
from pathlib import Path

import numpy as np

from . import criteria, experiments, lanes
from .learners import LANE_KERNELS, LEARNERS, learner_of
from .nets import initial_net
from .records import scaled
from .trial import chunk_size

PATH = Path(__file__).resolve().parents[1] / "data" / "trial_costs.json"
STEPS = 200_000          # trial-steps per batch of a timed run (about 20-200 ms)
REPEATS = 5              # measurements of ``other``; the fewest timed runs of each side of ``pass``


def alternate(single, parallel, budget, runs=1):
    """{"single": [...], "lanes": [...]}: the CPU times of this thread of single() and parallel(),
    run in turn (the same load on both) until ``budget`` seconds have passed, at least ``runs``
    times each."""
    t = {"single": [], "lanes": []}
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < budget or len(t["lanes"]) < runs:
        for key, run in (("single", single), ("lanes", parallel)):
            t1 = time.thread_time()
            run()
            t[key].append(time.thread_time() - t1)
    return t


def _batches(exp, n):
    """n batches of about STEPS trial-steps each, each its own draw of the task."""
    task = exp.make_task(0)
    probe = task.sample(np.random.default_rng(0), 20)
    size = int(np.clip(STEPS * len(probe) // max(int(probe.starts[-1]), 1), 1, 2000))
    return [task.sample(np.random.default_rng(l), size) for l in range(n)]


def _step(exp, learn, batch):
    """CPU seconds per trial-step of ``learn`` on a fresh net of ``exp`` (best of 3)."""
    learn(initial_net(exp, 0), batch.take([0]), exp.lr, exp.update)       # compiled or loaded first
    best = np.inf
    for _ in range(3):
        net = initial_net(exp, 0)
        t0 = time.thread_time()
        learn(net, batch, exp.lr, exp.update)
        best = min(best, time.thread_time() - t0)
    return best / int(batch.starts[-1])


def _other(exp, learn, chunks=3):
    """The fraction of a fresh trial's time outside ``learn`` over its chunks 2 to
    ``chunks`` + 1 (the first compiles or loads what the checks run): sampling each chunk and
    the criterion's checks. One measurement; ``other`` is the median of REPEATS."""
    task = exp.make_task(0)
    crit, size = criteria.of(exp), chunk_size(exp, task)
    rng, test_rng, net = np.random.default_rng(0), np.random.default_rng(1), initial_net(exp, 0)
    stats, _ = learn(net, task.sample(rng, size), exp.lr, exp.update)
    crit.scan(stats)
    list(crit.check(net, task, test_rng))
    inside = outside = 0.0
    for _ in range(chunks):
        t0 = time.thread_time()
        batch = task.sample(rng, size)
        t1 = time.thread_time()
        stats, _ = learn(net, batch, exp.lr, exp.update)
        t2 = time.thread_time()
        crit.scan(stats)
        list(crit.check(net, task, test_rng))
        t3 = time.thread_time()
        inside, outside = inside + t2 - t1, outside + (t1 - t0) + (t3 - t2)
    return outside / max(inside + outside, 1e-12)


def _pass(exp, kernel, batches, budget):
    """A pass of the lanes (each lane its own batch) in single-trial steps (module docstring)."""
    nets = [initial_net(exp, l) for l in range(lanes.LANES)]
    kernel.train(nets, [b.take([0]) for b in batches], exp.lr, exp.update)        # compiled or loaded
    one = initial_net(exp, 0)
    kernel.single(one, batches[0].take([0]), exp.lr, exp.update)
    t = alternate(lambda: kernel.single(one, batches[0], exp.lr, exp.update),
                  lambda: kernel.train(nets, batches, exp.lr, exp.update), budget, REPEATS)
    per_step = max(min(t["single"]), 1e-12) / int(batches[0].starts[-1])
    mean_steps = np.mean([int(b.starts[-1]) for b in batches])   # a pass also covers the waiting ticks
    return min(t["lanes"]) / (per_step * mean_steps)


def measure(exp_id, budget=0.5):
    """{"step": ..., "other": ...[, "pass": ...]} of ``exp_id`` (module docstring); None for
    random weight guessing, which trains nothing."""
    exp = scaled(experiments.get(exp_id), "paper")
    name = learner_of(exp)
    if name not in LEARNERS:
        return None
    kernel = LANE_KERNELS.get(name)
    lane = kernel is not None and kernel.supports(initial_net(exp, 0))
    learn = kernel.single if lane else LEARNERS[name]
    batches = _batches(exp, lanes.LANES if lane else 1)
    out = {"step": _step(exp, learn, batches[0]),
           "other": float(np.median([_other(exp, learn) for _ in range(REPEATS)]))}
    if lane:
        out["pass"] = _pass(exp, kernel, batches, budget)
    return out


def measure_all(exp_ids, path=PATH, heard=print):
    """Measure every experiment of ``exp_ids`` and keep the numbers in ``path`` with those
    already there (a JSON object, experiment id -> measure's dict)."""
    costs = load(path)
    for exp_id in dict.fromkeys(exp_ids):
        m = measure(exp_id)
        if m is None:
            continue
        costs[exp_id] = {"step": float(f"{m['step']:.4g}"), **{k: round(float(v), 3) for k, v in m.items() if k != "step"}}
        heard(f"  {exp_id:<32} {m['step'] * 1e9:8.0f} ns a step, {100 * m['other']:3.0f}% outside the learner"
              + (f", a pass of {lanes.LANES} lanes {m['pass']:.2f} steps" if "pass" in m else ""))
    path.write_text(json.dumps(dict(sorted(costs.items())), indent=1) + "\n")
    return costs


def load(path=PATH):
    """{experiment id: measure's dict} measured so far ({} without the file)."""
    return json.loads(path.read_text()) if path.exists() else {}
