"""What every task shares: the :class:`Batch` every task produces, and the helpers that build one.

Every task produces a :class:`Batch`: many sequences stored back to back in flat
arrays, in the sparse form the compiled engine reads. Inputs are stored as the
``nnz`` non-zero entries of each step (one-hot tasks have nnz=1), so a step of a
1,004-input net costs no more to feed than a step of a 2-input net.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Batch:
    """Sequences stored back to back.

    x_idx   (N, nnz) int64    input units that are on at each step
    x_val   (N, nnz) float64  their activations
    targets (N, K)   float64  teacher signal, NaN where a step has no target
    starts  (n+1,)   int64    sequence i occupies steps starts[i]:starts[i+1]
    n_in    int               number of input units
    info    dict              per-sequence extras, each an array of length n
                              (e.g. "label" for the class, "clean" for 3c's
                              noise-free target)
    targets_at_ends  bool     no step has a target but a sequence's last one
    unit_inputs      bool     every x_val is 1.0 (one-hot inputs)
    target_idx       (N,) int64 or None: every step has a one-hot target, 1.0 at unit
                              target_idx[i] and 0.0 at every other (1, 2a, 2b)

    The last three are what the generator knows of its batches (tests/test_tasks.py checks
    them on samples); the lane engine reads fewer arrays where they hold. False or None
    claims nothing.
    """

    x_idx: np.ndarray
    x_val: np.ndarray
    targets: np.ndarray
    starts: np.ndarray
    n_in: int
    info: dict = field(default_factory=dict)
    targets_at_ends: bool = False
    unit_inputs: bool = False
    target_idx: np.ndarray = None

    def __len__(self):
        return len(self.starts) - 1

    @property
    def lengths(self):
        return np.diff(self.starts)

    @property
    def n_out(self):
        return self.targets.shape[1]

    def dense(self, i):
        """Sequence i as dense arrays (xs (T, n_in), targets (T, K)) for the NumPy core."""
        a, b = self.starts[i], self.starts[i + 1]
        xs = np.zeros((b - a, self.n_in))
        rows = np.repeat(np.arange(b - a), self.x_idx.shape[1])
        np.add.at(xs, (rows, self.x_idx[a:b].ravel()), self.x_val[a:b].ravel())
        return xs, self.targets[a:b].copy()

    def sequences(self):
        """Iterate over (xs, targets) pairs, the format of ``lstm97.train``."""
        for i in range(len(self)):
            yield self.dense(i)

    def take(self, idx):
        """The sequences idx (any order, repeats allowed) as a new Batch."""
        idx = np.asarray(idx, np.int64)
        lengths = self.lengths[idx]
        starts = offsets(lengths)
        steps = np.repeat(self.starts[idx] - starts[:-1], lengths) + np.arange(starts[-1])
        return Batch(self.x_idx[steps], self.x_val[steps], self.targets[steps], starts,
                     self.n_in, {k: v[idx] for k, v in self.info.items()},
                     targets_at_ends=self.targets_at_ends, unit_inputs=self.unit_inputs,
                     target_idx=None if self.target_idx is None else self.target_idx[steps])

    def end_targets(self):
        """(n, K) target of the last step of every sequence."""
        return self.targets[self.starts[1:] - 1]

    @staticmethod
    def concat(batches):
        """Join batches of the same task into one."""
        starts = [np.zeros(1, np.int64)]
        offset = 0
        for b in batches:
            starts.append(b.starts[1:] + offset)
            offset += b.starts[-1]
        keys = batches[0].info.keys()
        return Batch(
            np.concatenate([b.x_idx for b in batches]),
            np.concatenate([b.x_val for b in batches]),
            np.concatenate([b.targets for b in batches]),
            np.concatenate(starts),
            batches[0].n_in,
            {k: np.concatenate([b.info[k] for b in batches]) for k in keys},
            targets_at_ends=all(b.targets_at_ends for b in batches),
            unit_inputs=all(b.unit_inputs for b in batches),
            target_idx=(None if any(b.target_idx is None for b in batches)
                        else np.concatenate([b.target_idx for b in batches])),
        )


def offsets(lengths):
    """Sequence start offsets (n+1,) from lengths (n,): the ``starts`` of a Batch."""
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def onehot_batch(symbols, lengths, n_in, targets, info=None, targets_at_ends=False, target_idx=None):
    """Build a Batch from flat one-hot symbol indices (N,) and a (N, K) target array
    (target_idx: see Batch)."""
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Batch(
        np.asarray(symbols, np.int64).reshape(-1, 1),
        np.ones((len(symbols), 1)),
        np.asarray(targets, np.float64),
        starts,
        n_in,
        info or {},
        targets_at_ends=targets_at_ends,
        unit_inputs=True,
        target_idx=None if target_idx is None else np.asarray(target_idx, np.int64),
    )


def dense_batch(sequences):
    """A Batch from an iterable of dense (xs (T, n_in), targets (T, K)) pairs (nnz = n_in)."""
    xs_list, tg_list = [], []
    for xs, targets in sequences:
        xs_list.append(np.asarray(xs, np.float64))
        tg_list.append(np.asarray(targets, np.float64))
    if not xs_list:
        raise ValueError("no sequences given")
    n_in = xs_list[0].shape[1]
    lengths = [len(x) for x in xs_list]
    x_val = np.concatenate(xs_list)
    x_idx = np.tile(np.arange(n_in, dtype=np.int64), (len(x_val), 1))
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Batch(x_idx, x_val, np.concatenate(tg_list), starts, n_in, {})

