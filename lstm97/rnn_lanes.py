"""RTRL and BPTT in SIMD lanes: LANES trials of Table 2's net in lockstep, one lane each.

The competitors of Table 2 (docs/paper.md §4.2, §6.17) train one self-recurrent logistic unit
and p+1 logistic readout units that also see the inputs (``rnn.table2_net``): 36 to 10,404
weights, trained trial by trial by ``rtrl.train_batch`` and ``bptt.train_batch``. As
``lanes.py`` does for the LSTM, this module trains LANES (16) such trials at once: every
per-lane array keeps the lane axis innermost (W_h[0, j, lane], W_oT[v, k, lane], P[0, j, lane]),
and each operation of the single-trial kernels is written once for all lanes on lane vectors
(``lanevec.py``).

Per lane the kernel computes exactly what ``rtrl._kernel`` or ``bptt._kernel`` computes for a
net with one recurrent unit (N = H = 1) and a readout, the same operations in the same order
(tests/test_rnn_lanes.py checks every lane's weights and statistics bit for bit):

- the hidden unit a(t) = f(W_h u(t)), u(t) = [x(t), a(t-1), 1] (eq. 3; rnn.hidden_step), its
  σ with libm's exp, lane by lane, as the single-trial learners compute it;
- the readout y_k(t) = f(W_o v(t)), v(t) = [a(t), x(t), 1] (rnn.output_step), its σ with libm's
  exp (``exp="libm"``) or with exp_poly on lane vectors (``exp="poly"``: ``lanes.sigma_lanes``,
  the operations of fastexp's scalar exp_poly, bit for bit);
- the errors e_k = f'(net_k)(d_k - y_k) (eq. 19), E(t) = Σ_k (d_k - y_k)^2 (eq. 16), the error
  Σ_k w_k0 e_k sent back to the hidden unit, each sum over k in the order of k
  (rnn.readout_errors), and the statistics of online.py;
- the readout's delta rule (eqs. 19, 22; rnn.readout_update), a unit with e_k = 0 left as it is;
- RTRL (``train_rtrl``): the sensitivities P_j(t) = f'(net(t)) (w P_j(t-1) + u_j(t)) of the
  hidden unit's weights (rtrl._sensitivities_one) and Δw_j = α eps P_j, applied after each
  target step (``update="step"``, online RTRL) or summed over the sequence (``"sequence"``);
- BPTT (``train_bptt``): the forward pass kept per tick (a(t), e_k(t), the error its own target
  sends back, each lane's inputs), then ϑ(t) = f'(net(t)) (eps(t) + w ϑ(t+1)) (docs/paper.md
  §5.1) from the sequence's end back to its start, the readout's changes added in that order;
- the update of eq. 17 once per sequence (online.apply, here ``lanes._apply``), or after each
  target step for RTRL, and the stop at the first sequence whose E or weights became NaN or inf.

Lanes whose sequences differ in length are aligned at their ends, as in lanes.py: a shorter
sequence starts later and its lane waits, its state frozen at the reset (a = 0, P = 0), adding
nothing to any weight or sum (where a masked lane must add to a weight, it adds -0.0, which
leaves every value as it is, -0.0 included). A lane whose batch is done, or whose weights
became NaN or inf, idles until the last lane is done. On Table 2's task every sequence has p
steps, so no lane waits.

Inputs are sparse (``tasks.Batch``): each lane's input columns are read from W_h and the
readout, and added to in P and the Δw, lane by lane (``lanevec.gather``, ``scatter_add``);
at a tick where every running lane reads the same column (on Table 2's task every tick but the
first of a sequence, whose input is x or y) it is one vector load instead, the same values.

Speed (``make bench``, docs/performance.md): at p = 100 with exp_poly, 16 lanes train 1.8-1.9
times the trial-steps per second of the single-trial learners (1.3 times with libm's exp, one
call per unit and lane either way); at p = 4 and 10, 3-4 times. At p = 100 both are vectorised
over the 101 output units, the single-trial learners along k, the lanes along the lanes; what
the lanes save is mostly the single-trial loops' sequential sums over k (E(t), Σ_k w_k0 e_k),
whose chains of additions run for 16 lanes at once here. About 40% of a lane's step there is
the readout's σ.

Nets and batches that can share a call (``group_key``): the same sizes and masks (N = H = 1,
a readout whose input columns have one mask per output unit: ``supports``), the same learner,
update and ``exp``, one learning rate, batches with the same number of inputs per step.
"""
import numpy as np
from numba import njit

from . import rnn
from .fastexp import sigma_array
from .lanes import (CACHE, _apply, _end_sequences, _lane_arrays, _local, _next_sequences, _round, _setup,
                    check_call, sigma_lanes)
from .lanevec import (LANES, above, add_to, any_lane, equals, gather, get, is_number, magnitude, put,
                      read_columns, read_steps, scatter_add, splat, started, where)
from .online import ABS_ALL, ABS_END, ERR_END, SSE, check_exp, check_update, new_stats


# --------------------------------------------------------------------------- the kernel
@njit(cache=CACHE, error_model="numpy")
def _kernel(W_h, W_oT, M_h, M_oT, Mx, n_in, lr, bptt, step_update, exact,
            x_idx, x_val, targets, t_idx, starts, first, stats, bad, unit_inputs, onehot):
    """rtrl._kernel (``bptt`` False) or bptt._kernel (True) for N = H = 1 with a readout, lane l
    on x_idx[l], x_val[l], targets[l], starts[l] (tuples of LANES arrays; t_idx[l] the units of
    the one-hot targets if ``onehot``). W_h (1, n_src, LANES); W_oT (n_v, K, LANES), the readout
    transposed (rnn.net_args); the masks M_h (1, n_src) and M_oT (n_v, K) are shared, Mx[k] the
    mask of unit k's input columns. stats[first[l] + q] is the row of lane l's sequence q;
    bad[l] becomes -1, or the sequence at which lane l stopped (the learners' diverged).

    A tick: each lane's inputs and targets, read from its own arrays (lanevec.read_steps; a
    waiting lane reads x = 0 and no target); the hidden unit; RTRL's sensitivities, or BPTT's
    record of the tick; at a tick with a target in some lane, the readout, its errors and the
    statistics, and RTRL's updates. BPTT's backward pass follows the round's forward pass.
    Per-lane arrays are read and written here, not in helper functions: an inlined function's
    array arguments cost atomic reference counts at each call (rnn.py), which in the loops over
    the units made a step three times slower."""
    L = LANES
    n_src = W_h.shape[1]
    bias = n_src - 1
    K = W_oT.shape[1]
    vb = W_oT.shape[0] - 1          # the readout's bias row
    nnz = x_idx[0].shape[1]
    Tmax = 1                        # ticks BPTT keeps: the longest sequence
    if bptt:
        for l in range(L):
            for i in range(len(starts[l]) - 1):
                Tmax = max(Tmax, starts[l][i + 1] - starts[l][i])
    a_prev = _local(1)
    net = _local(1)
    act = _local(1)
    y = _local(K)
    tg = _local(0 if onehot else K)  # targets at this tick (NaN: none)
    sums = _local(4)                # per lane: SSE, ABS_ALL, ABS_END, ERR_END of this sequence
    done = _local(1)[0]
    fine = _local(1)[0]
    buf = _local(1)[0]              # scratch rows: lane by lane reads and writes,
    Ev = _local(1)[0]               # E, max |d - y|, has, where E(t) is NaN,
    mxv = _local(1)[0]
    hv = _local(1)[0]
    nf = _local(1)[0]               # and where a weight became NaN or inf
    net_f = net[0]
    act_f = act[0]
    y_f = y.reshape(K * L)
    hot = np.zeros((1, L), np.int64)
    hot_row = hot[0]                # each lane's target unit at this tick (onehot)
    P = np.zeros((1, n_src, L))     # RTRL: P[0, j] = ∂a/∂w_j (rtrl.py)
    dW_h = np.zeros_like(W_h)
    dW_oT = np.zeros_like(W_oT)
    rows = Tmax * nnz if bptt else nnz
    XV = np.zeros((rows, L))        # each tick's inputs (BPTT: all of the round's, tick tau at rows tau nnz..)
    XI = np.zeros((rows, L), np.int64)
    uni = np.zeros(rows, np.bool_)  # whether every running lane reads the same column, ucol
    ucol = np.zeros(rows, np.int64)
    A = np.zeros((Tmax + 1 if bptt else 0, L))      # BPTT: a(t) at A[tau + 1], A[begin] = 0
    EK = np.zeros((Tmax if bptt else 0, K, L))      # e_k(t)
    EPS = np.zeros((Tmax if bptt else 0, L))        # the error of the step's own target
    ANY = np.zeros(Tmax, np.bool_)                  # a target in some lane
    step0 = np.zeros(L, np.int64)
    begin = np.zeros(L, np.int64)
    q = np.zeros(L, np.int64)
    active = np.zeros(L, np.bool_)
    X_at = np.zeros(L, np.int64)
    I_at = np.zeros(L, np.int64)
    D_at = np.zeros(L, np.int64)
    T_at = np.zeros(L, np.int64)
    ends = np.zeros(L, np.int64)                    # len(starts[l])
    for l in range(L):
        ends[l] = len(starts[l])
    _setup(x_idx, x_val, targets, t_idx, starts, bad, fine, active, X_at, I_at, D_at, T_at)
    G, scale = (W_oT, lr) if step_update and not bptt else (dW_oT, 1.0)   # RTRL's readout changes: now or summed

    while True:
        T = _round(starts, q, active, begin, step0)
        if T == 0:
            break
        put(a_prev, 0, splat(0.0))
        P[:, :, :] = 0.0
        for i in range(4):
            put(sums, i, splat(0.0))
        for tau in range(T):
            at = tau * nnz if bptt else 0
            running = started(begin, tau)
            # each lane's inputs: values (0 in a waiting lane), columns, whether the running lanes share one
            for m in range(nnz):
                if unit_inputs:
                    put(XV, at + m, where(running, 1.0, 0.0))
                else:
                    put(XV, at + m, read_steps(X_at, step0, tau, nnz, m, running, 0.0))
                read_columns(XI, at + m, I_at, step0, tau, nnz, m, running)
                c0 = -1
                same = True
                for l in range(L):
                    if begin[l] <= tau:
                        if c0 < 0:
                            c0 = XI[at + m, l]
                        elif XI[at + m, l] != c0:
                            same = False
                uni[at + m] = same
                ucol[at + m] = max(c0, 0)
            # targets
            if onehot:                  # every step of a running lane has a target (tasks.Batch)
                read_columns(hot, 0, T_at, step0, tau, 1, 0, running)
                target = running
            else:
                target = splat(0.0)
                for k in range(K):
                    d = read_steps(D_at, step0, tau, K, k, running, np.nan)
                    put(tg, k, d)
                    target = where(is_number(d), 1.0, target)
            # the hidden unit a(t) = f(W_h u(t)), u(t) = [x(t), a(t-1), 1] (rnn.hidden_step), σ with
            # libm's exp lane by lane (online.sigma); a(t-1) in a waiting lane
            acc = get(W_h, 0, bias)
            for m in range(nnz):
                w = get(W_h, 0, ucol[at + m]) if uni[at + m] else gather(W_h, 0, XI, at + m)
                acc = acc + w * get(XV, at + m)
            ap = get(a_prev, 0)
            acc = acc + get(W_h, 0, n_in) * ap
            put(net_f, acc)
            sigma_array(net_f, act_f, L, True)
            a = where(running, get(act_f), ap)
            if bptt:
                put(A, tau + 1, a)
            else:
                # sensitivities (rtrl._sensitivities_one): P = f' (w P + u), frozen in a waiting lane
                w = get(W_h, 0, n_in)
                fl = a * (1.0 - a)
                for j in range(n_src):
                    p = get(P, 0, j)
                    put(P, 0, j, where(running, where(w, (0.0 + w * p) * fl, 0.0 * fl), p))
                for m in range(nnz):
                    v = where(running, fl * get(XV, m), -0.0)
                    if uni[m]:
                        add_to(P, 0, ucol[m], v)
                    else:
                        scatter_add(P, 0, XI, m, v)
                add_to(P, 0, n_in, where(running, fl * ap, -0.0))
                add_to(P, 0, n_src - 1, where(running, fl, -0.0))

            ANY[tau if bptt else 0] = any_lane(target)
            if ANY[tau if bptt else 0]:
                # the readout y_k(t) = f(net_k), net_k = w_k,bias + w_k0 a(t) + Σ_m w_k,x x_m in the
                # order of rnn.output_step; σ with libm's exp (exact) or exp_poly on lane vectors
                k0 = 0
                if nnz == 1 and uni[at] and not exact:      # every lane's column alike: two units at a
                    col = 1 + ucol[at]                      # time, their σ chains interleaved
                    x = get(XV, at)
                    while k0 + 1 < K:
                        acc0 = get(W_oT, vb, k0)
                        acc1 = get(W_oT, vb, k0 + 1)
                        acc0 = acc0 + get(W_oT, 0, k0) * a
                        acc1 = acc1 + get(W_oT, 0, k0 + 1) * a
                        acc0 = acc0 + get(W_oT, col, k0) * x
                        acc1 = acc1 + get(W_oT, col, k0 + 1) * x
                        put(y, k0 + 1, sigma_lanes(acc1))
                        put(y, k0, sigma_lanes(acc0))
                        k0 += 2
                for k in range(k0, K):
                    acc = get(W_oT, vb, k)
                    acc = acc + get(W_oT, 0, k) * a
                    for m in range(nnz):
                        if uni[at + m]:
                            w = get(W_oT, 1 + ucol[at + m], k)
                        else:                               # lane by lane (v = [a, x, 1])
                            for l in range(L):
                                buf[l] = W_oT[1 + XI[at + m, l], k, l]
                            w = get(buf)
                        acc = acc + w * get(XV, at + m)
                    put(y, k, acc if exact else sigma_lanes(acc))
                if exact:
                    sigma_array(y_f, y_f, K * L, True)
                # errors (rnn.readout_errors): diff_k = d_k - y_k (0 without a target), e_k =
                # y_k (1 - y_k) diff_k (eq. 19; 0 in a lane without a target at this tick), E(t)
                # (eq. 16), max_k |diff_k|, eps = Σ_k w_k0 e_k, each summed over k in order. Then
                # RTRL's readout changes G += scale M_o outer(e, v(t)) on the non-zero entries
                # of v(t) (eqs. 19, 22; rnn.readout_update), a unit with scale e_k = 0 left as it
                # is; unit k's weights are read before they change. BPTT keeps e_k.
                E = splat(0.0)
                mx = splat(0.0)
                eps = splat(0.0)
                nonfinite = splat(0.0)
                for k in range(K):
                    yk = get(y, k)
                    d = where(running, equals(hot_row, k), np.nan) if onehot else get(tg, k)
                    diff = where(is_number(d), d - yk, 0.0)
                    e = where(target, yk * (1.0 - yk) * diff, 0.0)
                    E = E + diff * diff
                    mx = where(above(magnitude(diff), mx), magnitude(diff), mx)   # Numba's max(mx, |diff|)
                    eps = eps + get(W_oT, 0, k) * e
                    if bptt:
                        put(EK, tau, k, e)
                        continue
                    c = scale * e
                    g = get(G, 0, k)
                    put(G, 0, k, where(c, g + c * M_oT[0, k] * a, g))
                    for m in range(nnz):
                        v = where(c, c * Mx[k] * get(XV, m), -0.0)
                        if uni[m]:
                            add_to(G, 1 + ucol[m], k, v)
                        else:
                            put(buf, v)
                            for l in range(L):
                                G[1 + XI[m, l], k, l] += buf[l]
                    g = get(G, vb, k)
                    g = where(c, g + c * M_oT[vb, k], g)
                    put(G, vb, k, g)
                    nonfinite = nonfinite + where(c, g - g, 0.0)
                if any_lane(target * (1.0 - is_number(E))):     # E(t) NaN: the maximum in order (rnn.max_abs)
                    put(Ev, E)
                    put(mxv, mx)
                    put(hv, target)
                    for l in range(L):
                        if hv[l] != 0.0 and Ev[l] != Ev[l]:
                            m_ = 0.0
                            for k in range(K):
                                d_ = (1.0 if hot[0, l] == k else 0.0) if onehot else tg[k, l]
                                if d_ == d_:
                                    m_ = max(m_, abs(d_ - y[k, l]))
                            mxv[l] = m_
                    mx = get(mxv)
                # the sequence's statistics (online.add_error)
                put(sums, SSE, where(target, get(sums, SSE) + E, get(sums, SSE)))
                aa = get(sums, ABS_ALL)
                put(sums, ABS_ALL, where(target * above(mx, aa), mx, aa))
                put(sums, ABS_END, where(target, mx, get(sums, ABS_END)))
                put(sums, ERR_END, where(target, E, get(sums, ERR_END)))
                if bptt:
                    put(EPS, tau, where(target, eps, 0.0))
                else:
                    for j in range(n_src):                      # RTRL: Δw_j = α eps P_j
                        g = 0.0 + eps * get(P, 0, j)
                        if step_update:
                            w_old = get(W_h, 0, j)
                            w_new = w_old + (lr * M_h[0, j]) * g
                            put(W_h, 0, j, where(target, w_new, w_old))
                            nonfinite = nonfinite + where(target, w_new - w_new, 0.0)
                        else:
                            d = get(dW_h, 0, j)
                            put(dW_h, 0, j, where(target, d + g, d))
                    if step_update and any_lane(nonfinite):     # the lane stops here (online.mark_diverged)
                        put(nf, nonfinite)
                        for l in range(L):
                            if nf[l] != 0.0:
                                stats[first[l] + q[l], SSE] = np.nan
                                bad[l] = q[l]
                                active[l] = False
                                begin[l] = T
            elif bptt:
                put(EPS, tau, splat(0.0))
            put(a_prev, 0, a)
        _end_sequences(sums, stats, first, q, bad, active, done)

        if bptt:
            # backward (bptt._kernel): ϑ(t) = f'(net(t)) (eps(t) + w ϑ(t+1)), from the round's last
            # tick to its first, the readout's changes of each step first; a waiting lane adds -0.0
            da = splat(0.0)
            w = get(W_h, 0, n_in)
            for tau in range(T - 1, -1, -1):
                at = tau * nnz
                running = started(begin, tau)
                a1 = get(A, tau + 1)
                if ANY[tau]:                                    # rnn.readout_update, scale 1
                    for k in range(K):
                        c = 1.0 * get(EK, tau, k)
                        g = get(dW_oT, 0, k)
                        put(dW_oT, 0, k, where(c, g + c * M_oT[0, k] * a1, g))
                        for m in range(nnz):
                            v = where(c, c * Mx[k] * get(XV, at + m), -0.0)
                            if uni[at + m]:
                                add_to(dW_oT, 1 + ucol[at + m], k, v)
                            else:
                                put(buf, v)
                                for l in range(L):
                                    dW_oT[1 + XI[at + m, l], k, l] += buf[l]
                        g = get(dW_oT, vb, k)
                        put(dW_oT, vb, k, where(c, g + c * M_oT[vb, k], g))
                delta = (get(EPS, tau) + da) * a1 * (1.0 - a1)
                for m in range(nnz):
                    v = where(running, delta * get(XV, at + m), -0.0)
                    if uni[at + m]:
                        add_to(dW_h, 0, ucol[at + m], v)
                    else:
                        scatter_add(dW_h, 0, XI, at + m, v)
                add_to(dW_h, 0, n_in, where(running, delta * get(A, tau), -0.0))
                add_to(dW_h, 0, bias, where(running, delta, -0.0))
                da = 0.0 + w * delta
        if bptt or not step_update:
            _apply(W_h, M_h, dW_h, lr, done, fine)
            _apply(W_oT, M_oT, dW_oT, lr, done, fine)
        _next_sequences(q, bad, active, done, fine, ends)


# --------------------------------------------------------------------------- Python side
def supports(net):
    """Whether the lanes can train ``net`` (an rnn.RNN): one recurrent unit, which is the one
    hidden unit, a readout (Table 2's nets), and the readout's input columns masked alike for
    each output unit."""
    if net.N != 1 or net.H != 1 or net.out_rec:
        return False
    M = net.masks["W_o"][:, net.H:net.H + net.n_in]
    return bool(np.all(M == M[:, :1]))


def group_key(net):
    """Nets with the same key can share a call (with one learner, update, exp and learning
    rate, and batches of one nnz): their sizes and masks."""
    return (net.n_in, net.n_out, net.H, net.N, net.out_rec) + tuple(net.masks[k].tobytes() for k in ("W_h", "W_o"))


def _check(nets, batches):
    return check_call(nets, batches, supports, group_key,
                      "the lanes train nets with one recurrent unit, the one hidden unit, and a "
                      "readout whose input columns share each unit's mask (rnn.table2_net)")


def _train(nets, batches, lr, options):
    nets, batches = _check(nets, batches)
    out = []
    for g in range(0, len(nets), LANES):
        out += _train_group(nets[g:g + LANES], batches[g:g + LANES], lr, options)
    return out


def _train_group(nets, batches, lr, options):
    """One kernel call for at most LANES nets, idle lanes after them."""
    args = [rnn.net_args(net, b) for net, b in zip(nets, batches)]     # checks sizes, float64 weights
    n, net0 = len(nets), nets[0]
    W_h = np.zeros(args[0].W_h.shape + (LANES,))
    W_oT = np.zeros(args[0].W_oT.shape + (LANES,))
    for l, a in enumerate(args):
        W_h[..., l] = a.W_h
        W_oT[..., l] = a.W_oT
    M_h, M_oT = np.ascontiguousarray(args[0].M_h, np.float64), args[0].M_oT
    Mx = np.ascontiguousarray(M_oT[net0.H])
    x_idx, x_val, targets, starts, t_idx, onehot, first = _lane_arrays(batches)
    stats = new_stats(first[-1])
    bad = np.full(LANES, -1, np.int64)
    if first[-1]:
        _kernel(W_h, W_oT, M_h, M_oT, Mx, args[0].n_in, float(lr), *options, x_idx, x_val, targets, t_idx,
                starts, first, stats, bad, all(b.unit_inputs for b in batches), onehot)
    for l, net in enumerate(nets):
        net.weights["W_h"][...] = W_h[..., l]
        rnn.store_readout(net, W_oT[..., l])
    return [(stats[first[l]:first[l + 1]], int(bad[l])) for l in range(n)]


def train_rtrl(nets, batches, lr, update="step", exp="libm"):
    """RTRL for nets[l] on batches[l], all in lockstep, one lane per net: per net, what
    ``rtrl.train_batch(nets[l], batches[l], lr, update, exp)`` returns, (stats, diverged), bit
    for bit, and its weights updated in place as that call updates them. ``update`` "step"
    (online RTRL) or "sequence"; ``exp`` the readout's σ with libm's exp or exp_poly. The nets
    must share ``group_key`` and be ones the lanes ``supports``; the batches their nnz. The
    kernel runs LANES nets at a time, padding the last group with idle lanes (which cost as
    much as busy ones)."""
    check_update(update)
    check_exp(exp)
    return _train(nets, batches, lr, (False, update == "step", exp == "libm"))


def train_bptt(nets, batches, lr, update="sequence", exp="libm"):
    """BPTT for nets[l] on batches[l] in lockstep, one lane per net: per net, what
    ``bptt.train_batch(nets[l], batches[l], lr, update, exp)`` returns, bit for bit, its weights
    updated in place (as ``train_rtrl``). BPTT updates once per sequence: update must be
    "sequence"."""
    if update != "sequence":
        raise ValueError(f"BPTT updates once per sequence; got update={update!r}")
    check_exp(exp)
    return _train(nets, batches, lr, (True, False, exp == "libm"))


TRAIN = {"rtrl": train_rtrl, "bptt": train_bptt}     # by the experiments' ``gradient``
