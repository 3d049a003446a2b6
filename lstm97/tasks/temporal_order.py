"""Experiment 6: temporal order (paper Section 5.6; docs/paper.md §4.6, §6.16)."""
import numpy as np

from .base import Batch, offsets, onehot_batch

ALPHABET = "EBabcdXY"
# 1-based inclusive ranges of the relevant positions t_1, t_2 (, t_3)
RANGES = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}


class TemporalOrder:
    """Task 6a (n_relevant=2) or 6b (n_relevant=3) (docs/paper.md §4.6).

    One-hot over "EBabcdXY". Length uniform integer in [100, 110]. With 1-based
    positions (docs/paper.md §6.16): E at position 1, the trigger B at the last position,
    X or Y (probability 0.5 each, independently) at t_1 in [10, 20], t_2 in
    [50, 60] (6a) or t_1 in [10, 20], t_2 in [33, 43], t_3 in [66, 76] (6b);
    every other element uniform over {a, b, c, d}. The only target is at the B
    step: one-hot over 2**n_relevant classes, class index = the X/Y string read
    as a binary number, X=0, Y=1, first relevant symbol most significant (6a:
    XX->Q=0, XY->R=1, YX->S=2, YY->U=3; 6b: XXX->Q=0 ... YYY->C=7).

    info["label"]: class index; info["positions"]: (n, n_relevant), 0-based.
    """

    n_in = len(ALPHABET)

    def __init__(self, n_relevant=2):
        if n_relevant not in RANGES:
            raise ValueError("n_relevant must be 2 (6a) or 3 (6b)")
        self.n_relevant = n_relevant
        self.n_out = 2**n_relevant

    def sample(self, rng, n) -> Batch:
        lengths = rng.integers(100, 111, size=n)
        starts = offsets(lengths)
        first, last = starts[:-1], starts[1:] - 1
        symbols = rng.integers(2, 6, size=starts[-1])  # a, b, c, d
        symbols[first] = 0  # E
        symbols[last] = 1  # B
        positions = np.column_stack([rng.integers(lo - 1, hi, size=n) for lo, hi in RANGES[self.n_relevant]])
        xy = rng.integers(2, size=(n, self.n_relevant))  # 0 = X, 1 = Y
        symbols[first[:, None] + positions] = 6 + xy
        label = xy @ (2 ** np.arange(self.n_relevant - 1, -1, -1))
        targets = np.full((starts[-1], self.n_out), np.nan)
        targets[last] = np.eye(self.n_out)[label]
        return onehot_batch(symbols, lengths, self.n_in, targets, {"label": label, "positions": positions},
                            targets_at_ends=True)
