"""The competitors' learners (rtrl.py, bptt.py on rnn.RNN) against independent
computations: finite differences of the plain-NumPy forward pass ``RNN.forward``."""
import copy

import numpy as np
import pytest

from lstm97 import bptt, rnn, rtrl
from lstm97.rnn import RNN
from lstm97.tasks import NoiseFree, dense_batch

NETS = {  # name: RNN arguments (n_in, n_out, hidden, kwargs)
    "table 2 (self, shortcuts)": (4, 4, 1, dict(recurrence="self", shortcuts=True)),
    "williams-zipser (outputs recurrent, bias)": (3, 2, 3, dict(outputs="recurrent", bias=True)),
    "full + readout + shortcuts + bias": (3, 2, 3, dict(shortcuts=True, bias=True)),
    "elman (full, readout)": (3, 3, 4, dict()),
}


def case(name, seed=0, T=7, every=True):
    n_in, n_out, H, kw = NETS[name]
    rng = np.random.default_rng(seed)
    net = RNN(n_in, n_out, H, init=1.0, seed=seed, **kw)
    xs = rng.normal(size=(T, n_in))
    targets = np.full((T, n_out), np.nan)
    targets[-1] = rng.uniform(0, 1, n_out)
    if every:
        targets[:-1] = rng.uniform(0, 1, (T - 1, n_out))
        targets[2] = np.nan                              # a step without a target
        targets[4, 0] = np.nan                           # a step with a partial target
    return net, xs, targets


def sq_error(net, xs, targets, weights):
    ys = net.forward(xs, weights)
    has = ~np.isnan(targets)
    return float(np.sum((targets[has] - ys[has]) ** 2))


def fd(net, f, eps=1e-6):
    """-1/2 df/dw by central differences for every trainable weight; f(weights) -> E."""
    out = {}
    for k, w in net.weights.items():
        g = np.zeros_like(w)
        for idx in zip(*np.nonzero(net.masks[k])):
            plus, minus = copy.deepcopy(net.weights), copy.deepcopy(net.weights)
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = -0.5 * (f(plus) - f(minus)) / (2 * eps)
        out[k] = g
    return out


def learned(module, net, xs, targets, update, lr=1.0):
    """The weight change of one sequence, divided by lr."""
    net = copy.deepcopy(net)
    before = copy.deepcopy(net.weights)
    stats, bad = module.train_batch(net, dense_batch([(xs, targets)]), lr, update)
    assert bad == -1
    return {k: (net.weights[k] - before[k]) / lr for k in before}, stats


def close(got, want, atol=2e-7):
    scale = max(np.abs(w).max() for w in want.values())
    assert scale > 1e-4, "the gradient is ~0: the comparison would be empty"
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol * max(scale, 1.0), err_msg=k)


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("every", [True, False], ids=["targets-every-step", "target-at-end"])
def test_bptt_and_offline_rtrl_are_the_gradient(name, every):
    """Per sequence, weights fixed: BPTT = RTRL summed over the steps = finite differences."""
    net, xs, targets = case(name, every=every)
    want = fd(net, lambda w: sq_error(net, xs, targets, w))
    close(learned(bptt, net, xs, targets, "sequence")[0], want)
    close(learned(rtrl, net, xs, targets, "sequence")[0], want)


def online_reference(net, xs, targets, lr, truncate=False):
    """Per-step online learning by finite differences. At each target step t: -1/2 dE(t)/dw,
    where a change of w moves the weights of every step up to t together (online RTRL's
    derivative through the weight history), or, with ``truncate``, only the weights of step t,
    the previous activations a(t-1) held at their values (Elman's one-step truncation)."""
    history, w = [], copy.deepcopy(net.weights)
    for t in range(len(xs)):
        history.append(copy.deepcopy(w))
        if np.all(np.isnan(targets[t])):
            continue

        def e_t(delta):
            a = np.zeros(net.N)
            for tau in range(t + 1):
                moved = tau == t or not truncate
                W = {k: history[tau][k] + (delta[k] if moved else 0.0) for k in w}
                a_new = rnn.sigmoid(W["W_h"] @ np.concatenate([xs[tau], a, [1.0]]))
                if tau == t:
                    y = a_new[net.H:] if net.out_rec else rnn.sigmoid(
                        W["W_o"] @ np.concatenate([a_new[:net.H], xs[tau], [1.0]]))
                a = a_new
            has = ~np.isnan(targets[t])
            return float(np.sum((targets[t][has] - y[has]) ** 2))

        g = fd(net, lambda W: e_t({k: W[k] - net.weights[k] for k in W}))   # the change of w
        w = {k: w[k] + lr * g[k] for k in w}
    return w


@pytest.mark.parametrize("name", list(NETS))
def test_online_rtrl_follows_the_exact_online_gradient(name):
    net, xs, targets = case(name, seed=1, T=6)
    fast = copy.deepcopy(net)
    rtrl.train_batch(fast, dense_batch([(xs, targets)]), 0.5, "step")
    want = online_reference(net, xs, targets, 0.5)
    assert max(np.abs(want[k] - net.weights[k]).max() for k in want) > 1e-3
    for k in want:
        np.testing.assert_allclose(fast.weights[k], want[k], rtol=0, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("name", list(NETS))
def test_compiled_forward_and_statistics_match_numpy(name):
    net, xs, targets = case(name)
    stats, outputs = rnn.evaluate(net, dense_batch([(xs, targets)]))
    ys = net.forward(xs)
    np.testing.assert_allclose(outputs, ys, rtol=1e-12)
    has = ~np.isnan(targets)
    assert stats[0, 0] == pytest.approx(np.sum((targets[has] - ys[has]) ** 2))
    for module in (rtrl, bptt):                  # training reports the same errors, before learning
        _, s = learned(module, net, xs, targets, "sequence")
        np.testing.assert_allclose(s, stats, rtol=1e-12)


def test_sparse_one_hot_batches_give_the_same_gradient():
    """Task 2a's one-hot batches (nnz = 1) against the same sequences stored dense."""
    task = NoiseFree(4)
    batch = task.sample(np.random.default_rng(0), 1)
    net = rnn.table2_net(4, seed=0)
    dense = dense_batch([batch.dense(0)])
    for module, update in ((rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence")):
        a, b = copy.deepcopy(net), copy.deepcopy(net)
        module.train_batch(a, batch, 1.0, update)
        module.train_batch(b, dense, 1.0, update)
        for k in a.weights:
            np.testing.assert_allclose(a.weights[k], b.weights[k], rtol=0, atol=1e-14)


def test_weight_counts_of_the_paper():
    """Table 2's counts and Table 1's estimates (docs/paper.md §4.0.1 and §4.1)."""
    assert [rnn.table2_net(p).n_weights for p in (4, 10, 100)] == [36, 144, 10404]
    assert RNN(7, 7, 3, outputs="recurrent").n_weights == 170
    assert RNN(7, 7, 12, outputs="recurrent").n_weights == 494
    assert RNN(7, 7, 15).n_weights == 435
    w = rnn.table2_net(100, seed=1).weights
    assert np.abs(w["W_h"]).max() <= 0.2 and w["W_h"][0, 101] != 0 and w["W_h"][0, 102] == 0


def test_divergence_is_reported_not_raised():
    net, xs, targets = case("table 2 (self, shortcuts)")
    net.weights["W_h"][0, 0] = np.nan
    for module, update in ((rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence")):
        stats, bad = module.train_batch(copy.deepcopy(net), dense_batch([(xs, targets)] * 3), 0.1, update)
        assert bad == 0 and np.isnan(stats[0, 0])
