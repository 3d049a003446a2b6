"""exp_poly: an exp that vectorises, shared by the lane engine (``lanes.py``), the
single-trial engine's ``exp="poly"`` (``engine.py``) and the competitors' readout (``rnn.py``);
a learner's ``exp`` option picks it or libm's exp (``online.EXPS``).

Numba's ``math.exp`` is a libm call (no SVML here), which LLVM cannot vectorise. ``_exp_poly``
is branch-free scalar code: Cody-Waite range reduction, a degree-13 Taylor polynomial with
fused multiply-adds, 2**k written into the exponent bits; at most 1 ulp from libm
(tests/test_lanes.py). The lane engine applies the same operations to lane vectors
(``lanes.sigma_lanes``, tested bit for bit), so a trial trained with ``engine.train_batch(...,
exp="poly")`` is the trial the lane engine trains, bit for bit (tests/test_lanes.py).
"""
import math

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .sources import clear_stale_kernels

clear_stale_kernels()       # before any cached kernel of the package is defined or loaded


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


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma; the CPU's fused multiply-add)."""
    def codegen(context, builder, sig, args):
        return builder.fma(*args)
    return types.float64(types.float64, types.float64, types.float64), codegen


LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01       # ln 2 in 2 parts: LN2_HI has 32 trailing zero bits,
LN2_LO = 1.90821492927058770002e-10       # so k * LN2_HI is exact for |k| < 2**21
ROUND = 6755399441055744.0                # 1.5 * 2**52: x + ROUND - ROUND rounds x to an integer
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(13, -1, -1))   # 1/13!, ..., 1/1!, 1/0!
EXP_LO, EXP_HI = -708.0, 709.0            # outside: 0 and inf (math.exp: < 2.3e-308, > 8.2e307)


@njit(inline="always", error_model="numpy")
def _exp_poly(x):
    """e**x = 2**k e**r with x = k ln2 + r, |r| <= ln2/2; e**r by its Taylor series to r**13/13!
    (truncation < 5e-18), 2**k by writing k + 1023 into the exponent bits. Branch-free, so
    a loop over lanes vectorises. Below EXP_LO it returns 0, above EXP_HI inf; NaN stays NaN."""
    xc = EXP_LO if x < EXP_LO else x
    xc = EXP_HI if xc > EXP_HI else xc
    big = xc * LOG2E + ROUND              # its low mantissa bits hold k (in two's complement)
    k = big - ROUND
    r = _fma(-k, LN2_LO, _fma(-k, LN2_HI, xc))
    p = TAYLOR[0]
    for a in TAYLOR[1:]:
        p = _fma(p, r, a)
    y = p * _as_float((_as_bits(big) + 1023) << 52)
    y = 0.0 if x < EXP_LO else y
    return math.inf if x > EXP_HI else y


@njit(inline="always", error_model="numpy")
def sigma_array(x, y, n, exact):
    """y[i] = σ(x[i]) = 1/(1+exp(-x[i])) (eq. 3) for i < n, with math.exp if exact, else
    _exp_poly: the engines' σ of a layer's net inputs, in one loop that vectorises with
    exp_poly. Two loops, not one with the test inside: LLVM would compute both exps and
    select (math.exp has no side effects), calling libm's exp in every element."""
    if exact:
        for i in range(n):
            y[i] = 1.0 / (1.0 + math.exp(-x[i]))
    else:
        for i in range(n):
            y[i] = 1.0 / (1.0 + _exp_poly(-x[i]))


@njit(cache=True, error_model="numpy")
def exp_poly(x):
    """:func:`_exp_poly` as a function of its own (tests, bench). The kernel inlines
    ``_exp_poly`` instead: a call to a cached function cannot be inlined, and a loop with a
    call in it does not vectorise."""
    return _exp_poly(x)
