"""What every online learner shares: a sequence's statistics, σ, the update of eq. 17 and the
checks of a learner's options.

The learners (engine.py, lanes.py, fullgrad.py, rtrl.py, bptt.py, elman.py) run the sequences of
a batch one after another. At each step with a target they measure E(t) = Σ_k (d_k - y_k)^2
(eq. 16 of docs/paper.md) and add the step's weight changes to dW; the update (eq. 17,
Δw = α (-1/2 ∂E/∂w)) applies them, W += α M dW with M the mask, after each sequence
(update="sequence") or after each target step ("step"). Every learner returns the same
statistics, one row per sequence, with the columns

    SSE      E(t) summed over the sequence's target steps
    ABS_ALL  max_k |d_k - y_k| over its target steps
    ABS_END  max_k |d_k - y_k| at its last target step
    ERR_END  E(t) at its last target step

and stops at the first sequence whose E or weights became NaN or inf. The lane engine keeps
these columns on lane vectors and applies eq. 17 lane by lane (lanes.py).

The compiled helpers are inlined into, or called from, the learners' kernels; each does its
floating-point operations in the order the kernels did them, so the learners' bits are those
of their own loops.
"""
import math

import numpy as np
from numba import njit

from .sources import clear_stale_kernels

clear_stale_kernels()       # before any cached kernel of the package is defined or loaded


UPDATES = ("sequence", "step")  # eq. 17 after each sequence or after each target step (docs/paper.md §6.3)
EXPS = ("libm", "poly")   # libm's exp (the records' bits for the single-trial learners), or fastexp's exp_poly


def check_update(update):
    """ValueError unless ``update`` is one of the paper's two update timings (docs/paper.md §6.3)."""
    if update not in UPDATES:
        raise ValueError(f"unknown update {update!r}; expected 'sequence' or 'step'")


def check_exp(exp):
    """Raise a ValueError that names the choices unless ``exp`` is one of ``EXPS``."""
    if exp not in EXPS:
        raise ValueError(f"unknown exp {exp!r}; expected one of {', '.join(EXPS)}")


# ----------------------------------------------------------------------- a sequence's statistics
SSE, ABS_ALL, ABS_END, ERR_END = range(4)
NO_ERROR = (0.0, 0.0, 0.0, 0.0)     # (SSE, ABS_ALL, ABS_END, ERR_END) of a sequence before its first target


def new_stats(n):
    """The statistics of n sequences, zero: one row each, the columns SSE, ABS_ALL, ABS_END, ERR_END."""
    return np.zeros((n, 4))


@njit(inline="always", error_model="numpy")
def add_error(err, E, mx):
    """A sequence's statistics ``err`` (as NO_ERROR) after a target step with E(t) = E (eq. 16)
    and max_k |d_k - y_k| = mx: E added to SSE, ABS_ALL := max(ABS_ALL, mx), mx and E the last
    target step's."""
    sse, abs_all, _, _ = err
    return sse + E, max(abs_all, mx), mx, E


@njit(cache=True, error_model="numpy")
def store(stats, q, sse, abs_all, abs_end, err_end):
    """Sequence q's statistics (the columns SSE, ABS_ALL, ABS_END, ERR_END); False if its summed
    error is NaN or inf (the learners then stop at q)."""
    stats[q, SSE] = sse
    stats[q, ABS_ALL] = abs_all
    stats[q, ABS_END] = abs_end
    stats[q, ERR_END] = err_end
    return np.isfinite(sse)


@njit(inline="always", error_model="numpy")
def mark_diverged(stats, q):
    """SSE of sequence q := NaN: an update during it made a weight NaN or inf (the learners then
    stop at q, its other columns left as they were)."""
    stats[q, SSE] = np.nan


# ----------------------------------------------------------------------- σ and the update
@njit(cache=True, error_model="numpy")
def sigma(x):
    """The logistic σ(x) = 1/(1+exp(-x)) (eq. 3), with libm's exp (fastexp.sigma_array: a layer
    at once, with libm's exp or exp_poly)."""
    return 1.0 / (1.0 + math.exp(-x))


@njit(inline="always", error_model="numpy")
def apply_at(W, M, dW, i, m, lr):
    """W[i, m] += lr * M[i, m] * dW[i, m], dW[i, m] := 0 (eq. 17). False if it became NaN or inf."""
    w = W[i, m] + lr * M[i, m] * dW[i, m]
    W[i, m] = w
    dW[i, m] = 0.0
    return np.isfinite(w)


@njit(cache=True, error_model="numpy")
def apply(W, M, dW, lr):
    """W += lr * M * dW, dW := 0 (eq. 17), weight by weight (so W may come transposed, with M
    and dW alike). Returns False if a weight became NaN or inf."""
    ok = True
    for i in range(W.shape[0]):
        for m in range(W.shape[1]):
            ok = apply_at(W, M, dW, i, m, lr) & ok
    return ok
