"""The net a trial trains and where its randomness comes from: ``make_net``, ``trial_seeds``,
``initial_net``, and ``evaluate`` for either kind of net (the LSTM of ``network.py``, a
competitor's ``rnn.RNN``)."""
import zlib

import numpy as np

from . import engine, rnn
from .network import LSTM97

GUESS_RANGE = 100.0         # random weight guessing: weights uniform in [-100, 100] (guessing.py)


def make_net(exp, seed=None):
    """The net an experiment trains: an LSTM97, or a competitor's rnn.RNN (guessing: its A1/A2 net)."""
    if exp.gradient == "guess":
        return architecture(**exp.net, seed=seed)
    if exp.is_baseline:
        return rnn.RNN(**exp.net, seed=seed)
    return LSTM97(**exp.net, seed=seed)


def evaluate(net, batch):
    """Forward pass of either kind of net: (stats, outputs at every step), as engine.evaluate."""
    return (rnn.evaluate if isinstance(net, rnn.RNN) else engine.evaluate)(net, batch)


def trial_seeds(exp, trial, seed):
    """A trial's three independent random streams: initial weights, training data, tests.
    Readings use their main run's (``seed_id``), so trial i of both starts alike."""
    return np.random.SeedSequence([seed, trial, zlib.crc32((exp.seed_id or exp.id).encode())]).spawn(3)


def initial_net(exp, trial, seed=0):
    """The net that trial ``trial`` of the Experiment ``exp`` starts from: its Table-10
    initialisation (docs/paper.md §3), before any training. The scale does not change it."""
    return make_net(exp, trial_seeds(exp, trial, seed)[0])


def architecture(arch, n_in, n_out, hidden, seed=None):
    """Random weight guessing's A1 or A2 net (guessing.py's docstring), weights uniform in [-100, 100]."""
    net = rnn.RNN(n_in, n_out, hidden, outputs="recurrent", recurrence="full", bias=True, init=GUESS_RANGE, seed=seed)
    H, N = hidden, net.N
    M_h = net.masks["W_h"].copy()
    if arch == "A1":
        M_h[H:, -1] = 0.0                                # outputs unbiased
    elif arch == "A2":
        rec = np.zeros((N, N))
        rec[:H, H:] = 1.0                                # hidden <- outputs
        rec[np.arange(H), np.arange(H)] = 1.0            # hidden <- itself
        rec[H:, :] = 1.0 - np.eye(N)[H:]                 # outputs <- every other unit
        M_h[:, net.n_in:net.n_in + N] = rec
    else:
        raise ValueError(f"unknown architecture {arch!r}; expected 'A1' or 'A2'")
    net.restrict({"W_h": M_h, "W_o": net.masks["W_o"]})
    return net
