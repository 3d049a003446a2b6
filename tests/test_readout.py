"""The readout kernels (rnn.py: W_o kept transposed, loops over the output units vectorised)
compute bit for bit what they computed before, and the exp_poly learners (runner.RTRL_POLY,
runner.BPTT_POLY) stay close to them.

The reference below is the code of rtrl.py, bptt.py, elman.py and rnn.py as it was before the
readout was transposed (commit 45635b3), verbatim: W_o (K, n_v) row-major, one output unit at
a time. Only the kernels' names differ; hidden_step, errors, _sig, _apply and _store, which did
not change, are imported.
"""
import copy

import numpy as np
import pytest
from numba import njit

from lstm97 import bptt, elman, experiments, rnn, rtrl, runner
from lstm97.engine import ABS_ALL, ABS_END, ERR_END, SSE, _apply, _store
from lstm97.rnn import _sig, errors, hidden_step
from lstm97.tasks import EmbeddedReber, NoiseFree, dense_batch


# ----------------------------------------------------------------------------- the reference
@njit(cache=True, error_model="numpy")
def output_step(W_o, H, out_rec, a, y, x_idx, x_val, t):
    """y(t): the readout f(W_o v(t)), v(t) = [a_hidden(t), x(t) sparse, 1], or a_{H+k}(t)."""
    K = y.shape[0]
    if out_rec:
        for k in range(K):
            y[k] = a[H + k]
        return
    bias = W_o.shape[1] - 1
    nnz = x_idx.shape[1]
    for k in range(K):
        acc = W_o[k, bias]
        for h in range(H):
            acc += W_o[k, h] * a[h]
        for m in range(nnz):
            acc += W_o[k, H + x_idx[t, m]] * x_val[t, m]
        y[k] = _sig(acc)


@njit(cache=True, error_model="numpy")
def readout_update(G, M_o, scale, W_o, H, e, a, eps, x_idx, x_val, t):
    """Readout units (eqs. 19, 22): G += scale * M_o * outer(e, v(t)) on the non-zero entries of
    v(t) = [a_hidden, x sparse, 1], and eps[h] += sum_k W_o[k, h] e_k (the error reaching hidden
    unit h; read from W_o before G, which may be W_o itself, changes). Returns False on NaN/inf."""
    K = e.shape[0]
    bias = W_o.shape[1] - 1
    nnz = x_idx.shape[1]
    for h in range(H):
        acc = 0.0
        for k in range(K):
            acc += W_o[k, h] * e[k]
        eps[h] += acc
    ok = True
    for k in range(K):
        c = scale * e[k]
        if c == 0.0:
            continue
        for h in range(H):
            G[k, h] += c * M_o[k, h] * a[h]
        for m in range(nnz):
            col = H + x_idx[t, m]
            G[k, col] += c * M_o[k, col] * x_val[t, m]
        G[k, bias] += c * M_o[k, bias]
        ok = ok and np.isfinite(G[k, bias])
    return ok


@njit(cache=True, error_model="numpy")
def output_errors(y, diff, out_rec, H, e, eps):
    """Output errors in the paper's convention, e_k = f'(net_k)(d_k - y_k) (eq. 19), into e
    (readout units). A recurrent output unit's error goes straight to eps[H+k] = d_k - y_k:
    the f' is then part of that unit's derivative. eps is cleared first."""
    eps[:] = 0.0
    for k in range(y.shape[0]):
        if out_rec:
            e[k] = 0.0
            eps[H + k] = diff[k]
        else:
            e[k] = y[k] * (1.0 - y[k]) * diff[k]


@njit(cache=True, error_model="numpy")
def apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr):
    """One update of both weight matrices (eq. 17 for these nets); False if a weight became NaN or inf."""
    return _apply(W_h, M_h, dW_h, lr) & _apply(W_o, M_o, dW_o, lr)


@njit(cache=True, error_model="numpy")
def evaluate_kernel(W_h, W_o, n_in, H, out_rec, x_idx, x_val, targets, starts, stats, outputs):
    N = W_h.shape[0]
    K = outputs.shape[1]
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = np.zeros(K)
    diff = np.zeros(K)
    for q in range(len(starts) - 1):
        a_prev[:] = 0.0
        sse = 0.0
        abs_all = 0.0
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            output_step(W_o, H, out_rec, a, y, x_idx, x_val, t)
            outputs[t, :] = y
            has, E, mx = errors(targets, t, y, diff)
            if has:
                sse += E
                abs_all = max(abs_all, mx)
                stats[q, ABS_END] = mx
                stats[q, ERR_END] = E
            a_prev[:] = a
        stats[q, SSE] = sse
        stats[q, ABS_ALL] = abs_all


@njit(cache=True, error_model="numpy")
def rtrl_kernel(W_h, W_o, M_h, M_o, n_in, H, out_rec, lr, step_update, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    n_src = W_h.shape[1]
    K = W_o.shape[0]
    nnz = x_idx.shape[1]
    bias = n_src - 1
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = np.zeros(K)
    diff = np.zeros(K)
    e = np.zeros(K)
    eps = np.zeros(N)
    P = np.zeros((N, N, n_src))
    P_new = np.zeros((N, N, n_src))
    dW_h = np.zeros_like(W_h)
    dW_o = np.zeros_like(W_o)
    for q in range(len(starts) - 1):
        a_prev[:] = 0.0
        P[:, :, :] = 0.0
        sse = 0.0
        abs_all = 0.0
        abs_end = 0.0
        err_end = 0.0
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            for l in range(N):                                  # the sensitivities
                fl = a[l] * (1.0 - a[l])
                for i in range(N):
                    for j in range(n_src):
                        P_new[l, i, j] = 0.0
                for m in range(N):
                    w = W_h[l, n_in + m]
                    if w != 0.0:
                        for i in range(N):
                            for j in range(n_src):
                                P_new[l, i, j] += w * P[m, i, j]
                for i in range(N):
                    for j in range(n_src):
                        P_new[l, i, j] *= fl
                for m in range(nnz):                            # δ_li u_j(t)
                    P_new[l, l, x_idx[t, m]] += fl * x_val[t, m]
                for m in range(N):
                    P_new[l, l, n_in + m] += fl * a_prev[m]
                P_new[l, l, bias] += fl
            P, P_new = P_new, P
            has = False
            for k in range(K):
                if targets[t, k] == targets[t, k]:
                    has = True
            if has:
                output_step(W_o, H, out_rec, a, y, x_idx, x_val, t)
                _, E, mx = errors(targets, t, y, diff)
                sse += E
                err_end = E
                abs_end = mx
                abs_all = max(abs_all, mx)
                output_errors(y, diff, out_rec, H, e, eps)
                if step_update:
                    ok = readout_update(W_o, M_o, lr, W_o, H, e, a, eps, x_idx, x_val, t)
                else:
                    readout_update(dW_o, M_o, 1.0, W_o, H, e, a, eps, x_idx, x_val, t)
                    ok = True
                for i in range(N):
                    for j in range(n_src):
                        g = 0.0
                        for l in range(N):
                            g += eps[l] * P[l, i, j]
                        if step_update:
                            W_h[i, j] += lr * M_h[i, j] * g
                            ok = ok and np.isfinite(W_h[i, j])
                        else:
                            dW_h[i, j] += g
                if not ok:
                    stats[q, SSE] = np.nan
                    return q
            a_prev[:] = a
        if not _store(stats, q, sse, abs_all, abs_end, err_end):
            return q
        if not step_update:
            ok = apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr)
            if not ok:
                return q
    return -1


@njit(cache=True, error_model="numpy")
def bptt_kernel(W_h, W_o, M_h, M_o, n_in, H, out_rec, lr, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    K = W_o.shape[0]
    nnz = x_idx.shape[1]
    bias = W_h.shape[1] - 1
    L = 1
    for q in range(len(starts) - 1):
        L = max(L, starts[q + 1] - starts[q])
    A = np.zeros((L + 1, N))            # A[i + 1] = a(step i); A[0] = 0, the reset
    EK = np.zeros((L, K))               # e_k of step i (readout) or d_k - y_k (recurrent outputs)
    HAS = np.zeros(L, np.bool_)
    y = np.zeros(K)
    diff = np.zeros(K)
    e = np.zeros(K)
    eps = np.zeros(N)
    da = np.zeros(N)                    # -1/2 dE/da(i), from step i+1 through the recurrent weights
    delta = np.zeros(N)
    dW_h = np.zeros_like(W_h)
    dW_o = np.zeros_like(W_o)
    for q in range(len(starts) - 1):
        t0 = starts[q]
        T = starts[q + 1] - t0
        sse = 0.0
        abs_all = 0.0
        abs_end = 0.0
        err_end = 0.0
        for i in range(T):                                          # forward
            t = t0 + i
            hidden_step(W_h, n_in, A[i], A[i + 1], x_idx, x_val, t)
            HAS[i] = False
            for k in range(K):
                if targets[t, k] == targets[t, k]:
                    HAS[i] = True
            if HAS[i]:
                output_step(W_o, H, out_rec, A[i + 1], y, x_idx, x_val, t)
                _, E, mx = errors(targets, t, y, diff)
                sse += E
                err_end = E
                abs_end = mx
                abs_all = max(abs_all, mx)
                for k in range(K):
                    EK[i, k] = diff[k] if out_rec else y[k] * (1.0 - y[k]) * diff[k]
        if not _store(stats, q, sse, abs_all, abs_end, err_end):
            return q
        da[:] = 0.0
        for i in range(T - 1, -1, -1):                              # backward
            t = t0 + i
            eps[:] = 0.0
            if HAS[i]:
                for k in range(K):
                    if out_rec:
                        eps[H + k] = EK[i, k]
                    else:
                        e[k] = EK[i, k]
                if not out_rec:
                    readout_update(dW_o, M_o, 1.0, W_o, H, e, A[i + 1], eps, x_idx, x_val, t)
            for l in range(N):
                delta[l] = (eps[l] + da[l]) * A[i + 1, l] * (1.0 - A[i + 1, l])
                for m in range(nnz):
                    dW_h[l, x_idx[t, m]] += delta[l] * x_val[t, m]
                for m in range(N):
                    dW_h[l, n_in + m] += delta[l] * A[i, m]
                dW_h[l, bias] += delta[l]
            for m in range(N):
                acc = 0.0
                for l in range(N):
                    acc += W_h[l, n_in + m] * delta[l]
                da[m] = acc
        ok = apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr)
        if not ok:
            return q
    return -1


@njit(cache=True, error_model="numpy")
def elman_kernel(W_h, W_o, M_h, M_o, n_in, H, lr, step_update, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    K = W_o.shape[0]
    nnz = x_idx.shape[1]
    bias = W_h.shape[1] - 1
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = np.zeros(K)
    diff = np.zeros(K)
    e = np.zeros(K)
    eps = np.zeros(N)
    dW_h = np.zeros_like(W_h)
    dW_o = np.zeros_like(W_o)
    for q in range(len(starts) - 1):
        a_prev[:] = 0.0
        sse = 0.0
        abs_all = 0.0
        abs_end = 0.0
        err_end = 0.0
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            output_step(W_o, H, False, a, y, x_idx, x_val, t)
            has, E, mx = errors(targets, t, y, diff)
            if has:
                sse += E
                err_end = E
                abs_end = mx
                abs_all = max(abs_all, mx)
                output_errors(y, diff, False, H, e, eps)
                readout_update(dW_o, M_o, 1.0, W_o, H, e, a, eps, x_idx, x_val, t)
                for l in range(N):                  # one step back: into the hidden layer, no further
                    d = eps[l] * a[l] * (1.0 - a[l])
                    for m in range(nnz):
                        dW_h[l, x_idx[t, m]] += d * x_val[t, m]
                    for m in range(N):
                        dW_h[l, n_in + m] += d * a_prev[m]
                    dW_h[l, bias] += d
                if step_update:
                    ok = apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr)
                    if not ok:
                        stats[q, SSE] = np.nan
                        return q
            a_prev[:] = a
        if not _store(stats, q, sse, abs_all, abs_end, err_end):
            return q
        if not step_update:
            ok = apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr)
            if not ok:
                return q
    return -1


def reference(learner, net, batch, lr, update):
    """learner.train_batch as it was: its reference kernel on W_o as the net stores it."""
    W, M = net.weights, net.masks
    stats = np.zeros((len(batch), 4))
    common = (W["W_h"], W["W_o"], M["W_h"], M["W_o"], net.n_in, net.H)
    data = (batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    if learner is rtrl:
        bad = rtrl_kernel(*common, net.out_rec, float(lr), update == "step", *data)
    elif learner is bptt:
        bad = bptt_kernel(*common, net.out_rec, float(lr), *data)
    else:
        bad = elman_kernel(*common, float(lr), update == "step", *data)
    return stats, int(bad)


# ----------------------------------------------------------------------------- the tests
class Dense:
    """Sequences of 5 to 9 dense inputs in [-1, 1] (nnz = n_in), with some targets missing:
    every term of a unit's net input is non-zero, so the order of the sum shows in its bits."""

    def __init__(self, n_in, n_out):
        self.n_in, self.n_out = n_in, n_out

    def sample(self, rng, n):
        seqs = []
        for _ in range(n):
            T = int(rng.integers(5, 10))
            targets = rng.uniform(0, 1, (T, self.n_out))
            targets[rng.uniform(size=targets.shape) < 0.3] = np.nan
            seqs.append((rng.uniform(-1, 1, (T, self.n_in)), targets))
        return dense_batch(seqs)


NETS = {  # name: (net of seed s, task, sequences)
    "2a p=4": (lambda s: rnn.table2_net(4, seed=s), NoiseFree(4), 400),
    "2a p=100": (lambda s: rnn.table2_net(100, seed=s), NoiseFree(100), 200),
    "1 RTRL 3": (lambda s: rnn.RNN(7, 7, 3, outputs="recurrent", seed=s), EmbeddedReber.from_pair(0), 300),
    "1 ELM 15": (lambda s: rnn.RNN(7, 7, 15, seed=s), EmbeddedReber.from_pair(0), 300),
    "dense, bias, shortcuts": (lambda s: rnn.RNN(5, 19, 3, shortcuts=True, bias=True, init=1.0, seed=s),
                               Dense(5, 19), 300),         # 19 units: vector loops and their remainder
}
RUNS = [  # (net, learner, update, lr)
    ("2a p=4", rtrl, "step", 1.0), ("2a p=4", rtrl, "step", 100.0), ("2a p=4", rtrl, "sequence", 4.0),
    ("2a p=4", bptt, "sequence", 10.0),
    ("2a p=100", rtrl, "step", 1.0), ("2a p=100", rtrl, "sequence", 10.0), ("2a p=100", bptt, "sequence", 1.0),
    ("1 RTRL 3", rtrl, "step", 0.05), ("1 RTRL 3", rtrl, "sequence", 0.5), ("1 RTRL 3", bptt, "sequence", 0.5),
    ("1 ELM 15", elman, "step", 0.1), ("1 ELM 15", elman, "sequence", 0.5),
    ("dense, bias, shortcuts", rtrl, "step", 0.5), ("dense, bias, shortcuts", rtrl, "sequence", 0.5),
    ("dense, bias, shortcuts", bptt, "sequence", 0.5), ("dense, bias, shortcuts", elman, "step", 0.5),
]


def bits(a):
    """The bytes of a, NaNs as 0.0: an operation on two NaNs returns one of them, and vector code
    may pick the other (the sign bit of a NaN weight is no result)."""
    a = np.asarray(a)
    return np.ascontiguousarray(np.where(np.isnan(a), 0.0, a)).tobytes() + np.isnan(a).tobytes()


def assert_same(net, ref, out, want):
    """Same stats, divergence index and weights, to the bit (-0.0 included)."""
    (stats, bad), (stats_ref, bad_ref) = out, want
    assert bad == bad_ref
    assert bits(stats) == bits(stats_ref)
    for k in net.weights:
        assert bits(net.weights[k]) == bits(ref.weights[k]), k


def train_both(name, learner, update, lr, start=None, chunks=2):
    """The learner and its reference on the same net and sequences, in a few train_batch calls."""
    make, task, n = NETS[name]
    start = start or make(1)
    net, ref = copy.deepcopy(start), copy.deepcopy(start)
    batch = task.sample(np.random.default_rng(2), n)
    for part in np.array_split(np.arange(n), chunks):
        out = learner.train_batch(net, batch.take(part), lr, update)
        want = reference(learner, ref, batch.take(part), lr, update)
        assert_same(net, ref, out, want)
    return start, net, out


@pytest.mark.parametrize("name, learner, update, lr", RUNS,
                         ids=[f"{n}-{m.__name__.split('.')[-1]}-{u}-lr{lr:g}" for n, m, u, lr in RUNS])
def test_learners_are_bit_for_bit_the_reference(name, learner, update, lr):
    start, net, (stats, bad) = train_both(name, learner, update, lr)
    assert bad == -1 and np.all(np.isfinite(stats))
    assert max(np.abs(net.weights[k] - start.weights[k]).max() for k in start.weights) > 1e-3, "nothing learned"


@pytest.mark.parametrize("learner, update", [(rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence")])
def test_saturated_output_units_are_skipped_as_before(learner, update):
    """Output units 0 and 1 driven to y = 0.0 and 1.0 exactly: their e_k = +0.0 or -0.0, so their
    weights do not change. With per-step updates not even by adding c = +0.0, which would turn
    the -0.0 of a masked bias entry into 0.0 (per-sequence updates add lr * M * dW to every
    weight, and did so before)."""
    start = rnn.table2_net(4, seed=1)
    W_o, M_o = start.weights["W_o"], start.masks["W_o"]
    for k, w in ((0, -800.0), (1, 40.0)):
        W_o[k] = np.where(M_o[k] != 0, w, -0.0)
    assert np.all(M_o[:, -1] == 0.0)
    _, net, _ = train_both("2a p=4", learner, update, 1.0, start)
    assert np.array_equal(net.weights["W_o"][:2], start.weights["W_o"][:2])
    assert update == "sequence" or bits(net.weights["W_o"][:2]) == bits(start.weights["W_o"][:2])


@pytest.mark.parametrize("name, learner, update", [("2a p=4", rtrl, "step"), ("2a p=4", rtrl, "sequence"),
                                                   ("2a p=4", bptt, "sequence"), ("1 ELM 15", elman, "step"),
                                                   ("1 ELM 15", elman, "sequence")])
def test_divergence_is_reported_as_before(name, learner, update):
    start = NETS[name][0](1)
    start.weights["W_o"][2, 1] = np.nan
    _, _, (stats, bad) = train_both(name, learner, update, 1.0, start, chunks=1)
    assert bad == 0 and np.isnan(stats[0, SSE])


@pytest.mark.parametrize("name", ["2a p=100", "1 RTRL 3", "1 ELM 15", "dense, bias, shortcuts"])
def test_evaluate_is_bit_for_bit_the_reference(name):
    make, task, _ = NETS[name]
    net = make(3)
    batch = task.sample(np.random.default_rng(4), 20)
    stats, outputs = rnn.evaluate(net, batch)
    stats_ref, outputs_ref = np.zeros_like(stats), np.zeros_like(outputs)
    evaluate_kernel(net.weights["W_h"], net.weights["W_o"], net.n_in, net.H, net.out_rec, batch.x_idx,
                    batch.x_val, batch.targets, batch.starts, stats_ref, outputs_ref)
    assert bits(stats) == bits(stats_ref) and bits(outputs) == bits(outputs_ref)


# ----------------------------------------------------------------------------- exp_poly
@pytest.mark.parametrize("p, learner, update", [(4, rtrl, "step"), (100, rtrl, "step"), (100, bptt, "sequence")])
def test_poly_learners_stay_close_to_libm(p, learner, update):
    """exp_poly is within 1 ulp of libm's exp; after 100 sequences the weights differ by about
    1e-16 of their largest (measured; 1e-15 after 1,000 sequences at p = 4)."""
    start = rnn.table2_net(p, seed=5)
    batch = NoiseFree(p).sample(np.random.default_rng(6), 100)
    exact, poly = copy.deepcopy(start), copy.deepcopy(start)
    st_exact, bad_exact = learner.train_batch(exact, batch, 1.0, update)
    st_poly, bad_poly = learner.train_batch(poly, batch, 1.0, update, exp="poly")
    assert bad_exact == bad_poly == -1
    for k in start.weights:
        scale = np.abs(exact.weights[k]).max()
        assert np.abs(poly.weights[k] - exact.weights[k]).max() <= 1e-13 * scale, k
    np.testing.assert_allclose(st_poly, st_exact, rtol=1e-12, atol=1e-15)
    assert any(bits(poly.weights[k]) != bits(exact.weights[k]) for k in start.weights), "poly is libm?"


def test_rtrl_and_bptt_rows_train_with_the_poly_learners():
    batch = NoiseFree(4).sample(np.random.default_rng(0), 20)
    for name, learner, update in ((runner.RTRL_POLY, rtrl, "step"), (runner.BPTT_POLY, bptt, "sequence")):
        a, b = rnn.table2_net(4, seed=0), rnn.table2_net(4, seed=0)
        assert bits(runner.LEARNERS[name](a, batch, 1.0, update)[0]) == \
            bits(learner.train_batch(b, batch, 1.0, update, exp="poly")[0])
        assert all(bits(a.weights[k]) == bits(b.weights[k]) for k in a.weights)
    assert runner.learner_of(experiments.get("2a-rtrl-p100-lr1")) == runner.RTRL_POLY
    assert runner.learner_of(experiments.get("2a-bptt-p100-lr1")) == runner.BPTT_POLY
    rec = runner.run_trial("2a-rtrl-p4-lr1", 1, scale="smoke", engine=runner.RTRL_POLY)
    assert rec["engine"] == runner.RTRL_POLY and rec["sequences_trained"] == 2000
    with pytest.raises(ValueError, match="unknown exp"):
        rtrl.train_batch(rnn.table2_net(4), batch, 1.0, exp="fast")
