"""Experiment 2: noise-free and noisy sequences with long lags (paper Section 5.2; docs/paper.md §4.2, §6.7-6.10).

All symbols are one-hot. info["label"] is 0 for class x and 1 for class y.
"""
import numpy as np

from .base import Batch, offsets, onehot_batch


class NoiseFree:
    """Task 2a (docs/paper.md §4.2): the two sequences (y, a_1..a_{p-1}, y) and (x, a_1..a_{p-1}, x).

    p+1 symbols: indices 0..p-2 are a_1..a_{p-1}, p-1 is x, p is y. The net reads
    seq[:-1] (p steps) and is taught the one-hot of the next symbol at every step
    (docs/paper.md §6.10), so n_in = n_out = p+1.
    """

    def __init__(self, p=100):
        self.p = p
        self.n_in = self.n_out = p + 1

    def middle(self, rng, n):
        """(n, p-1) symbols between the two copies of x/y."""
        return np.broadcast_to(np.arange(self.p - 1), (n, self.p - 1))

    def sample(self, rng, n) -> Batch:
        p = self.p
        label = rng.integers(2, size=n)
        end = (p - 1 + label)[:, None]  # x = p-1, y = p
        seq = np.hstack([end, self.middle(rng, n), end])  # (n, p+1)
        nxt = seq[:, 1:].ravel()
        return onehot_batch(seq[:, :-1].ravel(), np.full(n, p), p + 1, np.eye(p + 1)[nxt], {"label": label},
                            target_idx=nxt)


class NoLocalRegularities(NoiseFree):
    """Task 2b (docs/paper.md §4.2): as 2a, but the middle is p-1 symbols drawn uniformly with
    replacement from a_1..a_{p-1}; targets are still the actual next symbol at every step."""

    def middle(self, rng, n):
        return rng.integers(self.p - 1, size=(n, self.p - 1))


class VeryLongLag:
    """Task 2c (docs/paper.md §4.2, §6.9): very long lags, no local regularities.

    p+4 symbols: 0..p-1 are the distractors a_1..a_p, p = e (trigger), p+1 = b,
    p+2 = x, p+3 = y. Inputs: b, x or y, q distractors, then per step with
    probability 9/10 one more distractor and with probability 1/10 the trigger e,
    which is the last input (the final copy of x/y is not fed, docs/paper.md §6.9e).
    Distractors are uniform over all p of them (docs/paper.md §6.9b). The only target is at
    the e step: one-hot over 2 outputs, x -> [1, 0], y -> [0, 1] (docs/paper.md §6.9d).

    The number K of extra distractors is geometric, P(K=k) = 0.1 * 0.9**k, so
    E[K] = 9 and a sequence has q + 3 + K input steps (q + 12 on average; q + 13
    with the final x/y, see docs/paper.md §6.9c).
    """

    def __init__(self, p, q):
        self.p, self.q = p, q
        self.n_in, self.n_out = p + 4, 2

    def sample(self, rng, n) -> Batch:
        p, q = self.p, self.q
        label = rng.integers(2, size=n)
        extra = rng.geometric(0.1, size=n) - 1  # failures before the first success
        lengths = q + 3 + extra
        starts = offsets(lengths)
        symbols = rng.integers(p, size=starts[-1])
        symbols[starts[:-1]] = p + 1  # b
        symbols[starts[:-1] + 1] = p + 2 + label  # x or y
        symbols[starts[1:] - 1] = p  # e
        targets = np.full((starts[-1], 2), np.nan)
        targets[starts[1:] - 1] = np.eye(2)[label]
        return onehot_batch(symbols, lengths, p + 4, targets, {"label": label}, targets_at_ends=True)
