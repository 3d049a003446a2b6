"""The NumPy core (docs/paper.md §1-3) against independent computations."""
import itertools

import numpy as np
import pytest

import lstm97
from lstm97.network import _Sequence
from lstm97 import theory


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------
# An independent reverse-mode computation of the truncated gradient.
# Written from docs/paper.md §1.3-1.4 and §2.1 without the core's code: a plain forward pass
# that stores everything, then backpropagation through time in which the net inputs
# of gates and cells do not depend on z(t-1) (the recurrent sources are cut), while
# the CEC path s(t) -> s(t-1) is kept with weight 1.
# ---------------------------------------------------------------------------
def reverse_mode(net, xs, targets):
    W = net.weights
    B, S, C, n_in = net.B, net.S, net.C, net.n_in
    blk = np.arange(C) // S
    gfun = {"centered": (lambda a: 4 * sig(a) - 2, lambda a: 4 * sig(a) * (1 - sig(a))),
            "logistic": (sig, lambda a: sig(a) * (1 - sig(a)))}[net.g]
    hfun = {"centered": (lambda a: 2 * sig(a) - 1, lambda a: 2 * sig(a) * (1 - sig(a))),
            "identity": (lambda a: a, lambda a: np.ones_like(a))}[net.h]
    z = np.zeros(C + 2 * B)
    s = np.zeros(C)
    tape = []
    for x in xs:
        u = np.concatenate([x, z, [1.0]])
        y_in = sig(W["W_in"] @ u)
        y_out = sig(W["W_out"] @ u) if net.output_gates else np.ones(B)
        net_c = W["W_c"] @ u
        s = s + y_in[blk] * gfun[0](net_c)
        y_c = y_out[blk] * hfun[0](s)
        v = np.concatenate([y_c] + ([x] if net.shortcuts else []) + [[1.0]])
        y_k = sig(W["W_k"] @ v)
        tape.append((u, y_in, y_out, net_c, s.copy(), y_c, v, y_k))
        z = np.concatenate([y_c, y_in, y_out if net.output_gates else np.zeros(B)])
    grad = {k: np.zeros_like(w) for k, w in W.items()}
    ds_future = np.zeros(C)
    for t in reversed(range(len(xs))):
        u, y_in, y_out, net_c, s, y_c, v, y_k = tape[t]
        d = targets[t]
        dy_k = np.where(np.isnan(d), 0.0, np.nan_to_num(d) - y_k)   # -∂(½E)/∂y_k
        dnet_k = dy_k * y_k * (1 - y_k)
        grad["W_k"] += np.outer(dnet_k, v)
        dy_c = W["W_k"][:, :C].T @ dnet_k          # y_c(t) reaches only the outputs (z is cut)
        ds = ds_future + dy_c * y_out[blk] * hfun[1](s)
        dy_out = np.array([np.sum((dy_c * hfun[0](s))[blk == j]) for j in range(B)])
        grad["W_out"] += np.outer(dy_out * y_out * (1 - y_out), u)
        dy_in = np.array([np.sum((ds * gfun[0](net_c))[blk == j]) for j in range(B)])
        grad["W_in"] += np.outer(dy_in * y_in * (1 - y_in), u)
        grad["W_c"] += np.outer(ds * y_in[blk] * gfun[1](net_c), u)
        ds_future = ds                              # the CEC: ∂s(t)/∂s(t-1) = 1
    return {k: grad[k] * net.masks[k] for k in grad}


def half_error(net, xs, targets):
    """½ Σ_t E(t): the paper's gradient convention is -∂(½ΣE)/∂w (no factor 2)."""
    ys = net.forward(xs)
    has = ~np.isnan(targets)
    return 0.5 * np.sum((np.nan_to_num(targets) - ys)[has] ** 2)


TOPOLOGIES = [
    dict(bias=b, output_gates=og, recurrent=rec, shortcuts=sc, g=g, h=h)
    for b, og, rec, sc, (g, h) in itertools.product(
        ["all", "hidden", "gates", "none"], [True, False], [True, False], [False, True],
        [("centered", "centered"), ("logistic", "identity")])
]


def random_problem(topology, seed, T=12, n_in=3, n_out=2, blocks=2, block_size=2):
    rng = np.random.default_rng(seed)
    net = lstm97.LSTM97(n_in, n_out, blocks, block_size, init=1.0, seed=seed, **topology)
    xs = rng.normal(size=(T, n_in))
    targets = rng.uniform(0, 1, size=(T, n_out))
    targets[rng.uniform(size=T) < 0.5] = np.nan          # targets on some steps only
    targets[rng.uniform(size=(T, n_out)) < 0.2] = np.nan  # and on some outputs only
    targets[-1] = rng.uniform(0, 1, n_out)
    return net, xs, targets


@pytest.mark.parametrize("i", range(len(TOPOLOGIES)))
def test_truncated_gradient_equals_reverse_mode_with_recurrent_sources_cut(i):
    for seed, (B, S) in enumerate([(1, 1), (2, 2), (3, 1), (1, 3)]):
        net, xs, targets = random_problem(TOPOLOGIES[i], 100 * i + seed, blocks=B, block_size=S)
        got = lstm97.truncated_gradient(net, xs, targets)
        want = reverse_mode(net, xs, targets)
        for k in want:
            assert np.abs(want[k]).max() > 0 or k == "W_out" and not net.output_gates
            np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-10 * max(1.0, np.abs(want[k]).max()),
                                       err_msg=f"{k} in {TOPOLOGIES[i]}")


@pytest.mark.parametrize("i", [i for i, t in enumerate(TOPOLOGIES) if not t["recurrent"]])
def test_truncated_gradient_equals_finite_differences_where_truncation_is_exact(i):
    net, xs, targets = random_problem(TOPOLOGIES[i], i)
    grad = lstm97.truncated_gradient(net, xs, targets)
    eps = 1e-5
    checked = 0
    for k, w in net.weights.items():
        for idx in zip(*np.nonzero(net.masks[k])):
            old = w[idx]
            w[idx] = old + eps
            up = half_error(net, xs, targets)
            w[idx] = old - eps
            down = half_error(net, xs, targets)
            w[idx] = old
            fd = -(up - down) / (2 * eps)
            assert abs(grad[k][idx] - fd) < 1e-7, (k, idx, grad[k][idx], fd)
            checked += 1
    assert checked == net.n_weights


def test_truncation_is_real_for_recurrent_nets():
    """With recurrent weights, the truncated gradient is not the full gradient (docs/paper.md §2.1)."""
    net, xs, targets = random_problem(dict(bias="all"), 7)
    grad = lstm97.truncated_gradient(net, xs, targets)
    eps, worst = 1e-6, 0.0
    w = net.weights["W_c"]
    for idx in zip(*np.nonzero(net.masks["W_c"])):
        old = w[idx]
        w[idx] = old + eps
        up = half_error(net, xs, targets)
        w[idx] = old - eps
        down = half_error(net, xs, targets)
        w[idx] = old
        worst = max(worst, abs(grad["W_c"][idx] + (up - down) / (2 * eps)))
    assert worst > 1e-4


def test_unused_connections_get_no_gradient_and_stay_zero():
    net, xs, targets = random_problem(dict(bias="none", output_gates=False, recurrent=False), 3)
    grad = lstm97.truncated_gradient(net, xs, targets)
    for k in grad:
        assert np.all(grad[k][net.masks[k] == 0] == 0)
        assert np.all(net.weights[k][net.masks[k] == 0] == 0)
    lstm97.train(net, [(xs, targets)] * 3, 0.5, engine="numpy")
    for k in grad:
        assert np.all(net.weights[k][net.masks[k] == 0] == 0)


TABLE10 = [  # (n_in, n_out, blocks, size, kwargs, weights of Table 10)
    (7, 7, 4, 1, dict(bias="gates"), 264),
    (7, 7, 3, 2, dict(bias="gates"), 276),
    (101, 101, 1, 1, dict(bias="none", output_gates=False, recurrent=False, shortcuts=True,
                          g="logistic", h="identity"), 10504),
] + [(p + 4, 2, 2, 1, dict(bias="none"), w) for p, w in
     [(50, 364), (100, 664), (200, 1264), (500, 3064), (1000, 6064)]] + [
    (1, 1, 3, 1, dict(bias="hidden"), 102),
    (2, 1, 2, 2, dict(bias="all"), 93),
    (8, 4, 2, 2, dict(bias="all"), 156),
    (8, 8, 3, 2, dict(bias="all"), 308),
]


@pytest.mark.parametrize("n_in,n_out,blocks,size,kw,weights", TABLE10)
def test_weight_counts_of_table_10(n_in, n_out, blocks, size, kw, weights):
    net = lstm97.LSTM97(n_in, n_out, blocks, size, **kw)
    assert net.n_weights == weights
    assert sum(int(np.count_nonzero(w)) for w in net.weights.values()) == weights


def test_layout_and_gate_biases():
    net = lstm97.LSTM97(2, 1, 2, 2, bias="all", init=0.1, input_gate_bias=[-3, -6], seed=1)
    assert net.weights["W_in"].shape == (2, 2 + 4 + 4 + 1)
    assert net.weights["W_c"].shape == (4, 11)
    assert net.weights["W_k"].shape == (1, 5)
    np.testing.assert_array_equal(net.weights["W_in"][:, -1], [-3, -6])
    assert np.abs(net.weights["W_out"]).max() <= 0.1
    assert np.abs(net.weights["W_c"]).max() <= 0.1
    same = lstm97.LSTM97(2, 1, 2, 2, bias="all", init=0.1, input_gate_bias=[-3, -6], seed=1)
    for k in net.weights:
        np.testing.assert_array_equal(net.weights[k], same.weights[k])
    other = {k: np.ones_like(w) for k, w in net.weights.items()}
    net.set_weights(other)
    assert net.n_weights == sum(int(np.count_nonzero(w)) for w in net.weights.values())


def test_cec_carries_the_state_unchanged_over_1000_steps():
    """∂s(T)/∂s(t) = 1: a perturbation of s at step 1 reaches step 1000 unchanged."""
    net = lstm97.LSTM97(1, 1, 1, 1, bias="all", recurrent=False, init=0.5, seed=0)
    xs = np.random.default_rng(0).normal(size=(1000, 1))
    for delta in (0.0, 1e-3):
        run = _Sequence(net)
        for t, x in enumerate(xs):
            run.step(x)
            if t == 0:
                run.s = run.s + delta
        if delta == 0.0:
            base = run.s.copy()
    np.testing.assert_allclose((run.s - base) / 1e-3, 1.0, rtol=1e-9)


def test_error_injected_at_step_1000_reaches_step_1_undiminished():
    """The input-gate weight from an input seen only at step 1 gets e_s(1000) · ∂s(1)/∂w."""
    net = lstm97.LSTM97(1, 1, 1, 1, bias="none", recurrent=False, init=0.5, seed=3)
    xs = np.zeros((1000, 1))
    xs[0, 0] = 1.0
    targets = np.full((1000, 1), np.nan)
    targets[-1] = 1.0
    grad = lstm97.truncated_gradient(net, xs, targets)
    run = _Sequence(net)
    for x in xs:
        run.step(x)
    W = net.weights
    y_k = run.y_k[0]
    e_k = y_k * (1 - y_k) * (1.0 - y_k)
    e_s = run.y_out[0] * run.dhs[0] * W["W_k"][0, 0] * e_k          # eq. 23 at step 1000
    net_c1, net_in1 = W["W_c"][0, 0], W["W_in"][0, 0]                # net inputs at step 1
    trace_step1 = (4 * sig(net_c1) - 2) * sig(net_in1) * (1 - sig(net_in1))   # eq. 25 at step 1
    assert abs(e_s) > 1e-4
    np.testing.assert_allclose(grad["W_in"][0, 0], e_s * trace_step1, rtol=1e-12)


@pytest.mark.parametrize("w", [1.0, 3.0, 6.0, 20.0])
def test_conventional_unit_error_decays_by_the_factor_of_section_3_1(w):
    rng = np.random.default_rng(1)
    xs = rng.normal(0, 0.5, 60) - w / 2          # keeps net near 0, where f' is largest
    ys, nets = theory.self_recurrent_unit(w, xs)
    flow = theory.bptt_error_flow(w, xs)
    predicted = theory.error_scale(w, nets[1:][::-1])
    np.testing.assert_allclose(flow, predicted, rtol=1e-10)
    # finite differences of y(T) with respect to y(T-q), measured through the unit itself
    T, eps = len(xs), 1e-7
    for q in (1, 5, 20):
        y_prev = ys[T - q - 1]
        up, _ = theory.self_recurrent_unit(w, xs[T - q:], y0=y_prev + eps)
        down, _ = theory.self_recurrent_unit(w, xs[T - q:], y0=y_prev - eps)
        fd = (up[-1] - down[-1]) / (2 * eps)
        if abs(predicted[q - 1]) > 1e-6:
            np.testing.assert_allclose(fd, predicted[q - 1], rtol=1e-5)
        else:                                     # vanished below what a difference can see
            assert abs(fd) < 1e-6
    assert np.all(np.abs(predicted) <= (0.25 * w) ** np.arange(1, len(predicted) + 1) + 1e-300)
    if w < 4.0:
        assert abs(predicted[50]) < 1e-6 * abs(predicted[0])


def test_numpy_training_lowers_the_error():
    rng = np.random.default_rng(0)
    net = lstm97.LSTM97(2, 1, 2, 2, bias="all", seed=0)
    seqs = []
    for _ in range(6000):
        xs = np.column_stack([rng.uniform(-1, 1, 10), np.zeros(10)])
        xs[0, 1] = 1.0
        tg = np.full((10, 1), np.nan)
        tg[-1] = 0.5 + xs[0, 0] / 4
        seqs.append((xs, tg))
    errors = lstm97.train(net, seqs, 0.5, engine="numpy")
    assert errors[-1000:].mean() < 0.3 * errors[:1000].mean()


@pytest.mark.parametrize("args,kwargs,message", [
    ((0, 1, 1, 1), {}, "n_in"),
    ((1, -1, 1, 1), {}, "n_out"),
    ((1, 1, 0, 1), {}, "blocks"),
    ((1, 1, 1, 0), {}, "block_size"),
    ((1, 1, 1, 1.5), {}, "block_size"),
    ((1, 1, 2, 1), dict(input_gate_bias=[-1.0]), "input_gate_bias"),
    ((1, 1, 2, 1), dict(output_gate_bias=[-1.0, -2.0, -3.0]), "output_gate_bias"),
    ((1, 1, 1, 1), dict(output_gate_bias=[np.nan]), "output_gate_bias"),
    ((1, 1, 1, 1), dict(bias="none", input_gate_bias=[-1.0]), "input_gate_bias"),
    ((1, 1, 1, 1), dict(output_gates=False, output_gate_bias=[-1.0]), "output_gate_bias"),
    ((1, 1, 1, 1), dict(g="tanh"), "g"),
    ((1, 1, 1, 1), dict(h="relu"), "h"),
    ((1, 1, 1, 1), dict(bias="b1"), "bias"),
    ((1, 1, 1, 1), dict(init=-0.1), "init"),
])
def test_bad_configurations_name_the_problem(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lstm97.LSTM97(*args, **kwargs)


def test_bad_inputs_name_the_problem():
    net = lstm97.LSTM97(2, 1, 1, 1)
    with pytest.raises(ValueError, match="shape"):
        net.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        net.forward(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="targets"):
        lstm97.truncated_gradient(net, np.zeros((5, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="shape"):
        net.set_weights({k: np.zeros((1, 1)) for k in net.weights})
    with pytest.raises(ValueError, match="update"):
        lstm97.train(net, [(np.zeros((3, 2)), np.zeros((3, 1)))], 0.1, update="batch")
    with pytest.raises(ValueError, match="learning rate"):
        lstm97.train(net, [(np.zeros((3, 2)), np.zeros((3, 1)))], -0.1)
