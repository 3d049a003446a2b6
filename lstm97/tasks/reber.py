"""Experiment 1: the embedded Reber grammar (paper Section 5.1; docs/paper.md §4.1, §6.4, §6.18).

Symbols are one-hot over the alphabet "BTPSXVE" (index 0..6). The net reads
string[:-1] and is taught the one-hot of the actual next symbol at every step
(docs/paper.md §6.4; ``targets="legal"``: the multi-hot of all legal next symbols, the
variant docs/paper.md §6.4 asks to record). Success is judged separately with
:func:`legal_mask` and :func:`correct`: at every step the outputs of the legal
next symbols must be the most active ones.
"""
from pathlib import Path

import numpy as np

from .base import Batch, onehot_batch

ALPHABET = "BTPSXVE"
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "reber"

# The Reber graph of docs/paper.md §4.1: state -> {symbol: next state}. State 1 is entered
# after the initial B; END is the node after which only E can follow.
END = 6
EDGES = {
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": END},
    5: {"P": 4, "V": END},
}

_CODE = np.full(256, -1, np.int64)
_CODE[[ord(c) for c in ALPHABET]] = np.arange(len(ALPHABET))


def reber_string(rng):
    """One string of the plain Reber grammar, B...E; each choice with probability 0.5 (docs/paper.md §4.1)."""
    out, state = ["B"], 1
    while state != END:
        symbol, state = list(EDGES[state].items())[rng.integers(2)]
        out.append(symbol)
    return "".join(out) + "E"


def embedded_reber_string(rng):
    """B, T or P (prob. 0.5), a Reber string, the same T or P, E (docs/paper.md §4.1)."""
    c = "TP"[rng.integers(2)]
    return "B" + c + reber_string(rng) + c + "E"


def legal_next(string):
    """For each position i < len-1, the set of symbols that may follow string[:i+1].

    The embedded string is B c <Reber string> c E; the penultimate symbol c is
    fixed by the second one, so its set has a single element. Raises ValueError
    if ``string`` is not in the embedded grammar.
    """
    c = string[1:2]
    if len(string) < 9 or c not in ("T", "P") or string[0] + string[2] + string[-3:] != "BBE" + c + "E":
        raise ValueError(f"not an embedded Reber string: {string!r}")
    sets = [{"T", "P"}, {"B"}, set(EDGES[1])]
    state = 1
    for symbol in string[3:-3]:  # the inner string between its B and its E
        if state == END or symbol not in EDGES[state]:
            raise ValueError(f"not an embedded Reber string: {string!r}")
        state = EDGES[state][symbol]
        sets.append({"E"} if state == END else set(EDGES[state]))
    if state != END:
        raise ValueError(f"not an embedded Reber string: {string!r}")
    return sets + [{c}, {"E"}]


def codes(string):
    """Symbol indices (len,) of a string over ALPHABET."""
    return _CODE[np.frombuffer(string.encode("ascii"), np.uint8)]


TARGETS = ("next", "legal")


def encode(strings, targets="next"):
    """Batch with inputs string[:-1] and, at every step, targets (docs/paper.md §6.4): the one-hot of
    the actual next symbol (``"next"``) or the multi-hot of all legal next symbols (``"legal"``).

    info["label"]: 0 if the embedded (second) symbol is T, 1 if it is P.
    """
    if targets not in TARGETS:
        raise ValueError(f"unknown Reber targets {targets!r}; expected one of {', '.join(TARGETS)}")
    full = codes("".join(strings))
    lengths = np.array([len(s) for s in strings])
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    last = first + lengths - 1
    inputs = np.delete(full, last)
    nxt = None
    if targets == "next":
        nxt = np.delete(full, first)
        targets = np.eye(len(ALPHABET))[nxt]
    else:
        targets = legal_mask(strings).astype(np.float64)
    label = (full[first + 1] == ALPHABET.index("P")).astype(np.int64)
    return onehot_batch(inputs, lengths - 1, len(ALPHABET), targets, {"label": label}, target_idx=nxt)


def legal_mask(strings):
    """(N_steps, 7) bool, aligned with the steps of encode(strings): the legal next symbols."""
    return np.array([[a in legal for a in ALPHABET] for s in strings for legal in legal_next(s)], bool)


def correct(outputs, legal):
    """Per-step success test of docs/paper.md §4.1: the outputs of the legal next symbols are the most active.

    True where the k = |legal| largest outputs are exactly the legal ones, i.e.
    every legal output exceeds every illegal one (ties count as failure).
    """
    outputs = np.asarray(outputs, np.float64)
    lowest_legal = np.where(legal, outputs, np.inf).min(axis=1)
    highest_illegal = np.where(legal, -np.inf, outputs).max(axis=1)
    return lowest_legal > highest_illegal


def make_pair(rng, n_train=256, n_test=256):
    """A random training set (duplicates kept as drawn) and a test set with no string of the
    training set (duplicates among test strings allowed) (docs/paper.md §4.1, §6.18)."""
    train = [embedded_reber_string(rng) for _ in range(n_train)]
    seen, test = set(train), []
    while len(test) < n_test:
        s = embedded_reber_string(rng)
        if s not in seen:
            test.append(s)
    return train, test


def save_pair(i, train, test, directory=DATA_DIR):
    """Write train_{i}.txt and test_{i}.txt, one string per line."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, strings in (("train", train), ("test", test)):
        (directory / f"{name}_{i}.txt").write_text("\n".join(strings) + "\n")


def load_pair(i, directory=DATA_DIR):
    """(train, test) lists of strings of the stored pair i (docs/paper.md §4.1: 3 pairs, i = 0, 1, 2)."""
    directory = Path(directory)
    return tuple((directory / f"{name}_{i}.txt").read_text().split() for name in ("train", "test"))


class EmbeddedReber:
    """Experiment 1 task (docs/paper.md §4.1). ``sample`` picks training strings uniformly at random with
    replacement from the training set (Table 11 "t1").

    The success test needs the whole sets: train_batch/test_batch with their aligned
    legal masks train_legal/test_legal, to be checked with :func:`correct`.
    """

    n_in = len(ALPHABET)
    n_out = len(ALPHABET)

    def __init__(self, train_strings, test_strings, targets="next"):
        self.train_strings, self.test_strings = list(train_strings), list(test_strings)
        self.targets = targets
        self.train_batch = encode(self.train_strings, targets)
        self.test_batch = encode(self.test_strings, targets)
        self.train_legal, self.test_legal = legal_mask(self.train_strings), legal_mask(self.test_strings)

    @classmethod
    def from_pair(cls, i, targets="next"):
        """The task on the stored training/test pair i, with ``targets`` as in :func:`encode`."""
        return cls(*load_pair(i), targets=targets)

    def sample(self, rng, n) -> Batch:
        """n training strings drawn with replacement; info["index"] gives their place in the set."""
        idx = rng.integers(len(self.train_strings), size=n)
        batch = self.train_batch.take(idx)
        batch.info["index"] = idx
        return batch
