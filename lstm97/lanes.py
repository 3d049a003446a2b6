"""Trial-parallel training: LANES independent nets of one topology in lockstep, one SIMD lane each.

Every trial is tiny (93-6,064 weights) and a single trial cannot go much faster than
``engine.py``, so this kernel trains LANES (16) trials at once. Each lane is one
net with its own weights, traces, states and its own sequence list (a ``tasks.Batch``);
every array keeps the lane axis innermost (W_h[u, m, lane], s[c, lane], ...), and each
operation of ``engine._kernel`` is written once for all lanes on lane vectors
(``lanevec.py``: one ``<16 x double>``, two AVX-512 registers). LANES is a compile-time
constant; ``train_batches`` runs the nets in groups of LANES and fills the last group with
idle lanes, which cost as much as busy ones (a call with 10 nets costs what 16 cost).

Per lane the kernel computes exactly what ``engine._kernel`` computes, in the same order:
the forward pass (eqs. 6-9), the traces (eqs. 25, 27), the truncated error (eqs. 19-28)
and the online update (eq. 17) after each sequence or after each target step. The traces'
increments are kept for up to HISTORY ticks and added before a target needs them
(:func:`_add_history`): each trace entry gets the same additions in the same order. The
cell variants of ``network.LSTM97`` run here too: no input gate, no output gate, and the
forget gate of Gers et al. 2000 (each trace entry then decays by y_φ at every tick, in order;
the input columns kept scaled as in engine.py, folded at the same ticks).

Lanes go through their batches in rounds, one sequence each, with the sequences aligned at
their ends: a shorter sequence starts later, and its lane waits with its state frozen. The
tasks with one target per sequence (Exp 2c, 3-6) then have their target, their update and
their reset at the same tick in every lane, so these passes over all weights run once for
all lanes; the price is the waiting, a few percent where lengths vary by 10% (bench.py
prints it). Batches of different sizes are fine: a lane whose batch is done, or whose
weights became NaN/inf, idles until the last lane is done. A lane without a target at a
tick adds e = 0 to its Δw, which leaves Δw as it was (the traces are finite). Each tick
gathers every lane's inputs from its own batch arrays (one masked gather per column,
prefetched 16 ticks ahead), except what the batches declare known (tasks.Batch: targets only
at a sequence's end, inputs of 1.0); a sparse input's weight column is read, its trace
columns added to, lane by lane (lanevec.gather, lanevec.scatter_add).

exp. Numba's ``math.exp`` is a libm call (no SVML here) and does not vectorise.
``exp="poly"`` (default) uses ``fastexp.exp_poly``: Cody-Waite range reduction, a degree-13
Taylor polynomial evaluated with fused multiply-adds, and 2**k built in the exponent bits;
its largest relative error against ``math.exp`` is 1 ulp (2.2e-16, tests/test_lanes.py).
The forward pass applies it to lane vectors in registers (:func:`sigma_lanes`, the same
operations, tested bit for bit). Either way a lane equals ``engine.train_batch`` with the
same ``exp`` bit for bit; ``exp="libm"`` runs at about half the speed. A group of a few
trials is cheaper in the single-trial engine with ``exp="poly"`` (``SOLO``; runner.run_lanes).

Speed: ``make bench`` prints the lanes beside the single-trial engine; docs/performance.md
gives the measured rates and where the time goes.
"""
import math

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import engine
from .engine import TINY
from .fastexp import sigma_array, EXP_HI, EXP_LO, LN2_HI, LN2_LO, LOG2E, ROUND, TAYLOR, exp_poly
from .lanevec import (DEFAULT_WIDTH, LANES, lanevector, above, add_to, any_lane, equals, gather, get, is_number,
                      magnitude, put, read_columns, read_steps, prefetch_steps, scatter_add, splat, started, where)
from .online import ABS_ALL, ABS_END, ERR_END, SSE, check_exp, check_update, new_stats

# A group of up to SOLO trials trains in the single-trial engine with exp="poly" instead, one
# trial after another: the same records, bit for bit, and cheaper where SOLO single-trial
# steps cost less than a pass of all lanes. Measured (bench.py's nets, one pinned core, best
# of 7, two runs each): a pass of 8 lanes costs 2.3-2.7 steps of the single-trial
# engine with exp="poly", of 16 lanes 3.7-4.6, of 32 lanes 7.3-10.0.
SOLO = {8: 2, 16: 3, 32: 7}[LANES]

# Numba's cache keys a kernel on its source, not on LANES: only the default width is cached
# (lanevec.width_from), so that a process of another width never loads a 16-lane kernel.
CACHE = LANES == DEFAULT_WIDTH


# --------------------------------------------------------------------------- σ on lane vectors
@intrinsic
def sigma_lanes(typingctx, v):
    """σ(v) = 1/(1+exp_poly(-v)) in every lane of a lane vector: the operations of
    :func:`_exp_poly` and :func:`fastexp.sigma_array`, in the same order, on all lanes at once (tested
    bit for bit against them), in registers: the LANES/8 AVX-512 registers' chains of 13
    dependent multiply-adds interleave, where the vectorised loop over an array of net
    inputs ran one chain at a time (A/B: 5-11% faster on the bench's nets)."""
    if v != lanevector:
        return None

    def codegen(context, builder, sig, args):
        n = LANES
        vec = ir.VectorType(ir.DoubleType(), n)
        ivec = ir.VectorType(ir.IntType(64), n)
        c = lambda a: ir.Constant(vec, [a] * n)                          # noqa: E731
        fma_fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec] * 3),
                                                f"llvm.fma.v{n}f64")
        fma = lambda a, b, d: builder.call(fma_fn, [a, b, d])            # noqa: E731
        x = builder.fsub(c(-0.0), args[0])                               # -v
        xc = builder.select(builder.fcmp_ordered("<", x, c(EXP_LO)), c(EXP_LO), x)
        xc = builder.select(builder.fcmp_ordered(">", xc, c(EXP_HI)), c(EXP_HI), xc)
        big = builder.fadd(builder.fmul(xc, c(LOG2E)), c(ROUND))
        k = builder.fsub(big, c(ROUND))
        minus_k = builder.fsub(c(-0.0), k)
        r = fma(minus_k, c(LN2_LO), fma(minus_k, c(LN2_HI), xc))
        p = c(TAYLOR[0])
        for a in TAYLOR[1:]:
            p = fma(p, r, c(a))
        bits = builder.shl(builder.add(builder.bitcast(big, ivec), ir.Constant(ivec, [1023] * n)),
                           ir.Constant(ivec, [52] * n))
        y = builder.fmul(p, builder.bitcast(bits, vec))
        y = builder.select(builder.fcmp_ordered("<", x, c(EXP_LO)), c(0.0), y)
        e = builder.select(builder.fcmp_ordered(">", x, c(EXP_HI)), c(math.inf), y)
        return builder.fdiv(c(1.0), builder.fadd(c(1.0), e))
    return lanevector(v), codegen


# --------------------------------------------------------------------------- the kernel
@intrinsic
def _alloca(typingctx, n):
    """A pointer to n float64 on the stack of the calling function."""
    def codegen(context, builder, sig, args):
        return builder.alloca(ir.DoubleType(), size=args[0])
    return types.CPointer(types.float64)(types.intp), codegen


@intrinsic
def _alloca_int(typingctx, n):
    """A pointer to n int64 on the stack of the calling function."""
    def codegen(context, builder, sig, args):
        return builder.alloca(ir.IntType(64), size=args[0])
    return types.CPointer(types.int64)(types.intp), codegen


@njit(inline="always")
def _local(rows):
    """A (rows, LANES) work array of zeros on the stack. The compiler knows that it overlaps no
    weight or trace array, so it may keep its rows in registers across stores to those.
    Inlined: it must only be called at the kernel's top level (the stack frees it on return)."""
    a = carray(_alloca(rows * LANES), (rows, LANES))
    for i in range(rows):
        put(a, i, splat(0.0))
    return a


@njit(inline="always")
def _local_flat(rows):
    """_local(rows), and the same memory as one flat array of rows * LANES values (for
    sigma_array), both without a reference count (the kernel's steps, below)."""
    p = _alloca(rows * LANES)
    a = carray(p, (rows, LANES))
    for i in range(rows):
        put(a, i, splat(0.0))
    return a, carray(p, rows * LANES)


@njit(inline="always")
def _local_int(rows):
    """A (rows, LANES) int64 work array of zeros on the stack (as :func:`_local`)."""
    a = carray(_alloca_int(rows * LANES), (rows, LANES))
    a[:, :] = 0
    return a


@njit(inline="always", error_model="numpy")
def _apply_at(W, M, dW, i, m, lr, on):
    """W[i, m] += lr * M[i, m] * dW[i, m], dW[i, m] := 0 in the lanes where on != 0 (eq. 17).
    Returns w - w of the new weight where on: 0 for a finite w, NaN otherwise."""
    a = lr * M[i, m]
    w_old = get(W, i, m)
    d = get(dW, i, m)
    w = w_old + a * d
    put(W, i, m, where(on, w, w_old))
    put(dW, i, m, where(on, 0.0, d))
    return where(on, w - w, 0.0)


@njit(cache=CACHE, error_model="numpy")
def _apply(W, M, dW, lr, do, fine):
    """W += lr * M * dW, dW := 0 in the lanes where do != 0 (eq. 17); fine := 0 in a lane where
    a weight became NaN or inf (a sum of w - w is 0 or NaN, and where() takes NaN as true)."""
    on = get(do)
    nonfinite = splat(0.0)
    for i in range(W.shape[0]):
        for m in range(W.shape[1]):
            nonfinite = nonfinite + _apply_at(W, M, dW, i, m, lr, on)
    put(fine, where(nonfinite, 0.0, get(fine)))


@njit(inline="always", error_model="numpy")
def _apply_readout_step(W_k, M_k, dW_k, lr, do, fine, C, xk, nnz):
    """_apply(W_k, ...) after one step, for a net with input->output shortcuts and sparse
    inputs (2a, 2b) under per-step updates. There dW_k is 0 at every apply except in the
    cells' columns, the bias column and each lane's input columns xk of this step: it was
    emptied at the previous step's apply, and a step adds e * x only to those columns. Where
    dW = 0, w + a * dW = w, so the other columns are skipped: the same weights as _apply, at
    a cost of K (C + 1 + nnz) instead of K n_v (2a: 404 of 10,504 weights per step). The
    input columns differ per lane, so they are updated lane by lane."""
    on = get(do)
    nonfinite = splat(0.0)
    n_v = W_k.shape[1]
    for i in range(W_k.shape[0]):
        for m in range(C + 1):
            nonfinite = nonfinite + _apply_at(W_k, M_k, dW_k, i, m if m < C else n_v - 1, lr, on)
    put(fine, where(nonfinite, 0.0, get(fine)))
    for l in range(LANES):
        if do[l] != 0.0:
            for j in range(nnz):
                col = xk[j, l]
                for i in range(W_k.shape[0]):
                    w = W_k[i, col, l] + lr * M_k[i, col] * dW_k[i, col, l]
                    W_k[i, col, l] = w
                    dW_k[i, col, l] = 0.0
                    if w - w != 0.0:
                        fine[l] = 0.0


AHEAD = 16                      # ticks ahead at which each lane's inputs are prefetched
HISTORY = 32                    # ticks of trace increments kept before they are added


@njit(inline="always", error_model="numpy")
def _forget_pair(TI, TC, TF, c, m0, m1, s, s1, M0, A0, M1, A1, hS, nh, C):
    """Columns m0, m1 of cell c's traces with forget gates, for the nh ticks t of the history:
    T := M[t] T + A[t] x(t) in TI, TC, TF, with A[t] holding a_i, a_c, a_φ of each cell and x(t)
    the sources hS[t, s], hS[t, s1]. Recurrent and bias columns: M = y_φ, A = the increments;
    input columns, kept scaled (engine.py's docstring): M = the fold factor (1 or P), A = a/P."""
    i0, c0, f0 = get(TI, c, m0), get(TC, c, m0), get(TF, c, m0)
    i1, c1, f1 = get(TI, c, m1), get(TC, c, m1), get(TF, c, m1)
    for t in range(nh):
        p0, p1 = get(M0, t, c), get(M1, t, c)
        x0, x1 = get(hS, t, s), get(hS, t, s1)
        i0 = p0 * i0 + get(A0, t, c) * x0
        c0 = p0 * c0 + get(A0, t, C + c) * x0
        f0 = p0 * f0 + get(A0, t, 2 * C + c) * x0
        i1 = p1 * i1 + get(A1, t, c) * x1
        c1 = p1 * c1 + get(A1, t, C + c) * x1
        f1 = p1 * f1 + get(A1, t, 2 * C + c) * x1
    put(TF, c, m1, f1)                  # (m1 = m0 in a last single column: the same sums)
    put(TI, c, m1, i1)
    put(TC, c, m1, c1)
    put(TF, c, m0, f0)
    put(TI, c, m0, i0)
    put(TC, c, m0, c0)


@njit(inline="always", error_model="numpy")
def _fold(TI, TC, TF, c, n_in, f):
    """The input columns of cell c's traces times f, lane by lane (engine._fold; f = 1 leaves a
    lane's columns as they are)."""
    for m in range(n_in):
        put(TI, c, m, f * get(TI, c, m))
        put(TC, c, m, f * get(TC, c, m))
        put(TF, c, m, f * get(TF, c, m))


@njit(inline="always", error_model="numpy")
def _add_history(TI, TC, TF, hA, hP, hL, hF, hS, hI, nh, C, nnz, n_in, dense, forget):
    """TI[c, m] += a_i(t) x_m(t), TC[c, m] += a_c(t) x_m(t) for the nh ticks t of the history,
    in the order of t (eqs. 25, 27): the sums engine._kernel forms one tick at a time, bit for
    bit, since each trace entry gets the same additions in the same order. hA[t] holds a_i of
    each cell, then a_c; hS[t] the sources: the nnz input values, then z(t-1) (column n_in + r
    of TI); hI[t * nnz + m] each lane's column of input m (sparse inputs).
    With forget gates (``forget``, Gers et al. 2000) each entry decays by y_φ(t) too, as in
    engine._kernel (:func:`_forget_pair`): hA[t, 2C + c] holds a_φ, hP[t, c] y_φ (1 in a waiting
    lane); the input columns are kept scaled, with hL[t] the increments a/P and hF[t, c] the
    factor P of a fold at tick t (else 1).

    Why not add at every tick as the single-trial engine does: 16 lanes of TI and TC are 16
    times the single trial's (6b: 43 KB of the columns a tick touches, with W_h's), more
    than L1 holds, so each tick's read-modify-write of every trace entry streamed through L2.
    Here each entry is loaded and stored once per nh ticks, its sum kept in registers; two
    columns at a time, for independent chains of additions."""
    n_s = hS.shape[1]
    for c in range(C):
        s = 0 if dense else nnz       # dense inputs: every lane's input m is column m
        while s < n_s:
            s1 = s + 1 if s + 1 < n_s else s
            m0 = s if s < nnz else n_in + s - nnz
            m1 = s1 if s1 < nnz else n_in + s1 - nnz
            if forget:
                _forget_pair(TI, TC, TF, c, m0, m1, s, s1, hF if s < nnz else hP, hL if s < nnz else hA,
                             hF if s1 < nnz else hP, hL if s1 < nnz else hA, hS, nh, C)
                s += 2
                continue
            i0, c0 = get(TI, c, m0), get(TC, c, m0)
            i1, c1 = get(TI, c, m1), get(TC, c, m1)
            for t in range(nh):
                a_i, a_c = get(hA, t, c), get(hA, t, C + c)
                x0, x1 = get(hS, t, s), get(hS, t, s1)
                i0 = i0 + a_i * x0
                c0 = c0 + a_c * x0
                i1 = i1 + a_i * x1
                c1 = c1 + a_c * x1
            put(TI, c, m1, i1)              # (m1 = m0 in a last single column: the same sums)
            put(TC, c, m1, c1)
            put(TI, c, m0, i0)
            put(TC, c, m0, c0)
            s += 2
        bias = TI.shape[1] - 1
        i0, c0 = get(TI, c, bias), get(TC, c, bias)
        if forget:
            f0 = get(TF, c, bias)
            for t in range(nh):
                p = get(hP, t, c)
                i0 = p * i0 + get(hA, t, c)
                c0 = p * c0 + get(hA, t, C + c)
                f0 = p * f0 + get(hA, t, 2 * C + c)
            put(TF, c, bias, f0)
        else:
            for t in range(nh):
                i0 = i0 + get(hA, t, c)
                c0 = c0 + get(hA, t, C + c)
        put(TI, c, bias, i0)
        put(TC, c, bias, c0)
    if not dense:
        for t in range(nh):
            for c in range(C):
                if forget:
                    f = get(hF, t, c)
                    if any_lane(above(splat(1.0), f)):     # a fold at tick t in some lane
                        _fold(TI, TC, TF, c, n_in, f)
                    a_i, a_c = get(hL, t, c), get(hL, t, C + c)
                else:
                    a_i, a_c = get(hA, t, c), get(hA, t, C + c)
                for m in range(nnz):
                    x = get(hS, t, m)
                    scatter_add(TI, c, hI, t * nnz + m, a_i * x)
                    scatter_add(TC, c, hI, t * nnz + m, a_c * x)
                    if forget:
                        scatter_add(TF, c, hI, t * nnz + m, get(hL, t, 2 * C + c) * x)


@njit(inline="always")
def _columns_in_order(x_idx):
    """Every row of x_idx is 0, 1, ..., nnz-1."""
    for i in range(x_idx.shape[0]):
        for m in range(x_idx.shape[1]):
            if x_idx[i, m] != m:
                return False
    return True


# --------------------------------------------------------------------------- the kernel's steps
# _kernel is an outline that calls these steps; each is inlined (inline="always"), so the kernel
# compiles to one function with the same operations in the same order as when the steps were
# written out in it. One cost remains: Numba counts the reference of every array passed to an
# inlined function up and down at each call (atomic operations), and its pruning pass removes
# those counts only in simple control flow. So the arrays that the steps take inside the loops
# are on the stack (_local, _local_flat, _local_int: no reference count), or on the heap where
# the compiled kernel shows no counting left in its loops (its LLVM IR, compiled afresh:
# ``_kernel.inspect_llvm(sig)``, the calls of NRT_incref and NRT_decref). With the per-lane int
# arrays, W_h and hI passed to the steps the kernel counted in its tick loop and ran 3-6% slower
# (adding 5.6%, 6b and 2c 3%, one process, alternating with the kernel written out).
@njit(inline="always", error_model="numpy")
def _start_sequences(z, s, P, TI, TC, TF, sums, z0):
    """State and traces start afresh at each sequence (docs/paper.md §1.4): z := z0, s := 0, the
    traces of eqs. 25, 27 := 0, the forget gates' products P := 1 and the sequence's sums := 0."""
    for r in range(z.shape[0]):
        put(z, r, splat(z0[r]))
    for c in range(s.shape[0]):
        put(s, c, splat(0.0))
        put(P, c, splat(1.0))
    TI[:, :, :] = 0.0
    TC[:, :, :] = 0.0
    TF[:, :, :] = 0.0
    for i in range(4):
        put(sums, i, splat(0.0))


@njit(inline="always", error_model="numpy")
def _read_tick(xv, tg, xi, hot, X_at, I_at, D_at, T_at, step0, tau, T, running,
               unit_inputs, end_targets, onehot, dense):
    """Each lane's inputs and targets at tick tau (docs/paper.md §1.4 sub-step 1): the values
    x(t) into xv, each lane's input columns into xi (sparse inputs), the targets into tg (NaN
    where there is none: eq. 16 sums over the units with a target). A waiting lane reads x = 0
    and no target. Prefetches the steps AHEAD ticks on, and skips the reads that the batches
    declare unneeded (``_kernel``'s docstring). Returns 1.0 in the lanes with a target at this
    tick, 0.0 in the others."""
    nnz, K = xv.shape[0], tg.shape[0]
    if not unit_inputs:
        prefetch_steps(X_at, step0, tau + AHEAD, nnz)
    if not end_targets:
        if onehot:
            prefetch_steps(T_at, step0, tau + AHEAD, 1)
        else:
            prefetch_steps(D_at, step0, tau + AHEAD, K)
    if not dense:
        prefetch_steps(I_at, step0, tau + AHEAD, nnz)
    for m in range(nnz):
        if unit_inputs:
            put(xv, m, where(running, 1.0, 0.0))
        else:
            put(xv, m, read_steps(X_at, step0, tau, nnz, m, running, 0.0))
        if not dense:
            read_columns(xi, m, I_at, step0, tau, nnz, m, running)
    target = splat(0.0)
    if tau == T - 1 or not end_targets:     # else no lane has a target at this tick
        if onehot:
            read_columns(hot, 0, T_at, step0, tau, 1, 0, running)
        for k in range(K):
            if onehot:
                d = where(running, equals(hot[0], k), np.nan)
            else:
                d = read_steps(D_at, step0, tau, K, k, running, np.nan)
            put(tg, k, d)
            target = where(is_number(d), 1.0, target)
    return target


@njit(inline="always", error_model="numpy")
def _net_inputs(W_h, net, y, net_f, y_f, xv, z, xi, n_in, B, dense, exact, input_gates, output_gates):
    """The net inputs of the gates and cells over the sources u = [x(t), z(t-1), 1] and their
    σ (eqs. 6-8): y = [y_in, y_out, σ(net_c), y_φ]; y_in, y_out := 1 in a cell without that
    gate. Each sum runs bias, inputs, recurrent sources: the inputs first for all units (a
    sparse input's gathers then overlap), then z(t-1) two units at a time (each z_r read once
    for both). σ by exp_poly in registers (sigma_lanes), or with ``exact`` by libm's exp
    after all sums (sigma_array)."""
    U, bias = W_h.shape[0], W_h.shape[1] - 1
    nnz, nr = xv.shape[0], z.shape[0]
    for u in range(U):
        acc = get(W_h, u, bias)
        for m in range(nnz):
            w = get(W_h, u, m) if dense else gather(W_h, u, xi, m)
            acc = acc + w * get(xv, m)
        put(net, u, acc)
    u = 0
    while u < U:                    # two units at a time: z(t-1) read once for both
        u1 = u + 1 if u + 1 < U else u
        a0 = get(net, u)
        a1 = get(net, u1)
        for r in range(nr):
            z_r = get(z, r)
            a0 = a0 + get(W_h, u, n_in + r) * z_r
            a1 = a1 + get(W_h, u1, n_in + r) * z_r
        if exact:
            put(net, u1, a1)
            put(net, u, a0)
        else:
            put(y, u1, sigma_lanes(a1))
            put(y, u, sigma_lanes(a0))
        u += 2
    if exact:
        sigma_array(net_f, y_f, U * LANES, exact)
    if not output_gates:
        for j in range(B):
            put(y, B + j, splat(1.0))
    if not input_gates:
        for j in range(B):
            put(y, j, splat(1.0))


@njit(inline="always", error_model="numpy")
def _cells(y, s, ai, ac, af, decay, running, ga, gb, B, S, forget_gates):
    """Each cell's CEC state, s := s + y_in g(net_c) (eq. 8; with forget gates s := y_φ s + y_in g,
    Gers et al. 2000), frozen in a waiting lane, and the factors of this tick's trace increments
    (0 in a waiting lane): a_i = g f'_in (eq. 25), a_c = g' y_in (eq. 27); with forget gates
    a_φ = s(t-1) f'_φ and the decay y_φ of every trace entry (1 in a waiting lane, whose traces
    stay). g = ga σ + gb."""
    C = s.shape[0]
    CELL, FG = 2 * B, 2 * B + C
    for c in range(C):
        j = c // S
        sg = get(y, CELL + c)
        G = ga * sg + gb
        y_in = get(y, j)
        s_c = get(s, c)
        if forget_gates:
            phi = get(y, FG + j)
            put(s, c, where(running, phi * s_c + y_in * G, s_c))
            put(af, c, where(running, s_c * phi * (1.0 - phi), 0.0))
            put(decay, c, where(running, phi, 1.0))     # a waiting lane's traces stay
        else:
            put(s, c, where(running, s_c + y_in * G, s_c))
        put(ai, c, where(running, G * y_in * (1.0 - y_in), 0.0))
        put(ac, c, where(running, ga * sg * (1.0 - sg) * y_in, 0.0))


@njit(inline="always", error_model="numpy")
def _cell_outputs(y, s, sh, hs, dhs, y_c, s_f, sh_f, ha, hb, h_identity, exact, B, S):
    """Cell outputs y_c = y_out h(s) (eq. 9), with h(s) = ha σ(s) + hb (or s) in hs and its
    derivative h'(s) in dhs (for eq. 23)."""
    C = s.shape[0]
    if h_identity:
        for c in range(C):
            put(hs, c, get(s, c))
            put(dhs, c, splat(1.0))
    else:
        sigma_array(s_f, sh_f, C * LANES, exact)
        for c in range(C):
            h = get(sh, c)
            put(hs, c, ha * h + hb)
            put(dhs, c, ha * h * (1.0 - h))
    for c in range(C):
        put(y_c, c, get(y, B + c // S) * get(hs, c))


@njit(inline="always", error_model="numpy")
def _record_tick(hA, hP, hL, hF, hS, hI_bits, nh, ai, ac, af, decay, P, xv, xi_bits, z, forget_gates, dense):
    """Tick nh of the traces' history (eqs. 25, 27), which _add_history adds to the traces: the
    factors a_i, a_c (a_φ) of each cell, the sources x(t), z(t-1) and each lane's input columns
    (sparse inputs: xi into hI, through float64 views of both, one lane vector per input: the
    same bits). With forget gates also the decay y_φ (hP) and, for the input columns kept
    scaled (engine.py's docstring), the product P of y_φ since their last fold: hF the factor
    of a fold at this tick (P where P would fall below TINY, then P := 1; else 1), hL the
    increments over P."""
    C, nnz = ai.shape[0], xv.shape[0]
    for c in range(C):
        put(hA, nh, c, get(ai, c))
        put(hA, nh, C + c, get(ac, c))
    if forget_gates:
        for c in range(C):
            put(hA, nh, 2 * C + c, get(af, c))
            put(hP, nh, c, get(decay, c))
            p = get(P, c) * get(decay, c)
            fold = above(splat(TINY), p)
            put(hF, nh, c, where(fold, p, 1.0))
            p = where(fold, 1.0, p)
            put(P, c, p)
            inv = 1.0 / p
            put(hL, nh, c, get(ai, c) * inv)
            put(hL, nh, C + c, get(ac, c) * inv)
            put(hL, nh, 2 * C + c, get(af, c) * inv)
    for m in range(nnz):
        put(hS, nh, m, get(xv, m))
    if not dense:
        for m in range(nnz):
            put(hI_bits, nh * nnz + m, get(xi_bits, m))
    for r in range(z.shape[0]):
        put(hS, nh, nnz + r, get(z, r))


@njit(inline="always", error_model="numpy")
def _next_sources(z_new, y_c, y, B, input_gates, output_gates, forget_gates):
    """z(t) = [y_c, y_in, y_out(, y_φ)], the recurrent sources of the next tick (docs/paper.md
    §1.4); 0 for a gate the cell does not have."""
    C = y_c.shape[0]
    for c in range(C):
        put(z_new, c, get(y_c, c))
    for j in range(B):
        put(z_new, C + j, get(y, j) if input_gates else splat(0.0))
        put(z_new, C + B + j, get(y, B + j) if output_gates else splat(0.0))
    for j in range(B if forget_gates else 0):
        put(z_new, C + 2 * B + j, get(y, 2 * B + C + j))


@njit(inline="always", error_model="numpy")
def _outputs_and_error(W_k, net_k, y_k, net_kf, y_kf, e_k, tg, has, sums, y_c, xv, xk, xi,
                       shortcuts, dense, exact):
    """Output units from the cells of the current step (docs/paper.md §1.4 sub-step 3),
    y_k = σ(Σ_v w_kv v) over v = [y_c, x(t) (shortcuts), 1], and the error where a lane has a
    target: E = Σ_k (d_k - y_k)² (eq. 16), e_k = f'_k (d_k - y_k) (eq. 19; 0 without a target,
    where d is NaN), and the sequence's sums SSE, ERR_END, ABS_END, ABS_ALL (engine._kernel's
    stats). With sparse shortcuts xk gets each lane's input columns in W_k."""
    K, n_v = W_k.shape[0], W_k.shape[1]
    C, nnz = y_c.shape[0], xv.shape[0]
    if shortcuts and not dense:                 # this tick's input columns in W_k
        for m in range(nnz):
            for l in range(LANES):
                xk[m, l] = C + xi[m, l]
    for k in range(K):
        acc = get(W_k, k, n_v - 1)
        for c in range(C):
            acc = acc + get(W_k, k, c) * get(y_c, c)
        if shortcuts:
            for m in range(nnz):
                w = get(W_k, k, C + m) if dense else gather(W_k, k, xk, m)
                acc = acc + w * get(xv, m)
        put(net_k, k, acc)
    sigma_array(net_kf, y_kf, K * LANES, exact)
    E = splat(0.0)
    mx = splat(0.0)
    for k in range(K):
        d = get(tg, k)
        y_ = get(y_k, k)
        ok = is_number(d)
        diff = d - y_
        E = where(ok, E + diff * diff, E)
        mx = where(above(magnitude(diff), mx), magnitude(diff), mx)   # false for NaN
        put(e_k, k, where(ok, y_ * (1.0 - y_) * diff, 0.0))
    h_ = get(has)
    put(sums, SSE, where(h_, get(sums, SSE) + E, get(sums, SSE)))
    put(sums, ERR_END, where(h_, E, get(sums, ERR_END)))
    put(sums, ABS_END, where(h_, mx, get(sums, ABS_END)))
    put(sums, ABS_ALL, where(h_ * above(mx, get(sums, ABS_ALL)), mx, get(sums, ABS_ALL)))


@njit(inline="always", error_model="numpy")
def _output_deltas(W_k, dW_k, e_k, back, y_c, xv, xk, shortcuts, dense):
    """The error reaching each cell's output, back_c = Σ_k w_kc e_k (eqs. 21, 23), and the
    output units' weight changes Δw_kv += e_k v (eq. 22)."""
    K, n_v = W_k.shape[0], W_k.shape[1]
    C, nnz = y_c.shape[0], xv.shape[0]
    for c in range(C):
        acc = splat(0.0)
        for k in range(K):
            acc = acc + get(W_k, k, c) * get(e_k, k)
        put(back, c, acc)
    for k in range(K):                                      # eq. 22, output units
        e = get(e_k, k)
        for c in range(C):
            add_to(dW_k, k, c, e * get(y_c, c))
        if shortcuts:
            for m in range(nnz):
                if dense:
                    add_to(dW_k, k, C + m, e * get(xv, m))
                else:
                    scatter_add(dW_k, k, xk, m, e * get(xv, m))
        add_to(dW_k, k, n_v - 1, e)


@njit(inline="always", error_model="numpy")
def _gate_deltas(dW_h, y, hs, dhs, back, e_out, e_s, xv, z, xi, n_in, S, output_gates, dense):
    """The internal-state errors e_s = y_out h'(s) back (eq. 23) and, with output gates, their
    errors e_out = f'_out Σ_v h(s_v) back_v (eq. 21) and weight changes Δw += e_out u over the
    sources u = [x(t), z(t-1), 1] (eq. 22)."""
    B, C = e_out.shape[0], e_s.shape[0]
    nnz, nr, bias = xv.shape[0], z.shape[0], dW_h.shape[1] - 1
    for j in range(B):
        put(e_out, j, splat(0.0))
    for c in range(C):
        j = c // S
        b = get(back, c)
        add_to(e_out, j, get(hs, c) * b)
        put(e_s, c, get(y, B + j) * get(dhs, c) * b)       # eq. 23
    if output_gates:
        for j in range(B):                                  # eqs. 21, 22
            y_out = get(y, B + j)
            e = y_out * (1.0 - y_out) * get(e_out, j)
            for m in range(nnz):
                if dense:
                    add_to(dW_h, B + j, m, e * get(xv, m))
                else:
                    scatter_add(dW_h, B + j, xi, m, e * get(xv, m))
            for r in range(nr):
                add_to(dW_h, B + j, n_in + r, e * get(z, r))
            add_to(dW_h, B + j, bias, e)


@njit(inline="always", error_model="numpy")
def _trace_deltas(dW_h, TI, TC, TF, e_s, P, has, n_in, B, S, forget_gates):
    """The input gates' and cells' weight changes from the traces: Δw_in += e_s TI (eq. 26),
    Δw_c += e_s TC (eq. 28), and with forget gates Δw_φ += e_s TF (as eq. 26, Gers et al.
    2000), after the input columns are made current in the lanes with a target: T~ := P T~,
    P := 1 (engine.py's docstring)."""
    C, n_src = e_s.shape[0], TI.shape[1]
    CELL, FG = 2 * B, 2 * B + C
    if forget_gates:                                        # the input columns made current
        h_ = get(has)
        for c in range(C):
            f = where(h_, get(P, c), 1.0)
            if any_lane(above(splat(1.0), f) + (1.0 - is_number(f))):
                _fold(TI, TC, TF, c, n_in, f)
            put(P, c, where(h_, 1.0, get(P, c)))
    for c in range(C):                                      # eqs. 26, 28
        j = c // S
        e = get(e_s, c)
        for m in range(n_src):
            add_to(dW_h, j, m, e * get(TI, c, m))
        for m in range(n_src):
            add_to(dW_h, CELL + c, m, e * get(TC, c, m))
        if forget_gates:                                    # as eq. 26, Gers et al. 2000
            for m in range(n_src):
                add_to(dW_h, FG + j, m, e * get(TF, c, m))


@njit(inline="always", error_model="numpy")
def _step_update(W_h, W_k, M_h, M_k, dW_h, dW_k, lr, has, fine, xk, C, shortcuts, dense,
                 stats, first, q, bad, active, begin, T):
    """The update of eq. 17 in the lanes with a target at this tick (per-step updates); a lane
    whose weights became NaN or inf stops here, with its sequence's SSE NaN."""
    _apply(W_h, M_h, dW_h, lr, has, fine)
    if shortcuts and not dense:
        _apply_readout_step(W_k, M_k, dW_k, lr, has, fine, C, xk, xk.shape[0])
    else:
        _apply(W_k, M_k, dW_k, lr, has, fine)
    for l in range(LANES):
        if not fine[l]:
            stats[first[l] + q[l], SSE] = np.nan
            bad[l] = q[l]
            active[l] = False
            fine[l] = 1.0
            begin[l] = T                        # the lane stops here


@njit(inline="always", error_model="numpy")
def _end_sequences(sums, stats, first, q, bad, active, done):
    """The round's end, where every active lane ends its sequence: its statistics into stats
    (engine._kernel's). A lane whose summed error is NaN or inf stops there (bad[l] := its
    sequence); done[l] := 1 in the others, which the update of eq. 17 then takes."""
    for l in range(LANES):
        done[l] = 0.0
        if not active[l]:
            continue
        for i in range(4):
            stats[first[l] + q[l], i] = sums[i, l]
        if sums[SSE, l] - sums[SSE, l] != 0.0:
            bad[l] = q[l]
            active[l] = False
        else:
            done[l] = 1.0


@njit(inline="always", error_model="numpy")
def _next_sequences(q, bad, active, done, fine, ends):
    """After the round's update: a lane whose weights became NaN or inf stops (bad[l] := its
    sequence); the others go on to their next sequence, if they have one."""
    for l in range(LANES):
        if not done[l]:
            continue
        if not fine[l]:
            bad[l] = q[l]
            active[l] = False
            fine[l] = 1.0
            continue
        q[l] += 1
        active[l] = q[l] + 1 < ends[l]


@njit(inline="always")
def _round(starts, q, active, begin, step0):
    """A round: every active lane takes its next sequence, all ending at tick T - 1 (returned;
    0 when no lane is active). begin[l] is the tick at which lane l's sequence starts, step0[l]
    + tau its step at tick tau."""
    T = 0
    for l in range(LANES):
        if active[l]:
            T = max(T, starts[l][q[l] + 1] - starts[l][q[l]])
    for l in range(LANES):
        n = starts[l][q[l] + 1] - starts[l][q[l]] if active[l] else 0
        begin[l] = T - n
        step0[l] = starts[l][q[l]] - begin[l] if active[l] else 0
    return T


@njit(inline="always")
def _setup(x_idx, x_val, targets, t_idx, starts, bad, fine, active, X_at, I_at, D_at, T_at):
    """Every lane starts: no divergence, its batch's addresses (lanevec.read_steps)."""
    for l in range(LANES):
        bad[l] = -1
        fine[l] = 1.0
        active[l] = len(starts[l]) > 1
        X_at[l] = x_val[l].ctypes.data
        I_at[l] = x_idx[l].ctypes.data
        D_at[l] = targets[l].ctypes.data
        T_at[l] = t_idx[l].ctypes.data


@njit(cache=CACHE, error_model="numpy")
def _kernel(W_h, W_k, M_h, M_k, B, S, n_in, ga, gb, ha, hb, h_identity,
            z0, input_gates, output_gates, forget_gates, shortcuts, lr, step_update, exact,
            x_idx, x_val, targets, starts, first, stats, bad, end_targets, unit_inputs, t_idx, onehot):
    """Train lane l on its batch: x_idx[l], x_val[l], targets[l], starts[l] (tuples of LANES arrays).

    W_h (U, n_src, LANES) holds the hidden units of lane l in [..., l], rows [input gates (B),
    output gates (B), cells (C), forget gates (B, only with forget_gates)]; W_k (K, n_v, LANES) the output units; masks M (rows, cols)
    are shared. The rest as ``engine._kernel`` with learn=True: stats[first[l] + q] is the
    row of lane l's sequence q, and bad[l] becomes -1, or the index of lane l's sequence
    that produced NaN/inf, after which lane l stops. If every lane's x_idx rows are 0..nnz-1
    (dense inputs, as in Exp 4-5), all lanes read the same weight columns (``dense``).
    What every lane's batch says of itself (tasks.Batch): ``end_targets``, no step has a
    target but a sequence's last, so targets are read at a round's last tick only (2c, 3-6);
    ``unit_inputs``, every x_val is 1.0, so a running lane's inputs are 1.0 without a read
    (one-hot tasks); ``onehot``, every step's target is 1.0 at unit t_idx[l][step] and 0.0 at
    every other, so a tick reads one index per lane instead of K targets (2a, 2b, 1). Each read
    skipped is a masked gather per tick.

    Lanes go through their sequences in rounds: in each round every lane trains on its next
    sequence, and the sequences are aligned at their ends (a shorter one starts later; its
    lane waits with its state frozen). So the events that touch every weight (the targets at
    the end, the update of eq. 17, the reset) come at the same tick in every lane, and run
    once for all lanes. Each tick reads every lane's inputs and targets from its own arrays
    with one gather per column (read_steps). Every get/put/add_to here and in the steps above
    moves one value per lane (lanevec.py); the kernel is the outline that calls the steps.
    """
    L = LANES
    U, n_src = W_h.shape[0], W_h.shape[1]
    F = B if forget_gates else 0    # forget gates (Gers et al. 2000)
    C = U - 2 * B - F
    K = W_k.shape[0]
    nnz = x_idx[0].shape[1]
    nr = C + 2 * B + F              # recurrent sources [y_c, y_in, y_out(, y_φ)](t-1)
    # work arrays on the stack, which the steps take without reference counts
    z = _local(nr)
    z_new = _local(nr)
    net, net_f = _local_flat(U)
    y, y_f = _local_flat(U)         # [y_in, y_out, σ(net_c), y_φ]: the rows of W_h
    s, s_f = _local_flat(C)         # CEC states
    decay = _local(C)               # y_φ of each cell's block, 1 in a waiting lane (forget gates)
    P = _local(C)                   # y_φ since the input columns' last fold (forget gates, engine.py)
    af = _local(C)
    sh, sh_f = _local_flat(C)
    hs = _local(C)
    dhs = _local(C)
    y_c = _local(C)
    ai = _local(C)
    ac = _local(C)
    net_k, net_kf = _local_flat(K)
    y_k, y_kf = _local_flat(K)
    e_k = _local(K)
    back = _local(C)
    e_s = _local(C)
    e_out = _local(B)
    sums = _local(4)                # per lane: SSE, ABS_ALL, ABS_END, ERR_END of this sequence
    xv = _local(nnz)                # x_val of each lane at this tick
    tg = _local(K)                  # targets of each lane at this tick (NaN: none)
    has = _local(1)[0]              # 1.0 where the lane has a target at this tick
    done = _local(1)[0]             # 1.0 where the lane ends a good sequence at this round's end
    fine = _local(1)[0]             # 0.0 where a weight of the lane became NaN or inf
    xi = _local_int(nnz)            # each lane's input columns in W_h at this tick (sparse inputs)
    xk = _local_int(nnz)            # each lane's input columns in W_k (shortcuts)
    hot = _local_int(1)             # each lane's target unit at this tick (onehot)
    step0 = _local_int(1)[0]        # lane l's step at tick tau is step0[l] + tau
    begin = _local_int(1)[0]        # tick at which lane l's sequence starts
    q = _local_int(1)[0]            # lane l's current sequence
    active = _local_int(1)[0]       # 1 while lane l has a sequence to train
    ends = _local_int(1)[0]         # len(starts[l])
    X_at = _local_int(1)[0]         # addresses of each lane's x_val, x_idx, targets
    I_at = _local_int(1)[0]
    D_at = _local_int(1)[0]
    T_at = _local_int(1)[0]
    # and on the heap
    TI = np.zeros((C, n_src, L))
    TC = np.zeros((C, n_src, L))
    TF = np.zeros((C if forget_gates else 0, n_src, L))
    dW_h = np.zeros_like(W_h)
    dW_k = np.zeros_like(W_k)
    hA = np.zeros((HISTORY, (3 if forget_gates else 2) * C, L))  # the traces' history: a_i, a_c
    hP = np.zeros((HISTORY, C if forget_gates else 0, L))  # (a_φ) of each cell, y_φ of its block,
    hL = np.zeros((HISTORY, 3 * C if forget_gates else 0, L))  # (a_i, a_c, a_φ over P, and the
    hF = np.zeros((HISTORY, C if forget_gates else 0, L))      # factor of a fold: engine.py),
    hS = np.zeros((HISTORY, nnz + nr, L))       # the sources x, z(t-1),
    hI = np.zeros((HISTORY * nnz, L), np.int64)  # and each lane's input columns in W_h (xi),
    hI_bits, xi_bits = hI.view(np.float64), xi.view(np.float64)   # copied as lane vectors
    nh = 0
    dense = True
    for l in range(L):
        bad[l] = -1
        fine[l] = 1.0
        active[l] = len(starts[l]) > 1
        ends[l] = len(starts[l])
        dense = dense and _columns_in_order(x_idx[l])
        X_at[l] = x_val[l].ctypes.data
        I_at[l] = x_idx[l].ctypes.data
        D_at[l] = targets[l].ctypes.data
        T_at[l] = t_idx[l].ctypes.data

    while True:
        # a round: every active lane takes its next sequence, all ending at tick T - 1
        T = 0
        for l in range(L):
            if active[l]:
                T = max(T, starts[l][q[l] + 1] - starts[l][q[l]])
        if T == 0:
            break
        for l in range(L):
            n = starts[l][q[l] + 1] - starts[l][q[l]] if active[l] else 0
            begin[l] = T - n
            step0[l] = starts[l][q[l]] - begin[l] if active[l] else 0
        _start_sequences(z, s, P, TI, TC, TF, sums, z0)
        nh = 0

        for tau in range(T):
            running = started(begin, tau)          # 0.0 in a lane still waiting for its sequence
            target = _read_tick(xv, tg, xi, hot, X_at, I_at, D_at, T_at, step0, tau, T, running,
                                unit_inputs, end_targets, onehot, dense)
            put(has, target)
            # forward pass (eqs. 6-9)
            _net_inputs(W_h, net, y, net_f, y_f, xv, z, xi, n_in, B, dense, exact, input_gates, output_gates)
            _cells(y, s, ai, ac, af, decay, running, ga, gb, B, S, forget_gates)
            _cell_outputs(y, s, sh, hs, dhs, y_c, s_f, sh_f, ha, hb, h_identity, exact, B, S)
            # traces (eqs. 25, 27): this tick's factors and sources go to the history, which is
            # added to TI, TC before a target needs them; a waiting lane adds 0. (a_i, a_c go
            # through ai, ac on the stack: written straight into hA in the cell loop, 6b ran
            # 1-11% slower in 3 of 3 A/B pairs, both cores busy)
            _record_tick(hA, hP, hL, hF, hS, hI_bits, nh, ai, ac, af, decay, P, xv, xi_bits, z,
                         forget_gates, dense)
            nh += 1
            if nh == HISTORY or any_lane(target):
                _add_history(TI, TC, TF, hA, hP, hL, hF, hS, hI, nh, C, nnz, n_in, dense, forget_gates)
                nh = 0
            _next_sources(z_new, y_c, y, B, input_gates, output_gates, forget_gates)

            if any_lane(target):
                # output units and error (eqs. 16, 19); deltas and weight changes (eqs. 21-28)
                _outputs_and_error(W_k, net_k, y_k, net_kf, y_kf, e_k, tg, has, sums, y_c, xv, xk, xi,
                                   shortcuts, dense, exact)
                _output_deltas(W_k, dW_k, e_k, back, y_c, xv, xk, shortcuts, dense)
                _gate_deltas(dW_h, y, hs, dhs, back, e_out, e_s, xv, z, xi, n_in, S, output_gates, dense)
                _trace_deltas(dW_h, TI, TC, TF, e_s, P, has, n_in, B, S, forget_gates)
                if step_update:                     # eq. 17 after each target step
                    _step_update(W_h, W_k, M_h, M_k, dW_h, dW_k, lr, has, fine, xk, C, shortcuts, dense,
                                 stats, first, q, bad, active, begin, T)

            for r in range(nr):                     # z(t) becomes z(t-1); frozen in a waiting lane
                put(z, r, where(running, get(z_new, r), get(z, r)))

        # the round's end: every active lane ends its sequence here
        _end_sequences(sums, stats, first, q, bad, active, done)
        if not step_update:                         # eq. 17 after each sequence
            _apply(W_h, M_h, dW_h, lr, done, fine)
            _apply(W_k, M_k, dW_k, lr, done, fine)
        _next_sequences(q, bad, active, done, fine, ends)


# --------------------------------------------------------------------------- Python side
KEYS = ("W_in", "W_out", "W_c", "W_k")


def check_batches(batches):
    """ValueError unless the batches of one lane call share their inputs per step (nnz) and hold
    no empty sequence."""
    nnz = batches[0].x_idx.shape[1]
    for b in batches:
        if b.x_idx.shape[1] != nnz:
            raise ValueError(f"the batches of one call must have the same nnz, got {b.x_idx.shape[1]} and {nnz}")
        if len(b) and np.any(b.lengths == 0):
            raise ValueError("empty sequences are not supported")


def _topology(net):
    return (net.n_in, net.n_out, net.B, net.S, net.g, net.h, net.input_gates, net.output_gates,
            net.forget_gates, net.shortcuts, tuple(net.initial_z()))


def group_key(net):
    """LSTM nets with the same key can share a lane call (with one learning rate, update and
    inputs per step): their topology and masks."""
    return (_topology(net),) + tuple(net.masks[k].tobytes() for k in KEYS)


def check_call(nets, batches, supports, key, refusal):
    """The nets and batches of a lane kernel's call as lists, after the checks every kernel
    makes: one batch per net, nets that ``supports`` accepts (else ValueError(refusal)) with
    one ``key``, batches of one nnz without empty sequences (``check_batches``)."""
    nets, batches = list(nets), list(batches)
    if not nets or len(nets) != len(batches):
        raise ValueError(f"need one batch per net, got {len(nets)} nets and {len(batches)} batches")
    if not supports(nets[0]):
        raise ValueError(refusal)
    first = key(nets[0])
    if any(key(net) != first for net in nets[1:]):
        raise ValueError("the nets of one call must share their sizes and masks")
    check_batches(batches)
    return nets, batches


def train_batches(nets, batches, lr, update="sequence", exp="poly"):
    """Train nets[l] on batches[l] online (eq. 17), all in lockstep; one lane per net.

    The nets must share their topology (sizes, masks, g/h, output gates, shortcuts, reset),
    the batches their input layout (nnz). Each net's weights are updated in place, as
    ``engine.train_batch`` does. Returns [(stats (n_l, 4), diverged)] per net, each as
    ``engine.train_batch`` returns it for that net and batch. The kernel runs LANES nets at
    a time; the last group is padded with idle lanes, which cost as much as busy ones (so
    pass a multiple of LANES nets where possible).
    """
    check_update(update)
    check_exp(exp)
    nets, batches = list(nets), list(batches)
    if not nets or len(nets) != len(batches):
        raise ValueError(f"need one batch per net, got {len(nets)} nets and {len(batches)} batches")
    for net in nets[1:]:
        if _topology(net) != _topology(nets[0]):
            raise ValueError("the nets of one call must share their topology "
                             "(sizes, g, h, gates, shortcuts, reset)")
        for k in nets[0].masks:
            if not np.array_equal(net.masks[k], nets[0].masks[k]):
                raise ValueError(f"the nets of one call must share their masks ({k} differs)")
    check_batches(batches)
    out = []
    for g in range(0, len(nets), LANES):
        out += _train_group(nets[g:g + LANES], batches[g:g + LANES], lr, update, exp)
    return out


def _hidden(args):
    """W_h's rows, as the lanes keep them: input gates, output gates, cells, forget gates."""
    return args.W_in, args.W_out, args.W_c, args.W_f


def _train_group(nets, batches, lr, update, exp):
    """train_batches for at most LANES nets: one kernel call, idle lanes after the nets."""
    a, W_h, W_k, M_h, M_k = _stack(nets, batches)
    x_idx, x_val, targets, starts, t_idx, onehot, first = _lane_arrays(batches)
    stats = new_stats(first[-1])
    bad = np.full(LANES, -1, np.int64)
    if first[-1]:
        _kernel(W_h, W_k, M_h, M_k, nets[0].B, a.S, a.n_in, a.ga, a.gb, a.ha, a.hb, a.h_identity, a.z0,
                a.input_gates, a.output_gates, a.forget_gates, a.shortcuts, float(lr), update == "step", exp == "libm",
                x_idx, x_val, targets, starts, first, stats, bad,
                all(b.targets_at_ends for b in batches), all(b.unit_inputs for b in batches), t_idx, onehot)
    _unstack(nets, W_h, W_k)
    return [(stats[first[l]:first[l + 1]], int(bad[l])) for l in range(len(nets))]


def _lane_arrays(batches):
    """What the lane kernels read of the batches of at most LANES nets, one per lane and the
    idle lanes after them given no sequences: x_idx, x_val, targets, starts, t_idx, each a tuple
    of LANES contiguous arrays (t_idx the units of the one-hot targets if every batch has them,
    ``onehot``); and first, the row of the statistics at which each lane's rows begin."""
    lane = batches + [batches[0].take([])] * (LANES - len(batches))
    onehot = all(b.target_idx is not None for b in batches)
    sizes = [len(b) for b in lane]
    first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    arrays = lambda name, dtype: tuple(np.ascontiguousarray(getattr(b, name), dtype) for b in lane)  # noqa: E731
    t_idx = tuple(np.ascontiguousarray(b.target_idx if onehot else np.zeros(0), np.int64) for b in lane)
    return (arrays("x_idx", np.int64), arrays("x_val", np.float64), arrays("targets", np.float64),
            arrays("starts", np.int64), t_idx, onehot, first)


def _stack(nets, batches):
    """The weights of at most LANES nets as the lane kernels keep them, lane l in [..., l]:
    W_h (rows: input gates, output gates, cells, forget gates) and W_k, zero in the idle lanes
    after the nets; and what the nets share: (engine.net_args of nets[0], W_h, W_k, M_h, M_k)."""
    args = [engine.net_args(net, b) for net, b in zip(nets, batches)]
    a = args[0]                                  # what the nets share: masks, sizes, squashing, gates
    W_h = np.zeros((sum(len(w) for w in _hidden(a)), a.W_in.shape[1], LANES))
    W_k = np.zeros(a.W_k.shape + (LANES,))
    for l, a_l in enumerate(args):
        W_h[..., l] = np.concatenate(_hidden(a_l))
        W_k[..., l] = a_l.W_k
    M_h = np.ascontiguousarray(np.concatenate((a.M_in, a.M_out, a.M_c, a.M_f)))
    return a, W_h, W_k, M_h, a.M_k


def _unstack(nets, W_h, W_k):
    """Each net's weights from its lane of W_h and W_k (``_stack``), in place."""
    B, C = nets[0].B, nets[0].C
    for l, net in enumerate(nets):
        W = net.weights
        W["W_in"][...] = W_h[:B, :, l]
        W["W_out"][...] = W_h[B:2 * B, :, l]
        W["W_c"][...] = W_h[2 * B:2 * B + C, :, l]
        W["W_k"][...] = W_k[..., l]
        if net.forget_gates:
            W["W_forget"][...] = W_h[2 * B + C:, :, l]
