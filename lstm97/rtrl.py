"""Real-time recurrent learning (Williams & Zipser 1989) for the competitors' nets (``rnn.RNN``).

The paper's RTRL rows (Table 1, from Smith & Zipser 1989; Table 2, run by the authors;
docs/paper.md §4.1, §4.2, §6.17). RTRL carries forward, for every recurrent unit l and every
weight w_ij into a recurrent unit, the sensitivity P[l, i, j] = ∂a_l(t)/∂w_ij:

    P[l, i, j](t) = f'(net_l(t)) (Σ_m w_lm P[m, i, j](t-1) + δ_li u_j(t)),   P(0) = 0,

with u(t) = [x(t), a(t-1), 1] (rnn.py). At a step with a target the error reaching unit l,
eps_l = -1/2 ∂E(t)/∂a_l(t), gives Δw_ij = α Σ_l eps_l P[l, i, j]. Output units that are not
recurrent (Table 2's readout) need no sensitivities: their weights get the plain delta rule
(eqs. 19, 22), and they pass Σ_k w_kh e_k back to hidden unit h at the same step.

Conventions shared with the LSTM engine (docs/paper.md §2.2, §2.6): E(t) = Σ_k (d_k - y_k)^2,
e_k = f'(net_k)(d_k - y_k) without the factor 2 (absorbed into α), Δw = α (-1/2 ∂E/∂w).

update="step" (RTRL proper, "real-time"): the weights change right after every step with a
target; the sensitivities are never reset within a sequence, so they mix the weights of past
steps, exactly as in Williams & Zipser's online algorithm. update="sequence": the changes of
one sequence are summed with the weights held fixed and applied at its end; that is BPTT's
gradient (the paper: "untruncated BPTT gives the same gradient as offline RTRL").

Cost per step: O(N^3 n_src) for the sensitivities (N recurrent units, n_src = n_in + N + 1
sources) plus O(K (H + nnz)) for the readout. Table 2's net has N = 1, so its p = 100 net costs
O(n_src + K) a step: the sensitivities are only those of the one hidden unit's 102 weights,
and with one-hot inputs each readout unit has 2 non-zero sources (docs/paper.md §4.2). There
the readout (K = 101 units, vectorised over k: rnn.py) costs most, chiefly its K exp() calls.
"""
import numpy as np
from numba import njit

from .engine import SSE, _store
from .network import check_update
from .rnn import (apply_both, check_exp, errors, hidden_step, net_args, output_errors, output_step, readout_update,
                  store_readout)


@njit(cache=True, error_model="numpy")
def _kernel(W_h, W_oT, M_h, M_oT, n_in, H, out_rec, lr, step_update, exact, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    n_src = W_h.shape[1]
    K = W_oT.shape[1]
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
    dW_oT = np.zeros_like(W_oT)
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
                output_step(W_oT, H, out_rec, a, y, x_idx, x_val, t, exact)
                _, E, mx = errors(targets, t, y, diff)
                sse += E
                err_end = E
                abs_end = mx
                abs_all = max(abs_all, mx)
                output_errors(y, diff, out_rec, H, e, eps)
                if step_update:
                    ok = readout_update(W_oT, M_oT, lr, W_oT, H, e, a, eps, x_idx, x_val, t)
                else:
                    readout_update(dW_oT, M_oT, 1.0, W_oT, H, e, a, eps, x_idx, x_val, t)
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
            ok = apply_both(W_h, W_oT, M_h, M_oT, dW_h, dW_oT, lr)
            if not ok:
                return q
    return -1


def train_batch(net, batch, lr, update="step", exp="libm"):
    """RTRL over every sequence of ``batch``, in order; ``update`` "step" (online RTRL) or
    "sequence". ``exp``: the readout's σ with libm's exp ("libm", the records' learner) or with
    exp_poly ("poly": vectorised, within 1 ulp, so not bit for bit the same; rnn.output_step).
    Returns (stats, diverged) like ``engine.train_batch``."""
    check_update(update)
    check_exp(exp)
    stats = np.zeros((len(batch), 4))
    W_h, W_oT, M_h, M_oT, n_in, H, out_rec = net_args(net, batch)
    bad = _kernel(W_h, W_oT, M_h, M_oT, n_in, H, out_rec, float(lr), update == "step", exp == "libm",
                  batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    store_readout(net, W_oT)
    return stats, int(bad)
