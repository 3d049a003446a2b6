"""Training speed of the compiled engine (issue "Compiled training engine"): ``python -m lstm97.bench``.

Prints LSTM time steps per second, with learning (online, one weight update per
sequence), for three nets of the paper, trained by
  numpy   the readable reference, ``lstm97.train(..., engine="numpy")`` on dense sequences;
  engine  the Numba kernel, ``engine.train_batch`` on a sparse Batch (compiled before timing);
  torch   ``torch.nn.LSTM`` trained online: batch 1, SGD, hidden size = number of cells,
          BPTT over the whole sequence, linear + sigmoid readout at the last step,
          one optimizer step per sequence, one thread, float32 (if torch is installed);
then the peak memory of one training call at T=100 versus T=10,000.
Everything runs on one pinned core. ``--quick`` is a smoke run (timings meaningless).
The issue's targets are printed next to the results; they are measured, never asserted.
"""
import argparse
import os
import platform
import sys
import time

import numba
import numpy as np

from . import engine
from .network import LSTM97, train
from .tasks import Adding, TemporalOrder, VeryLongLag

# name, task, LSTM97(...) arguments, learning rate (SPEC §3 table)
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


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def peak_rss_growth(run):
    """kB by which the peak resident set grows during run() (Linux: VmHWM after resetting it)."""
    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                                                # reset VmHWM to VmRSS
        before = status("VmRSS:")
    except (OSError, StopIteration):
        return None
    run()
    return status("VmHWM:") - before


def memory(torch_ok):
    """Peak-RSS growth of one training call on 10 adding sequences of length T (batch built before)."""
    rows = []
    for T in (100, 10_000):
        batch = Adding(T).sample(np.random.default_rng(1), 10)
        net = LSTM97(2, 1, 2, 2, bias="all", input_gate_bias=[-3, -6], seed=0)
        row = {"T": T, "engine": peak_rss_growth(lambda: engine.train_batch(net, batch, 0.5))}
        if torch_ok:
            step, data = torch_trainer(2, 4, 1, 0.5), torch_data(batch, 10)
            step(torch_data(Adding(100).sample(np.random.default_rng(2), 1), 1)[0][0])  # warm up
            row["torch"] = peak_rss_growth(lambda: [step(seq) for seq, _ in data])
        rows.append(row)
    return rows


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def main(argv=None):
    args = _parse(argv)
    budget = 0.05 if args.quick else 1.0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})        # one core
    torch_ok = have_torch()
    if torch_ok:
        import torch
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs; pinned to one)")
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"torch {torch.__version__ if torch_ok else 'not installed'}" + (" [--quick]" if args.quick else ""))
    print("steps/s = LSTM time steps per second with learning, one thread\n")

    rows = []
    for name, task, (shape, kw), lr in NETS:
        rng = np.random.default_rng(0)
        batch = task.sample(rng, 40 if args.quick else 2000)
        make = lambda: LSTM97(*shape, **kw, seed=0)                    # noqa: E731
        row = {"net": name, "weights": make().n_weights,
               "numpy": numpy_rate(make(), batch, lr, budget),
               "engine": engine_rate(make(), batch, lr, 0.1 if args.quick else 1.5),
               "torch": torch_rate(make(), batch, lr, budget) if torch_ok else None}
        rows.append(row)

    head = f"{'net':12s} {'weights':>7s} {'numpy':>9s} {'engine':>10s} {'ns/step':>7s} {'torch':>9s} " \
           f"{'eng/numpy':>9s} {'eng/torch':>9s}"
    print(head)
    print("-" * len(head))
    for r in rows:
        torch_cols = (f"{r['torch']:9.3g} {r['engine'] / r['torch']:9.1f}" if torch_ok
                      else f"{'-':>9s} {'-':>9s}")
        t_rate, t_ratio = torch_cols[:9], torch_cols[10:]
        print(f"{r['net']:12s} {r['weights']:7d} {r['numpy']:9.3g} {r['engine']:10.3g} "
              f"{1e9 / r['engine']:7.0f} {t_rate} {r['engine'] / r['numpy']:9.0f} {t_ratio}")
    if not torch_ok:
        print(f"torch column: {TORCH_MISSING}")
    add, c2 = rows[0], rows[2]
    ratio = c2["engine"] / add["engine"]
    print(f"\n2c/adding engine step rate: {ratio:.2f}")
    print("targets (issue; measured, not asserted):")
    print(f"  adding >= 3e6 steps/s: {add['engine']:.3g}")
    print(f"  engine >= 200x numpy:  {add['engine'] / add['numpy']:.0f}x (adding)")
    if torch_ok:
        print(f"  engine >= 30x torch:   {add['engine'] / add['torch']:.1f}x (adding)")
    print(f"  2c (p=1000) within 2x of adding: rate ratio {ratio:.2f}")

    mem = memory(torch_ok)
    print("\nmemory: growth of the process's peak resident set (VmHWM, reset just before) during ONE")
    print("training call on 10 adding sequences of length ~T (+0..10%); the batch itself is built")
    print("before, so it is not counted. Includes Numba's and torch's C allocations (page-granular).")
    for r in mem:
        line = f"  T={r['T']:>6d}: engine {fmt(r['engine'], 'd')} kB"
        if torch_ok:
            line += f", torch (BPTT stores the sequence's activations) {fmt(r['torch'], 'd')} kB"
        print(line)
    return rows, mem


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m lstm97.bench", description="training speed of the engine")
    p.add_argument("--quick", action="store_true", help="fast smoke run; timings are meaningless")
    return p.parse_args(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
