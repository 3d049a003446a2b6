"""Training speed of the compiled engine: ``python -m lstm97.bench`` (``make bench``).

Prints LSTM time steps per second, with learning (online, one weight update per
sequence), for three nets of the paper, trained by
  numpy   the readable reference, ``lstm97.train(..., engine="numpy")`` on dense sequences;
  engine  the Numba kernel, ``engine.train_batch`` on a sparse Batch (compiled before timing);
  torch   ``torch.nn.LSTM`` trained online: batch 1, SGD, hidden size = number of cells,
          BPTT over the whole sequence, linear + sigmoid readout at the last step,
          one optimizer step per sequence, one thread, float32 (if torch is installed);
then the memory training needs at T=100 versus T=10,000, the full gradient (reading 'full'),
the competitors' learners (RTRL, BPTT, Elman's procedure, weight guessing), and the
trial-parallel kernel (``lanes.py``) against the single-trial engine in trial-steps per second,
the 2a/2b net under per-sequence and per-step updates, the cell variants, and the lanes of
RTRL and BPTT (``rnn_lanes.py``) and of the full gradient (``fullgrad_lanes.py``) against
their single-trial learners.
Everything runs on one pinned core. ``--quick`` is a smoke run (timings meaningless).
The speed targets set for the engine before it was written (docs/performance.md) are printed
next to the results; they are measured, never asserted.
"""
import argparse
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import replace
from functools import partial

import numba
import numpy as np

from . import bptt, elman, engine, fullgrad, fullgrad_lanes, guessing, lanes, rnn, rnn_lanes, rtrl
from .engine import train
from .experiments import get
from .network import LSTM97
from .tasks import Adding, EmbeddedReber, NoiseFree, TemporalOrder, VeryLongLag
from .trialcost import alternate

# name, task, LSTM97(...) arguments, learning rate (docs/paper.md §3 table)
NETS = [
    ("adding", Adding(100), ((2, 1, 2, 2), dict(bias="all", input_gate_bias=[-3, -6])), 0.5),
    ("6b", TemporalOrder(3), ((8, 8, 3, 2), dict(bias="all", input_gate_bias=[-2, -4, -6])), 0.1),
    ("2c p=q=1000", VeryLongLag(1000, 1000), ((1004, 2, 2, 1), dict(bias="none", init=0.2)), 0.01),
]
TORCH_MISSING = "torch not installed (pip install -e .[bench])"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def rate(run, chunks, budget):
    """Call run(chunk) for (chunk, steps) in chunks (cycled) until budget seconds passed: steps/s."""
    steps, t0 = 0, time.perf_counter()
    while True:
        for chunk, n in chunks:
            run(chunk)
            steps += n
            elapsed = time.perf_counter() - t0
            if elapsed >= budget:
                return steps / elapsed


def numpy_rate(net, batch, lr, budget):
    seqs = [([batch.dense(i)], batch.lengths[i]) for i in range(min(len(batch), 20))]
    return rate(lambda s: train(net, s, lr, engine="numpy"), seqs, budget)


def engine_rate(net, batch, lr, budget, chunk=200):
    engine.train_batch(net, batch.take([0, 1]), lr)                # compile (or load the cache)
    parts = [batch.take(range(a, min(a + chunk, len(batch)))) for a in range(0, len(batch), chunk)]
    chunks = [(b, int(b.starts[-1])) for b in parts]

    def run(b):
        _, bad = engine.train_batch(net, b, lr)
        if bad >= 0:
            raise RuntimeError("training diverged during the benchmark")
    return rate(run, chunks, budget)


def torch_trainer(n_in, cells, n_out, lr):
    """One online SGD step per sequence for nn.LSTM; returns train(x (T, 1, n_in), target (n_out,))."""
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm, readout = torch.nn.LSTM(n_in, cells), torch.nn.Linear(cells, n_out)
    opt = torch.optim.SGD(list(lstm.parameters()) + list(readout.parameters()), lr=lr)

    def step(seq):
        x, d = seq
        opt.zero_grad()
        h, _ = lstm(x)
        y = torch.sigmoid(readout(h[-1, 0]))
        loss = 0.5 * ((y - d) ** 2).sum()
        loss.backward()
        opt.step()
    return step


def torch_data(batch, n):
    import torch
    out = []
    for i in range(min(n, len(batch))):
        xs, tg = batch.dense(i)
        out.append(((torch.tensor(xs, dtype=torch.float32)[:, None, :],
                     torch.tensor(tg[-1], dtype=torch.float32)), len(xs)))
    return out


def torch_rate(net, batch, lr, budget):
    step = torch_trainer(net.n_in, net.C, net.n_out, lr)
    data = torch_data(batch, 10)
    step(data[0][0])                                                    # warm up
    return rate(step, data, budget)


def full_gradient_rows(budget, n_seq):
    """The reading 'full' (fullgrad.py) beside the truncated engine: steps/s with learning on the
    Reber 3x2 net (targets at every step, per-sequence and per-step updates) and the three nets."""
    reber = ("Reber 3x2", EmbeddedReber.from_pair(0),
             ((7, 7, 3, 2), dict(bias="gates", init=0.2, output_gate_bias=[-1, -2, -3])), 0.5)
    rows = []
    for name, task, (shape, kw), lr in [reber] + NETS:
        batch = task.sample(np.random.default_rng(0), n_seq)
        parts = [batch.take(range(a, min(a + 50, len(batch)))) for a in range(0, len(batch), 50)]
        chunks = [(b, int(b.starts[-1])) for b in parts]
        row = {"net": name}
        for key, learner, update in (("truncated", engine, "sequence"), ("full", fullgrad, "sequence"),
                                     ("truncated_step", engine, "step"), ("full_step", fullgrad, "step")):
            if update == "step" and name != "Reber 3x2":
                continue                        # only Exp 1 has targets before the sequence end
            net = LSTM97(*shape, **kw, seed=0)
            learner.train_batch(net, batch.take([0]), lr, update)       # compile or load the cache
            row[key] = rate(lambda b: learner.train_batch(net, b, lr, update), chunks, budget)
        rows.append(row)
    return rows


def competitor_rows(budget, n_seq):
    """The competitors' learners (experiments.BASELINES): time steps per second with learning,
    on their paper nets and tasks; guessing: guesses and evaluated steps per second. "exp_poly":
    the same learner with the readout's σ by exp_poly (runner.RTRL_POLY, runner.BPTT_POLY)."""
    reber = EmbeddedReber.from_pair(0)
    poly = {m: partial(m.train_batch, exp="poly") for m in (rtrl, bptt)}
    table2 = lambda p: lambda: rnn.table2_net(p, seed=0)                                # noqa: E731
    table1 = lambda H, **kw: lambda: rnn.RNN(7, 7, H, **kw, seed=0)                     # noqa: E731
    nets = [("2a RTRL p=4", rtrl.train_batch, "step", table2(4), NoiseFree(4), 1.0),
            ("2a RTRL p=100", rtrl.train_batch, "step", table2(100), NoiseFree(100), 1.0),
            ("2a BPTT p=100", bptt.train_batch, "sequence", table2(100), NoiseFree(100), 1.0),
            ("2a RTRL p=4 exp_poly", poly[rtrl], "step", table2(4), NoiseFree(4), 1.0),
            ("2a RTRL p=100 exp_poly", poly[rtrl], "step", table2(100), NoiseFree(100), 1.0),
            ("2a BPTT p=100 exp_poly", poly[bptt], "sequence", table2(100), NoiseFree(100), 1.0),
            ("1 RTRL 3", rtrl.train_batch, "step", table1(3, outputs="recurrent"), reber, 0.05),
            ("1 RTRL 12", rtrl.train_batch, "step", table1(12, outputs="recurrent"), reber, 0.1),
            ("1 ELM 15", elman.train_batch, "step", table1(15), reber, 0.1)]
    rows = []
    for name, learn, update, make, task, lr in nets:
        batch = task.sample(np.random.default_rng(0), n_seq)
        parts = [batch.take(range(a, min(a + 50, len(batch)))) for a in range(0, len(batch), 50)]
        net = make()
        learn(net, batch.take([0]), lr, update)                             # compile or load the cache
        chunks = [(b, int(b.starts[-1])) for b in parts]
        rows.append({"net": name, "weights": net.n_weights,
                     "steps": rate(lambda b: learn(net, b, lr, update), chunks, budget)})
    for exp_id in ("3a-T100-N3-guess-A1", "3a-T100-N3-guess-A2"):
        exp = get(exp_id)
        net, task = guessing.architecture(**exp.net, seed=0), exp.make_task()
        data = np.random.default_rng(1)
        t0, guesses, steps = time.perf_counter(), 0, 0
        while time.perf_counter() - t0 < budget:
            n, _, st, _ = guessing.search(replace(exp, budget=guessing.BLOCK, st2_mean=-1.0), task, net,
                                          np.random.default_rng(guesses), data)
            guesses, steps = guesses + n, steps + st
        dt = time.perf_counter() - t0
        rows.append({"net": exp_id, "weights": net.n_weights, "steps": steps / dt, "guesses": guesses / dt})
    return rows


def report_competitors(rows):
    print("\nthe competitors (experiments.BASELINES): time steps per second with learning "
          "(RTRL and ELM update every step, BPTT once per sequence); guessing: steps evaluated "
          "and guesses per second (no guess passes: the rate of a trial that runs to its budget); "
          "exp_poly: the readout's σ by exp_poly (runner.RTRL_POLY, BPTT_POLY; within 1 ulp, not bit for bit)")
    head = f"{'net':22s} {'weights':>7s} {'steps/s':>9s} {'guesses/s':>9s}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        g = f"{r['guesses']:9.3g}" if "guesses" in r else f"{'-':>9s}"
        print(f"{r['net']:22s} {r['weights']:7d} {r['steps']:9.3g} {g}")


LANES = lanes.LANES      # nets per call of the lane kernel (a multiple fills every lane)


@numba.njit(error_model="numpy")
def _sigma_loop(x, out, reps):
    for _ in range(reps):
        for i in range(x.shape[0]):
            out[i] = 1.0 / (1.0 + lanes.exp_poly(-x[i]))


@numba.njit(error_model="numpy")
def _mac_loop(w, z, acc, reps):
    for _ in range(reps):
        for i in range(w.shape[0]):
            acc[i] += w[i] * z[i]


WHERE_THE_TIME_GOES = """where the lanes' time goes (Zen 4): sigma 20-25% (perf samples; exp_poly: 13
fused multiply-adds and a division per value, near this core's throughput; skipping the units'
sigmas took 6b from about 80 to 70 ns); the multiply-adds of eqs. 6-8 and of the traces (25,
27), the traces added from a history of up to 32 ticks (lanes._add_history) so that 6b's 16
lanes of traces no longer stream through L2 every tick; gathers of each lane's inputs at each
tick (a masked gather costs: not reading targets before a sequence's end, nor one-hot input
values, which the batches declare, took 2c from 39-44 to 35-37 ns); and on 2c
p=1000 the per-lane weight columns of the one-hot input (gathered) and its trace columns
(scattered): skipping either took 2c from about 41 to 33 ns, cache misses about 5 ns of that."""


def lane_limits(budget):
    """What this core does at best, in ns: one vectorised σ (exp_poly) and one multiply-add,
    each in a long flat loop over data in L1 (the kernel's work at its throughput limit)."""
    x = np.random.default_rng(0).uniform(-5, 5, 512)
    out, acc = np.empty_like(x), np.zeros_like(x)
    best = {}
    for key, run in (("sigma", lambda n: _sigma_loop(x, out, n)), ("mac", lambda n: _mac_loop(x, x, acc, n))):
        run(1)
        reps, dt = 1, 0.0
        while dt < budget / 4:
            reps *= 4
            t0 = time.perf_counter()
            run(reps)
            dt = time.perf_counter() - t0
        best[key] = dt / (reps * len(x)) * 1e9
    return best


def step_work(net, batch):
    """σ calls and multiply-adds of one training step (forward, traces; targets are rare)."""
    nnz = batch.x_idx.shape[1]
    src = nnz + net.C + 2 * net.B + 1                      # sources a unit reads per step
    sigmas = 2 * net.B + net.C + (0 if net.h == "identity" else net.C)
    return sigmas, (2 * net.B + net.C) * src + 2 * net.C * src


def waiting(batches):
    """Fraction of lane-ticks spent waiting when sequences are aligned at their ends in rounds."""
    lengths = [b.lengths for b in batches]
    rounds = max(len(n) for n in lengths)
    ticks = sum(max(n[r] for n in lengths if r < len(n)) for r in range(rounds))
    return 1.0 - sum(n.sum() for n in lengths) / (len(batches) * ticks)


def lane_rows(budget, n_seq, L=LANES):
    """Single-trial engine vs L lanes on the NETS, side by side: trial-steps per second.

    The two alternate (runs of 20-100 ms) and are timed in CPU time of this thread
    (time.thread_time), so that other processes sharing the core count less; the rates are
    from the fastest run of each, the ratio also as the median over adjacent pairs."""
    rows = []
    for name, task, (shape, kw), lr in NETS:
        n = max(4, n_seq // 20) if name.startswith("2c") else n_seq // 4
        batches = [task.sample(np.random.default_rng(l), n) for l in range(L)]
        steps = sum(int(b.starts[-1]) for b in batches)
        nets = [LSTM97(*shape, **kw, seed=l) for l in range(L)]
        lanes.train_batches(nets, [b.take([0]) for b in batches], lr)     # compile or load the cache
        engine.train_batch(nets[0], batches[0].take([0]), lr)

        def single():
            for net, b in zip(nets, batches):
                engine.train_batch(net, b, lr)

        def parallel():
            lanes.train_batches(nets, batches, lr)
        sigmas, macs = step_work(nets[0], batches[0])
        rows.append({"net": name, "lanes": L, **timed_pair(single, parallel, steps, budget),
                     "sigmas": sigmas, "macs": macs, "waiting": waiting(batches)})
    return rows


def update_rows(budget, n_seq, L=LANES):
    """The net of the rows 2a/2b (+step): 101 one-hot inputs with shortcuts to 101 outputs, a
    target at every step, 10,504 weights. Trial-steps per second with one update per sequence
    and per step, in the single-trial engine (exp_poly, as a row's last trials run) and in
    L lanes. A per-step update visits only the readout columns the step wrote
    (engine._apply_readout_step, lanes._apply_readout_step)."""
    exp = get("2a")
    task = exp.make_task()
    batches = [task.sample(np.random.default_rng(l), n_seq) for l in range(L)]
    steps = sum(int(b.starts[-1]) for b in batches)
    rows = []
    for update in ("sequence", "step"):
        nets = [LSTM97(**exp.net, seed=l) for l in range(L)]
        lanes.train_batches(nets, [b.take([0]) for b in batches], exp.lr, update)   # compile or load
        engine.train_batch(nets[0], batches[0].take([0]), exp.lr, update, exp="poly")
        t = {"single": [], "lanes": []}
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < budget or not t["lanes"]:
            for key, run in (("single", lambda: engine.train_batch(nets[0], batches[0], exp.lr, update, exp="poly")),
                             ("lanes", lambda: lanes.train_batches(nets, batches, exp.lr, update))):
                t1 = time.thread_time()
                run()
                t[key].append(time.thread_time() - t1)
        rows.append({"update": update, "weights": nets[0].n_weights, "lanes": L,
                     "single": int(batches[0].starts[-1]) / max(min(t["single"]), 1e-9),
                     "parallel": steps / max(min(t["lanes"]), 1e-9)})
    return rows


def report_updates(rows):
    print("\nthe net of 2a/2b (+step), a target at every step: trial-steps per second, "
          "one update per sequence or per step")
    head = f"{'update':9s} {'weights':>7s} {'lanes':>5s} {'single':>9s} {'lanes':>9s} {'ratio':>6s}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['update']:9s} {r['weights']:7d} {r['lanes']:5d} {r['single']:9.3g} {r['parallel']:9.3g} "
              f"{r['parallel'] / r['single']:5.1f}x")


RATE_HEAD = f"{'lanes':>5s} {'single':>9s} {'lanes':>9s} {'ratio':>6s} {'pairs':>6s} {'ns/step':>8s}"


def rate_cells(r):
    """The columns of RATE_HEAD for one row of timed_pair's rates."""
    return (f"{r['lanes']:5d} {r['single']:9.3g} {r['parallel']:9.3g} {r['parallel'] / r['single']:5.1f}x "
            f"{r['pairs']:5.1f}x {1e9 / r['parallel']:8.1f}")


def report_lanes(rows, limits):
    print("\ntrial-parallel training (lstm97/lanes.py, exp_poly) beside the single-trial engine:")
    print("trial-steps per second with learning, the two run alternately on the same core (CPU time)")
    head = f"{'net':12s} {RATE_HEAD} {'σ/step':>6s} {'madd/step':>9s} {'limit ns':>8s} {'waiting':>7s}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        limit = r["sigmas"] * limits["sigma"] + r["macs"] * limits["mac"]
        print(f"{r['net']:12s} {rate_cells(r)} {r['sigmas']:6d} {r['macs']:9d} {limit:8.1f} "
              f"{100 * r['waiting']:6.1f}%")
    print("ratio: fastest lanes run over fastest single run; pairs: median ratio of adjacent runs")
    print(f"limit ns: σ/step x {limits['sigma']:.2f} ns + madd/step x {limits['mac']:.2f} ns, this core's "
          "throughput for each in a flat vectorised loop")
    print(WHERE_THE_TIME_GOES)
    print("speed target (measured here, never asserted): lanes >= 4x single on each net")


def competitor_lane_rows(budget, n_seq, L=LANES, p=100):
    """RTRL (per-step updates) and BPTT (per-sequence) on Table 2's net at delay p, single-trial
    (``rtrl.train_batch``, ``bptt.train_batch``) against L lanes (``rnn_lanes``), with the
    readout's σ by exp_poly (the learners runner.RTRL_POLY, BPTT_POLY) and by libm's exp:
    trial-steps per second, the two alternating and timed in CPU time of this thread, as
    ``lane_rows``."""
    task = NoiseFree(p)
    batches = [task.sample(np.random.default_rng(l), n_seq) for l in range(L)]
    steps = sum(int(b.starts[-1]) for b in batches)
    rows = []
    for name, single_train, lane_train, update in (("RTRL", rtrl.train_batch, rnn_lanes.train_rtrl, "step"),
                                                    ("BPTT", bptt.train_batch, rnn_lanes.train_bptt, "sequence")):
        for exp in ("poly", "libm"):
            nets = [rnn.table2_net(p, seed=l) for l in range(L)]
            lane_train(nets, [b.take([0]) for b in batches], 1.0, update, exp)        # compile or load
            single_train(nets[0], batches[0].take([0]), 1.0, update, exp)

            def single():
                for net, b in zip(nets, batches):
                    single_train(net, b, 1.0, update, exp)

            def parallel():
                lane_train(nets, batches, 1.0, update, exp)
            rows.append({"learner": name, "update": update, "exp": exp, "p": p, "weights": nets[0].n_weights,
                         "lanes": L, **timed_pair(single, parallel, steps, budget)})
    return rows


def report_competitor_lanes(rows):
    print("\nthe competitors in lanes (lstm97/rnn_lanes.py) beside their single-trial learners, "
          f"Table 2's net (p={rows[0]['p']}, {rows[0]['weights']} weights):")
    print("trial-steps per second with learning, the two run alternately on the same core (CPU time); "
          "each lane is the single-trial learner bit for bit")
    head = f"{'learner':7s} {'update':8s} {'exp':4s} {RATE_HEAD}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['learner']:7s} {r['update']:8s} {r['exp']:4s} {rate_cells(r)}")
    print("ratio: fastest lanes run over fastest single run; pairs: median ratio of adjacent runs")


FULL_ROWS = ("1-5+full", "1-5+full+step", "2c-2+full", "3a-T100-N3+full", "4-1+full", "6a+full")


def full_lane_rows(budget, n_seq, L=LANES, rows=FULL_ROWS):
    """The full gradient (reading 'full') on the nets, tasks, learning rates and update timings
    of its rows: single-trial (``fullgrad.train_batch``) against L lanes
    (``fullgrad_lanes.train_full``), both with libm's exp, trial-steps per second, the two
    alternating and timed in CPU time of this thread, as ``lane_rows``. Exp 1's rows train
    n_seq // 4 sequences per trial and run, the others (100-110 steps each) n_seq // 20."""
    out = []
    for exp_id in rows:
        exp = get(exp_id)
        task = exp.make_task()
        n = n_seq // 4 if exp.task[0] == "EmbeddedReber" else max(2, n_seq // 20)
        batches = [task.sample(np.random.default_rng(l), n) for l in range(L)]
        steps = sum(int(b.starts[-1]) for b in batches)
        nets = [LSTM97(**exp.net, seed=l) for l in range(L)]
        fullgrad_lanes.train_full(nets, [b.take([0]) for b in batches], exp.lr, exp.update)   # compile or load
        fullgrad.train_batch(nets[0], batches[0].take([0]), exp.lr, exp.update)

        def single():
            for net, b in zip(nets, batches):
                fullgrad.train_batch(net, b, exp.lr, exp.update)

        def parallel():
            fullgrad_lanes.train_full(nets, batches, exp.lr, exp.update)
        out.append({"row": exp_id, "update": exp.update, "weights": nets[0].n_weights, "lanes": L,
                    **timed_pair(single, parallel, steps, budget)})
    return out


def report_full_lanes(rows):
    print("\nthe full gradient in lanes (lstm97/fullgrad_lanes.py) beside the single-trial full gradient "
          "(fullgrad.py), on the nets of the rows '+full':")
    print("trial-steps per second with learning, the two run alternately on the same core (CPU time); "
          "each lane is the single-trial learner bit for bit (both with libm's exp)")
    head = f"{'row':16s} {'update':8s} {'weights':>7s} {RATE_HEAD} {'pass':>5s}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['row']:16s} {r['update']:8s} {r['weights']:7d} {rate_cells(r)} "
              f"{r['lanes'] * r['single'] / r['parallel']:5.1f}")
    print("ratio: fastest lanes run over fastest single run; pairs: median ratio of adjacent runs; "
          "pass: a pass of all lanes in single-trial steps (learners.LaneKernel.cost)")


CELLS = [("1997 cell", {}), ("forget gates (2000 cell)", dict(forget_gates=True)),
         ("no input gate", dict(input_gates=False, input_gate_bias=None))]


def cell_rows(budget, n_seq, L=LANES):
    """The cost of a step of each cell variant (notebook 09) beside the 1997 cell's, on the NETS:
    single-trial engine steps/s and L-lane trial-steps/s, the variants timed in turn (CPU time of
    this thread, the fastest of several runs each)."""
    rows = []
    for name, task, (shape, kw), lr in NETS:
        n = max(4, n_seq // 20) if name.startswith("2c") else n_seq // 4
        batches = [task.sample(np.random.default_rng(l), n) for l in range(L)]
        steps = sum(int(b.starts[-1]) for b in batches)
        runs = {}
        for cell, extra in CELLS:
            nets = [LSTM97(*shape, **{**kw, **extra}, seed=l) for l in range(L)]
            lanes.train_batches(nets, [b.take([0]) for b in batches], lr)     # compile or load the cache
            engine.train_batch(nets[0], batches[0].take([0]), lr)
            runs[cell] = (lambda nets=nets: [engine.train_batch(net, b, lr) for net, b in zip(nets, batches)],
                          lambda nets=nets: lanes.train_batches(nets, batches, lr))
        t = {cell: ([], []) for cell in runs}
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < budget or not t[CELLS[-1][0]][1]:
            for cell, pair in runs.items():                                 # interleaved: same load
                for k, run in enumerate(pair):
                    t1 = time.thread_time()
                    run()
                    t[cell][k].append(time.thread_time() - t1)
        for cell in runs:
            rows.append({"net": name, "cell": cell, "single": steps / max(min(t[cell][0]), 1e-9),
                         "lanes": steps / max(min(t[cell][1]), 1e-9), "L": L})
    return rows


def report_cells(rows):
    print(f"\nthe cell variants of notebook 09, trial-steps per second (single-trial engine; {rows[0]['L']} lanes):")
    print(f"{'net':<13} {'cell':<26} {'single':>9} {'lanes':>9} {'ns/step (lanes)':>16} {'vs 1997 cell':>13}")
    base = {r["net"]: r for r in rows if r["cell"] == CELLS[0][0]}
    for r in rows:
        print(f"{r['net']:<13} {r['cell']:<26} {r['single']:9.3g} {r['lanes']:9.3g} {1e9 / r['lanes']:16.1f} "
              f"{base[r['net']]['lanes'] / r['lanes']:12.2f}x")


def timed_pair(single, parallel, steps, budget):
    """single() and parallel(), each training ``steps`` trial-steps, run in turn (``alternate``):
    trial-steps per second of the fastest run of each ("single", "parallel"), the median ratio
    of adjacent runs ("pairs") and the number of pairs ("runs")."""
    t = alternate(single, parallel, budget)
    pairs = np.array(t["single"]) / np.maximum(np.array(t["lanes"]), 1e-9)
    return {"single": steps / max(min(t["single"]), 1e-9), "parallel": steps / max(min(t["lanes"]), 1e-9),
            "pairs": float(np.median(pairs)), "runs": len(pairs)}


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def engine_peak_bytes(batch):
    """Peak bytes allocated (tracemalloc) during one engine.train_batch call; the batch is not counted."""
    net = LSTM97(2, 1, 2, 2, bias="all", input_gate_bias=[-3, -6], seed=0)
    engine.train_batch(net, batch.take([0]), 0.5)                      # compiled before tracing
    tracemalloc.start()
    try:
        engine.train_batch(net, batch, 0.5)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_saved_bytes(batch):
    """Bytes torch's autograd keeps for the backward pass of one adding sequence (the longest)."""
    import torch
    lstm, readout = torch.nn.LSTM(2, 4), torch.nn.Linear(4, 1)
    xs, _ = batch.dense(int(np.argmax(batch.lengths)))
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        h, _ = lstm(torch.tensor(xs, dtype=torch.float32)[:, None, :])
        torch.sigmoid(readout(h[-1, 0])).sum().backward()
    return sum(storages.values())


def memory(torch_ok):
    rows = []
    for T in (100, 10_000):
        batch = Adding(T).sample(np.random.default_rng(1), 10)
        rows.append({"T": T, "engine": engine_peak_bytes(batch),
                     "torch": torch_saved_bytes(batch) if torch_ok else None})
    return rows


def report(rows, mem, torch_ok):
    head = (f"{'net':12s} {'weights':>7s} {'numpy':>9s} {'engine':>9s} {'torch':>9s} "
            f"{'eng/numpy':>9s} {'eng/torch':>9s} {'eng ns/step':>11s}")
    print(head + "\n" + "-" * len(head))
    for r in rows:
        t_rate, t_ratio = ((f"{r['torch']:9.3g}", f"{r['engine'] / r['torch']:9.1f}") if torch_ok
                           else ("-".rjust(9), "-".rjust(9)))
        print(f"{r['net']:12s} {r['weights']:7d} {r['numpy']:9.3g} {r['engine']:9.3g} {t_rate} "
              f"{r['engine'] / r['numpy']:9.0f} {t_ratio} {1e9 / r['engine']:11.0f}")
    print("numpy, engine, torch: time steps per second" + ("" if torch_ok else f"; torch: {TORCH_MISSING}"))
    add, c2 = rows[0], rows[2]
    print(f"\n2c/adding engine step rate: {c2['engine'] / add['engine']:.2f}")
    print("speed targets set for the engine (measured here, never asserted), adding net:")
    print(f"  >= 3e6 steps/s on one core: {add['engine']:.3g}")
    print(f"  >= 200x the NumPy reference: {add['engine'] / add['numpy']:.0f}x")
    print("  >= 30x PyTorch: " + (f"{add['engine'] / add['torch']:.1f}x" if torch_ok else "n/a"))
    print(f"  2c at p=1000 within 2x of the adding step rate: ratio {c2['engine'] / add['engine']:.2f}")

    print("\nmemory of training on 10 adding sequences of length T..1.1T (the paper: storage")
    print("independent of sequence length). engine: peak bytes allocated during one train_batch")
    print("call (tracemalloc; it sees Numba's work arrays; the batch, built before, is not counted).")
    print("torch: bytes autograd saves for BPTT of the longest sequence (saved_tensors_hooks).")
    for r in mem:
        print(f"  T={r['T']:>6d}: engine {r['engine']:>9,d} B" +
              (f"   torch {r['torch']:>11,d} B" if torch_ok else ""))


def report_full(rows):
    print("\nthe full gradient (reading 'full', lstm97/fullgrad.py) beside the truncated engine:")
    print("time steps per second with learning; per-step updates only where targets come before the end")
    head = f"{'net':12s} {'truncated':>10s} {'full':>10s} {'cost':>6s} {'trunc step':>10s} {'full step':>10s} {'cost':>6s}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        step = (f"{r['truncated_step']:10.3g} {r['full_step']:10.3g} {r['truncated_step'] / r['full_step']:5.1f}x"
                if "full_step" in r else f"{'-':>10s} {'-':>10s} {'-':>6s}")
        print(f"{r['net']:12s} {r['truncated']:10.3g} {r['full']:10.3g} {r['truncated'] / r['full']:5.1f}x {step}")


def main(argv=None):
    """Run the benchmark and print it; returns (rows, memory rows). argv: e.g. ["--quick"]."""
    p = argparse.ArgumentParser(prog="python -m lstm97.bench", description="training speed of the engine")
    p.add_argument("--quick", action="store_true", help="fast smoke run; timings are meaningless")
    quick = p.parse_args(argv).quick
    budget, n_seq = (0.05, 40) if quick else (1.0, 400)
    torch_ok = have_torch()
    versions = f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
    if torch_ok:
        import torch
        versions += f"torch {torch.__version__}"
    else:
        versions += "torch not installed"
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs; the run is pinned to one)")
    print(versions + (" [--quick: timings meaningless]" if quick else "") + "\n")

    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    if cpus:
        os.sched_setaffinity(0, {max(cpus)})
    try:
        rows = []
        for name, task, (shape, kw), lr in NETS:
            batch = task.sample(np.random.default_rng(0), n_seq)
            make = lambda: LSTM97(*shape, **kw, seed=0)                # noqa: E731
            rows.append({"net": name, "weights": make().n_weights,
                         "numpy": numpy_rate(make(), batch, lr, budget),
                         "engine": engine_rate(make(), batch, lr, 0.1 if quick else 1.5),
                         "torch": torch_rate(make(), batch, lr, budget) if torch_ok else None})
        mem = memory(torch_ok)
        full = full_gradient_rows(0.05 if quick else 1.0, n_seq)
        competitors = competitor_rows(0.05 if quick else 1.0, 20 if quick else n_seq)
        lane = lane_rows(0.05 if quick else 3.0, n_seq, 4 if quick else LANES)
        limits = lane_limits(0.02 if quick else 0.5)
        updates = update_rows(0.05 if quick else 3.0, 4 if quick else 100, 2 if quick else LANES)
        cells = cell_rows(0.05 if quick else 2.0, n_seq, 4 if quick else LANES)
        rival_lanes = competitor_lane_rows(0.05 if quick else 3.0, 2 if quick else n_seq // 4, 2 if quick else LANES)
        full_lanes = full_lane_rows(0.05 if quick else 3.0, 8 if quick else n_seq, 2 if quick else LANES)
    finally:
        if cpus:
            os.sched_setaffinity(0, cpus)
    report(rows, mem, torch_ok)
    report_full(full)
    report_competitors(competitors)
    report_lanes(lane, limits)
    report_updates(updates)
    report_cells(cells)
    report_competitor_lanes(rival_lanes)
    report_full_lanes(full_lanes)
    return rows, mem


if __name__ == "__main__":
    main(sys.argv[1:])
