"""Trial-parallel training: L independent nets of one topology in lockstep, one SIMD lane each.

Every trial is tiny (93-6,064 weights) and a single trial cannot go much faster than
``engine.py`` (issue 17), so this kernel trains L trials at once. Each lane is one net
with its own weights, traces, states and its own sequence list (a ``tasks.Batch``); every
array keeps the lane axis innermost (W_in[j, m, lane], s[c, lane], ...), and each
operation of ``engine._kernel`` becomes a loop over lanes that the compiler vectorises.

Per lane the kernel computes exactly what ``engine._kernel`` computes, in the same order:
the forward pass (eqs. 6-9), the traces (eqs. 25, 27), the truncated error (eqs. 19-28)
and the online update (eq. 17) after each sequence or after each target step.

Lanes go through their batches in rounds, one sequence each, with the sequences aligned at
their ends: a shorter sequence starts later, and its lane waits with its state frozen. The
tasks with one target per sequence (Exp 2c, 3-6) then have their target, their update and
their reset at the same tick in every lane, so these passes over all weights run once for
all lanes; the price is the waiting, a few percent where lengths vary by 10% (bench.py
prints it). Batches of different sizes are fine: a lane whose batch is done, or whose
weights became NaN/inf, idles until the last lane is done. A lane without a target at a
tick adds e = 0 to its Δw, which leaves Δw as it was (the traces are finite).

exp. The lane loops vectorise only if σ's exp does, and Numba's ``math.exp`` is a libm
call (no SVML here). ``exp="poly"`` (default) uses :func:`exp_poly`: Cody-Waite range
reduction, a degree-13 Taylor polynomial, and 2**k built in the exponent bits; its
largest relative error against ``math.exp`` is 1 ulp (2.2e-16, tests/test_lanes.py).
``exp="libm"`` calls ``math.exp`` like the engine: its lanes equal ``engine.train_batch``
bit for bit, but do not vectorise.
"""
import math

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic

from . import engine
from .engine import ABS_ALL, ABS_END, ERR_END, SSE

EXPS = ("poly", "libm")


# --------------------------------------------------------------------------- exp
@intrinsic
def _as_float(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits``."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _as_bits(typingctx, x):
    """The IEEE-754 bits of the float64 ``x`` as an int64."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01       # ln 2 in 2 parts: LN2_HI has 32 trailing zero bits,
LN2_LO = 1.90821492927058770002e-10       # so k * LN2_HI is exact for |k| < 2**21
ROUND = 6755399441055744.0                # 1.5 * 2**52: x + ROUND - ROUND rounds x to an integer
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(13, -1, -1))   # 1/13!, ..., 1/1!, 1/0!
EXP_LO, EXP_HI = -708.0, 709.0            # outside: 0 and inf (math.exp: < 2.3e-308, > 8.2e307)


@njit(cache=True, error_model="numpy")
def exp_poly(x):
    """e**x = 2**k e**r with x = k ln2 + r, |r| <= ln2/2; e**r by its Taylor series to r**13/13!
    (truncation < 5e-18), 2**k by writing k + 1023 into the exponent bits. Branch-free, so
    a loop over lanes vectorises. Below EXP_LO it returns 0, above EXP_HI inf; NaN stays NaN."""
    xc = EXP_LO if x < EXP_LO else x
    xc = EXP_HI if xc > EXP_HI else xc
    big = xc * LOG2E + ROUND              # its low mantissa bits hold k (in two's complement)
    k = big - ROUND
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = TAYLOR[0]
    for a in TAYLOR[1:]:
        p = p * r + a
    y = p * _as_float((_as_bits(big) + 1023) << 52)
    y = 0.0 if x < EXP_LO else y
    return math.inf if x > EXP_HI else y


@njit(inline="always", error_model="numpy")
def _sigma(x, exact):
    """σ(x) = 1/(1+exp(-x)) (eq. 3), with math.exp if exact, else exp_poly. Inlined into the
    loops over lanes; the compiler moves the test of ``exact`` out of them."""
    e = math.exp(-x) if exact else exp_poly(-x)
    return 1.0 / (1.0 + e)


# --------------------------------------------------------------------------- the kernel
@intrinsic
def _alloca(typingctx, n):
    """A pointer to n float64 on the stack of the calling function."""
    def codegen(context, builder, sig, args):
        return builder.alloca(ir.DoubleType(), size=args[0])
    return types.CPointer(types.float64)(types.intp), codegen


@njit(inline="always")
def _local(rows, L):
    """A (rows, L) work array of zeros on the stack. The compiler knows that it overlaps no
    weight or trace array, so the loops over lanes vectorise without run-time overlap checks.
    Inlined: it must only be called at the kernel's top level (the stack frees it on return)."""
    a = carray(_alloca(rows * L), (rows, L))
    for i in range(rows):
        for l in range(L):
            a[i, l] = 0.0
    return a


@njit(cache=True, error_model="numpy")
def _apply(W, M, dW, lr, do, fine):
    """W += lr * M * dW, dW := 0 in the lanes where do[l] (eq. 17); fine[l] := False where a
    weight of lane l became NaN or inf."""
    L = W.shape[2]
    for i in range(W.shape[0]):
        for m in range(W.shape[1]):
            a = lr * M[i, m]
            for l in range(L):
                w = W[i, m, l] + a * dW[i, m, l]
                if do[l]:
                    W[i, m, l] = w
                    dW[i, m, l] = 0.0
                    if w - w != 0.0:            # NaN or inf
                        fine[l] = False


@njit(cache=True, error_model="numpy")
def _kernel(W_h, W_k, M_h, M_k, B, S, n_in, ga, gb, ha, hb, h_identity,
            z0, output_gates, shortcuts, lr, step_update, exact,
            x_idx, x_val, targets, starts, first, stats, bad):
    """Train lane l on sequences first[l]:first[l+1] (steps starts[q]:starts[q+1] of sequence q).

    W_h (U, n_src, L) holds the hidden units of lane l in [..., l], rows [input gates (B),
    output gates (B), cells (C)]; W_k (K, n_v, L) the output units; masks M (rows, cols) are
    shared. The rest as ``engine._kernel`` with learn=True: stats[q] is sequence q's row,
    and bad[l] becomes -1, or the index (within lane l's batch) of the sequence that
    produced NaN/inf, after which lane l stops.

    Lanes go through their sequences in rounds: in each round every lane trains on its next
    sequence, and the sequences are aligned at their ends (a shorter one starts later; its
    lane waits with its state frozen). So the events that touch every weight (the targets at
    the end, the update of eq. 17, the reset) come at the same tick in every lane, and run
    once for all lanes.
    """
    U, n_src, L = W_h.shape
    C = U - 2 * B
    K = W_k.shape[0]
    n_v = W_k.shape[1]
    nnz = x_idx.shape[1]
    nr = C + 2 * B                  # recurrent sources [y_c, y_in, y_out](t-1)
    bias = n_src - 1
    OG, CELL = B, 2 * B             # first rows of the output gates and the cells in W_h
    z = _local(nr, L)
    z_new = _local(nr, L)
    s = _local(C, L)
    net = _local(U, L)
    y = _local(U, L)                # [y_in, y_out, σ(net_c)]
    sh = _local(C, L)
    hs = _local(C, L)
    dhs = _local(C, L)
    y_c = _local(C, L)
    ai = _local(C, L)
    ac = _local(C, L)
    net_k = _local(K, L)
    y_k = _local(K, L)
    e_k = _local(K, L)
    tg = _local(K, L)
    back = _local(C, L)
    e_s = _local(C, L)
    e_out = _local(B, L)
    e_og = _local(B, L)
    xv = _local(nnz, L)
    sums = _local(4, L)             # per lane: SSE, ABS_ALL, ABS_END, ERR_END of this sequence
    net_f = net.reshape(U * L)
    y_f = y.reshape(U * L)
    s_f = s.reshape(C * L)
    sh_f = sh.reshape(C * L)
    net_kf = net_k.reshape(K * L)
    y_kf = y_k.reshape(K * L)
    TI = np.zeros((C, n_src, L))
    TC = np.zeros((C, n_src, L))
    dW_h = np.zeros_like(W_h)
    dW_k = np.zeros_like(W_k)
    xi = np.zeros((nnz, L), np.int64)
    t = np.zeros(L, np.int64)       # lane l's step at tick tau is t[l] + tau
    begin = np.zeros(L, np.int64)   # tick at which lane l's sequence starts
    q = np.zeros(L, np.int64)       # lane l's current sequence
    active = np.zeros(L, np.bool_)
    run = np.zeros(L, np.bool_)     # lane l is inside its sequence at this tick
    has = np.zeros(L, np.bool_)
    fine = np.ones(L, np.bool_)
    for l in range(L):
        bad[l] = -1
        q[l] = first[l]
        active[l] = first[l] < first[l + 1]

    while True:
        # a round: every active lane takes its next sequence, all ending at tick T - 1
        T = 0
        for l in range(L):
            if active[l]:
                T = max(T, starts[q[l] + 1] - starts[q[l]])
        if T == 0:
            break
        for l in range(L):
            n = starts[q[l] + 1] - starts[q[l]] if active[l] else 0
            begin[l] = T - n
            t[l] = starts[q[l]] - begin[l] if active[l] else 0
        for r in range(nr):                                 # state and traces start afresh
            for l in range(L):
                z[r, l] = z0[r]
        for i in range(C * L):
            s_f[i] = 0.0
        TI[:, :, :] = 0.0
        TC[:, :, :] = 0.0
        for i in range(4):
            for l in range(L):
                sums[i, l] = 0.0

        for tau in range(T):
            # each running lane's inputs and targets (a waiting lane reads x = 0, no target)
            any_target = False
            for l in range(L):
                run[l] = active[l] and tau >= begin[l]
                i = t[l] + tau if run[l] else starts[0]
                has[l] = False
                for m in range(nnz):
                    xi[m, l] = x_idx[i, m]
                    xv[m, l] = x_val[i, m] if run[l] else 0.0
                for k in range(K):
                    d = targets[i, k] if run[l] else np.nan
                    tg[k, l] = d
                    if d == d:
                        has[l] = True
                        any_target = True
            # net inputs of gates and cells (eqs. 6-8), sources u = [x(t), z(t-1), 1], then σ
            for u in range(U):
                for l in range(L):
                    net[u, l] = W_h[u, bias, l]
            for m in range(nnz):
                for u in range(U):
                    for l in range(L):
                        net[u, l] += W_h[u, xi[m, l], l] * xv[m, l]
            for r in range(nr):
                for u in range(U):
                    for l in range(L):
                        net[u, l] += W_h[u, n_in + r, l] * z[r, l]
            for i in range(U * L):
                y_f[i] = _sigma(net_f[i], exact)
            if not output_gates:
                for j in range(B):
                    for l in range(L):
                        y[OG + j, l] = 1.0
            # cells: CEC state (eq. 8), frozen in a waiting lane; trace factors (eqs. 25, 27)
            for c in range(C):
                j = c // S
                for l in range(L):
                    sg = y[CELL + c, l]
                    G = ga * sg + gb
                    yi = y[j, l]
                    s[c, l] = s[c, l] + yi * G if run[l] else s[c, l]
                    ai[c, l] = G * yi * (1.0 - yi) if run[l] else 0.0
                    ac[c, l] = ga * sg * (1.0 - sg) * yi if run[l] else 0.0
            # cell outputs (eq. 9)
            if h_identity:
                for c in range(C):
                    for l in range(L):
                        hs[c, l] = s[c, l]
                        dhs[c, l] = 1.0
            else:
                for i in range(C * L):
                    sh_f[i] = _sigma(s_f[i], exact)
                for c in range(C):
                    for l in range(L):
                        hs[c, l] = ha * sh[c, l] + hb
                        dhs[c, l] = ha * sh[c, l] * (1.0 - sh[c, l])
            for c in range(C):
                j = c // S
                for l in range(L):
                    y_c[c, l] = y[OG + j, l] * hs[c, l]
            # traces (eqs. 25, 27); a waiting lane adds 0
            for c in range(C):
                for m in range(nnz):
                    for l in range(L):
                        TI[c, xi[m, l], l] += ai[c, l] * xv[m, l]
                    for l in range(L):
                        TC[c, xi[m, l], l] += ac[c, l] * xv[m, l]
                for r in range(nr):
                    for l in range(L):
                        TI[c, n_in + r, l] += ai[c, l] * z[r, l]
                for r in range(nr):
                    for l in range(L):
                        TC[c, n_in + r, l] += ac[c, l] * z[r, l]
                for l in range(L):
                    TI[c, bias, l] += ai[c, l]
                    TC[c, bias, l] += ac[c, l]
            for c in range(C):
                for l in range(L):
                    z_new[c, l] = y_c[c, l]
            for j in range(B):
                for l in range(L):
                    z_new[C + j, l] = y[j, l]
                    z_new[C + B + j, l] = y[OG + j, l] if output_gates else 0.0

            if any_target:
                # output units from the cells of the current step (docs/paper.md §1.4 sub-step 3)
                for k in range(K):
                    for l in range(L):
                        net_k[k, l] = W_k[k, n_v - 1, l]
                    for c in range(C):
                        for l in range(L):
                            net_k[k, l] += W_k[k, c, l] * y_c[c, l]
                    if shortcuts:
                        for m in range(nnz):
                            for l in range(L):
                                net_k[k, l] += W_k[k, C + xi[m, l], l] * xv[m, l]
                for i in range(K * L):
                    y_kf[i] = _sigma(net_kf[i], exact)
                # error (eqs. 16, 19), per lane; e_k = 0 in a lane without a target
                for l in range(L):
                    E = 0.0
                    mx = 0.0
                    for k in range(K):
                        d = tg[k, l]
                        if d == d:
                            diff = d - y_k[k, l]
                            E += diff * diff
                            if abs(diff) > mx:
                                mx = abs(diff)
                            e_k[k, l] = y_k[k, l] * (1.0 - y_k[k, l]) * diff
                        else:
                            e_k[k, l] = 0.0
                    if has[l]:
                        sums[SSE, l] += E
                        sums[ERR_END, l] = E
                        sums[ABS_END, l] = mx
                        if mx > sums[ABS_ALL, l]:
                            sums[ABS_ALL, l] = mx
                for c in range(C):
                    for l in range(L):
                        back[c, l] = 0.0
                    for k in range(K):
                        for l in range(L):
                            back[c, l] += W_k[k, c, l] * e_k[k, l]
                for k in range(K):                                  # eq. 22, output units
                    for c in range(C):
                        for l in range(L):
                            dW_k[k, c, l] += e_k[k, l] * y_c[c, l]
                    if shortcuts:
                        for m in range(nnz):
                            for l in range(L):
                                dW_k[k, C + xi[m, l], l] += e_k[k, l] * xv[m, l]
                    for l in range(L):
                        dW_k[k, n_v - 1, l] += e_k[k, l]
                for j in range(B):
                    for l in range(L):
                        e_out[j, l] = 0.0
                for c in range(C):
                    j = c // S
                    for l in range(L):
                        e_out[j, l] += hs[c, l] * back[c, l]
                        e_s[c, l] = y[OG + j, l] * dhs[c, l] * back[c, l]   # eq. 23
                if output_gates:
                    for j in range(B):                              # eqs. 21, 22
                        for l in range(L):
                            e_og[j, l] = y[OG + j, l] * (1.0 - y[OG + j, l]) * e_out[j, l]
                        for m in range(nnz):
                            for l in range(L):
                                dW_h[OG + j, xi[m, l], l] += e_og[j, l] * xv[m, l]
                        for r in range(nr):
                            for l in range(L):
                                dW_h[OG + j, n_in + r, l] += e_og[j, l] * z[r, l]
                        for l in range(L):
                            dW_h[OG + j, bias, l] += e_og[j, l]
                for c in range(C):                                  # eqs. 26, 28
                    j = c // S
                    for m in range(n_src):
                        for l in range(L):
                            dW_h[j, m, l] += e_s[c, l] * TI[c, m, l]
                    for m in range(n_src):
                        for l in range(L):
                            dW_h[CELL + c, m, l] += e_s[c, l] * TC[c, m, l]
                if step_update:
                    _apply(W_h, M_h, dW_h, lr, has, fine)
                    _apply(W_k, M_k, dW_k, lr, has, fine)
                    for l in range(L):
                        if not fine[l]:
                            stats[q[l], SSE] = np.nan
                            bad[l] = q[l] - first[l]
                            active[l] = False
                            fine[l] = True

            for r in range(nr):
                for l in range(L):
                    z[r, l] = z_new[r, l] if run[l] else z[r, l]

        # the round's end: every active lane ends its sequence here
        for l in range(L):
            has[l] = False
            if not active[l]:
                continue
            for i in range(4):
                stats[q[l], i] = sums[i, l]
            if sums[SSE, l] - sums[SSE, l] != 0.0:
                bad[l] = q[l] - first[l]
                active[l] = False
            else:
                has[l] = True
        if not step_update:
            _apply(W_h, M_h, dW_h, lr, has, fine)
            _apply(W_k, M_k, dW_k, lr, has, fine)
        for l in range(L):
            if not has[l]:
                continue
            if not fine[l]:
                bad[l] = q[l] - first[l]
                active[l] = False
                fine[l] = True
                continue
            q[l] += 1
            active[l] = q[l] < first[l + 1]


# --------------------------------------------------------------------------- Python side
KEYS = ("W_in", "W_out", "W_c", "W_k")


def _topology(net):
    return (net.n_in, net.n_out, net.B, net.S, net.g, net.h, net.output_gates, net.shortcuts,
            tuple(net.initial_z()))


def train_batches(nets, batches, lr, update="sequence", exp="poly"):
    """Train nets[l] on batches[l] online (eq. 17), all in lockstep; one lane per net.

    The nets must share their topology (sizes, masks, g/h, output gates, shortcuts, reset),
    the batches their input layout (nnz). Each net's weights are updated in place, as
    ``engine.train_batch`` does. Returns [(stats (n_l, 4), diverged)] per net, each as
    ``engine.train_batch`` returns it for that net and batch.
    """
    if update not in ("sequence", "step"):
        raise ValueError(f"unknown update {update!r}; expected 'sequence' or 'step'")
    if exp not in EXPS:
        raise ValueError(f"unknown exp {exp!r}; expected one of {', '.join(EXPS)}")
    nets, batches = list(nets), list(batches)
    if not nets or len(nets) != len(batches):
        raise ValueError(f"need one batch per net, got {len(nets)} nets and {len(batches)} batches")
    for net in nets[1:]:
        if _topology(net) != _topology(nets[0]):
            raise ValueError("the nets of one call must share their topology "
                             "(sizes, g, h, output gates, shortcuts, reset)")
        for k in KEYS:
            if not np.array_equal(net.masks[k], nets[0].masks[k]):
                raise ValueError(f"the nets of one call must share their masks ({k} differs)")
    nnz = batches[0].x_idx.shape[1]
    for b in batches:
        if b.x_idx.shape[1] != nnz:
            raise ValueError(f"the batches of one call must have the same nnz, got {b.x_idx.shape[1]} and {nnz}")
        if len(b) and np.any(b.lengths == 0):
            raise ValueError("empty sequences are not supported")
    args = [engine.net_args(net, b) for net, b in zip(nets, batches)]
    B = nets[0].B
    W_h = np.ascontiguousarray(np.stack([np.concatenate(a[:3]) for a in args], axis=-1))
    W_k = np.ascontiguousarray(np.stack([a[3] for a in args], axis=-1))
    M_h, M_k = np.ascontiguousarray(np.concatenate(args[0][4:7])), args[0][7]
    sizes = [len(b) for b in batches]
    first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    stats = np.zeros((first[-1], 4))
    bad = np.full(len(nets), -1, np.int64)
    if first[-1]:
        steps = np.concatenate([[0], np.cumsum([b.starts[-1] for b in batches])])
        starts = np.concatenate([[0]] + [b.starts[1:] + o for b, o in zip(batches, steps)]).astype(np.int64)
        x_idx = np.ascontiguousarray(np.concatenate([b.x_idx for b in batches]), np.int64)
        x_val = np.ascontiguousarray(np.concatenate([b.x_val for b in batches]), np.float64)
        targets = np.ascontiguousarray(np.concatenate([b.targets for b in batches]), np.float64)
        _kernel(W_h, W_k, M_h, M_k, B, *args[0][8:], float(lr), update == "step", exp == "libm",
                x_idx, x_val, targets, starts, first, stats, bad)
    for l, net in enumerate(nets):
        W = net.weights
        W["W_in"][...] = W_h[:B, :, l]
        W["W_out"][...] = W_h[B:2 * B, :, l]
        W["W_c"][...] = W_h[2 * B:, :, l]
        W["W_k"][...] = W_k[..., l]
    return [(stats[first[l]:first[l + 1]], int(bad[l])) for l in range(len(nets))]
