"""Elman's procedure (elman.py) against an independent computation of the same one-step
truncation: finite differences of an error in which every step's a(t-1) is held fixed."""
import copy

import numpy as np
import pytest

from lstm97 import elman, rnn
from lstm97.tasks import dense_batch
from test_baselines import case, fd, close, learned, online_reference, sq_error


@pytest.mark.parametrize("name", ["elman (full, readout)", "full + readout + shortcuts + bias"])
def test_elman_is_backprop_truncated_after_one_step(name):
    net, xs, targets = case(name, seed=2)

    def truncated(w):      # E with every step's a(t-1) frozen at its value under the net's weights
        a_prev = np.vstack([np.zeros(net.N), hidden_states(net, xs)[:-1]])
        E = 0.0
        for t in range(len(xs)):
            a = rnn.sigmoid(w["W_h"] @ np.concatenate([xs[t], a_prev[t], [1.0]]))
            y = rnn.sigmoid(w["W_o"] @ np.concatenate([a[:net.H], xs[t], [1.0]]))
            has = ~np.isnan(targets[t])
            E += float(np.sum((targets[t][has] - y[has]) ** 2))
        return E

    got = learned(elman, net, xs, targets, "sequence")[0]
    close(got, fd(net, truncated))
    full = fd(net, lambda w: sq_error(net, xs, targets, w))
    assert np.abs(got["W_h"] - full["W_h"]).max() > 1e-4          # it is a truncation
    np.testing.assert_allclose(got["W_o"], full["W_o"], atol=1e-7)  # exact for the outputs


def hidden_states(net, xs):
    a, out = np.zeros(net.N), []
    for x in xs:
        a = rnn.sigmoid(net.weights["W_h"] @ np.concatenate([x, a, [1.0]]))
        out.append(a)
    return np.array(out)


def test_online_elman_follows_the_one_step_gradient():
    net, xs, targets = case("elman (full, readout)", seed=3, T=6)
    fast = copy.deepcopy(net)
    elman.train_batch(fast, dense_batch([(xs, targets)]), 0.5, "step")
    want = online_reference(net, xs, targets, 0.5, truncate=True)
    for k in want:
        np.testing.assert_allclose(fast.weights[k], want[k], rtol=0, atol=1e-7, err_msg=k)




def test_elman_statistics_and_divergence():
    net, xs, targets = case("elman (full, readout)")
    stats, _ = rnn.evaluate(net, dense_batch([(xs, targets)]))
    np.testing.assert_allclose(learned(elman, net, xs, targets, "sequence")[1], stats, rtol=1e-12)
    net.weights["W_h"][0, 0] = np.nan
    stats, bad = elman.train_batch(net, dense_batch([(xs, targets)] * 3), 0.1, "step")
    assert bad == 0 and np.isnan(stats[0, 0])
    with pytest.raises(ValueError, match="readout"):
        elman.train_batch(rnn.RNN(2, 2, 1, outputs="recurrent"), dense_batch([(xs[:, :2], targets[:, :2])]), 0.1)
