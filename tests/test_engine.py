"""The compiled engine computes what the NumPy reference computes (lstm97.engine against lstm97.network)."""
import copy

import numpy as np
import pytest

import lstm97
from lstm97 import engine, online
from lstm97.tasks import Batch


def random_batch(rng, n, n_in, n_out, onehot, every_step, lo=6, hi=14):
    lengths = rng.integers(lo, hi + 1, n)
    N = int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if onehot:
        x_idx = rng.integers(0, n_in, (N, 1))
        x_val = np.ones((N, 1))
    else:
        x_idx = np.tile(np.arange(n_in), (N, 1))
        x_val = rng.normal(size=(N, n_in))
    targets = np.full((N, n_out), np.nan)
    if every_step:
        targets[:] = rng.uniform(0, 1, (N, n_out))
        targets[rng.uniform(size=N) < 0.2] = np.nan
    targets[starts[1:] - 1] = rng.uniform(0, 1, (n, n_out))
    return Batch(x_idx, x_val, targets, starts, n_in)


CASES = {  # name: (n_in, n_out, blocks, size, kwargs, lr, onehot, every_step)
    "reber 3x2 (ga)": (7, 7, 3, 2, dict(bias="gates", init=0.2, output_gate_bias=[-1, -2, -3]), 0.5, True, True),
    "2a/2b (B, no og)": (11, 11, 1, 1, dict(bias="none", output_gates=False, recurrent=False, shortcuts=True,
                                            g="logistic", h="identity", init=0.2), 1.0, True, True),
    "2c (none)": (24, 2, 2, 1, dict(bias="none", init=0.2), 0.5, True, False),
    "3a (b1)": (1, 1, 3, 1, dict(bias="hidden", input_gate_bias=[-1, -3, -5],
                                 output_gate_bias=[-2, -4, -6]), 1.0, False, False),
    "adding (all)": (2, 1, 2, 2, dict(bias="all", input_gate_bias=[-3, -6]), 0.5, False, False),
    "6b (all)": (8, 8, 3, 2, dict(bias="all", input_gate_bias=[-2, -4, -6]), 0.5, True, False),
    # the readings' nets (readings.py): legend ranges, reset 0.5, cells from inputs, input-gate bias
    "2c readings": (24, 2, 2, 1, dict(bias="input", input_gate_bias=[-1, -2], init=0.2, g="legend",
                                      h="legend", reset=0.5, cell_sources="inputs"), 0.5, True, False),
    "reber legend reset": (7, 7, 2, 2, dict(bias="gates", init=0.2, output_gate_bias=[-1, -2], g="legend",
                                            h="legend", reset=0.5), 0.5, True, True),
}


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("name", list(CASES))
def test_engine_matches_numpy_reference_over_1000_sequences(name, update):
    n_in, n_out, B, S, kw, lr, onehot, every = CASES[name]
    rng = np.random.default_rng(len(name))
    batch = random_batch(rng, 1000, n_in, n_out, onehot, every)
    ref = lstm97.LSTM97(n_in, n_out, B, S, seed=11, **kw)
    fast = copy.deepcopy(ref)
    err_ref = lstm97.train(ref, batch.sequences(), lr, update=update, engine="numpy")
    err_fast = lstm97.train(fast, batch, lr, update=update, engine="numba")
    moved = max(np.abs(ref.weights[k] - fast_w).max() for k, fast_w in
                {k: lstm97.LSTM97(n_in, n_out, B, S, seed=11, **kw).weights[k] for k in ref.weights}.items())
    assert moved > 1e-3, "training did not change the weights; the comparison would be empty"
    for k in ref.weights:
        scale = np.abs(ref.weights[k]).max() or 1.0
        assert np.abs(ref.weights[k] - fast.weights[k]).max() <= 1e-9 * scale, k
    np.testing.assert_allclose(err_fast, err_ref, rtol=1e-9, atol=1e-12)


def test_evaluate_matches_numpy_forward():
    rng = np.random.default_rng(5)
    net = lstm97.LSTM97(7, 7, 3, 2, bias="gates", init=0.5, seed=2)
    batch = random_batch(rng, 20, 7, 7, True, True)
    stats, outputs = engine.evaluate(net, batch)
    for i, (xs, tg) in enumerate(batch.sequences()):
        a, b = batch.starts[i], batch.starts[i + 1]
        ys = net.forward(xs)
        np.testing.assert_allclose(outputs[a:b], ys, rtol=1e-12)
        has = ~np.isnan(tg)
        np.testing.assert_allclose(stats[i, online.SSE], np.sum((tg - ys)[has] ** 2), rtol=1e-12)
        np.testing.assert_allclose(stats[i, online.ABS_END], np.max(np.abs(tg[-1] - ys[-1])), rtol=1e-12)


def test_divergence_is_reported_not_raised():
    rng = np.random.default_rng(0)
    net = lstm97.LSTM97(2, 1, 2, 2, bias="all", seed=0)
    batch = random_batch(rng, 50, 2, 1, False, False)
    net.weights["W_c"][1, 0] = np.nan          # as if an earlier update had overflowed
    stats, bad = engine.train_batch(net, batch, 0.5)
    assert bad == 0 and np.isnan(stats[0, online.SSE])
    errors = lstm97.train(net, batch, 0.5)
    assert len(errors) == 1 and np.isnan(errors[-1])
    huge = lstm97.LSTM97(2, 1, 2, 2, bias="all", seed=0)
    errors = lstm97.train(huge, batch, 1e306)          # overflows; must not raise
    assert np.all(np.isfinite(errors[:-1]))
