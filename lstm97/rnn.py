"""The competitors' nets: logistic units without memory cells (docs/paper.md §4.1, §4.2, §5.8).

One net type serves every baseline of the paper (RTRL, BPTT, Elman's procedure, weight guessing).
All units are logistic in [0, 1] (eq. 3). A layer of N recurrent units reads the sources

    u(t) = [x(t) (n_in), a(t-1) (N), 1]                       W_h (N, n_src), n_src = n_in + N + 1

and either K non-recurrent output units read, at the same step (the Section-5 timing of
docs/paper.md §1.4: input, then hidden layer, then outputs),

    v(t) = [a_hidden(t) (H), x(t) (n_in), 1]                  W_o (K, n_v),  n_v = H + n_in + 1

(``outputs="readout"``), or the outputs are the last K of the N = H + K recurrent units
themselves, as in Williams & Zipser's fully recurrent nets (``outputs="recurrent"``; W_o is then
all masked). Like the LSTM's layout (docs/paper.md §2.6), a connection the topology lacks stays
in the layout as an entry fixed at 0 (mask 0).

The paper's nets in this layout (weight counts as printed, docs/paper.md §4.0.1, §4.1):
- Table 2 (2a): one self-recurrent hidden unit, p+1 readout units that also see the inputs, no
  bias: ``table2_net(p)``; 36 / 144 / 10404 weights for p = 4 / 10 / 100.
- Table 1, RTRL: H hidden units plus the 7 output units fully recurrent, 7 inputs, no bias:
  10 x 17 = 170 (H=3) and 19 x 26 = 494 (H=12), the paper's "≈170" and "≈494" exactly.
  (A recurrent hidden layer with a readout gives 51-100 weights for H=3, not 170.)
- Table 1, ELM: Elman's simple recurrent net 7-15-7, context = the hidden layer at t-1, no
  bias: 7x15 + 15x15 + 15x7 = 435, the paper's "≈435" exactly.
- Weight guessing, A1/A2 (docs/paper.md §5.8): see ``guessing.py``.

Activations are reset to 0 at every sequence start (docs/paper.md §3).

The compiled learners hold the readout transposed while they run: ``net_args`` hands them
W_o.T and M_o.T (n_v, K), ``store_readout`` writes W_o back. Their loops over the K output units
(``output_step``, ``readout_errors``, ``readout_update``) are then unit-stride and vectorised,
and each unit's arithmetic is still done in the order of a loop over one unit at a time, so the
results are bit for bit those of the row-major loops (tests/test_readout.py); sums over k (the
error sent back to hidden units, E(t)) stay sequential, side by side in one loop. At p = 100
(K = 101), with both cores busy, RTRL went from 3.3e5 to 5.3e5 steps/s and BPTT from 3.9e5 to
6.4e5 (bench.py); what is left of the readout is mostly libm's exp, one call per unit.
``output_step`` with ``exact`` False computes that σ with fastexp's exp_poly instead, vectorised
(within 1 ulp, so not the same bits; the learners runner.RTRL_POLY and BPTT_POLY): 7.3e5 and
1.1e6 steps/s. Elman's net (K = 7) is ~10% slower than with row-major loops: too few units for
vectors.

The hidden units' loops, the errors and the helpers' calls were then restructured, still bit
for bit (rtrl.py, bptt.py, the note above ``output_step``): measured against the code before,
in one process with interleaved runs (medians of ratios, both cores busy), RTRL_POLY at p = 100
x1.7-1.9 (to ~1.9e6 steps/s), BPTT_POLY x1.35-1.45 (~2.1e6), RTRL and BPTT at p = 4 x1.5,
Table 1's RTRL nets x2.5-3, Elman's x1.1.
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from .fastexp import _exp_poly
from .online import NO_ERROR, add_error, apply, new_stats, sigma, store

RECURRENCE = ("full", "self", "none")
OUTPUTS = ("readout", "recurrent")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class RNN:
    """A net of logistic units: N recurrent units, K logistic outputs (module docstring).

    hidden      H, the number of hidden (non-output) recurrent units
    recurrence  "full" (every recurrent unit sees every one at t-1), "self" (each sees only
                itself) or "none"
    outputs     "readout" (non-recurrent output layer) or "recurrent" (outputs are recurrent units)
    shortcuts   readout units also see the inputs x(t) ("each layer connected to all layers below")
    bias        every non-input unit has a bias weight
    init        weights start uniform in [-init, init]
    """

    def __init__(self, n_in, n_out, hidden, *, recurrence="full", outputs="readout", shortcuts=False,
                 bias=False, init=0.2, seed=None):
        if recurrence not in RECURRENCE or outputs not in OUTPUTS:
            raise ValueError(f"recurrence must be one of {RECURRENCE}, outputs one of {OUTPUTS}")
        if min(n_in, n_out) < 1 or hidden < 0 or (hidden == 0 and outputs == "readout"):
            raise ValueError("need n_in, n_out >= 1 and at least one hidden unit for a readout")
        self.n_in, self.n_out, self.H = int(n_in), int(n_out), int(hidden)
        self.recurrence, self.outputs = recurrence, outputs
        self.shortcuts, self.bias, self.init = bool(shortcuts), bool(bias), float(init)
        self.out_rec = outputs == "recurrent"
        self.N = self.H + (self.n_out if self.out_rec else 0)
        self.n_src = self.n_in + self.N + 1
        self.n_v = self.H + self.n_in + 1
        self.masks = self._make_masks()
        self.rng = np.random.default_rng(seed)
        self.weights = {k: self.rng.uniform(-self.init, self.init, m.shape) * m for k, m in self.masks.items()}

    def _make_masks(self):
        n_in, N, H = self.n_in, self.N, self.H
        M_h = np.zeros((N, self.n_src))
        M_h[:, :n_in] = 1.0
        M_h[:, n_in:n_in + N] = {"full": np.ones((N, N)), "self": np.eye(N), "none": np.zeros((N, N))}[self.recurrence]
        M_h[:, -1] = float(self.bias)
        M_o = np.zeros((self.n_out, self.n_v))
        if not self.out_rec:
            M_o[:, :H] = 1.0
            M_o[:, H:H + n_in] = float(self.shortcuts)
            M_o[:, -1] = float(self.bias)
        return {"W_h": M_h, "W_o": M_o}

    def restrict(self, masks):
        """Keep only the connections where ``masks`` (same keys and shapes) is non-zero."""
        for k in self.masks:
            self.masks[k] = self.masks[k] * (np.asarray(masks[k]) != 0)
            self.weights[k] = self.weights[k] * self.masks[k]

    @property
    def n_weights(self):
        return int(sum(m.sum() for m in self.masks.values()))

    def set_weights(self, weights):
        """Replace the weights; entries the topology lacks are forced to 0."""
        self.weights = {k: np.array(weights[k], dtype=float) * self.masks[k] for k in self.masks}

    def forward(self, xs, weights=None):
        """Outputs (T, K) of one dense sequence xs (T, n_in), plain NumPy: the reference the
        compiled learners are tested against. ``weights``: a dict to use instead of the net's."""
        W = self.weights if weights is None else weights
        a = np.zeros(self.N)
        ys = np.empty((len(xs), self.n_out))
        for t, x in enumerate(np.asarray(xs, float)):
            a = sigmoid(W["W_h"] @ np.concatenate([x, a, [1.0]]))
            if self.out_rec:
                ys[t] = a[self.H:]
            else:
                ys[t] = sigmoid(W["W_o"] @ np.concatenate([a[:self.H], x, [1.0]]))
        return ys


def table2_net(p, seed=None):
    """The RTRL/BPTT net of Table 2 for delay p (docs/paper.md §4.2): p+1 inputs, one
    self-recurrent hidden unit, p+1 outputs seeing inputs and hidden unit, no bias, [-0.2, 0.2]."""
    return RNN(p + 1, p + 1, 1, recurrence="self", shortcuts=True, seed=seed)


# ----------------------------------------------------------------------------- compiled parts
@njit(cache=True, error_model="numpy")
def apply_both(W_h, W_o, M_h, M_o, dW_h, dW_o, lr):
    """One update of both weight matrices (eq. 17 for these nets); False if a weight became NaN
    or inf. Weight by weight, so W_o may come transposed."""
    return apply(W_h, M_h, dW_h, lr) & apply(W_o, M_o, dW_o, lr)


@njit(cache=True, error_model="numpy", inline="always")
def hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t):
    """a(t) = f(W_h u(t)), u(t) = [x(t) sparse, a(t-1), 1]."""
    N = a.shape[0]
    bias = W_h.shape[1] - 1
    nnz = x_idx.shape[1]
    for i in range(N):
        acc = W_h[i, bias]
        for m in range(nnz):
            acc += W_h[i, x_idx[t, m]] * x_val[t, m]
        for l in range(N):
            acc += W_h[i, n_in + l] * a_prev[l]
        a[i] = sigma(acc)


# The per-step helpers below (and hidden_step, readout_update) are inlined into the learners'
# kernels (inline="always", at the level of Numba's IR): a call passes each array as ~8 scalars,
# which at p = 4 cost more than the arithmetic. They call no other function with arrays, and
# every array argument is last used where all their paths meet (no early return, no branch
# after which only some arguments are still used): else Numba's reference counts of the
# arguments (two atomic operations per array) survive its pruning pass, at every call when not
# inlined. Likewise the kernels take no slices (a[:] = ...) and reassign no arrays in their
# step loops: a view or a reassignment costs atomic reference counts too. (Some of the
# inlined arguments' counts still survive in RTRL's step loop: ~20% of a step at p = 4, ~5% at
# p = 100, measured with perf; not inlining readout_errors there removes them but costs BPTT
# more than it saves RTRL.)
@njit(cache=True, error_model="numpy", inline="always")
def output_step(W_oT, H, a, y, x_idx, x_val, t, exact):
    """y(t) of the readout units: f(W_o v(t)), v(t) = [a_hidden(t), x(t) sparse, 1], into
    y[:K]. (Recurrent outputs are y_k(t) = a_{H+k}(t), copied by the learners.)

    W_oT is W_o transposed, (n_v, K), so that every loop runs over the K units at unit stride
    and LLVM vectorises it. Unit k's net input is still w_k,bias + Σ_h w_kh a_h + Σ_m w_k,x x,
    added in this order: bit for bit what a loop over k with an inner sum gives. Then σ (eq. 3):
    with libm's exp if ``exact`` (a call per unit, not vectorised), else with fastexp's exp_poly
    (within 1 ulp of libm's exp; vectorised) over all of y, which the learners make a multiple
    of 8 units long (``output_buffer``): the vector loop then has no scalar remainder, whose
    K % 8 units cost as much as a vector of 8 (at K = 101, 17 units' time instead of 13); the
    units beyond K hold values no one reads. Cost: K (H + nnz + 1) multiply-adds, K exp()."""
    K = W_oT.shape[1]
    bias = W_oT.shape[0] - 1
    for k in range(K):
        y[k] = W_oT[bias, k]
    for h in range(H):
        ah = a[h]
        for k in range(K):
            y[k] += W_oT[h, k] * ah
    for m in range(x_idx.shape[1]):
        col = H + x_idx[t, m]
        xm = x_val[t, m]
        for k in range(K):
            y[k] += W_oT[col, k] * xm
    if exact:
        for k in range(K):
            y[k] = sigma(y[k])
    else:
        for k in range(y.shape[0]):
            y[k] = 1.0 / (1.0 + _exp_poly(-y[k]))


@njit(cache=True, error_model="numpy")
def output_buffer(K):
    """y for ``output_step``: K units, rounded up to a multiple of 8."""
    return np.zeros(K + (-K) % 8)


@njit(cache=True, error_model="numpy", inline="always")
def has_target(targets, t):
    """Whether step t has a target for some unit (stops at the first)."""
    K = targets.shape[1]
    k = 0
    while k < K and targets[t, k] != targets[t, k]:
        k += 1
    return k < K


@njit(cache=True, error_model="numpy")
def max_abs(targets, t, diff):
    """max |d_k - y_k| over the units with a target (0 if none), in the order of k. The error
    functions below get it with the running maximum of |diff[k]| over all k, which is the same
    when no diff[k] is NaN (a unit without a target adds |0| = +0.0 <= any maximum); with a NaN
    the result depends on the order and on which units are skipped (max(x, NaN) is NaN,
    max(NaN, x) is x), and the learners call this loop when E(t) is NaN."""
    mx = 0.0
    for k in range(diff.shape[0]):
        if targets[t, k] == targets[t, k]:
            mx = max(mx, abs(diff[k]))
    return mx


@njit(cache=True, error_model="numpy", inline="always")
def errors(targets, t, y, diff):
    """diff[k] = d_k - y_k (0 where there is no target); returns (has target, E(t), max |d-y|),
    the maximum valid if E(t) is not NaN (else max_abs gives it).

    The differences are vectorised; E(t) is summed over k in order (a unit without a target
    adds 0 * 0 = +0.0, which leaves a sum that starts at +0.0 unchanged), its chain of adds
    overlapping the running maximum's."""
    K = diff.shape[0]
    has = False
    for k in range(K):
        d = targets[t, k]
        present = d == d
        diff[k] = d - y[k] if present else 0.0
        has |= present
    E = 0.0
    mx = 0.0
    for k in range(K):
        E += diff[k] * diff[k]
        mx = max(mx, abs(diff[k]))
    return has, E, mx


@njit(cache=True, error_model="numpy", inline="always")
def readout_errors(targets, t, y, diff, H, W_oT, e, r, eps):
    """At a step with a target, for readout units: diff as in ``errors``, the output errors
    e_k = f'(net_k)(d_k - y_k) (eq. 19) into row r of e (BPTT keeps a row per step; a row, not
    a view e[r], which costs atomic reference counts), and the error reaching hidden unit h,
    eps[h] = Σ_k w_kh e_k (from W_oT as it is before the readout's update). Returns (E(t),
    max |d-y|) like ``errors``.

    Every sum over k keeps its order. E(t), Σ_k w_k0 e_k and the maximum run in one loop,
    independent chains that overlap; further hidden units get a loop each (Table 2's net has
    one). A readout net has H >= 1. Cost: O(K H), latency ~K adds."""
    K = diff.shape[0]
    for k in range(K):
        d = targets[t, k]
        diff[k] = d - y[k] if d == d else 0.0
        e[r, k] = y[k] * (1.0 - y[k]) * diff[k]
    E = 0.0
    mx = 0.0
    acc = 0.0
    for k in range(K):
        E += diff[k] * diff[k]
        mx = max(mx, abs(diff[k]))
        acc += W_oT[0, k] * e[r, k]
    eps[0] = acc                    # = 0.0 + acc: a sum that starts at +0.0 is never -0.0
    for h in range(1, H):
        acc = 0.0
        for k in range(K):
            acc += W_oT[h, k] * e[r, k]
        eps[h] = acc
    return E, mx


@njit(cache=True, error_model="numpy", inline="always")
def recurrent_errors(targets, t, a, H, diff, eps):
    """At a step with a target, for recurrent outputs y_k = a_{H+k}: diff as in ``errors``, and
    the error reaching each unit, eps[H+k] = d_k - y_k (the f' is part of the unit's derivative)
    and eps[h] = 0 for h < H. Returns (E(t), max |d-y|) like ``errors``."""
    K = diff.shape[0]
    for k in range(K):
        d = targets[t, k]
        diff[k] = d - a[H + k] if d == d else 0.0
        eps[H + k] = diff[k]
    for h in range(H):
        eps[h] = 0.0
    E = 0.0
    mx = 0.0
    for k in range(K):
        E += diff[k] * diff[k]
        mx = max(mx, abs(diff[k]))
    return E, mx


@njit(cache=True, error_model="numpy")
def _evaluate(W_h, W_oT, n_in, H, out_rec, x_idx, x_val, targets, starts, stats, outputs):
    N = W_h.shape[0]
    K = outputs.shape[1]
    a = np.zeros(N)
    a_prev = np.zeros(N)
    y = output_buffer(K)
    diff = np.zeros(K)
    for q in range(len(starts) - 1):
        for l in range(N):
            a_prev[l] = 0.0
        err = NO_ERROR
        for t in range(starts[q], starts[q + 1]):
            hidden_step(W_h, n_in, a_prev, a, x_idx, x_val, t)
            if out_rec:
                for k in range(K):
                    y[k] = a[H + k]
            else:
                output_step(W_oT, H, a, y, x_idx, x_val, t, True)
            for k in range(K):
                outputs[t, k] = y[k]
            has, E, mx = errors(targets, t, y, diff)
            if has:
                if E != E:
                    mx = max_abs(targets, t, diff)
                err = add_error(err, E, mx)
            for l in range(N):
                a_prev[l] = a[l]
        store(stats, q, *err)


class NetArgs(NamedTuple):
    """The kernels' arguments that describe the net (``net_args``), in the order of their
    parameters: ``_kernel(*args, ...)`` in rtrl.py and bptt.py; elman.py and ``evaluate`` take
    them by name."""
    W_h: np.ndarray             # the recurrent units' weights (N, n_src)
    W_oT: np.ndarray            # the readout's, transposed (n_v, K)
    M_h: np.ndarray             # the masks
    M_oT: np.ndarray
    n_in: int
    H: int                      # hidden units
    out_rec: bool               # the outputs are the last K recurrent units


def net_args(net, batch):
    """The kernels' arguments that describe the net (``NetArgs``). The readout comes transposed,
    W_oT = W_o.T and M_oT = M_o.T as C-contiguous copies of shape (n_v, K), so that the kernels'
    loops over the output units run at unit stride; a learner writes its W_oT back with
    ``store_readout`` when it is done."""
    if batch.n_in != net.n_in or batch.n_out != net.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs/{batch.n_out} outputs, net has {net.n_in}/{net.n_out}")
    W, M = net.weights, net.masks
    for k in W:
        W[k] = np.ascontiguousarray(W[k], dtype=np.float64)
    W_oT, M_oT = np.ascontiguousarray(W["W_o"].T), np.ascontiguousarray(M["W_o"].T)
    return NetArgs(W["W_h"], W_oT, M["W_h"], M_oT, net.n_in, net.H, net.out_rec)


def store_readout(net, W_oT):
    """W_o = W_oT.T, in place: the readout weights a learner changed in its transposed copy."""
    net.weights["W_o"][:] = W_oT.T


def evaluate(net, batch):
    """Forward pass only: (stats (n, 4) with the columns SSE, ABS_ALL, ABS_END, ERR_END of
    online.py, outputs (N, K) at every step)."""
    args = net_args(net, batch)
    stats = new_stats(len(batch))
    outputs = np.zeros((len(batch.targets), net.n_out))
    _evaluate(args.W_h, args.W_oT, args.n_in, args.H, args.out_rec,
              batch.x_idx, batch.x_val, batch.targets, batch.starts, stats, outputs)
    return stats, outputs


@njit(cache=True, error_model="numpy", inline="always")
def readout_update(G, M_oT, scale, H, e, r, a, x_idx, x_val, t):
    """Readout units (eqs. 19, 22), all transposed (n_v, K) like W_oT: G += scale * M_o *
    outer(e, v(t)) on the non-zero entries of v(t) = [a_hidden, x sparse, 1], e the row r of e
    (``readout_errors``). Units with scale * e_k == 0 are left as they are (not even +0.0 added).
    Returns False if a changed bias entry is NaN or inf. The error sent back to the hidden
    units, Σ_k w_kh e_k, comes from ``readout_errors`` before (G may be W_oT itself).

    The loops over k are unit-stride and vectorised. Cost: O(K (H + nnz))."""
    K = e.shape[1]
    bias = G.shape[0] - 1
    for h in range(H):
        ah = a[h]
        for k in range(K):
            c = scale * e[r, k]
            g = G[h, k]
            G[h, k] = g if c == 0.0 else g + c * M_oT[h, k] * ah
    for m in range(x_idx.shape[1]):
        col = H + x_idx[t, m]
        xm = x_val[t, m]
        for k in range(K):
            c = scale * e[r, k]
            g = G[col, k]
            G[col, k] = g if c == 0.0 else g + c * M_oT[col, k] * xm
    bad = False
    for k in range(K):
        c = scale * e[r, k]
        g = G[bias, k]
        g = g if c == 0.0 else g + c * M_oT[bias, k]
        G[bias, k] = g
        bad |= c != 0.0 and not np.isfinite(g)
    return not bad
