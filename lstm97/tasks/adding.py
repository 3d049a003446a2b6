"""Experiments 4 and 5: the adding and multiplication problems (paper Sections 5.4, 5.5;
docs/paper.md §4.4, §4.5, §6.14)."""
import numpy as np

from .base import Batch, offsets


class Adding:
    """Experiment 4 (docs/paper.md §4.4). Each step is a pair (value, marker): x_idx [0, 1], x_val [value, marker].

    Length: integer uniform in [T, T + T//10]. Values uniform in [-1, 1]. Exactly
    two pairs have marker 1.0: X1 at a position uniform over the first 10 (0..9,
    0-based) and X2 uniform over positions 0..T//2-1 except X1's (docs/paper.md §6.14).
    The first and the last pair have marker -1.0 unless marked; all others 0.
    If position 0 is marked, its value is set to ``first_value`` (0.0 here) and
    that value enters the target. Target only at the last step: 0.5 + (X1+X2)/4.

    info: "X1", "X2" (values as used in the target), "pos1", "pos2" (0-based).
    """

    n_in, n_out = 2, 1
    low, first_value = -1.0, 0.0

    def __init__(self, T):
        self.T = T

    def target(self, x1, x2):
        return 0.5 + (x1 + x2) / 4.0

    def sample(self, rng, n) -> Batch:
        T = self.T
        lengths = rng.integers(T, T + T // 10 + 1, size=n)
        starts = offsets(lengths)
        first, last = starts[:-1], starts[1:] - 1
        x_val = np.zeros((starts[-1], 2))
        x_val[:, 0] = rng.uniform(self.low, 1.0, starts[-1])
        values, markers = x_val[:, 0], x_val[:, 1]  # views
        markers[first] = markers[last] = -1.0
        pos1 = rng.integers(10, size=n)
        pos2 = rng.integers(T // 2 - 1, size=n)
        pos2 += pos2 >= pos1  # uniform over 0..T//2-1 without pos1
        for pos in (pos1, pos2):
            markers[first + pos] = 1.0
            values[first[pos == 0]] = self.first_value
        x1, x2 = values[first + pos1], values[first + pos2]
        targets = np.full((starts[-1], 1), np.nan)
        targets[last, 0] = self.target(x1, x2)
        x_idx = np.broadcast_to(np.arange(2, dtype=np.int64), (starts[-1], 2)).copy()
        return Batch(x_idx, x_val, targets, starts, 2,
                     {"X1": x1, "X2": x2, "pos1": pos1, "pos2": pos2}, targets_at_ends=True)


class Multiplication(Adding):
    """Experiment 5 (docs/paper.md §4.5): as :class:`Adding`, but values uniform in [0, 1], a marked
    first pair gets value 1.0, and the target is X1 * X2."""

    low, first_value = 0.0, 1.0

    def target(self, x1, x2):
        return x1 * x2
