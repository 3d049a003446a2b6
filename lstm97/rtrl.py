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
sources; N^2 n_src multiply-adds per non-zero recurrent weight, as unit-stride axpys over a
unit's N n_src sensitivities: ``_sensitivities``) plus O(K (H + nnz)) for the readout. Table 2's
net has N = 1, so its p = 100 net costs O(n_src + K) a step: the sensitivities are only those
of the one hidden unit's 102 weights (``_sensitivities_one``, in place, one vectorised loop;
the W_h update another), and with one-hot inputs each readout unit has 2 non-zero sources
(docs/paper.md §4.2). There the readout (K = 101 units, vectorised over k: rnn.py) costs most:
with exp_poly about a quarter of a step is its σ, a sixth the sequential sums over k, an eighth
the reading of the step's K targets from memory (perf).
"""
import numpy as np
from numba import njit

from .online import NO_ERROR, add_error, check_exp, check_update, mark_diverged, new_stats, store
from .rnn import (apply_both, has_target, hidden_step, max_abs, net_args, output_buffer, output_step,
                  readout_errors, readout_update, recurrent_errors, store_readout)


@njit(cache=True, error_model="numpy", inline="always")
def _sensitivities_one(P, c, w, a, a_prev, n_in, x_idx, x_val, t):
    """One recurrent unit (N = 1, Table 2): P(t) = f'(net(t)) (w P(t-1) + u(t)), in place in
    P[c, 0] (P as in ``_sensitivities``). Each entry gets the operations of the general loops,
    (0.0 + w p_j) f' (0.0 f' if w = 0), then the sources u_j(t) != 0 add f' u_j(t) in the same
    order: one unit-stride loop without a reduction (vectorised)."""
    n_src = P.shape[2]
    fl = a * (1.0 - a)
    if w != 0.0:
        for j in range(n_src):
            P[c, 0, j] = (0.0 + w * P[c, 0, j]) * fl
    else:
        for j in range(n_src):
            P[c, 0, j] = 0.0 * fl
    for m in range(x_idx.shape[1]):
        P[c, 0, x_idx[t, m]] += fl * x_val[t, m]
    P[c, 0, n_in] += fl * a_prev
    P[c, 0, n_src - 1] += fl


@njit(cache=True, error_model="numpy")
def _sensitivities(P, c, W_h, a, a_prev, n_in, x_idx, x_val, t):
    """P[1-c] = P(t) from P[c] = P(t-1); P (2, N, N n_src), P[c, l, i n_src + j] = ∂a_l/∂w_ij,
    so that the N n_src sensitivities of unit l are one unit-stride row (and the kernel swaps
    the two by c, not by reassigning arrays: that costs atomic reference counts). Entry by
    entry, in this order (Q = P[1-c], R = P[c]),

        Q[l, ij] = ((...((0.0 + w_lm1 R[m1, ij]) + w_lm2 R[m2, ij]) ...) + w_lmr R[mr, ij]) f'_l

    over the m with w_lm != 0 (0.0 f'_l if there are none), then δ_li u_j(t) f'_l for the
    non-zero sources: each row an axpy over N n_src entries (vectorised), the first one setting
    it, the last one scaling it. Cost: N^2 n_src multiply-adds per recurrent weight != 0."""
    N = W_h.shape[0]
    n_src = W_h.shape[1]
    NS = P.shape[2]
    d = 1 - c
    for l in range(N):
        fl = a[l] * (1.0 - a[l])
        first = -1
        last = -1
        for m in range(N):
            if W_h[l, n_in + m] != 0.0:
                last = m
                if first < 0:
                    first = m
        if first < 0:
            for x in range(NS):
                P[d, l, x] = 0.0 * fl
        elif first == last:
            w = W_h[l, n_in + first]
            for x in range(NS):
                P[d, l, x] = (0.0 + w * P[c, first, x]) * fl
        else:
            w = W_h[l, n_in + first]
            for x in range(NS):
                P[d, l, x] = 0.0 + w * P[c, first, x]
            for m in range(first + 1, last):
                w = W_h[l, n_in + m]
                if w != 0.0:
                    for x in range(NS):
                        P[d, l, x] += w * P[c, m, x]
            w = W_h[l, n_in + last]
            for x in range(NS):
                P[d, l, x] = (P[d, l, x] + w * P[c, last, x]) * fl
        row = l * n_src                                 # δ_li u_j(t)
        for m in range(x_idx.shape[1]):
            P[d, l, row + x_idx[t, m]] += fl * x_val[t, m]
        for m in range(N):
            P[d, l, row + n_in + m] += fl * a_prev[m]
        P[d, l, row + n_src - 1] += fl


@njit(cache=True, error_model="numpy")
def _kernel(W_h, W_oT, M_h, M_oT, n_in, H, out_rec, lr, step_update, exact, x_idx, x_val, targets, starts, stats):
    N = W_h.shape[0]
    n_src = W_h.shape[1]
    K = W_oT.shape[1]
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = output_buffer(K)
    diff = np.zeros(K)
    e = np.zeros((1, K))                    # the output errors e_k (row 0)
    eps = np.zeros(N)
    g = np.zeros(n_src)
    P4 = np.zeros((2, N, N, n_src))         # P4[c, l, i, j] = P[c, l, i n_src + j] = ∂a_l/∂w_ij:
    P = P4.reshape((2, N, N * n_src))       # a unit's rows flat (_sensitivities), or by i and j (the
    c = 0                                   # W_h update: an index i n_src + j makes LLVM gather)
    dW_h = np.zeros_like(W_h)
    dW_oT = np.zeros_like(W_oT)
    G, scale = (W_oT, lr) if step_update else (dW_oT, 1.0)   # the readout's changes: now or summed
    for q in range(len(starts) - 1):
        for l in range(N):                  # (loops: a slice assignment makes a view, two atomic
            a_prev[l] = 0.0                 # reference counts)
            for x in range(N * n_src):
                P[c, l, x] = 0.0
        err = NO_ERROR
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            if N == 1:
                _sensitivities_one(P, c, W_h[0, n_in], a[0], a_prev[0], n_in, x_idx, x_val, t)
            else:
                _sensitivities(P, c, W_h, a, a_prev, n_in, x_idx, x_val, t)
                c = 1 - c
            if has_target(targets, t):
                if out_rec:
                    E, mx = recurrent_errors(targets, t, a, H, diff, eps)
                else:
                    output_step(W_oT, H, a, y, x_idx, x_val, t, exact)
                    E, mx = readout_errors(targets, t, y, diff, H, W_oT, e, 0, eps)
                fin = readout_update(G, M_oT, scale, H, e, 0, a, x_idx, x_val, t)   # (out_rec: e = 0, no-op)
                ok = fin or not step_update
                if E != E:                                      # (a NaN: the maximum in order)
                    mx = max_abs(targets, t, diff)
                err = add_error(err, E, mx)
                for i in range(N):                              # Δw_ij = α Σ_l eps_l P[l, i, j]
                    e0 = eps[0]
                    for j in range(n_src):
                        g[j] = 0.0 + e0 * P4[c, 0, i, j]
                    for l in range(1, N):
                        el = eps[l]
                        for j in range(n_src):
                            g[j] += el * P4[c, l, i, j]
                    if step_update:
                        fin = True
                        for j in range(n_src):
                            w = W_h[i, j] + lr * M_h[i, j] * g[j]
                            W_h[i, j] = w
                            fin &= np.isfinite(w)
                        ok = ok and fin
                    else:
                        for j in range(n_src):
                            dW_h[i, j] += g[j]
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


def train_batch(net, batch, lr, update="step", exp="libm"):
    """RTRL over every sequence of ``batch``, in order; ``update`` "step" (online RTRL) or
    "sequence". ``exp``: the readout's σ with libm's exp ("libm", the records' learner) or with
    exp_poly ("poly": vectorised, within 1 ulp, so not bit for bit the same; rnn.output_step).
    Returns (stats, diverged) like ``engine.train_batch``."""
    check_update(update)
    check_exp(exp)
    stats = new_stats(len(batch))
    args = net_args(net, batch)
    bad = _kernel(*args, float(lr), update == "step", exp == "libm",
                  batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    store_readout(net, args.W_oT)
    return stats, int(bad)
