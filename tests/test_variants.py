"""Cell variants (no input gate, no output gate, the naive CEC, and the forget gate of Gers,
Schmidhuber & Cummins 2000, which is not the paper's cell) in the reference, the engine and the
lanes, each against an independent computation."""
import copy

import numpy as np
import pytest

import lstm97
from lstm97 import engine, lanes
from lstm97.network import LSTM97
from lstm97.tasks import Adding, EmbeddedReber, VeryLongLag
from test_engine import random_batch


def max_rel(a, b):
    """Largest weight difference, relative to each matrix's largest weight."""
    return max(np.abs(a.weights[k] - b.weights[k]).max() / (np.abs(a.weights[k]).max() or 1.0) for k in a.weights)


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------
# An independent computation of the truncated gradient, written from docs/paper.md §1.3-1.4
# and docs/paper.md §2.1 and Gers et al. 2000 without the core's code: ½ΣE as a function of the weights, with the
# recurrent sources z(t-1) of every gate and cell frozen at their values in the unperturbed run.
# Then the only path from a weight to a later error runs through the CEC state s (scaled by
# y_φ with forget gates), which is exactly what the truncated gradient follows; its central
# finite differences are the truncated gradient.
# ---------------------------------------------------------------------------
G_FUN = {"centered": lambda a: 4 * sig(a) - 2, "logistic": sig}
H_FUN = {"centered": lambda a: 2 * sig(a) - 1, "identity": lambda a: a}


def half_error(net, W, xs, targets, frozen=None):
    """(½ Σ_t E(t), the recurrent sources z(t-1) of each step). With ``frozen``, step t's
    gates and cells read frozen[t] instead of the z(t-1) this run produces."""
    B, S, C = net.B, net.S, net.C
    blk = np.arange(C) // S
    z = np.zeros(C + 3 * B if net.forget_gates else C + 2 * B)
    s = np.zeros(C)
    total, zs = 0.0, []
    for t, (x, d) in enumerate(zip(xs, targets)):
        zs.append(z)
        u = np.concatenate([x, z if frozen is None else frozen[t], [1.0]])
        y_in = sig(W["W_in"] @ u) if net.input_gates else np.ones(B)
        y_out = sig(W["W_out"] @ u) if net.output_gates else np.ones(B)
        y_f = sig(W["W_forget"] @ u) if net.forget_gates else np.ones(B)
        s = y_f[blk] * s + y_in[blk] * G_FUN[net.g](W["W_c"] @ u)
        y_c = y_out[blk] * H_FUN[net.h](s)
        y_k = sig(W["W_k"] @ np.concatenate([y_c, [1.0]]))
        has = ~np.isnan(d)
        total += 0.5 * np.sum((d[has] - y_k[has]) ** 2)
        parts = [y_c, y_in if net.input_gates else 0 * y_in, y_out if net.output_gates else 0 * y_out]
        z = np.concatenate(parts + ([y_f] if net.forget_gates else []))
    return total, zs


def frozen_source_gradient(net, xs, targets, eps=1e-6):
    """-∂(½ΣE)/∂w by central differences, every recurrent source frozen (the paper's convention)."""
    W = {k: w.copy() for k, w in net.weights.items()}
    _, zs = half_error(net, W, xs, targets)
    grad = {k: np.zeros_like(w) for k, w in W.items()}
    for k, w in W.items():
        for idx in zip(*np.nonzero(net.masks[k])):
            old = w[idx]
            w[idx] = old + eps
            up = half_error(net, W, xs, targets, zs)[0]
            w[idx] = old - eps
            down = half_error(net, W, xs, targets, zs)[0]
            w[idx] = old
            grad[k][idx] = -(up - down) / (2 * eps)
    return grad


VARIANTS = {
    "no input gate": dict(input_gates=False),
    "no output gate": dict(output_gates=False),
    "naive CEC": dict(input_gates=False, output_gates=False),
    "forget": dict(forget_gates=True),
    "forget with bias": dict(forget_gates=True, forget_gate_bias=[2.0, 0.5]),
    "forget, no input gate": dict(forget_gates=True, input_gates=False),
    # y_φ near e^-30: the product of y_φ the engine keeps for the input columns falls below
    # engine.TINY every dozen steps, so the traces are folded mid-sequence too
    "forget nearly shut": dict(forget_gates=True, forget_gate_bias=[-30.0, -30.0]),
}


def variant_kwargs(variant, blocks):
    """VARIANTS[variant] for a net of ``blocks`` blocks (one forget-gate bias per block)."""
    kw = dict(VARIANTS[variant])
    if variant == "forget with bias":
        kw["forget_gate_bias"] = [2.0, 0.5, 0.0, 1.0][:blocks]
    elif "forget_gate_bias" in kw:
        kw["forget_gate_bias"] = kw["forget_gate_bias"][:1] * blocks
    return kw


# (blocks, block size, LSTM97 arguments): blocks of 1 and of 2 cells; biases on and off
TOPOLOGIES = {
    "2x2 all": (2, 2, dict(bias="all")),
    "2x1 none": (2, 1, dict(bias="none")),
    "2x2 gates, cells from inputs": (2, 2, dict(bias="gates", cell_sources="inputs", g="logistic", h="identity")),
}


def problem(variant, topology, seed, T=10, n_in=3, n_out=2):
    B, S, kw = TOPOLOGIES[topology]
    rng = np.random.default_rng(seed)
    net = LSTM97(n_in, n_out, B, S, init=1.0, seed=seed, **kw, **VARIANTS[variant])
    xs = rng.normal(size=(T, n_in))
    targets = rng.uniform(0, 1, size=(T, n_out))
    targets[rng.uniform(size=T) < 0.4] = np.nan
    targets[-1] = rng.uniform(0, 1, n_out)
    return net, xs, targets


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "forget nearly shut"])   # its W_forget
def test_truncated_gradient_equals_frozen_source_finite_differences(variant, topology):   # gradient is ~0
    net, xs, targets = problem(variant, topology, seed=len(variant) + 7 * len(topology))
    got = lstm97.truncated_gradient(net, xs, targets)
    want = frozen_source_gradient(net, xs, targets)
    assert set(got) == set(net.weights)
    for k in want:
        scale = np.abs(want[k]).max()
        assert scale > 1e-4 or not net.masks[k].any(), f"{k}: nothing to compare"
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-6 * max(scale, 1e-3), err_msg=k)


def test_the_frozen_source_check_can_fail():
    """The truncated gradient differs from the full one, so freezing the sources matters: the
    check would catch a gradient that followed the recurrent paths (or ignored the forget gate)."""
    net, xs, targets = problem("forget", "2x2 all", seed=3)
    got = lstm97.truncated_gradient(net, xs, targets)
    W = {k: w.copy() for k, w in net.weights.items()}
    eps, k = 1e-6, "W_forget"
    worst = 0.0
    for idx in zip(*np.nonzero(net.masks[k])):
        old = W[k][idx]
        W[k][idx] = old + eps
        up = half_error(net, W, xs, targets)[0]
        W[k][idx] = old - eps
        down = half_error(net, W, xs, targets)[0]
        W[k][idx] = old
        worst = max(worst, abs(got[k][idx] + (up - down) / (2 * eps)))
    assert worst > 1e-4


# ---------------------------------------------------------------------------
# Structure: what each flag removes or adds, and that nothing changes without them
# ---------------------------------------------------------------------------
def test_without_input_gates_there_is_no_w_in_and_no_y_in_source():
    net = LSTM97(3, 2, 2, 2, input_gates=False, seed=0)
    C, B, n_in = net.C, net.B, net.n_in
    assert not net.masks["W_in"].any() and not net.weights["W_in"].any()
    for k in ("W_out", "W_c"):
        assert not net.masks[k][:, n_in + C:n_in + C + B].any()
    ys, rec = net.forward(np.ones((5, 3)), trace=True)
    assert np.all(rec["y_in"] == 1.0)
    naive = LSTM97(3, 2, 2, 2, input_gates=False, output_gates=False, seed=0)
    assert naive.n_weights == 2 * 2 * (3 + 4 + 1) + 2 * (4 + 1)   # cells see x, y_c, bias only


def test_forget_gates_add_w_forget_and_the_y_phi_sources():
    net = LSTM97(3, 2, 2, 2, bias="none", forget_gates=True, forget_gate_bias=[2.0, 0.0], seed=0)
    assert set(net.weights) == {"W_in", "W_out", "W_c", "W_k", "W_forget"}
    assert net.n_src == 3 + 4 + 3 * 2 + 1
    np.testing.assert_array_equal(net.weights["W_forget"][:, -1], [2.0, 0.0])
    assert net.masks["W_forget"][:, -1].all() and not net.masks["W_in"][:, -1].any()
    _, rec = net.forward(np.ones((4, 3)), trace=True)
    assert rec["y_forget"].shape == (4, 2)


def test_a_forget_gate_held_open_is_the_1997_cell():
    """y_φ = 1 (a huge forget-gate bias, no other forget weight) gives the 1997 cell's outputs
    and truncated gradient."""
    old = LSTM97(3, 2, 2, 2, bias="all", init=0.5, seed=4)
    new = LSTM97(3, 2, 2, 2, bias="all", init=0.5, seed=4, forget_gates=True)
    n_rec_old = old.n_src - 1
    for k in ("W_in", "W_out", "W_c"):
        w = np.zeros_like(new.weights[k])
        w[:, :n_rec_old] = old.weights[k][:, :-1]
        w[:, -1] = old.weights[k][:, -1]
        new.weights[k] = w * new.masks[k]
    new.weights["W_k"] = old.weights["W_k"].copy()
    new.weights["W_forget"] = np.zeros_like(new.weights["W_forget"])
    new.weights["W_forget"][:, -1] = 800.0                   # σ(800) = 1.0 exactly
    rng = np.random.default_rng(1)
    xs, targets = rng.normal(size=(8, 3)), rng.uniform(size=(8, 2))
    np.testing.assert_allclose(new.forward(xs), old.forward(xs), rtol=1e-13)
    g_old, g_new = lstm97.truncated_gradient(old, xs, targets), lstm97.truncated_gradient(new, xs, targets)
    np.testing.assert_allclose(g_new["W_c"][:, :n_rec_old], g_old["W_c"][:, :-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_new["W_in"][:, -1], g_old["W_in"][:, -1], rtol=1e-12, atol=1e-15)


def test_without_the_new_options_nothing_changes():
    a = LSTM97(3, 2, 2, 2, bias="hidden", seed=9)
    b = LSTM97(3, 2, 2, 2, bias="hidden", seed=9, input_gates=True, forget_gates=False)
    assert list(a.weights) == ["W_in", "W_out", "W_c", "W_k"] and a.n_src == 3 + 4 + 4 + 1
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_gates=False, input_gate_bias=[-1.0, -2.0]), "input_gate_bias"),
    (dict(forget_gate_bias=[1.0, 1.0]), "forget_gate_bias"),
    (dict(forget_gates=True, forget_gate_bias=[1.0]), "one finite value per block"),
])
def test_bad_variant_configurations_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTM97(3, 2, 2, 1, **kwargs)


# ---------------------------------------------------------------------------
# The engine computes what the reference computes, for every variant
# ---------------------------------------------------------------------------
ENGINE_NETS = {  # name: (n_in, n_out, blocks, size, kwargs, lr, onehot, every_step)
    "reber-like 3x2 (gates)": (7, 7, 3, 2, dict(bias="gates", init=0.2), 0.5, True, True),
    "adding-like 2x2 (all)": (2, 1, 2, 2, dict(bias="all"), 0.5, False, False),
    "2c-like 2x1 (none)": (24, 2, 2, 1, dict(bias="none", init=0.2), 0.5, True, False),
}


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("topology", list(ENGINE_NETS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_engine_matches_the_reference_for_each_variant(variant, topology, update):
    n_in, n_out, B, S, kw, lr, onehot, every = ENGINE_NETS[topology]
    kw = dict(kw, **variant_kwargs(variant, B))
    batch = random_batch(np.random.default_rng(len(topology)), 150, n_in, n_out, onehot, every)
    ref = LSTM97(n_in, n_out, B, S, seed=11, **kw)
    start, fast = copy.deepcopy(ref), copy.deepcopy(ref)
    err_ref = lstm97.train(ref, batch.sequences(), lr, update=update, engine="numpy")
    err_fast = lstm97.train(fast, batch, lr, update=update, engine="numba")
    assert max_rel(ref, start) > 1e-3, "training moved no weight"
    for k in ref.weights:
        assert np.abs(ref.weights[k] - start.weights[k]).max() > 0 or not ref.masks[k].any(), k
        scale = np.abs(ref.weights[k]).max() or 1.0
        assert np.abs(ref.weights[k] - fast.weights[k]).max() <= 1e-9 * scale, k
    np.testing.assert_allclose(err_fast, err_ref, rtol=1e-9, atol=1e-12)


def test_full_gradient_without_input_gates_equals_finite_differences():
    """fullgrad.py runs the cell without input gates too (no sources frozen: the full gradient);
    it refuses forget gates by name."""
    from lstm97 import fullgrad
    net, xs, targets = problem("naive CEC", "2x2 all", seed=5)
    got = fullgrad.full_gradient(net, xs, targets)
    W, eps = {k: w.copy() for k, w in net.weights.items()}, 1e-6
    for k, w in W.items():
        for idx in zip(*np.nonzero(net.masks[k])):
            old = w[idx]
            w[idx] = old + eps
            up = half_error(net, W, xs, targets)[0]
            w[idx] = old - eps
            down = half_error(net, W, xs, targets)[0]
            w[idx] = old
            assert abs(got[k][idx] + (up - down) / (2 * eps)) < 1e-7, (k, idx)
    assert not got["W_in"].any() and not got["W_out"].any()
    net, xs, targets = problem("forget", "2x2 all", seed=5)
    with pytest.raises(ValueError, match="forget gates"):
        fullgrad.full_gradient(net, xs, targets)


# ---------------------------------------------------------------------------
# Each lane computes what the engine computes, bit for bit, for every variant
# ---------------------------------------------------------------------------
LANE_NETS = {  # name: (task, LSTM97 shape, arguments, lr)
    # dense inputs, lengths that vary (lanes wait), one target per sequence
    "adding 2x2 (all)": (Adding(20), (2, 1, 2, 2), dict(bias="all"), 0.5),
    # sparse one-hot inputs, bias none
    "2c 2x1 (none)": (VeryLongLag(20, 20), (24, 2, 2, 1), dict(bias="none", init=0.2), 0.5),
    # sparse inputs, a target at every step, blocks of 2
    "reber 3x2 (gates)": (EmbeddedReber.from_pair(0), (7, 7, 3, 2), dict(bias="gates", init=0.2), 0.5),
}


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("topology", list(LANE_NETS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_lane_is_the_engine_bit_for_bit_for_each_variant(variant, topology, update):
    task, shape, kw, lr = LANE_NETS[topology]
    kw = dict(kw, **variant_kwargs(variant, shape[2]))
    batches = [task.sample(np.random.default_rng(s), n) for s, n in enumerate((60, 45, 30))]
    start = [LSTM97(*shape, **kw, seed=s) for s in range(3)]
    single, parallel = copy.deepcopy(start), copy.deepcopy(start)
    ref = [engine.train_batch(net, b, lr, update, exp="poly") for net, b in zip(single, batches)]
    out = lanes.train_batches(parallel, batches, lr, update, exp="poly")
    assert max(max_rel(a, b) for a, b in zip(single, start)) > 1e-4, "training moved no weight"
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, parallel, ref, out):
        assert bad_a == bad_b == -1
        assert set(a.weights) == set(b.weights)
        for k in a.weights:
            assert np.array_equal(a.weights[k], b.weights[k]), k
        assert np.array_equal(st_a, st_b)
