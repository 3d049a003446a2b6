"""Elman's procedure for the simple recurrent net (the paper's ELM row of Table 1, from
Cleeremans et al. 1989; docs/paper.md §4.1).

The net (``rnn.RNN`` with a recurrent hidden layer and a readout, Table 1: 7-15-7, no bias,
435 weights): the hidden layer sees the inputs and the context units, which hold a copy of the
hidden layer's previous activations, a(t-1); the outputs see the hidden layer.

Elman's procedure is backpropagation truncated after one step: the context is treated as an
ordinary input, so the error of step t reaches the weights into the hidden layer at step t and
stops there (it never flows into a(t-1)). With e_k = f'(net_k)(d_k - y_k) (eq. 19):

    Δw_kh = α e_k a_h(t),   Δw_hj = α f'(net_h(t)) (Σ_k w_kh e_k) u_j(t),   u(t) = [x(t), a(t-1), 1].

update="step" (Elman's: the weights change after every pattern, i.e. every step with a target)
or "sequence" (the changes of a sequence summed with fixed weights, applied at its end).
"""
import numpy as np
from numba import njit

from .online import NO_ERROR, add_error, check_update, mark_diverged, new_stats, store
from .rnn import (apply_both, has_target, hidden_step, max_abs, net_args, output_buffer, output_step,
                  readout_errors, readout_update, store_readout)


@njit(cache=True, error_model="numpy")
def _kernel(W_h, W_oT, M_h, M_oT, n_in, H, lr, step_update, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    K = W_oT.shape[1]
    nnz = x_idx.shape[1]
    bias = W_h.shape[1] - 1
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = output_buffer(K)
    diff = np.zeros(K)
    e = np.zeros((1, K))                    # the output errors e_k (row 0)
    eps = np.zeros(N)
    dW_h = np.zeros_like(W_h)
    dW_oT = np.zeros_like(W_oT)
    for q in range(len(starts) - 1):
        for l in range(N):
            a_prev[l] = 0.0
        err = NO_ERROR
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            if has_target(targets, t):                  # (the outputs of other steps serve nothing)
                output_step(W_oT, H, a, y, x_idx, x_val, t, True)
                E, mx = readout_errors(targets, t, y, diff, H, W_oT, e, 0, eps)
                if E != E:                                  # (a NaN: the maximum in order)
                    mx = max_abs(targets, t, diff)
                err = add_error(err, E, mx)
                readout_update(dW_oT, M_oT, 1.0, H, e, 0, a, x_idx, x_val, t)
                for l in range(N):                  # one step back: into the hidden layer, no further
                    d = eps[l] * a[l] * (1.0 - a[l])
                    for m in range(nnz):
                        dW_h[l, x_idx[t, m]] += d * x_val[t, m]
                    for m in range(N):
                        dW_h[l, n_in + m] += d * a_prev[m]
                    dW_h[l, bias] += d
                if step_update:
                    ok = apply_both(W_h, W_oT, M_h, M_oT, dW_h, dW_oT, lr)
                    if not ok:
                        mark_diverged(stats, q)
                        return q
            for l in range(N):
                a_prev[l] = a[l]
        if not store(stats, q, *err):
            return q
        if not step_update:
            ok = apply_both(W_h, W_oT, M_h, M_oT, dW_h, dW_oT, lr)
            if not ok:
                return q
    return -1


def train_batch(net, batch, lr, update="step"):
    """Elman's procedure over every sequence of ``batch``, in order. Returns (stats, diverged)
    like ``engine.train_batch``. Needs a net with a readout (the outputs see the hidden layer)."""
    check_update(update)
    if net.out_rec:
        raise ValueError("Elman's procedure needs a readout layer (outputs='readout')")
    stats = new_stats(len(batch))
    args = net_args(net, batch)
    bad = _kernel(args.W_h, args.W_oT, args.M_h, args.M_oT, args.n_in, args.H, float(lr), update == "step",
                  batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    store_readout(net, args.W_oT)
    return stats, int(bad)
