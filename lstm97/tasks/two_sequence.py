"""Experiment 3: noise and signal on the same channel (paper Section 5.3; docs/paper.md §4.3, §6.11, §6.12)."""
import numpy as np

from .base import Batch, offsets

NOISE_VAR = 0.2  # input noise, Tasks 3a-3c
TARGET_NOISE_VAR = 0.1  # training-target noise, Task 3c


class TwoSequence:
    """Bengio et al.'s 2-sequence problem, variants "3a", "3b", "3c" (docs/paper.md §4.3).

    One real-valued input, one output. Length: integer uniform in [T, T + T//10].
    The first N inputs are +1.0 (class 1, probability 0.5) or -1.0 (class 2); all
    later inputs are Gaussian noise, mean 0, variance 0.2. 3b adds the same noise
    to the first N inputs too. Target only at the last step: 1.0 / 0.0 for class
    1 / 2 (3a, 3b); 0.2 / 0.8 (3c), where training targets also get Gaussian
    noise of variance 0.1 while the inputs are as in 3a (docs/paper.md §6.12).

    info["label"]: 0 for class 1, 1 for class 2; info["clean"]: noise-free target.
    """

    n_in = n_out = 1

    def __init__(self, T, N, variant="3a"):
        if variant not in ("3a", "3b", "3c"):
            raise ValueError(f"variant must be '3a', '3b' or '3c', not {variant!r}")
        self.T, self.N, self.variant = T, N, variant

    def sample(self, rng, n) -> Batch:
        T, N = self.T, self.N
        label = rng.integers(2, size=n)
        lengths = rng.integers(T, T + T // 10 + 1, size=n)
        starts = offsets(lengths)
        total = starts[-1]
        pos = np.arange(total) - np.repeat(starts[:-1], lengths)  # 0-based step within its sequence
        x = rng.normal(0.0, np.sqrt(NOISE_VAR), total)
        info_step = pos < N
        signal = np.repeat(1.0 - 2.0 * label, lengths)[info_step]
        if self.variant == "3b":
            x[info_step] += signal
        else:
            x[info_step] = signal
        if self.variant == "3c":
            clean = 0.2 + 0.6 * label
            target = clean + rng.normal(0.0, np.sqrt(TARGET_NOISE_VAR), n)
        else:
            clean = 1.0 - label.astype(np.float64)
            target = clean
        targets = np.full((total, 1), np.nan)
        targets[starts[1:] - 1, 0] = target
        return Batch(np.zeros((total, 1), np.int64), x[:, None], targets, starts, 1,
                     {"label": label, "clean": clean}, targets_at_ends=True)
