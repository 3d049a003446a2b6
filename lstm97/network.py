"""The 1997 LSTM in NumPy: the readable reference (docs/paper.md §1–3).

Memory cells with a constant error carousel (CEC), input and output gates shared
by the S cells of a block, no forget gate, and the truncated RTRL-like gradient of
the paper's Appendix A.1 (eqs. 19–28). Every other part of the project (the
compiled engine, the experiments) is checked against this file.

Cell variants, for testing what each part of the cell does: without input gates
(y_in := 1) or without output gates (y_out := 1); both off is the naive CEC of the
paper's Section 3.2. And, as a later cell that is not the paper's, the forget gate of
Gers, Schmidhuber & Cummins (2000, "Learning to forget"): s(t) = y_φ(t) s(t-1) +
y_in(t) g(net_c(t)), one logistic forget gate y_φ per block, fed by the same sources.

Weights use the canonical layout of docs/paper.md §2.6:

    hidden sources  u(t) = [x(t) (n_in), y_c(t-1) (B*S), y_in(t-1) (B), y_out(t-1) (B), 1]
    W_in (B, n_src), W_out (B, n_src), W_c (B*S, n_src)   cell v of block j is row j*S + v
    with forget gates (the 2000 cell): u(t) = [x, y_c(t-1), y_in(t-1), y_out(t-1),
    y_φ(t-1) (B), 1] and W_forget (B, n_src); without them neither exists
    output sources  v(t) = [y_c(t) (B*S), x(t) (n_in, only with shortcuts), 1]
    W_k (K, len(v))

A connection the topology lacks stays in the layout, fixed at 0 (its mask is 0).
"""
import numpy as np

BIAS_MODES = ("all", "hidden", "gates", "input", "none")
# g and h as a*σ(x) + b (eqs. 4, 5): "centered" is the text's g in [-2,2] and h in [-1,1];
# "logistic" is 2a/2b's g1 in [0,1]; "legend" is what Table 10's legend prints instead
# (g2 in [-1,1], h1 in [-2,2]; docs/paper.md §6.1). h "identity" is h(s) = s (2a/2b).
G_AFFINE = {"centered": (4.0, -2.0), "logistic": (1.0, 0.0), "legend": (2.0, -1.0)}
H_AFFINE = {"centered": (2.0, -1.0), "legend": (4.0, -2.0)}
G_MODES = tuple(G_AFFINE)
H_MODES = tuple(H_AFFINE) + ("identity",)
CELL_SOURCES = ("all", "inputs")


def sigmoid(x):
    """Logistic f(x) = 1/(1+exp(-x)) (eq. 3): gates and output units."""
    return 1.0 / (1.0 + np.exp(-x))


def squash_g(net, mode):
    """Cell-input squashing g and g' (eq. 5): a*σ + b, see G_AFFINE (centered: 4σ-2 in [-2,2])."""
    a, b = G_AFFINE[mode]
    sg = sigmoid(net)
    return a * sg + b, a * sg * (1.0 - sg)


def squash_h(s, mode):
    """Cell-output squashing h and h' (eq. 4): a*σ + b, see H_AFFINE; identity: h(s)=s (2a/2b)."""
    if mode == "identity":
        return s.copy(), np.ones_like(s)
    a, b = H_AFFINE[mode]
    sg = sigmoid(s)
    return a * sg + b, a * sg * (1.0 - sg)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")
    return value


class LSTM97:
    """A 1997 LSTM net (docs/paper.md §1): B blocks of S memory cells, K logistic output units.

    bias          "all" (every non-input unit, Exp 4-6), "hidden" (gates and cells, "b1",
                  Exp 3), "gates" (gates only, "ga", Exp 1), "input" (input gates only: the
                  reading 'gate-bias', not a paper set-up) or "none" (Exp 2).
    output_gates  False for 2a/2b: y_out := 1.
    input_gates   False: y_in := 1 (no W_in, no y_in sources). With output_gates=False
                  too, the naive CEC of the paper's Section 3.2 (docs/paper.md §5.2).
    forget_gates  True: the cell of Gers, Schmidhuber & Cummins 2000, not the paper's:
                  s(t) = y_φ(t) s(t-1) + y_in(t) g(net_c(t)), y_φ = f(net_φ) one logistic
                  gate per block; weights W_forget, sources y_φ(t-1). The forget gate always
                  has a trainable bias weight, whatever ``bias`` says.
    recurrent     False for 2a/2b: cells and gates see the inputs only.
    cell_sources  "all" (the paper's "F" connectivity) or "inputs": the cells' net input
                  comes from the inputs and bias only (the reading 'cells-from-inputs').
    shortcuts     direct input -> output connections (2a/2b, connectivity "B").
    g, h          "centered" (g in [-2,2], h in [-1,1]), "logistic"/"identity" (2a/2b) or
                  "legend" (Table 10's legend: g in [-1,1], h in [-2,2]).
    reset         value of every recurrent activation (y_c, y_in, y_out, y_φ) at a sequence start:
                  0 in the paper, 0.5 in the JKU LSTM simulator (docs/paper.md §7.1).
    init          weights start uniform in [-init, init] (docs/paper.md §3).
    input_gate_bias, output_gate_bias, forget_gate_bias
                  None (random like every other weight) or one value per block
                  (e.g. (-3, -6) in Exp 4; docs/paper.md §3 table). Gers et al. 2000 start
                  the forget gate open with a positive bias.
    """

    def __init__(self, n_in, n_out, blocks, block_size, *, bias="all", output_gates=True,
                 recurrent=True, cell_sources="all", shortcuts=False, g="centered", h="centered",
                 init=0.1, input_gate_bias=None, output_gate_bias=None, reset=0.0, seed=None,
                 input_gates=True, forget_gates=False, forget_gate_bias=None):
        self.n_in = _positive_int("n_in", n_in)
        self.n_out = _positive_int("n_out", n_out)
        self.B = _positive_int("blocks", blocks)
        self.S = _positive_int("block_size", block_size)
        self.bias = _choice("bias mode", bias, BIAS_MODES)
        self.g = _choice("g", g, G_MODES)
        self.h = _choice("h", h, H_MODES)
        self.output_gates = bool(output_gates)
        self.input_gates = bool(input_gates)
        self.forget_gates = bool(forget_gates)
        self.recurrent = bool(recurrent)
        self.cell_sources = _choice("cell_sources", cell_sources, CELL_SOURCES)
        if not np.isfinite(reset):
            raise ValueError(f"reset must be a finite number, got {reset!r}")
        self.reset = float(reset)
        self.shortcuts = bool(shortcuts)
        if not np.isfinite(init) or init < 0:
            raise ValueError(f"init must be a finite number >= 0, got {init!r}")
        self.init = float(init)
        self.input_gate_bias = self._gate_bias("input_gate_bias", input_gate_bias,
                                               self.bias != "none" and self.input_gates)
        self.output_gate_bias = self._gate_bias(
            "output_gate_bias", output_gate_bias, self.bias not in ("none", "input") and self.output_gates)
        self.forget_gate_bias = self._gate_bias("forget_gate_bias", forget_gate_bias, self.forget_gates)

        B, S, n_in = self.B, self.S, self.n_in
        self.C = B * S                                    # number of cells
        self.F = B if self.forget_gates else 0           # forget gates (the 2000 cell)
        self.n_rec = self.C + 2 * B + self.F              # recurrent sources z(t-1)
        self.n_src = n_in + self.n_rec + 1                # docs/paper.md §2.6
        self.n_v = self.C + (n_in if self.shortcuts else 0) + 1
        self.blk = np.repeat(np.arange(B), S)             # block of each cell

        self.masks = self._make_masks()
        self.rng = np.random.default_rng(seed)
        self.weights = {k: self.rng.uniform(-self.init, self.init, m.shape) * m
                        for k, m in self.masks.items()}
        bias_col = self.n_src - 1
        if self.input_gate_bias is not None:
            self.weights["W_in"][:, bias_col] = self.input_gate_bias
        if self.output_gate_bias is not None:
            self.weights["W_out"][:, bias_col] = self.output_gate_bias
        if self.forget_gate_bias is not None:
            self.weights["W_forget"][:, bias_col] = self.forget_gate_bias

    def _gate_bias(self, name, value, allowed):
        if value is None:
            return None
        if not allowed:
            raise ValueError(f"{name} given, but this topology has no such bias weight "
                             f"(bias={self.bias!r}, input_gates={self.input_gates}, "
                             f"output_gates={self.output_gates}, forget_gates={self.forget_gates})")
        value = np.asarray(value, dtype=float).ravel()
        if len(value) != self.B or not np.all(np.isfinite(value)):
            raise ValueError(f"{name} needs one finite value per block ({self.B}), got {len(value)}")
        return value

    def _make_masks(self):
        """Which entries of the canonical layout are trainable weights of this topology."""
        n_in, C, B, rec = self.n_in, self.C, self.B, slice(self.n_in, self.n_in + self.n_rec)
        src = np.ones(self.n_src)
        if not self.recurrent:
            src[rec] = 0.0
        if not self.input_gates:
            src[n_in + C:n_in + C + B] = 0.0              # there are no y_in sources
        if not self.output_gates:
            src[n_in + C + B:n_in + C + 2 * B] = 0.0      # there are no y_out sources
        in_src, gate_src, cell_src, forget_src = src.copy(), src.copy(), src.copy(), src.copy()
        in_src[-1] = float(self.bias in ("all", "hidden", "gates", "input"))
        gate_src[-1] = float(self.bias in ("all", "hidden", "gates"))
        cell_src[-1] = float(self.bias in ("all", "hidden"))
        if self.cell_sources == "inputs":
            cell_src[rec] = 0.0
        out = np.ones(self.n_v)
        out[-1] = float(self.bias == "all")
        masks = {
            "W_in": np.tile(in_src, (B, 1)) * float(self.input_gates),
            "W_out": np.tile(gate_src, (B, 1)) * float(self.output_gates),
            "W_c": np.tile(cell_src, (C, 1)),
            "W_k": np.tile(out, (self.n_out, 1)),
        }
        if self.forget_gates:                             # always with a bias weight (class docstring)
            masks["W_forget"] = np.tile(forget_src, (B, 1))
        return masks

    @property
    def n_weights(self):
        """Number of trainable weights (Table 10, column w)."""
        return int(sum(m.sum() for m in self.masks.values()))

    def set_weights(self, weights):
        """Replace the weights; entries the topology lacks are forced to 0."""
        if set(weights) != set(self.masks):
            raise ValueError(f"weights need exactly the keys {sorted(self.masks)}, got {sorted(weights)}")
        new = {}
        for k, m in self.masks.items():
            w = np.asarray(weights[k], dtype=float)
            if w.shape != m.shape:
                raise ValueError(f"{k} has shape {w.shape}, expected {m.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"{k} contains NaN or inf")
            new[k] = w * m
        self.weights = new

    def check_inputs(self, xs, targets=None):
        xs = np.asarray(xs, dtype=float)
        if xs.ndim != 2 or xs.shape[1] != self.n_in or len(xs) == 0:
            raise ValueError(f"inputs must have shape (T>0, n_in={self.n_in}), got {xs.shape}")
        if not np.all(np.isfinite(xs)):
            raise ValueError("inputs contain NaN or inf")
        if targets is None:
            return xs, None
        targets = np.asarray(targets, dtype=float)
        if targets.shape != (len(xs), self.n_out):
            raise ValueError(f"targets must have shape (T={len(xs)}, n_out={self.n_out}), got {targets.shape}")
        if np.any(np.isinf(targets)):
            raise ValueError("targets contain inf (use NaN for steps without a target)")
        return xs, targets

    def initial_z(self):
        """[y_c, y_in, y_out(, y_φ)] at a sequence start: ``reset`` (0 in the paper); y_in and
        y_out stay 0 without input or output gates, where they are no sources."""
        C, B = self.C, self.B
        z = np.full(self.n_rec, self.reset)
        if not self.input_gates:
            z[C:C + B] = 0.0
        if not self.output_gates:
            z[C + B:C + 2 * B] = 0.0
        return z

    def forward(self, xs, trace=False):
        """Outputs y^k (T, K) for one sequence; state reset at its start (docs/paper.md §1.4, §3).

        With trace=True, also return a dict of the hidden activations over time
        (s, y_in, y_out, y_c, and y_forget with forget gates), for looking inside a trained net.
        """
        xs, _ = self.check_inputs(xs)
        run = _Sequence(self)
        ys = np.empty((len(xs), self.n_out))
        rec = {k: [] for k in ("s", "y_in", "y_out", "y_c") + (("y_forget",) if self.forget_gates else ())}
        for t, x in enumerate(xs):
            ys[t] = run.step(x)
            if trace:
                for k in rec:
                    rec[k].append(getattr(run, k).copy())
        if trace:
            return ys, {k: np.array(v) for k, v in rec.items()}
        return ys


class _Sequence:
    """One pass through a sequence: state s, previous activations z and the traces of eqs. 25/27
    (and, with forget gates, the forget-gate trace of Gers et al. 2000)."""

    def __init__(self, net):
        self.net = net
        self.z = net.initial_z()                             # [y_c, y_in, y_out(, y_φ)](t-1)
        self.s = np.zeros(net.C)                             # CEC states, s(0) = 0
        self.TI = np.zeros((net.C, net.n_src))               # ∂s_c/∂w_{in_j,m}, eq. 25
        self.TC = np.zeros((net.C, net.n_src))               # ∂s_c/∂w_{c,m},   eq. 27
        if net.forget_gates:
            self.TF = np.zeros((net.C, net.n_src))           # ∂s_c/∂w_{φ_j,m} (Gers et al. 2000)

    def step(self, x):
        """Sub-steps 1-3 of docs/paper.md §1.4: inputs, then hidden layer, then outputs (eqs. 6-9).

        With forget gates (Gers et al. 2000, not the paper's cell): s(t) = y_φ(t) s(t-1) +
        y_in g, and every trace decays by y_φ(t): ∂s/∂w(t) = y_φ(t) ∂s/∂w(t-1) + (the
        increment of eq. 25 or 27; for the forget gate s(t-1) f'_φ(net_φ) u).
        """
        net, W, blk = self.net, self.net.weights, self.net.blk
        self.x = x
        self.u = u = np.concatenate([x, self.z, [1.0]])
        if net.input_gates:
            self.y_in = y_in = sigmoid(W["W_in"] @ u)
        else:
            self.y_in = y_in = np.ones(net.B)
        if net.output_gates:
            self.y_out = sigmoid(W["W_out"] @ u)
        else:
            self.y_out = np.ones(net.B)
        G, dG = squash_g(W["W_c"] @ u, net.g)
        a_in = (G * y_in[blk] * (1.0 - y_in[blk]))[:, None] * u[None, :]      # eq. 25's increment
        a_c = (dG * y_in[blk])[:, None] * u[None, :]                         # eq. 27's increment
        # the CEC (eq. 8) and the traces, updated at every step whether or not there is a target
        if net.forget_gates:
            self.y_forget = y_f = sigmoid(W["W_forget"] @ u)
            phi = y_f[blk]
            s_prev = self.s
            self.s = phi * s_prev + y_in[blk] * G
            self.TI = phi[:, None] * self.TI + a_in
            self.TC = phi[:, None] * self.TC + a_c
            self.TF = phi[:, None] * self.TF + (s_prev * phi * (1.0 - phi))[:, None] * u[None, :]
        else:
            self.s = self.s + y_in[blk] * G                  # self-weight 1.0
            self.TI += a_in                                  # eq. 25
            self.TC += a_c                                   # eq. 27
        self.hs, self.dhs = squash_h(self.s, net.h)
        self.y_c = self.y_out[blk] * self.hs
        zero = np.zeros(net.B)
        z = [self.y_c, y_in if net.input_gates else zero, self.y_out if net.output_gates else zero]
        if net.forget_gates:
            z.append(self.y_forget)
        self.z = np.concatenate(z)
        parts = [self.y_c] + ([x] if net.shortcuts else []) + [[1.0]]
        self.v = np.concatenate(parts)
        self.y_k = sigmoid(W["W_k"] @ self.v)
        return self.y_k

    def delta(self, d):
        """Δw/α of this step for targets d (NaN = no target), eqs. 19-28; None if no target."""
        has = ~np.isnan(d)
        if not has.any():
            return None
        net, W, blk = self.net, self.net.weights, self.net.blk
        y_k = self.y_k
        e_k = np.where(has, y_k * (1.0 - y_k) * (np.where(has, d, 0.0) - y_k), 0.0)   # eq. 19
        back = W["W_k"][:, :net.C].T @ e_k                         # Σ_k w_{k c} e_k, per cell
        e_out = self.y_out * (1.0 - self.y_out) * np.bincount(blk, self.hs * back, net.B)   # eq. 21
        e_s = self.y_out[blk] * self.dhs * back                   # eq. 23
        dW_in = np.zeros_like(W["W_in"])
        np.add.at(dW_in, blk, e_s[:, None] * self.TI)             # eqs. 24, 26: sum over the block's cells
        grads = {
            "W_in": dW_in,
            "W_out": np.outer(e_out, self.u) if net.output_gates else np.zeros_like(W["W_out"]),  # eq. 22
            "W_c": e_s[:, None] * self.TC,                         # eq. 28
            "W_k": np.outer(e_k, self.v),                           # eq. 22
        }
        if net.forget_gates:                                       # as eq. 26, Gers et al. 2000
            grads["W_forget"] = np.zeros_like(W["W_forget"])
            np.add.at(grads["W_forget"], blk, e_s[:, None] * self.TF)
        sq_err = float(np.sum((np.where(has, d, 0.0) - y_k)[has] ** 2))
        return {k: grads[k] * net.masks[k] for k in grads}, sq_err


def truncated_gradient(net, xs, targets):
    """Δw/α summed over one sequence with the weights held fixed (docs/paper.md §2.6, eqs. 19-28).

    targets (T, n_out), NaN where a step has no target. Returns a dict shaped like
    net.weights. The paper's convention: e_k = f'(net_k)(d_k - y_k), no factor 2,
    so this is -1/2 ∂E_total/∂w of the truncated gradient. With forget gates it is the
    truncation of Gers et al. 2000: errors stop at every gate's and cell's net input, and
    inside the CEC they flow back scaled by y_φ (the traces decay by y_φ(t)).
    """
    xs, targets = net.check_inputs(xs, targets)
    run = _Sequence(net)
    total = {k: np.zeros_like(w) for k, w in net.weights.items()}
    for x, d in zip(xs, targets):
        run.step(x)
        out = run.delta(d)
        if out is not None:
            for k, g in out[0].items():
                total[k] += g
    return total


def train_numpy(net, sequences, lr, update="sequence"):
    """Online learning (eq. 17), the NumPy reference. Returns per-sequence summed squared errors.

    update="sequence": each sequence's summed Δw is applied at its end (docs/paper.md §6.3).
    update="step": Δw(t) is applied right after step t (the other reading of "on-line").
    Traces are never reset mid-sequence, so with "step" they mix old and new weights,
    exactly as in online RTRL.
    """
    errors = []
    for xs, targets in sequences:
        xs, targets = net.check_inputs(xs, targets)
        run = _Sequence(net)
        total = {k: np.zeros_like(w) for k, w in net.weights.items()}
        err = 0.0
        for x, d in zip(xs, targets):
            run.step(x)
            out = run.delta(d)
            if out is None:
                continue
            grads, sq = out
            err += sq
            for k, g in grads.items():
                if update == "step":
                    net.weights[k] += lr * g
                else:
                    total[k] += g
        if update == "sequence":
            for k, g in total.items():
                net.weights[k] += lr * g
        errors.append(err)
    return np.array(errors)

