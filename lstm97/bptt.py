"""Backpropagation through time over each sequence, for the competitors' nets (``rnn.RNN``).

The paper's BPTT row of Table 2 (docs/paper.md §4.2, §6.17): "full backpropagation through time
over each sequence". The truncation depth is not given; we read "BPTT" as untruncated: one
backward pass over the whole sequence at its end (Section 3.1's ϑ_j(t) = f'_j(net_j(t))
Σ_i w_ij ϑ_i(t+1), docs/paper.md §5.1), the summed changes applied once per sequence with the
weights held fixed during it. That is the gradient offline RTRL computes (rtrl.py with
update="sequence"), at O(W) per step instead of O(N^3 n_src), and O(T N) memory.

Same conventions as rtrl.py and the LSTM engine: E = Σ_t Σ_k (d_k - y_k)^2 over the target
steps, e_k = f'(net_k)(d_k - y_k), Δw = α (-1/2 ∂E/∂w).
"""
import numpy as np
from numba import njit

from .engine import _store
from .rnn import apply_both, check_exp, errors, hidden_step, net_args, output_step, readout_update, store_readout


@njit(cache=True, error_model="numpy")
def _kernel(W_h, W_oT, M_h, M_oT, n_in, H, out_rec, lr, exact, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    K = W_oT.shape[1]
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
    dW_oT = np.zeros_like(W_oT)
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
                output_step(W_oT, H, out_rec, A[i + 1], y, x_idx, x_val, t, exact)
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
                    readout_update(dW_oT, M_oT, 1.0, W_oT, H, e, A[i + 1], eps, x_idx, x_val, t)
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
        ok = apply_both(W_h, W_oT, M_h, M_oT, dW_h, dW_oT, lr)
        if not ok:
            return q
    return -1


def train_batch(net, batch, lr, update="sequence", exp="libm"):
    """BPTT over every sequence of ``batch``, one update per sequence. Returns (stats, diverged)
    like ``engine.train_batch``. BPTT has no per-step updates: update must be "sequence".
    ``exp``: the readout's σ with libm's exp or exp_poly, as in ``rtrl.train_batch``."""
    if update != "sequence":
        raise ValueError(f"BPTT updates once per sequence; got update={update!r}")
    check_exp(exp)
    stats = np.zeros((len(batch), 4))
    W_h, W_oT, M_h, M_oT, n_in, H, out_rec = net_args(net, batch)
    bad = _kernel(W_h, W_oT, M_h, M_oT, n_in, H, out_rec, float(lr), exp == "libm",
                  batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    store_readout(net, W_oT)
    return stats, int(bad)
