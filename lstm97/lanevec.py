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
no reassociation). With AVX-512, 16 lanes are 2 registers and each operation 2 instructions.

Why not loops over lanes: a loop ``for l in range(LANES)`` with a constant trip count is
unrolled by LLVM before its loop vectoriser runs, and Numba leaves the SLP vectoriser off,
so such a loop compiles to scalar code; with a run-time trip count it vectorises, but every
short loop pays trip-count checks and a remainder (issue 17: 1.3-2.1x instead of 4x).

Indices are not checked (as Numba's own indexing) and not wrapped (they are never negative
here). The array's last axis must have LANES entries; :func:`get`/:func:`put` take one index
fewer than the array has axes.
"""
import operator

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.typing.templates import AbstractTemplate, infer_global, signature
from numba.extending import intrinsic, lower_builtin, models, overload, register_model

LANES = 16                      # lanes per kernel call; 16 float64 = 2 AVX-512 registers

_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_F64, LANES)


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
    v = ir.Constant(_VEC, ir.Undefined)
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
_OPS = {operator.add: "fadd", operator.sub: "fsub", operator.mul: "fmul",
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


def _lane_columns(builder, context, aty, a, i, colty, cols, m):
    """Pointers to a[i, cols[m, l], l] for every lane l (a 3-D, cols a 2-D int64 array)."""
    arr = context.make_array(aty)(context, builder, a)
    n1 = cgutils.unpack_tuple(builder, arr.shape, 3)[1]
    carr = context.make_array(colty)(context, builder, cols)
    crow = builder.gep(carr.data, [builder.mul(m, ir.Constant(_I64, LANES))])
    base = builder.mul(i, n1)
    ptrs = []
    for l in range(LANES):
        col = builder.load(builder.gep(crow, [ir.Constant(_I64, l)]))
        loc = builder.add(builder.mul(builder.add(base, col), ir.Constant(_I64, LANES)), ir.Constant(_I64, l))
        ptrs.append(builder.gep(arr.data, [loc]))
    return ptrs


def _column_args(a, i, cols, m):
    return (isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C" and a.ndim == 3
            and isinstance(cols, types.Array) and cols.dtype == types.int64 and cols.layout == "C"
            and cols.ndim == 2 and isinstance(i, types.Integer) and isinstance(m, types.Integer))


@intrinsic
def gather(typingctx, a, i, cols, m):
    """The lane vector a[i, cols[m, l], l]: each lane reads its own column (a sparse input)."""
    if not _column_args(a, i, cols, m):
        return None

    def codegen(context, builder, sig, args):
        i_, m_ = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 3))
        ptrs = _lane_columns(builder, context, sig.args[0], args[0], i_, sig.args[2], args[2], m_)
        v = ir.Constant(_VEC, ir.Undefined)
        for l, p in enumerate(ptrs):
            v = builder.insert_element(v, builder.load(p), ir.Constant(ir.IntType(32), l))
        return v
    return lanevector(a, i, cols, m), codegen


@intrinsic
def scatter_add(typingctx, a, i, cols, m, v):
    """a[i, cols[m, l], l] += v[l] for every lane l: each lane adds to its own column."""
    if not _column_args(a, i, cols, m) or v != lanevector:
        return None

    def codegen(context, builder, sig, args):
        i_, m_ = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 3))
        ptrs = _lane_columns(builder, context, sig.args[0], args[0], i_, sig.args[2], args[2], m_)
        for l, p in enumerate(ptrs):
            x = builder.extract_element(args[4], ir.Constant(ir.IntType(32), l))
            builder.store(builder.fadd(builder.load(p), x), p)
        return context.get_dummy_value()
    return types.none(a, i, cols, m, v), codegen


@overload(add_to)
def _ol_add_to(a, *args):
    return lambda a, *args: _add(a, args)
