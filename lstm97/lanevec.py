"""Lane vectors for Numba: one float64 per lane, LANES lanes, as one SIMD value.

``lanes.py`` keeps every per-lane quantity in a C-contiguous array whose last axis has
LANES entries (W_h[u, m, lane], s[c, lane], ...). This module lets the kernel load such a
row as one value, compute with it, and store it:

    net = get(W_h, u, bias)                      # W_h[u, bias, :]
    net = net + get(W_h, u, n_in + r) * get(z, r)
    put(y, u, net)                               # y[u, :] = net

A lane vector is an LLVM ``<LANES x double>``; +, -, * (with another lane vector or a
scalar, which stands for LANES copies of itself) are the IEEE operations of each lane, so
every lane computes exactly what the same scalar expression computes (no fused multiply-add,
no reassociation). With AVX-512, 16 lanes are 2 registers and each operation 2 instructions
(LLVM splits the vector; on AVX2 into 4), which also gives independent chains to hide latencies.

Why not loops over lanes: a loop ``for l in range(LANES)`` with a constant trip count is
unrolled by LLVM before its loop vectoriser runs, and Numba leaves the SLP vectoriser off,
so such a loop compiles to scalar code; with a run-time trip count it vectorises, but every
short loop pays trip-count checks and a remainder (measured: 1.3-2.1x instead of 4x).

LANES = 16. Measured (bench.py's nets, A/B in one process): 32 was 10-13% faster
than 16 on adding and 6b and equal on 2c p=1000; 8 was 16% slower than 16, 64 3-4% faster than
32 on adding/6b but 13% slower on 2c (its 6,064 weights x 64 lanes leave L2). With the trace
history (docs/performance.md): 32 against 16, adding 5-7% faster, 6b 6-8%
slower, 2c equal, the 2a/2b net with per-step updates 1.3-1.6x slower. 16 it is all the
same: an idle lane costs as much as a busy one, and the paper's rows have 10-30 trials (60
for the Exp 1 study), so on 2 cores a row fills two groups of 16 far better than one of 32,
and a trial still running after the others of its group have ended pays for 16 lanes, not 32.
Another width is a setting of the environment (LSTM97_LANES, :func:`width_from`), for runs
whose trials all go to their budget: 8 lanes halve the time until a group's records are
written (on the 2a/2b net 8 lanes measured as fast as 16 per sequence, faster per step:
docs/performance.md). The runner sets 8 for the worker processes it starts where each
trains 8 trials or fewer (runner._kernel_width): a pass of 8 lanes costs 0.53-0.61 of a pass
of 16.

Indices are not checked (as Numba's own indexing) and not wrapped (they are never negative
here). The array's last axis must have LANES entries; :func:`get`/:func:`put` take one index
fewer than the array has axes.
"""
import operator
import os

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.typing.templates import AbstractTemplate, infer_global, signature
from numba.extending import intrinsic, lower_builtin, models, overload, register_model

WIDTHS = (8, 16, 32)
DEFAULT_WIDTH = 16


def width_from(environ):
    """The lanes per kernel call: ``LSTM97_LANES`` (8, 16 or 32), else 16. Every lane's record
    is the same at every width (a lane computes only its own net, tests/test_lanes.py); the
    width sets how many trials a process trains at once, and so how long a group of trials
    that all run to their budget takes: about 2 hours of one core for 8 failing 2a+step
    trials, 4 for 16. Widths other than 16 are compiled afresh in each process, since
    Numba's cache does not know this setting (lanes.CACHE)."""
    return width(environ.get("LSTM97_LANES", str(DEFAULT_WIDTH)))


def width(text, name="LSTM97_LANES"):
    """A lane width given as text, by the variable LSTM97_LANES or the option ``--lanes`` of
    ``python -m lstm97 run``: one of WIDTHS, else ValueError naming ``name``."""
    if text not in [str(w) for w in WIDTHS]:
        raise ValueError(f"{name} must be one of {', '.join(map(str, WIDTHS))}, got {text!r}")
    return int(text)


LANES = width_from(os.environ)  # lanes per kernel call; 16 float64 = 2 AVX-512 registers

_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_F64, LANES)
_I1V = ir.VectorType(ir.IntType(1), LANES)
_I64V = ir.VectorType(_I64, LANES)


class LaneVector(types.Type):
    """Numba type of a lane vector: LANES float64 values, one per lane."""

    def __init__(self):
        super().__init__(name=f"LaneVector({LANES})")


lanevector = LaneVector()


@register_model(LaneVector)
class _LaneVectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _splat(builder, x):
    """LANES copies of the scalar x (a double or an int)."""
    v = ir.Constant(ir.VectorType(x.type, LANES), ir.Undefined)
    v = builder.insert_element(v, x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


def _as_vector(context, builder, ty, val):
    """A lane vector, or a scalar made into LANES copies of itself (as float64)."""
    if ty == lanevector:
        return val
    return _splat(builder, context.cast(builder, val, ty, types.float64))


def _is_operand(ty):
    return ty == lanevector or isinstance(ty, (types.Float, types.Integer))


# --------------------------------------------------------------------------- arithmetic
_OPS = {operator.add: "fadd", operator.sub: "fsub", operator.mul: "fmul", operator.truediv: "fdiv",
        operator.iadd: "fadd", operator.isub: "fsub", operator.imul: "fmul"}


def _register(op, instr):
    @infer_global(op)
    class _Typer(AbstractTemplate):
        key = op

        def generic(self, args, kws):
            if len(args) == 2 and lanevector in args and all(map(_is_operand, args)):
                return signature(lanevector, *args)

    def lower(context, builder, sig, args):
        a, b = (_as_vector(context, builder, t, v) for t, v in zip(sig.args, args))
        return getattr(builder, instr)(a, b)

    for tys in ((lanevector, lanevector), (lanevector, types.Number), (types.Number, lanevector)):
        lower_builtin(op, *tys)(lower)


for _op, _instr in _OPS.items():
    _register(_op, _instr)


@intrinsic
def where(typingctx, mask, a, b):
    """Per lane: a where mask != 0, else b (mask a lane vector of 1.0 and 0.0); a, b lane
    vectors or scalars."""
    if mask != lanevector or not (_is_operand(a) and _is_operand(b)):
        return None

    def codegen(context, builder, sig, args):
        m, x, y = (_as_vector(context, builder, t, v) for t, v in zip(sig.args, args))
        return builder.select(builder.fcmp_unordered("!=", m, ir.Constant(_VEC, 0.0)), x, y)
    return lanevector(mask, a, b), codegen


@intrinsic
def splat(typingctx, x):
    """A lane vector with x in every lane."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return _as_vector(context, builder, sig.args[0], args[0])
    return lanevector(x), codegen


# --------------------------------------------------------------------------- memory
def _lane_row(builder, context, aryty, ary, inds):
    """Pointer to ary[inds..., 0] of a C-contiguous array whose last axis has LANES entries."""
    arr = context.make_array(aryty)(context, builder, ary)
    shape = cgutils.unpack_tuple(builder, arr.shape, aryty.ndim)
    loc = ir.Constant(_I64, 0)
    for ind, n in zip(inds, shape):
        loc = builder.add(builder.mul(loc, n), ind)
    loc = builder.mul(loc, ir.Constant(_I64, LANES))
    return builder.gep(arr.data, [loc])


def _indices(context, builder, idxty, idx):
    return [context.cast(builder, v, t, types.intp)
            for v, t in zip(cgutils.unpack_tuple(builder, idx, len(idxty)), idxty)]


def _lane_array(a, idx):
    return (isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C"
            and isinstance(idx, types.BaseTuple) and len(idx) == a.ndim - 1
            and all(isinstance(t, types.Integer) for t in idx))


@intrinsic
def _get(typingctx, a, idx):
    if not _lane_array(a, idx):
        return None

    def codegen(context, builder, sig, args):
        ptr = _lane_row(builder, context, sig.args[0], args[0], _indices(context, builder, sig.args[1], args[1]))
        return builder.load(builder.bitcast(ptr, _VEC.as_pointer()), align=8)
    return lanevector(a, idx), codegen


@intrinsic
def _put(typingctx, a, args):
    """a[args[:-1]..., :] = args[-1]."""
    if not (isinstance(args, types.BaseTuple) and len(args) and args[-1] == lanevector
            and _lane_array(a, types.Tuple(tuple(args)[:-1]))):
        return None

    def codegen(context, builder, sig, cargs):
        n = len(sig.args[1])
        vals = cgutils.unpack_tuple(builder, cargs[1], n)
        inds = [context.cast(builder, v, t, types.intp) for v, t in zip(vals[:-1], tuple(sig.args[1])[:-1])]
        ptr = _lane_row(builder, context, sig.args[0], cargs[0], inds)
        builder.store(vals[-1], builder.bitcast(ptr, _VEC.as_pointer()), align=8)
        return context.get_dummy_value()
    return types.none(a, args), codegen


@intrinsic
def _add(typingctx, a, args):
    """a[args[:-1]..., :] += args[-1]."""
    if not (isinstance(args, types.BaseTuple) and len(args) and args[-1] == lanevector
            and _lane_array(a, types.Tuple(tuple(args)[:-1]))):
        return None

    def codegen(context, builder, sig, cargs):
        n = len(sig.args[1])
        vals = cgutils.unpack_tuple(builder, cargs[1], n)
        inds = [context.cast(builder, v, t, types.intp) for v, t in zip(vals[:-1], tuple(sig.args[1])[:-1])]
        ptr = builder.bitcast(_lane_row(builder, context, sig.args[0], cargs[0], inds), _VEC.as_pointer())
        builder.store(builder.fadd(builder.load(ptr, align=8), vals[-1]), ptr, align=8)
        return context.get_dummy_value()
    return types.none(a, args), codegen


def get(a, *idx):
    """a[idx..., :] as a lane vector."""
    raise NotImplementedError("only inside Numba-compiled code")


def put(a, *args):
    """a[idx..., :] = v; called as put(a, idx..., v)."""
    raise NotImplementedError("only inside Numba-compiled code")


def add_to(a, *args):
    """a[idx..., :] += v; called as add_to(a, idx..., v)."""
    raise NotImplementedError("only inside Numba-compiled code")


@overload(get)
def _ol_get(a, *idx):
    return lambda a, *idx: _get(a, idx)


@overload(put)
def _ol_put(a, *args):
    return lambda a, *args: _put(a, args)


def _column_args(a, i, cols, m):
    return (isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C" and a.ndim == 3
            and isinstance(cols, types.Array) and cols.dtype == types.int64 and cols.layout == "C"
            and cols.ndim == 2 and isinstance(i, types.Integer) and isinstance(m, types.Integer))


def _column_pointers(builder, context, aty, a, i, colty, cols, m):
    """<LANES x ptr> to a[i, cols[m, l], l] for every lane l."""
    arr = context.make_array(aty)(context, builder, a)
    n1 = cgutils.unpack_tuple(builder, arr.shape, 3)[1]
    carr = context.make_array(colty)(context, builder, cols)
    crow = builder.gep(carr.data, [builder.mul(m, ir.Constant(_I64, LANES))])
    col = builder.load(builder.bitcast(crow, _I64V.as_pointer()), align=8)
    loc = builder.add(_splat(builder, builder.mul(i, n1)), col)
    loc = builder.add(builder.mul(loc, ir.Constant(_I64V, LANES)), ir.Constant(_I64V, list(range(LANES))))
    at = builder.add(_splat(builder, builder.ptrtoint(arr.data, _I64)), builder.mul(loc, ir.Constant(_I64V, 8)))
    return builder.inttoptr(at, ir.VectorType(_F64.as_pointer(), LANES))


# gather and scatter_add load and store lane by lane, not with the hardware's gather and
# scatter: on this Zen 4 those were slower (A/B: 2c p=1000 39.7-43.0 against
# 41.6-46.0 ns per trial-step on a quiet core; the 2a/2b net with its 101 shortcut columns
# 1.30-1.33e6 against 1.11-1.16e6 trial-steps/s with per-step updates, both cores busy).
# The values are the same either way.
@intrinsic
def gather(typingctx, a, i, cols, m):
    """The lane vector a[i, cols[m, l], l]: each lane reads its own column (a sparse input)."""
    if not _column_args(a, i, cols, m):
        return None

    def codegen(context, builder, sig, args):
        i_, m_ = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 3))
        ptrs = _column_pointers(builder, context, sig.args[0], args[0], i_, sig.args[2], args[2], m_)
        v = ir.Constant(_VEC, ir.Undefined)
        for l in range(LANES):
            at = ir.Constant(ir.IntType(32), l)
            v = builder.insert_element(v, builder.load(builder.extract_element(ptrs, at), align=8), at)
        return v
    return lanevector(a, i, cols, m), codegen


@intrinsic
def scatter_add(typingctx, a, i, cols, m, v):
    """a[i, cols[m, l], l] += v[l] for every lane l: each lane adds to its own column."""
    if not _column_args(a, i, cols, m) or v != lanevector:
        return None

    def codegen(context, builder, sig, args):
        i_, m_ = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 3))
        ptrs = _column_pointers(builder, context, sig.args[0], args[0], i_, sig.args[2], args[2], m_)
        for l in range(LANES):
            at = ir.Constant(ir.IntType(32), l)
            ptr = builder.extract_element(ptrs, at)
            builder.store(builder.fadd(builder.load(ptr, align=8), builder.extract_element(args[4], at)), ptr, align=8)
        return context.get_dummy_value()
    return types.none(a, i, cols, m, v), codegen


@overload(add_to)
def _ol_add_to(a, *args):
    return lambda a, *args: _add(a, args)


# --------------------------------------------------------------------------- masks and batch reads


def _mask(builder, v):
    return builder.fcmp_unordered("!=", v, ir.Constant(_VEC, 0.0))


def _from_mask(builder, bits):
    return builder.select(bits, ir.Constant(_VEC, 1.0), ir.Constant(_VEC, 0.0))


def _int_lanes(builder, context, aryty, ary):
    """A 1-D int64 array of LANES entries as one <LANES x i64> value."""
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.load(builder.bitcast(data, _I64V.as_pointer()), align=8)


def _int_row(a):
    return isinstance(a, types.Array) and a.dtype == types.int64 and a.ndim == 1 and a.layout == "C"


@intrinsic
def is_number(typingctx, v):
    """1.0 in the lanes where v is not NaN, else 0.0."""
    if v != lanevector:
        return None

    def codegen(context, builder, sig, args):
        return _from_mask(builder, builder.fcmp_ordered("==", args[0], args[0]))
    return lanevector(v), codegen


@intrinsic
def above(typingctx, a, b):
    """1.0 in the lanes where a > b (false where either is NaN, as the scalar a > b), else 0.0."""
    if a != lanevector or b != lanevector:
        return None

    def codegen(context, builder, sig, args):
        return _from_mask(builder, builder.fcmp_ordered(">", args[0], args[1]))
    return lanevector(a, b), codegen


@intrinsic
def magnitude(typingctx, v):
    """|v| in every lane (abs)."""
    if v != lanevector:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VEC, [_VEC]), f"llvm.fabs.v{LANES}f64")
        return builder.call(fn, [args[0]])
    return lanevector(v), codegen


@intrinsic
def any_lane(typingctx, mask):
    """True if some lane of mask is not 0.0."""
    if mask != lanevector:
        return None

    def codegen(context, builder, sig, args):
        bits = builder.bitcast(_mask(builder, args[0]), ir.IntType(LANES))
        return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(LANES), 0))
    return types.boolean(mask), codegen


def _compare_row(op, row, k):
    """started and equals: 1.0 in the lanes l with row[l] <op> k, else 0.0 (row: int64 array of
    LANES, k an integer; op an LLVM signed comparison)."""
    if not (_int_row(row) and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        r = _int_lanes(builder, context, sig.args[0], args[0])
        v = _splat(builder, context.cast(builder, args[1], sig.args[1], types.int64))
        return _from_mask(builder, builder.icmp_signed(op, r, v))
    return lanevector(row, k), codegen


@intrinsic
def started(typingctx, begin, tau):
    """1.0 in the lanes l with begin[l] <= tau, else 0.0 (begin: int64 array of LANES)."""
    return _compare_row("<=", begin, tau)


@intrinsic
def equals(typingctx, row, k):
    """1.0 in the lanes l with row[l] == k, else 0.0 (row: int64 array of LANES)."""
    return _compare_row("==", row, k)


def _gather_steps(context, builder, sig, args, elem):
    """Masked gather of elem at addr[l] + ((step0[l] + tau) * width + col) * 8 in the lanes
    where mask != 0: the value at column col of step step0[l] + tau of lane l's own array."""
    addr, step0 = (_int_lanes(builder, context, sig.args[k], args[k]) for k in (0, 1))
    tau, width, col = (_splat(builder, context.cast(builder, args[k], sig.args[k], types.int64)) for k in (2, 3, 4))
    row = builder.add(step0, tau)
    off = builder.add(builder.mul(row, width), col)
    ptrs = builder.inttoptr(builder.add(addr, builder.mul(off, ir.Constant(_I64V, 8))),
                            ir.VectorType(elem.as_pointer(), LANES))
    vecty = ir.VectorType(elem, LANES)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vecty, [ptrs.type, ir.IntType(32), _I1V, vecty]),
        f"llvm.masked.gather.v{LANES}{'f64' if elem == _F64 else 'i64'}.v{LANES}p0")
    return fn, ptrs


def _step_args(addr, step0, tau, width, col, mask):
    return (_int_row(addr) and _int_row(step0) and mask == lanevector
            and all(isinstance(t, types.Integer) for t in (tau, width, col)))


@intrinsic
def read_steps(typingctx, addr, step0, tau, width, col, mask, fill):
    """Each lane's value of a (steps, width) float64 array of its own, at (step0[l] + tau, col):
    addr[l] is the address of lane l's array (arr.ctypes.data). Lanes where mask is 0.0 read
    nothing and get fill."""
    if not (_step_args(addr, step0, tau, width, col, mask) and isinstance(fill, types.Float)):
        return None

    def codegen(context, builder, sig, args):
        fn, ptrs = _gather_steps(context, builder, sig, args, _F64)
        other = _splat(builder, context.cast(builder, args[6], sig.args[6], types.float64))
        return builder.call(fn, [ptrs, ir.Constant(ir.IntType(32), 8), _mask(builder, args[5]), other])
    return lanevector(addr, step0, tau, width, col, mask, fill), codegen


@intrinsic
def read_columns(typingctx, dst, m, addr, step0, tau, width, col, mask):
    """dst[m, l] = each lane's int64 at (step0[l] + tau, col) of its own (steps, width) array
    (as read_steps); 0 in the lanes where mask is 0.0. dst: (rows, LANES) int64 array."""
    if not (isinstance(dst, types.Array) and dst.dtype == types.int64 and dst.ndim == 2
            and dst.layout == "C" and isinstance(m, types.Integer)
            and _step_args(addr, step0, tau, width, col, mask)):
        return None

    def codegen(context, builder, sig, args):
        fn, ptrs = _gather_steps(context, builder, sig.replace(args=sig.args[2:]), args[2:], _I64)
        v = builder.call(fn, [ptrs, ir.Constant(ir.IntType(32), 8), _mask(builder, args[7]),
                              ir.Constant(_I64V, [0] * LANES)])
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        row = builder.mul(context.cast(builder, args[1], sig.args[1], types.intp), ir.Constant(_I64, LANES))
        builder.store(v, builder.bitcast(builder.gep(data, [row]), _I64V.as_pointer()), align=8)
        return context.get_dummy_value()
    return types.none(dst, m, addr, step0, tau, width, col, mask), codegen


@intrinsic
def prefetch_steps(typingctx, addr, step0, tau, width):
    """Ask the cache for each lane's row step0[l] + tau of its own (steps, width) array (see
    read_steps). The lanes read 16 streams or more at once, more than the hardware
    prefetcher follows; a prefetch never faults, so lanes outside their arrays need no mask."""
    if not (_int_row(addr) and _int_row(step0) and isinstance(tau, types.Integer)
            and isinstance(width, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        a, s0 = (_int_lanes(builder, context, sig.args[k], args[k]) for k in (0, 1))
        tau_, width_ = (_splat(builder, context.cast(builder, args[k], sig.args[k], types.int64)) for k in (2, 3))
        off = builder.mul(builder.mul(builder.add(s0, tau_), width_), ir.Constant(_I64V, 8))
        at = builder.add(a, off)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        for l in range(LANES):
            p = builder.inttoptr(builder.extract_element(at, ir.Constant(i32, l)), i8p)
            builder.call(fn, [p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.none(addr, step0, tau, width), codegen
