"""The full gradient in SIMD lanes: LANES trials of one LSTM topology in lockstep, one lane each.

The reading 'full' (readings.py) trains the 1997 net with the untruncated gradient,
``fullgrad.train_batch``: backpropagation through time over the sequence at its end
(update="sequence"), or from each target step back to the sequence start (update="step").
As ``lanes.py`` does for the truncated gradient and ``rnn_lanes.py`` for RTRL and BPTT, this
module trains LANES (16) such trials at once: every per-lane array keeps the lane axis
innermost (W_h[u, m, lane], the history hZ[tick, r, lane], ...), and each operation of
``fullgrad._kernel`` is written once for all lanes on lane vectors (``lanevec.py``).

Per lane the kernel computes exactly what ``fullgrad._kernel`` computes, the same operations
in the same order (tests/test_fullgrad_lanes.py checks every lane's weights and statistics bit
for bit):

- the forward pass (eqs. 6-9, the timing of docs/paper.md §1.4), its σ with libm's exp lane by
  lane as the single-trial learner computes it (``online.sigma``; ``fastexp.sigma_array``
  with exact=True), through the truncated lanes' steps (``lanes._net_inputs``,
  ``lanes._cell_outputs``, ``lanes._next_sources``), each tick kept for the backward pass:
  the sources z(t-1) and x(t), y_in, y_out, g(net_c), g', h(s), h'(s), y_c;
- at a tick with a target, the outputs, E(t) (eq. 16), e_k = f'(net_k)(d_k - y_k) (eq. 19) and
  the statistics of online.py (``lanes._outputs_and_error``);
- the backward pass of ``fullgrad._backward`` (:func:`_backward`), from a tick back to the
  sequence start: the output units' changes (eq. 22) and the error reaching each y_c, through
  y_c = y_out h(s) and the CEC (ds(t)/ds(t-1) = 1) to the gates' and cells' net inputs, their
  weight changes over the sources u(t) = [x(t), z(t-1), 1], and the error sent back to
  z(t-1) through the recurrent columns of the weights that tick used;
- the update of eq. 17 after the sequence, or after each target step (``lanes._apply``,
  ``lanes._step_update``), and the stop at the first sequence whose E or weights became NaN
  or inf.

Lanes whose sequences differ in length are aligned at their ends, as in lanes.py: a shorter
sequence starts later and its lane waits, its state frozen at the reset, adding -0.0 to every
weight change (which leaves every value as it is, -0.0 included). A lane whose batch is done,
or whose weights became NaN or inf, idles until the last lane is done. Per-step updates
change the recurrent weights within a sequence, so they are kept for each tick (``hW``),
as ``fullgrad._kernel`` keeps them per step; with one update per sequence the backward pass
reads them from W_h, where they are the same.

Nets that can share a call (``group_key``): the same topology and masks (``lanes.group_key``),
with one learning rate and update timing, batches with the same number of inputs per step.
The lanes train what ``fullgrad.train_batch`` trains (``supports``): the 1997 cell and its
variants without an input or output gate, with or without input->output shortcuts; no forget
gates.

Speed (``make bench``, docs/performance.md): on the nets of the rows '+full' 16 lanes train
3.4-3.5 times the trial-steps per second of ``fullgrad.train_batch`` on 3a, 4-1 and 6a, 2.7 times
on 2c-2 and 1.9-2.0 times on Exp 1's Reber net, whose 7 outputs have a target at every step. Each
σ is one libm call per unit and lane either way (about a quarter of a lane's time on Reber).
"""
import numpy as np
from numba import njit

from .lanes import (CACHE, _apply, _cell_outputs, _columns_in_order, _end_sequences, _lane_arrays, _local,
                    _local_flat, _local_int, _net_inputs, _next_sequences, _next_sources, _outputs_and_error,
                    _read_tick, _round, _setup, _stack, _step_update, _unstack, check_call, group_key)
from .lanevec import LANES, add_to, any_lane, get, put, scatter_add, splat, started, where
from .online import check_update, new_stats

__all__ = ["group_key", "supports", "train_full"]

G, DG, HS, DHS, YC = range(5)   # what the backward pass reads of each cell at each tick (rows of hc)


# --------------------------------------------------------------------------- the backward pass
@njit(inline="always", error_model="numpy")
def _output_errors(tau, out, W_k, hc, hE, hX, hI, dyc, dW_k, buf, nnz, shortcuts, dense):
    """The output units' weight changes Δw_kv += e_k v over v = [y_c, x (shortcuts), 1] (eqs.
    19, 22) and the error reaching each cell output, dyc_c += w_kc e_k, in the lanes where
    ``out`` != 0 (those with a target at tick tau), k by k in order."""
    K, n_v, C = W_k.shape[0], W_k.shape[1], dyc.shape[0]
    for k in range(K):
        e = get(hE, tau, k)
        for c in range(C):
            add_to(dW_k, k, c, where(out, e * get(hc, tau, YC, c), -0.0))
            d = get(dyc, c)
            put(dyc, c, where(out, d + get(W_k, k, c) * e, d))
        if shortcuts:
            for m in range(nnz):
                v = where(out, e * get(hX, tau * nnz + m), -0.0)
                if dense:
                    add_to(dW_k, k, C + m, v)
                else:                                   # each lane its own input column
                    put(buf, v)
                    for l in range(LANES):
                        dW_k[k, C + hI[tau * nnz + m, l], l] += buf[l]
        add_to(dW_k, k, n_v - 1, where(out, e, -0.0))


@njit(inline="always", error_model="numpy")
def _cell_errors(tau, hY, hc, dyc, dyin, dyout, ds, d_in, d_out, d_c, S, input_gates, output_gates):
    """Through the cells at tick tau: y_c = y_out h(s) (eq. 9), s += y_in g (eq. 8; the CEC
    passes ds on unchanged); the deltas of the cells' (d_c) and gates' (d_in, d_out) net inputs,
    0 for a gate the cell does not have (eqs. 6-8)."""
    C, B = dyc.shape[0], dyin.shape[0]
    for c in range(C):
        j = c // S
        dy = get(dyc, c)
        put(dyout, j, get(dyout, j) + dy * get(hc, tau, HS, c))
        s = get(ds, c) + dy * get(hY, tau, B + j) * get(hc, tau, DHS, c)
        put(ds, c, s)
        put(dyin, j, get(dyin, j) + s * get(hc, tau, G, c))
        put(d_c, c, s * get(hY, tau, j) * get(hc, tau, DG, c))
    for j in range(B):
        y_in, y_out = get(hY, tau, j), get(hY, tau, B + j)
        put(d_in, j, get(dyin, j) * y_in * (1.0 - y_in) if input_gates else splat(0.0))
        put(d_out, j, get(dyout, j) * y_out * (1.0 - y_out) if output_gates else splat(0.0))


@njit(inline="always", error_model="numpy")
def _hidden_changes(tau, mask, H, th, hoff, hZ, hX, hI, d_in, d_out, d_c, dz, dW_h, n_in, nnz, dense):
    """The gates' and cells' weight changes Δw += δ u over their sources u(t) = [x(t), z(t-1), 1]
    in the lanes where ``mask`` != 0, and the error into z(t-1), dz_r = Σ_j (w_in,jr δ_in,j +
    w_out,jr δ_out,j) + Σ_c w_cr δ_c, with the recurrent columns H[th, u, hoff + r] of the
    weights that tick used."""
    B, C, nr = d_in.shape[0], d_c.shape[0], dz.shape[0]
    bias = dW_h.shape[1] - 1
    for u in range(2 * B + C):
        d = get(d_in, u) if u < B else (get(d_out, u - B) if u < 2 * B else get(d_c, u - 2 * B))
        for m in range(nnz):
            v = where(mask, d * get(hX, tau * nnz + m), -0.0)
            if dense:
                add_to(dW_h, u, m, v)
            else:
                scatter_add(dW_h, u, hI, tau * nnz + m, v)
        for r in range(nr):
            add_to(dW_h, u, n_in + r, where(mask, d * get(hZ, tau, r), -0.0))
        add_to(dW_h, u, bias, where(mask, d, -0.0))
    for r in range(nr):
        acc = splat(0.0)
        for j in range(B):
            acc = acc + (get(H, th, j, hoff + r) * get(d_in, j) + get(H, th, B + j, hoff + r) * get(d_out, j))
        for c in range(C):
            acc = acc + get(H, th, 2 * B + c, hoff + r) * get(d_c, c)
        put(dz, r, acc)


@njit(cache=CACHE, error_model="numpy")
def _backward(tau_end, all_targets, on, begin, W_k, H, per_tick, hoff, hZ, hY, hc, hE, hHas, ANY, hX, hI,
              n_in, nnz, S, input_gates, output_gates, shortcuts, dense, dW_h, dW_k):
    """fullgrad._backward in the lanes where ``on`` != 0: add -1/2 dE/dw to dW_h, dW_k, with E
    summed over the target ticks up to tau_end if ``all_targets``, else E(tau_end) alone; from
    tick tau_end back to each lane's first tick (``begin``). H: the recurrent columns (from
    column hoff) of the hidden units' weights, at H[tau] for tick tau if ``per_tick``, else at
    H[0] for every tick."""
    B, C, nr = hY.shape[1] // 2, hc.shape[2], hZ.shape[1]
    dz = _local(nr)             # -1/2 dE/dz(t): into y_c, y_in, y_out of tick t, from tick t + 1
    ds = _local(C)              # -1/2 dE/ds(t)
    dyc = _local(C)
    dyin = _local(B)
    dyout = _local(B)
    d_in = _local(B)
    d_out = _local(B)
    d_c = _local(C)
    buf = _local(1)[0]
    for tau in range(tau_end, -1, -1):
        mask = get(on) * started(begin, tau)
        if not any_lane(mask):
            break                   # every lane at its sequence start
        for c in range(C):
            put(dyc, c, get(dz, c))
        for j in range(B):
            put(dyin, j, get(dz, C + j))
            put(dyout, j, get(dz, C + B + j))
        if ANY[tau] and (all_targets or tau == tau_end):
            _output_errors(tau, mask * get(hHas, tau), W_k, hc, hE, hX, hI, dyc, dW_k, buf, nnz, shortcuts, dense)
        _cell_errors(tau, hY, hc, dyc, dyin, dyout, ds, d_in, d_out, d_c, S, input_gates, output_gates)
        _hidden_changes(tau, mask, H, tau if per_tick else 0, hoff, hZ, hX, hI, d_in, d_out, d_c, dz, dW_h,
                        n_in, nnz, dense)


# --------------------------------------------------------------------------- the kernel
@njit(inline="always", error_model="numpy")
def _record_sources(tau, hX, hI, hZ, hW, W_h, xv, xi, z, n_in, step_update, dense):
    """Tick tau's sources for the backward pass: x(t) (and each lane's input columns, sparse
    inputs), z(t-1), and with per-step updates the recurrent columns of the weights it uses."""
    nnz, nr = xv.shape[0], z.shape[0]
    for m in range(nnz):
        put(hX, tau * nnz + m, get(xv, m))
        if not dense:
            for l in range(LANES):
                hI[tau * nnz + m, l] = xi[m, l]
    for r in range(nr):
        put(hZ, tau, r, get(z, r))
    if step_update:
        for u in range(W_h.shape[0]):
            for r in range(nr):
                put(hW, tau, u, r, get(W_h, u, n_in + r))


@njit(inline="always", error_model="numpy")
def _cells(tau, y, s, hY, hc, running, ga, gb, B, S):
    """The gates' activations y_in, y_out, g = ga σ(net_c) + gb and g' of each cell (kept for
    the backward pass), and the CEC, s := s + y_in g (eq. 8), frozen in a waiting lane."""
    C = s.shape[0]
    for u in range(2 * B):
        put(hY, tau, u, get(y, u))
    for c in range(C):
        sg = get(y, 2 * B + c)
        g = ga * sg + gb
        put(hc, tau, G, c, g)
        put(hc, tau, DG, c, ga * sg * (1.0 - sg))
        s_c = get(s, c)
        put(s, c, where(running, s_c + get(y, c // S) * g, s_c))


@njit(inline="always", error_model="numpy")
def _record_outputs(tau, hc, hs, dhs, y_c):
    """h(s), h'(s) and y_c of each cell at tick tau, for the backward pass."""
    for c in range(y_c.shape[0]):
        put(hc, tau, HS, c, get(hs, c))
        put(hc, tau, DHS, c, get(dhs, c))
        put(hc, tau, YC, c, get(y_c, c))


@njit(cache=CACHE, error_model="numpy")
def _kernel(W_h, W_k, M_h, M_k, B, S, n_in, ga, gb, ha, hb, h_identity, z0, input_gates, output_gates,
            shortcuts, lr, step_update, x_idx, x_val, targets, starts, first, stats, bad,
            end_targets, unit_inputs, t_idx, onehot):
    """fullgrad._kernel for lane l on x_idx[l], x_val[l], targets[l], starts[l] (tuples of LANES
    arrays). W_h (U, n_src, LANES): rows input gates (B), output gates (B), cells (C); W_k (K,
    n_v, LANES); the masks M_h, M_k are shared. stats[first[l] + q] is the row of lane l's
    sequence q; bad[l] becomes -1, or the sequence at which lane l stopped (the learner's
    diverged). ``end_targets``, ``unit_inputs``, ``onehot`` and t_idx: what the batches say of
    themselves (lanes._kernel). A round: the forward pass tick by tick, each tick kept; with
    per-step updates, at each tick with a target the backward pass from it and the update in
    the lanes with that target; at the round's end the statistics, and with one update per
    sequence the backward pass from the last tick and the update."""
    L = LANES
    U, n_src = W_h.shape[0], W_h.shape[1]
    C = U - 2 * B
    K = W_k.shape[0]
    nnz = x_idx[0].shape[1]
    nr = C + 2 * B                  # recurrent sources [y_c, y_in, y_out](t-1)
    z = _local(nr)
    z_new = _local(nr)
    net, net_f = _local_flat(U)
    y, y_f = _local_flat(U)         # [y_in, y_out, σ(net_c)]: the rows of W_h
    s, s_f = _local_flat(C)
    sh, sh_f = _local_flat(C)
    hs = _local(C)
    dhs = _local(C)
    y_c = _local(C)
    net_k, net_kf = _local_flat(K)
    y_k, y_kf = _local_flat(K)
    e_k = _local(K)
    sums = _local(4)                # per lane: SSE, ABS_ALL, ABS_END, ERR_END of this sequence
    xv = _local(nnz)
    tg = _local(K)
    has = _local(1)[0]              # 1.0 where the lane has a target at this tick
    done = _local(1)[0]
    fine = _local(1)[0]
    on = _local(1)[0]               # the lanes of a backward pass
    xi = _local_int(nnz)
    xk = _local_int(nnz)
    hot = _local_int(1)
    step0 = _local_int(1)[0]
    begin = _local_int(1)[0]
    q = _local_int(1)[0]
    active = _local_int(1)[0]
    ends = _local_int(1)[0]
    X_at = _local_int(1)[0]
    I_at = _local_int(1)[0]
    D_at = _local_int(1)[0]
    T_at = _local_int(1)[0]
    Tmax = 1                        # ticks kept: the longest sequence
    dense = True
    for l in range(L):
        ends[l] = len(starts[l])
        dense = dense and _columns_in_order(x_idx[l])
        for i in range(len(starts[l]) - 1):
            Tmax = max(Tmax, starts[l][i + 1] - starts[l][i])
    hZ = np.zeros((Tmax, nr, L))                # z(t-1) at each tick
    hY = np.zeros((Tmax, 2 * B, L))             # y_in, y_out
    hc = np.zeros((Tmax, 5, C, L))              # g, g', h(s), h'(s), y_c
    hE = np.zeros((Tmax, K, L))                 # e_k (0 without a target)
    hHas = np.zeros((Tmax, L))                  # 1.0 where the lane has a target
    ANY = np.zeros(Tmax, np.bool_)              # a target in some lane
    hX = np.zeros((Tmax * nnz, L))              # x(t), tick tau at rows tau nnz..
    hI = np.zeros((Tmax * nnz, L), np.int64)    # each lane's input columns (sparse inputs)
    hW = np.zeros((Tmax if step_update else 0, U, nr, L))   # the recurrent columns each tick used
    H, hoff = (hW, 0) if step_update else (W_h.reshape((1, U, n_src, L)), n_in)
    dW_h = np.zeros_like(W_h)
    dW_k = np.zeros_like(W_k)
    _setup(x_idx, x_val, targets, t_idx, starts, bad, fine, active, X_at, I_at, D_at, T_at)

    while True:
        T = _round(starts, q, active, begin, step0)
        if T == 0:
            break
        for r in range(nr):                     # each sequence starts afresh (docs/paper.md §1.4)
            put(z, r, splat(z0[r]))
        for c in range(C):
            put(s, c, splat(0.0))
        for i in range(4):
            put(sums, i, splat(0.0))
        for tau in range(T):
            running = started(begin, tau)
            target = _read_tick(xv, tg, xi, hot, X_at, I_at, D_at, T_at, step0, tau, T, running,
                                unit_inputs, end_targets, onehot, dense)
            _record_sources(tau, hX, hI, hZ, hW, W_h, xv, xi, z, n_in, step_update, dense)
            # forward pass (eqs. 6-9), σ with libm's exp
            _net_inputs(W_h, net, y, net_f, y_f, xv, z, xi, n_in, B, dense, True, input_gates, output_gates)
            _cells(tau, y, s, hY, hc, running, ga, gb, B, S)
            _cell_outputs(y, s, sh, hs, dhs, y_c, s_f, sh_f, ha, hb, h_identity, True, B, S)
            _record_outputs(tau, hc, hs, dhs, y_c)
            _next_sources(z_new, y_c, y, B, input_gates, output_gates, False)
            put(hHas, tau, target)
            ANY[tau] = any_lane(target)
            if ANY[tau]:
                # outputs and error (eqs. 16, 19)
                put(has, target)
                _outputs_and_error(W_k, net_k, y_k, net_kf, y_kf, e_k, tg, has, sums, y_c, xv, xk, xi,
                                   shortcuts, dense, True)
                for k in range(K):
                    put(hE, tau, k, get(e_k, k))
                if step_update:                 # E(t)'s gradient back to the start, eq. 17
                    _backward(tau, False, has, begin, W_k, H, True, hoff, hZ, hY, hc, hE, hHas, ANY, hX, hI,
                              n_in, nnz, S, input_gates, output_gates, shortcuts, dense, dW_h, dW_k)
                    _step_update(W_h, W_k, M_h, M_k, dW_h, dW_k, lr, has, fine, xk, C, False, dense,
                                 stats, first, q, bad, active, begin, T)
            for r in range(nr):                 # z(t) becomes z(t-1); frozen in a waiting lane
                put(z, r, where(running, get(z_new, r), get(z, r)))

        _end_sequences(sums, stats, first, q, bad, active, done)
        if not step_update:                     # the sequence's gradient, eq. 17
            put(on, get(done))
            _backward(T - 1, True, on, begin, W_k, H, False, hoff, hZ, hY, hc, hE, hHas, ANY, hX, hI,
                      n_in, nnz, S, input_gates, output_gates, shortcuts, dense, dW_h, dW_k)
            _apply(W_h, M_h, dW_h, lr, done, fine)
            _apply(W_k, M_k, dW_k, lr, done, fine)
        _next_sequences(q, bad, active, done, fine, ends)


# --------------------------------------------------------------------------- Python side
def supports(net):
    """Whether the lanes train ``net`` (an LSTM97): what ``fullgrad.train_batch`` trains, every
    cell but the one with forget gates."""
    return not net.forget_gates


def train_full(nets, batches, lr, update="sequence"):
    """The full gradient for nets[l] on batches[l], all in lockstep, one lane per net: per net,
    what ``fullgrad.train_batch(nets[l], batches[l], lr, update)`` returns, (stats, diverged),
    bit for bit, and its weights updated in place as that call updates them. The nets must
    share ``group_key`` and be ones the lanes ``supports``; the batches their nnz. The kernel
    runs LANES nets at a time, padding the last group with idle lanes (which cost as much as
    busy ones)."""
    check_update(update)
    nets, batches = check_call(nets, batches, supports, group_key,
                               "the full gradient is not implemented for forget gates (the 2000 cell)")
    out = []
    for g in range(0, len(nets), LANES):
        out += _train_group(nets[g:g + LANES], batches[g:g + LANES], lr, update == "step")
    return out


def _train_group(nets, batches, lr, step_update):
    """One kernel call for at most LANES nets, idle lanes after them."""
    a, W_h, W_k, M_h, M_k = _stack(nets, batches)
    x_idx, x_val, targets, starts, t_idx, onehot, first = _lane_arrays(batches)
    stats = new_stats(first[-1])
    bad = np.full(LANES, -1, np.int64)
    if first[-1]:
        _kernel(W_h, W_k, M_h, M_k, nets[0].B, a.S, a.n_in, a.ga, a.gb, a.ha, a.hb, a.h_identity, a.z0,
                a.input_gates, a.output_gates, a.shortcuts, float(lr), step_update,
                x_idx, x_val, targets, starts, first, stats, bad,
                all(b.targets_at_ends for b in batches), all(b.unit_inputs for b in batches), t_idx, onehot)
    _unstack(nets, W_h, W_k)
    return [(stats[first[l]:first[l + 1]], int(bad[l])) for l in range(len(nets))]
