"""The compiled twin of the NumPy reference (``network.py``): online training at paper scale.

One Numba kernel runs the forward pass (eqs. 6-9 with the Section-5 timing of
docs/paper.md §1.4), the traces (eqs. 25, 27) and the truncated error (eqs. 19-28) over a
whole :class:`~lstm97.tasks.Batch` of sequences. It computes what
``network.train_numpy`` computes, in the same order, and is tested against it, for the
paper's cell and its variants (no input gate, no output gate, and the forget gate of Gers et
al. 2000, whose traces all decay by y_φ at every step).

With forget gates every trace entry decays, T := y_φ(t) T + a(t) u_m(t), which would make a
step touch every input column (2c: 1,004) where the 1997 cell touches one. So the input
columns are kept scaled: T = P T~ with P the product of cell c's y_φ since the last fold,
T~ += (a/P) x_m; P is folded into T~ (T~ := P T~, P := 1) at each target step, before the
traces are used (eqs. 26, 28), and whenever P would fall below ``TINY``. The recurrent and bias
columns decay at every step. The result equals the reference's step-by-step decay up to
rounding (tested to 1e-9), and the lanes compute it in the same order, bit for bit.

What makes it fast:
- inputs arrive sparse (``x_idx``/``x_val``), so a one-hot step touches one input
  column: a step costs O(hidden units x (nnz + recurrent sources)), not O(weights);
- traces are kept only for input gates and cells (output gates need none, eq. 22);
- output units are computed only at steps with a target (or when outputs are stored);
  with one target per sequence that saves K of the ~2B + 2C + K exp() calls a step;
- all work arrays are allocated once per call, nothing inside the step loop;
- the σ of a step's gates and cells run in one loop (``fastexp.sigma_array``), which
  vectorises with exp_poly and lets libm's calls overlap (docs/performance.md).
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from .fastexp import sigma_array
from .network import G_AFFINE, H_AFFINE, train_numpy
from .online import SSE, apply_at, check_exp, check_update, new_stats
from .online import apply as _apply, store as _store       # the names _kernel calls them by
from .tasks.base import Batch, dense_batch

# Forget gates: the product P of y_φ kept for the traces' input columns is folded into them
# before it falls below TINY, so 1/P <= 2**600 and no trace entry overflows.
TINY = 2.0 ** -600


@njit(cache=True, error_model="numpy")
def _apply_all(W_in, W_out, W_c, W_k, M_in, M_out, M_c, M_k, dW_in, dW_out, dW_c, dW_k, lr):
    """One online update of every weight matrix (eq. 17); False if a weight became NaN or inf."""
    ok = _apply(W_in, M_in, dW_in, lr) & _apply(W_out, M_out, dW_out, lr)
    return ok & _apply(W_c, M_c, dW_c, lr) & _apply(W_k, M_k, dW_k, lr)


@njit(cache=True, error_model="numpy")
def _apply_readout_step(W_k, M_k, dW_k, lr, C, cols):
    """online.apply(W_k, ...) after one step of a net with input->output shortcuts under per-step
    updates: dW_k is 0 except in the cells' columns, the bias column and this step's input
    columns C + cols (it was emptied at the previous step's apply), and w + a * 0 = w, so
    only those columns are visited (2a: 404 of 10,504 weights). A column listed twice is
    visited twice; the second visit adds 0. Returns False if a weight became NaN or inf."""
    ok = True
    n_v = W_k.shape[1]
    for k in range(W_k.shape[0]):
        for j in range(C + 1 + len(cols)):
            m = j if j < C else (n_v - 1 if j == C else C + cols[j - C - 1])
            ok = apply_at(W_k, M_k, dW_k, k, m, lr) & ok
    return ok


@njit(inline="always", error_model="numpy")
def _fold(TI, TC, TF, c, n_in, p):
    """The input columns of cell c's traces times p: T~ := p T~ (forget gates, module docstring)."""
    for m in range(n_in):
        TI[c, m] = p * TI[c, m]
        TC[c, m] = p * TC[c, m]
        TF[c, m] = p * TF[c, m]


@njit(inline="always", error_model="numpy")
def _net_input(W, R, j, bias, x_idx, x_val, t, z, nnz, nr):
    """The net input of unit j (row j of W) at step t, Σ_u w_ju u over the sources
    u = [x(t), z(t-1), 1] (eqs. 6-8), summed in the order bias, the nnz sparse inputs, the nr
    recurrent sources (R: W's recurrent columns, a view that indexes them from 0)."""
    acc = W[j, bias]
    for m in range(nnz):
        acc += W[j, x_idx[t, m]] * x_val[t, m]
    for r in range(nr):
        acc += R[j, r] * z[r]
    return acc


@njit(cache=True, error_model="numpy")
def _kernel(W_in, W_out, W_c, W_f, W_k, M_in, M_out, M_c, M_f, M_k, S, n_in, ga, gb, ha, hb, h_identity,
            z0, input_gates, output_gates, forget_gates, shortcuts, learn, lr, step_update,
            x_idx, x_val, targets, starts, stats, store, outputs, exact):
    """Run sequences starts[q]:starts[q+1]; learn online if ``learn``; σ with libm's exp if
    ``exact``, else with exp_poly.

    g = ga*σ + gb, h = ha*σ + hb (or h(s) = s if h_identity); z0: [y_c, y_in, y_out(, y_φ)]
    at each sequence start. W_f: the forget gates (Gers et al. 2000; 0 rows without them).
    stats[q] = (summed E over target steps, max |d-y| over target steps,
                max |d-y| at the last target step, E at the last target step).
    Returns -1, or the index of the first sequence that produced NaN/inf (then stops).
    """
    B = W_in.shape[0]
    C = W_c.shape[0]
    F = W_f.shape[0]                # forget gates: B or 0
    K = W_k.shape[0]
    n_src = W_in.shape[1]
    n_v = W_k.shape[1]
    nnz = x_idx.shape[1]
    nr = C + 2 * B + F              # recurrent sources [y_c, y_in, y_out(, y_φ)](t-1)
    bias = n_src - 1
    z = np.zeros(nr)
    z_new = np.zeros(nr)
    s = np.zeros(C)
    s_prev = np.zeros(C)
    U = 2 * B + C + F
    net = np.zeros(U)               # net inputs of [input gates, output gates, cells, forget gates]
    y = np.zeros(U)                 # their σ
    y_in = y[:B]
    y_out = y[B:2 * B]
    sg = y[2 * B:2 * B + C]
    y_f = y[2 * B + C:]
    G = np.zeros(C)
    dg = np.zeros(C)
    sh = np.zeros(C)
    hs = np.zeros(C)
    dhs = np.zeros(C)
    y_c = np.zeros(C)
    y_k = np.zeros(K)
    e_k = np.zeros(K)
    back = np.zeros(C)
    e_s = np.zeros(C)
    e_out = np.zeros(B)
    TI = np.zeros((C, n_src))
    TC = np.zeros((C, n_src))
    TF = np.zeros((C if forget_gates else 0, n_src))
    P = np.ones(C)                  # forget gates: y_φ since the input columns' last fold
    dW_in = np.zeros_like(W_in)
    dW_out = np.zeros_like(W_out)
    dW_c = np.zeros_like(W_c)
    dW_f = np.zeros_like(W_f)
    dW_k = np.zeros_like(W_k)
    blk = np.arange(C) // S
    # views of the recurrent columns: they stay in sync with W and the traces, and index
    # from 0, which spares Numba the negative-index check on n_in + r
    R_in = W_in[:, n_in:n_in + nr]
    R_out = W_out[:, n_in:n_in + nr]
    R_c = W_c[:, n_in:n_in + nr]
    R_f = W_f[:, n_in:n_in + nr]
    RI = TI[:, n_in:n_in + nr]
    RC = TC[:, n_in:n_in + nr]
    RF = TF[:, n_in:n_in + nr]

    for q in range(len(starts) - 1):
        z[:] = z0
        s[:] = 0.0
        if learn:
            TI[:, :] = 0.0
            TC[:, :] = 0.0
            TF[:, :] = 0.0
            P[:] = 1.0
        sse = 0.0
        abs_all = 0.0
        abs_end = 0.0
        err_end = 0.0
        for t in range(starts[q], starts[q + 1]):
            # net inputs of gates and cells (eqs. 6-8), sources u = [x(t), z(t-1), 1]
            for j in range(B):
                if input_gates:
                    net[j] = _net_input(W_in, R_in, j, bias, x_idx, x_val, t, z, nnz, nr)
                if forget_gates:
                    net[2 * B + C + j] = _net_input(W_f, R_f, j, bias, x_idx, x_val, t, z, nnz, nr)
                if output_gates:
                    net[B + j] = _net_input(W_out, R_out, j, bias, x_idx, x_val, t, z, nnz, nr)
            for c in range(C):
                net[2 * B + c] = _net_input(W_c, R_c, c, bias, x_idx, x_val, t, z, nnz, nr)
            # σ of all of them in one loop, which vectorises with exp_poly
            sigma_array(net, y, U, exact)
            if not output_gates:
                for j in range(B):
                    y_out[j] = 1.0
            if not input_gates:
                for j in range(B):
                    y_in[j] = 1.0
            # cells: CEC state (eq. 8; with forget gates s = y_φ s + y_in g, Gers et al. 2000)
            # and output (eq. 9); traces (eqs. 25, 27)
            for c in range(C):
                G[c] = ga * sg[c] + gb
                dg[c] = ga * sg[c] * (1.0 - sg[c])
                if forget_gates:
                    s_prev[c] = s[c]
                    s[c] = y_f[blk[c]] * s[c] + y_in[blk[c]] * G[c]
                else:
                    s[c] += y_in[blk[c]] * G[c]
            if h_identity:
                for c in range(C):
                    hs[c] = s[c]
                    dhs[c] = 1.0
            else:
                sigma_array(s, sh, C, exact)
                for c in range(C):
                    hs[c] = ha * sh[c] + hb
                    dhs[c] = ha * sh[c] * (1.0 - sh[c])
            for c in range(C):
                j = blk[c]
                y_c[c] = y_out[j] * hs[c]
                if learn:
                    ai = G[c] * y_in[j] * (1.0 - y_in[j])
                    ac = dg[c] * y_in[j]
                    if forget_gates:            # every trace decays by y_φ(t), then gains its increment
                        phi = y_f[j]
                        af = s_prev[c] * phi * (1.0 - phi)
                        # input columns lazily: T = P T~ (module docstring); fold P in when it is tiny
                        p = P[c] * phi
                        if p < TINY:
                            _fold(TI, TC, TF, c, n_in, p)
                            p = 1.0
                        P[c] = p
                        inv = 1.0 / p
                        ai_x, ac_x, af_x = ai * inv, ac * inv, af * inv
                        for m in range(nnz):
                            TF[c, x_idx[t, m]] += af_x * x_val[t, m]
                        for r in range(nr):     # recurrent and bias columns decay now
                            RI[c, r] = phi * RI[c, r]
                            RC[c, r] = phi * RC[c, r]
                            RF[c, r] = phi * RF[c, r] + af * z[r]
                        TI[c, bias] = phi * TI[c, bias]
                        TC[c, bias] = phi * TC[c, bias]
                        TF[c, bias] = phi * TF[c, bias] + af
                    else:
                        ai_x, ac_x = ai, ac
                    for m in range(nnz):
                        col = x_idx[t, m]
                        TI[c, col] += ai_x * x_val[t, m]
                        TC[c, col] += ac_x * x_val[t, m]
                    for r in range(nr):
                        RI[c, r] += ai * z[r]
                        RC[c, r] += ac * z[r]
                    TI[c, bias] += ai
                    TC[c, bias] += ac
            for c in range(C):
                z_new[c] = y_c[c]
            for j in range(B):
                z_new[C + j] = y_in[j] if input_gates else 0.0
                z_new[C + B + j] = y_out[j] if output_gates else 0.0
            for j in range(F):
                z_new[C + 2 * B + j] = y_f[j]
            # output units from the cells of the current step (docs/paper.md §1.4 sub-step 3),
            # computed only where they are needed: a target, or stored outputs
            need = store
            for k in range(K):
                if targets[t, k] == targets[t, k]:
                    need = True
            if not need:
                for r in range(nr):
                    z[r] = z_new[r]
                continue
            for k in range(K):
                acc = W_k[k, n_v - 1]
                for c in range(C):
                    acc += W_k[k, c] * y_c[c]
                if shortcuts:
                    for m in range(nnz):
                        acc += W_k[k, C + x_idx[t, m]] * x_val[t, m]
                y_k[k] = acc
            # σ of all outputs in a loop of its own, which vectorises with exp_poly (2a: 101)
            sigma_array(y_k, y_k, K, exact)
            if store:
                for k in range(K):
                    outputs[t, k] = y_k[k]
            # error (eqs. 16, 19)
            has = False
            E = 0.0
            mx = 0.0
            for k in range(K):
                d = targets[t, k]
                if d == d:
                    diff = d - y_k[k]
                    E += diff * diff
                    if abs(diff) > mx:
                        mx = abs(diff)
                    e_k[k] = y_k[k] * (1.0 - y_k[k]) * diff
                    has = True
                else:
                    e_k[k] = 0.0
            if has:
                sse += E
                err_end = E
                abs_end = mx
                if mx > abs_all:
                    abs_all = mx
            if has and learn:
                for c in range(C):
                    acc = 0.0
                    for k in range(K):
                        acc += W_k[k, c] * e_k[k]
                    back[c] = acc
                for k in range(K):                                  # eq. 22, output units
                    for c in range(C):
                        dW_k[k, c] += e_k[k] * y_c[c]
                    if shortcuts:
                        for m in range(nnz):
                            dW_k[k, C + x_idx[t, m]] += e_k[k] * x_val[t, m]
                    dW_k[k, n_v - 1] += e_k[k]
                for j in range(B):
                    e_out[j] = 0.0
                for c in range(C):
                    j = blk[c]
                    e_out[j] += hs[c] * back[c]
                    e_s[c] = y_out[j] * dhs[c] * back[c]            # eq. 23
                if output_gates:
                    for j in range(B):                              # eqs. 21, 22
                        e = y_out[j] * (1.0 - y_out[j]) * e_out[j]
                        for m in range(nnz):
                            dW_out[j, x_idx[t, m]] += e * x_val[t, m]
                        for r in range(nr):
                            dW_out[j, n_in + r] += e * z[r]
                        dW_out[j, bias] += e
                if forget_gates:                                    # the input columns made current
                    for c in range(C):
                        if P[c] != 1.0:
                            _fold(TI, TC, TF, c, n_in, P[c])
                            P[c] = 1.0
                for c in range(C):                                  # eqs. 26, 28
                    j = blk[c]
                    for m in range(n_src):
                        dW_in[j, m] += e_s[c] * TI[c, m]
                        dW_c[c, m] += e_s[c] * TC[c, m]
                    if forget_gates:                                # as eq. 26, Gers et al. 2000
                        for m in range(n_src):
                            dW_f[j, m] += e_s[c] * TF[c, m]
                if step_update:
                    ok = _apply(W_in, M_in, dW_in, lr) & _apply(W_out, M_out, dW_out, lr) & _apply(W_c, M_c, dW_c, lr)
                    ok = ok & _apply(W_f, M_f, dW_f, lr)
                    if shortcuts:
                        ok = ok & _apply_readout_step(W_k, M_k, dW_k, lr, C, x_idx[t])
                    else:
                        ok = ok & _apply(W_k, M_k, dW_k, lr)
                    if not ok:
                        stats[q, 0] = np.nan
                        return q
            for r in range(nr):
                z[r] = z_new[r]
        if not _store(stats, q, sse, abs_all, abs_end, err_end):
            return q
        if learn and not step_update:
            ok = _apply_all(W_in, W_out, W_c, W_k, M_in, M_out, M_c, M_k, dW_in, dW_out, dW_c, dW_k, lr)
            ok = _apply(W_f, M_f, dW_f, lr) & ok
            if not ok:
                return q
    return -1


class NetArgs(NamedTuple):
    """The kernels' arguments that describe the net (``net_args``), in the order of their
    parameters: ``_kernel(*args, ...)`` (and fullgrad's); lanes.py takes them by name."""
    W_in: np.ndarray
    W_out: np.ndarray
    W_c: np.ndarray
    W_f: np.ndarray             # the forget gates' weights: 0 rows without them
    W_k: np.ndarray
    M_in: np.ndarray            # the masks
    M_out: np.ndarray
    M_c: np.ndarray
    M_f: np.ndarray
    M_k: np.ndarray
    S: int                      # cells per block
    n_in: int
    ga: float                   # g = ga σ + gb, h = ha σ + hb (eqs. 4, 5)
    gb: float
    ha: float
    hb: float
    h_identity: bool            # h(s) = s instead
    z0: np.ndarray              # the recurrent sources at each sequence start
    input_gates: bool
    output_gates: bool
    forget_gates: bool
    shortcuts: bool


def net_args(net, batch):
    """The kernels' arguments that describe the net (``NetArgs``): weights, masks, sizes,
    squashing, reset, the cell's gates. Without forget gates, W_forget and its mask are arrays
    of 0 rows."""
    if batch.n_in != net.n_in or batch.n_out != net.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs/{batch.n_out} outputs, "
                         f"net has {net.n_in}/{net.n_out}")
    W, M = net.weights, net.masks
    for k in W:        # the kernels update in place: keep contiguous float64 arrays
        W[k] = np.ascontiguousarray(W[k], dtype=np.float64)
    ga, gb = G_AFFINE[net.g]
    ha, hb = H_AFFINE.get(net.h, (1.0, 0.0))
    none = np.zeros((0, net.n_src))
    W_f, M_f = W.get("W_forget", none), np.ascontiguousarray(M.get("W_forget", none))
    return NetArgs(W["W_in"], W["W_out"], W["W_c"], W_f, W["W_k"], M["W_in"], M["W_out"], M["W_c"], M_f, M["W_k"],
                   net.S, net.n_in, ga, gb, ha, hb, net.h == "identity", net.initial_z(),
                   net.input_gates, net.output_gates, net.forget_gates, net.shortcuts)


def _call(net, batch, learn, lr, step_update, store, exp="libm"):
    check_exp(exp)
    args = net_args(net, batch)
    stats = new_stats(len(batch))
    outputs = np.zeros((len(batch.targets) if store else 1, net.n_out))
    bad = _kernel(*args, learn, float(lr), step_update,
                  batch.x_idx, batch.x_val, batch.targets, batch.starts,
                  stats, store, outputs, exp == "libm")
    return stats, int(bad), outputs


def train_batch(net, batch, lr, update="sequence", exp="libm"):
    """Online learning over every sequence of ``batch``, in order (eq. 17). ``exp``: "libm"
    (math.exp), or "poly" (fastexp.exp_poly, the lane engine's: the same result as a lane).

    Returns (stats (n, 4), diverged): stats columns SSE, ABS_ALL, ABS_END, ERR_END
    measured while training (before each sequence's update when update="sequence");
    diverged is -1, or the index of the sequence that produced NaN/inf, where the
    kernel stopped (later rows of stats are 0).
    """
    check_update(update)
    stats, bad, _ = _call(net, batch, True, lr, update == "step", False, exp)
    return stats, bad


def evaluate(net, batch):
    """Forward pass only: (stats (n, 4), outputs (N, K) at every step)."""
    stats, _, outputs = _call(net, batch, False, 0.0, False, True)
    return stats, outputs


def train(net, sequences, lr, update="sequence", engine="numba"):
    """Online learning over an iterable of (xs, targets) pairs, or a ``tasks.Batch``.

    engine="numba" (default) runs the compiled twin above; engine="numpy" runs the
    reference, ``network.train_numpy``. Both return per-sequence summed squared errors E
    (eq. 16), measured while learning. If a sequence drives a weight to NaN or inf,
    training stops there and that sequence's error is NaN (the array ends with it).
    """
    check_update(update)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"learning rate must be a positive number, got {lr!r}")
    if engine == "numpy":
        if hasattr(sequences, "sequences"):
            sequences = sequences.sequences()
        return train_numpy(net, sequences, lr, update)
    if engine != "numba":
        raise ValueError(f"unknown engine {engine!r}; expected 'numba' or 'numpy'")
    if not isinstance(sequences, Batch):
        checked = [net.check_inputs(xs, tg) for xs, tg in sequences]
        sequences = dense_batch(checked)
    stats, bad = train_batch(net, sequences, lr, update)
    errors = stats[:, SSE]
    if bad >= 0:
        errors = errors[:bad + 1].copy()
        errors[-1] = np.nan
    return errors
