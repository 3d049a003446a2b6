"""Backpropagation through time over each sequence, for the competitors' nets (``rnn.RNN``).

The paper's BPTT row of Table 2 (docs/paper.md §4.2, §6.17): "full backpropagation through time
over each sequence". The truncation depth is not given; we read "BPTT" as untruncated: one
backward pass over the whole sequence at its end (Section 3.1's ϑ_j(t) = f'_j(net_j(t))
Σ_i w_ij ϑ_i(t+1), docs/paper.md §5.1), the summed changes applied once per sequence with the
weights held fixed during it. That is the gradient offline RTRL computes (rtrl.py with
update="sequence"), at O(W) per step instead of O(N^3 n_src), and O(T (N + K)) memory.

The forward pass keeps, per step, a(t), the output errors e_k(t) and what the step's own
target sends back to each recurrent unit (eps; for a readout Σ_k w_kh e_k, computed there with
E(t) since W_o is fixed during the sequence); the backward pass adds the readout's changes and
runs the recurrence, in the order of t from the end (so the summed changes are those of the
one-pass backward loop, bit for bit).

Same conventions as rtrl.py and the LSTM engine: E = Σ_t Σ_k (d_k - y_k)^2 over the target
steps, e_k = f'(net_k)(d_k - y_k), Δw = α (-1/2 ∂E/∂w).
"""
import numpy as np
from numba import njit

from .online import NO_ERROR, add_error, check_exp, new_stats, store
from .rnn import (apply_both, has_target, hidden_step, max_abs, net_args, output_buffer, output_step,
                  readout_errors, readout_update, recurrent_errors, store_readout)


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
    EK = np.zeros((L, K))               # e_k of step i (readout units)
    EPS = np.zeros((L, N))              # the error reaching each recurrent unit at step i from its target
    HAS = np.zeros(L, np.bool_)
    a_prev = np.zeros(N)                # the steps' own arrays: a view like A[i] costs two atomic
    a = np.zeros(N)                     # reference counts, more than copying a row
    y = output_buffer(K)
    diff = np.zeros(K)
    eps = np.zeros(N)
    da = np.zeros(N)                    # -1/2 dE/da(i), from step i+1 through the recurrent weights
    delta = np.zeros(N)
    dW_h = np.zeros_like(W_h)
    dW_oT = np.zeros_like(W_oT)
    for q in range(len(starts) - 1):
        t0 = starts[q]
        T = starts[q + 1] - t0
        err = NO_ERROR
        for l in range(N):
            a_prev[l] = 0.0
        for i in range(T):                                          # forward
            t = t0 + i
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            for l in range(N):
                A[i + 1, l] = a[l]
                a_prev[l] = a[l]
            HAS[i] = has_target(targets, t)
            if HAS[i]:
                if out_rec:
                    E, mx = recurrent_errors(targets, t, a, H, diff, eps)
                else:
                    output_step(W_oT, H, a, y, x_idx, x_val, t, exact)
                    E, mx = readout_errors(targets, t, y, diff, H, W_oT, EK, i, eps)
                if E != E:                                      # (a NaN: the maximum in order)
                    mx = max_abs(targets, t, diff)
                err = add_error(err, E, mx)
                for l in range(N):
                    EPS[i, l] = eps[l]
            else:
                for l in range(N):
                    EPS[i, l] = 0.0
        if not store(stats, q, *err):
            return q
        for l in range(N):
            da[l] = 0.0
        for i in range(T - 1, -1, -1):                              # backward
            t = t0 + i
            if HAS[i] and not out_rec:
                for l in range(N):
                    a[l] = A[i + 1, l]
                readout_update(dW_oT, M_oT, 1.0, H, EK, i, a, x_idx, x_val, t)
            for l in range(N):
                delta[l] = (EPS[i, l] + da[l]) * A[i + 1, l] * (1.0 - A[i + 1, l])
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
    stats = new_stats(len(batch))
    args = net_args(net, batch)
    bad = _kernel(*args, float(lr), exp == "libm", batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    store_readout(net, args.W_oT)
    return stats, int(bad)
