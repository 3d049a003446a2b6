"""The helpers of lstm97/theory.py that notebook 00 uses (Section 3, Section 4, Appendix A.2)."""
import numpy as np
import pytest

from lstm97 import theory
from lstm97.network import LSTM97, squash_g, squash_h, truncated_gradient

NETS = {
    "exp4 (2 blocks of 2, recurrent, all biases)":
        dict(args=(2, 1, 2, 2), kw=dict(bias="all", input_gate_bias=(-3.0, -6.0), init=0.1)),
    "exp3 (3 blocks of 1, b1 biases)":
        dict(args=(1, 1, 3, 1), kw=dict(bias="hidden", input_gate_bias=(-1.0, -3.0, -5.0),
                                        output_gate_bias=(-2.0, -4.0, -6.0), init=0.1)),
    "exp2a (no output gate, shortcuts, g logistic, h identity)":
        dict(args=(3, 3, 1, 1), kw=dict(bias="none", output_gates=False, recurrent=False,
                                        shortcuts=True, g="logistic", h="identity", init=0.2)),
    "two outputs, block of 3, larger weights":
        dict(args=(2, 2, 1, 3), kw=dict(bias="all", init=0.5)),
}


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("T", [1, 2, 50, 1000])
def test_cec_error_flow_is_exactly_one(name, T):
    spec = NETS[name]
    net = LSTM97(*spec["args"], seed=7, **spec["kw"])
    flow = theory.cec_error_flow(net, T)
    assert flow.shape == (net.C,)
    assert np.all(np.isfinite(flow))
    np.testing.assert_allclose(flow, 1.0, rtol=1e-12, atol=0)


def test_cec_error_flow_is_the_true_derivative_without_recurrence():
    """Without recurrent weights truncation cuts nothing, so 1 must be the real ∂s(T)/∂s(1)."""
    net = LSTM97(1, 1, 1, 2, bias="all", recurrent=False, init=0.5, seed=11)
    T = 300
    flow = theory.cec_error_flow(net, T)
    xs = np.zeros((T, 1))
    xs[0, 0] = 1.0
    targets = np.full((T, 1), np.nan)
    targets[-1, 0] = 1.0
    grad = truncated_gradient(net, xs, targets)["W_c"][:, 0]
    y_T = net.forward(xs)[-1, 0]
    eps = 1e-6
    for c in range(net.C):
        fd = []
        for sign in (1, -1):
            W = {k: w.copy() for k, w in net.weights.items()}
            W["W_c"][c, 0] += sign * eps
            probe = LSTM97(1, 1, 1, 2, bias="all", recurrent=False, init=0.0)
            probe.set_weights(W)
            fd.append(probe.forward(xs)[-1, 0])
        dy_dw = (fd[0] - fd[1]) / (2 * eps)
        # eq. 19 convention: Δw = (d - y) ∂y/∂w, no factor 2
        np.testing.assert_allclose(grad[c], (1.0 - y_T) * dy_dw, rtol=1e-6)
        assert flow[c] == pytest.approx(1.0, abs=1e-12)


def test_cec_error_flow_rejects_bad_T():
    net = LSTM97(1, 1, 1, 1, seed=0)
    with pytest.raises(ValueError):
        theory.cec_error_flow(net, 0)


def test_memory_sequence_layout():
    rng = np.random.default_rng(0)
    xs = theory.memory_sequence([0.5, -0.25], rng, marker=3, trigger=8, length=10, noise=0.3)
    assert xs.shape == (10, 4)
    np.testing.assert_array_equal(xs[3, :2], [0.5, -0.25])
    np.testing.assert_array_equal(xs[:, 2], np.eye(10)[3])
    np.testing.assert_array_equal(xs[:, 3], np.eye(10)[8])
    others = np.delete(xs[:, :2], 3, axis=0)
    assert np.all(np.abs(others) <= 0.3) and np.any(others != 0)
    with pytest.raises(ValueError):
        theory.memory_sequence([1.0], rng, marker=5, trigger=5, length=10)


@pytest.mark.parametrize("values", [[0.8], [-0.6], [0.7, -0.4]])
def test_gated_memory_keeps_its_value_across_500_distractors(values):
    S = len(values)
    net = theory.hand_wired_memory(S, gated=True)
    assert net.B == 1 and net.S == S and net.n_in == S + 2
    xs = theory.memory_sequence(values, np.random.default_rng(1))      # marker 10, trigger 510
    _, tr = net.forward(xs, trace=True)
    stored = squash_g(np.array(values), "centered")[0]
    np.testing.assert_allclose(tr["s"][:10], 0.0, atol=1e-6)            # closed before the marker
    np.testing.assert_allclose(tr["s"][510], stored, atol=1e-5)         # kept over 500 steps
    assert np.all(tr["y_in"][np.arange(520) != 10] < 1e-8) and tr["y_in"][10, 0] > 1 - 1e-8
    assert np.all(np.abs(tr["y_c"][np.arange(520) != 510]) < 1e-8)     # nothing leaks out
    np.testing.assert_allclose(tr["y_c"][510], squash_h(stored, "centered")[0], atol=1e-5)


def test_naive_cec_is_overwritten_and_always_read():
    values = [0.8]
    net = theory.hand_wired_memory(1, gated=False)
    xs = theory.memory_sequence(values, np.random.default_rng(1))
    _, tr = net.forward(xs, trace=True)
    assert np.all(tr["y_in"] > 1 - 1e-8) and np.all(tr["y_out"] > 1 - 1e-8)
    # every distractor is written: the state is the running sum of g(inputs)
    expected = np.cumsum(squash_g(xs[:, 0], "centered")[0])
    np.testing.assert_allclose(tr["s"][:, 0], expected, atol=1e-5)
    stored = squash_g(np.array(values), "centered")[0][0]
    assert abs(tr["s"][510, 0] - stored) > 0.1


def test_h_prime_matches_the_core_and_keeps_tiny_values():
    s = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(theory.h_prime(s), squash_h(s, "centered")[1], rtol=1e-9, atol=1e-15)
    assert squash_h(np.array([100.0]), "centered")[1][0] == 0.0          # the core rounds to 0
    assert theory.h_prime(100.0) == pytest.approx(2 * np.exp(-100.0), rel=1e-12)
    assert theory.h_prime(-100.0) == theory.h_prime(100.0)
