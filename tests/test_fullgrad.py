"""The full-gradient learner (reading 'full') against independent computations:
finite differences of the NumPy reference's error, on recurrent nets of every topology."""
import copy

import numpy as np
import pytest

import lstm97
from lstm97 import engine, fullgrad, online
from lstm97.network import truncated_gradient
from lstm97.tasks import dense_batch

TOPOLOGIES = {  # name: (n_in, n_out, blocks, size, kwargs, targets at every step)
    "reber 4x1 (ga)": (7, 7, 4, 1, dict(bias="gates", init=0.5, output_gate_bias=[-1, -2, -3, -4]), True),
    "reber 3x2 (ga)": (7, 7, 3, 2, dict(bias="gates", init=0.5, output_gate_bias=[-1, -2, -3]), True),
    "2a/2b (B, no og)": (5, 5, 1, 1, dict(bias="none", output_gates=False, recurrent=False, shortcuts=True,
                                          g="logistic", h="identity", init=0.5), True),
    "2c (none)": (6, 2, 2, 1, dict(bias="none", init=0.5), False),
    "3a (b1)": (1, 1, 3, 1, dict(bias="hidden", init=0.5, input_gate_bias=[-1, -3, -5],
                                 output_gate_bias=[-2, -4, -6]), False),
    "adding (all)": (2, 1, 2, 2, dict(bias="all", init=0.5, input_gate_bias=[-3, -6]), False),
    "6a (all)": (8, 4, 2, 2, dict(bias="all", init=0.5, input_gate_bias=[-2, -4]), True),
    "2c cells-from-inputs": (6, 2, 2, 1, dict(bias="none", init=0.5, cell_sources="inputs"), False),
    "2c gate-bias legend reset-half": (6, 2, 2, 1, dict(bias="input", init=0.5, input_gate_bias=[-1, -2],
                                                        g="legend", h="legend", reset=0.5), False),
}


def case(name, seed=0, T=7):
    n_in, n_out, B, S, kw, every = TOPOLOGIES[name]
    rng = np.random.default_rng(seed)
    net = lstm97.LSTM97(n_in, n_out, B, S, seed=seed, **kw)
    xs = rng.normal(size=(T, n_in))
    targets = np.full((T, n_out), np.nan)
    targets[-1] = rng.uniform(0, 1, n_out)
    if every:
        targets[:-1] = rng.uniform(0, 1, (T - 1, n_out))
        targets[2] = np.nan                          # a step without a target
    return net, xs, targets


def error(net, xs, targets, weights=None):
    """E summed over the target steps (eq. 16), from the NumPy reference's forward pass."""
    if weights is not None:
        net = copy.deepcopy(net)
        net.weights = weights
    ys = net.forward(xs)
    has = ~np.isnan(targets)
    return float(np.sum((targets[has] - ys[has]) ** 2))


def finite_difference(net, xs, targets, eps=1e-6):
    """-1/2 dE/dw by central differences, for every trainable weight."""
    out = {}
    for k, w in net.weights.items():
        g = np.zeros_like(w)
        for idx in zip(*np.nonzero(net.masks[k])):
            plus = {kk: v.copy() for kk, v in net.weights.items()}
            minus = {kk: v.copy() for kk, v in net.weights.items()}
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = -0.5 * (error(net, xs, targets, plus) - error(net, xs, targets, minus)) / (2 * eps)
        out[k] = g
    return out


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_full_gradient_matches_finite_differences(name):
    net, xs, targets = case(name)
    got = fullgrad.full_gradient(net, xs, targets)
    want = finite_difference(net, xs, targets)
    scale = max(np.abs(w).max() for w in want.values())
    assert scale > 1e-4, "the gradient is ~0: the comparison would be empty"
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=2e-7 * max(scale, 1.0), err_msg=k)


@pytest.mark.parametrize("name", ["reber 3x2 (ga)", "2c (none)", "adding (all)", "2c cells-from-inputs"])
def test_full_gradient_differs_from_the_truncated_one_on_recurrent_nets(name):
    net, xs, targets = case(name)
    full, trunc = fullgrad.full_gradient(net, xs, targets), truncated_gradient(net, xs, targets)
    assert max(np.abs(full[k] - trunc[k]).max() for k in full) > 1e-6


@pytest.mark.parametrize("blocks, kw", [(1, TOPOLOGIES["2a/2b (B, no og)"][4]),
                                        (2, dict(bias="all", init=0.5, recurrent=False))],
                         ids=["2a/2b", "no-recurrence"])
def test_without_recurrent_connections_nothing_is_truncated(blocks, kw):
    """Why 2a+full and 2b+full are 2a and 2b themselves (readings.SAME_AS_MAIN), and why the
    reading 'no-recurrence' has the exact gradient: only the CEC carries error back in time,
    and the truncated traces (eqs. 25, 27) follow it exactly."""
    rng = np.random.default_rng(3)
    net = lstm97.LSTM97(5, 5, blocks, 1, seed=3, **kw)
    xs, targets = rng.normal(size=(9, 5)), rng.uniform(0, 1, (9, 5))
    full, trunc = fullgrad.full_gradient(net, xs, targets), truncated_gradient(net, xs, targets)
    assert max(np.abs(full[k]).max() for k in full) > 1e-4
    for k in full:
        np.testing.assert_allclose(full[k], trunc[k], rtol=0, atol=1e-12, err_msg=k)


def online_reference(net, xs, targets, lr):
    """Per-step online learning with the exact gradient, by finite differences: at each target
    step t, -1/2 dE(t)/dw where the weights of every step up to t move together (what online
    RTRL computes), then w += lr * that. Returns the final weights."""
    history = []                                     # the weights each step used
    w = {k: v.copy() for k, v in net.weights.items()}
    for t in range(len(xs)):
        history.append({k: v.copy() for k, v in w.items()})
        if np.all(np.isnan(targets[t])):
            continue

        def e_t(delta):
            run = lstm97.network._Sequence(net)
            for tau in range(t + 1):
                net.weights = {k: history[tau][k] + delta[k] for k in w}
                y = run.step(xs[tau])
            has = ~np.isnan(targets[t])
            return float(np.sum((targets[t][has] - y[has]) ** 2))

        zero = {k: np.zeros_like(v) for k, v in w.items()}
        for k in w:
            g = np.zeros_like(w[k])
            for idx in zip(*np.nonzero(net.masks[k])):
                plus, minus = copy.deepcopy(zero), copy.deepcopy(zero)
                plus[k][idx], minus[k][idx] = 1e-6, -1e-6
                g[idx] = -0.5 * (e_t(plus) - e_t(minus)) / 2e-6
            w[k] = w[k] + lr * g
    net.weights = w
    return w


@pytest.mark.parametrize("name", ["reber 3x2 (ga)", "6a (all)", "2c gate-bias legend reset-half"])
def test_per_step_updates_follow_the_exact_online_gradient(name):
    net, xs, targets = case(name, seed=1, T=6)
    if name.startswith("2c"):
        targets[1:-1] = np.random.default_rng(1).uniform(0, 1, (4, 2))
    fast = copy.deepcopy(net)
    fullgrad.train_batch(fast, dense_batch([(xs, targets)]), 0.5, "step")
    start = copy.deepcopy(net.weights)
    want = online_reference(net, xs, targets, 0.5)
    assert max(np.abs(want[k] - start[k]).max() for k in want) > 1e-3
    for k in want:
        np.testing.assert_allclose(fast.weights[k], want[k], rtol=0, atol=1e-7, err_msg=k)


def test_statistics_and_forward_pass_match_the_engine():
    """Same forward pass as the truncated engine: the same errors before the first update."""
    net, xs, targets = case("reber 3x2 (ga)")
    batch = dense_batch([(xs, targets)] * 3)
    a, b = copy.deepcopy(net), copy.deepcopy(net)
    s_full, _ = fullgrad.train_batch(a, batch, 0.1)
    s_trunc, _ = engine.train_batch(b, batch, 0.1)
    np.testing.assert_allclose(s_full[0], s_trunc[0], rtol=1e-12)
    assert not np.allclose(s_full[1:], s_trunc[1:], rtol=1e-12, atol=0)


@pytest.mark.parametrize("update", ["sequence", "step"])
def test_divergence_is_reported_not_raised(update):
    net, xs, targets = case("2c (none)")
    net.weights["W_c"][1, 0] = np.nan          # as if an earlier update had overflowed
    stats, bad = fullgrad.train_batch(net, dense_batch([(xs, targets)] * 3), 0.1, update)
    assert bad == 0 and np.isnan(stats[0, online.SSE])
