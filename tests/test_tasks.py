"""Property tests of the task generators (docs/paper.md §4, §6).

Statistical checks use several seeds and thousands of sequences, with tolerances
of 4-5 standard errors, so a correct generator fails with negligible probability
while a wrong range, probability or variance fails reliably.
"""
import re
from dataclasses import replace

import numpy as np
import pytest

from lstm97.tasks import (Adding, Batch, EmbeddedReber, Multiplication, NoiseFree, NoLocalRegularities,
                          TemporalOrder, TwoSequence, VeryLongLag)
from lstm97.tasks import reber

SEEDS = [0, 1, 2]


def steps(b):
    """Per step: sequence number and 0-based position within the sequence."""
    seq = np.repeat(np.arange(len(b)), b.lengths)
    return seq, np.arange(b.starts[-1]) - b.starts[seq]


def assert_end_only(b):
    """Targets are NaN everywhere except at the last step of each sequence, where all are finite."""
    has = ~np.isnan(b.targets)
    last = np.zeros(b.starts[-1], bool)
    last[b.starts[1:] - 1] = True
    assert (has.all(axis=1) == last).all() and (has.any(axis=1) == last).all()


def assert_balanced(counts, probs, n, sigmas=4.0):
    """Multinomial counts within `sigmas` standard deviations of n * probs."""
    counts, probs = np.asarray(counts, float), np.asarray(probs, float)
    sd = np.sqrt(n * probs * (1 - probs))
    assert (np.abs(counts - n * probs) < sigmas * sd).all(), (counts, n * probs)


def assert_lengths(b, lo, hi):
    """All lengths in [lo, hi] and, for big samples, both extremes occur."""
    assert b.lengths.min() == lo and b.lengths.max() == hi


# ---------------------------------------------------------------- determinism

ALL_TASKS = [
    lambda: EmbeddedReber.from_pair(0), lambda: EmbeddedReber.from_pair(0, targets="legal"),
    lambda: NoiseFree(10), lambda: NoLocalRegularities(10),
    lambda: VeryLongLag(10, 20), lambda: TwoSequence(50, 3, "3a"), lambda: TwoSequence(50, 1, "3b"),
    lambda: TwoSequence(50, 3, "3c"), lambda: Adding(100), lambda: Multiplication(100),
    lambda: TemporalOrder(2), lambda: TemporalOrder(3),
]


def same(a, b):
    return (all(np.array_equal(x, y, equal_nan=True) for x, y in
                [(a.x_idx, b.x_idx), (a.x_val, b.x_val), (a.targets, b.targets), (a.starts, b.starts)])
            and a.info.keys() == b.info.keys() and all(np.array_equal(a.info[k], b.info[k]) for k in a.info))


@pytest.mark.parametrize("make", ALL_TASKS)
def test_seeded(make):
    task = make()
    a, b, c = (task.sample(np.random.default_rng(s), 50) for s in (7, 7, 8))
    assert isinstance(a, Batch) and same(a, b) and not same(a, c)
    assert a.n_in == task.n_in and a.n_out == task.n_out
    assert a.x_idx.dtype == np.int64 and a.x_idx.shape == a.x_val.shape and len(a.targets) == a.starts[-1]
    assert all(len(v) == len(a) for v in a.info.values())
    assert (a.x_idx >= 0).all() and (a.x_idx < task.n_in).all()


# ---------------------------------------------------------------- Experiment 1: embedded Reber grammar

# Written from docs/paper.md §4.1 alone. Reber graph: s1 -T-> s2 | -P-> s3; s2 -S-> s2 | -X-> s4;
# s3 -T-> s3 | -V-> s5; s4 -X-> s3 | -S-> end; s5 -P-> s4 | -V-> end. Solving for s4:
# s4 = (X T* V P)* (S | X T* V V), s5 = V | P s4, s1 = T S* X s4 | P T* V s5.
S4 = r"(?:XT*VP)*(?:S|XT*VV)"
INNER = rf"B(?:TS*X{S4}|PT*V(?:V|P{S4}))E"
EMBEDDED = re.compile(rf"B(?:T{INNER}TE|P{INNER}PE)")

# Independent edge table of the same graph, to count how often each edge is taken.
GRAPH = {1: "T2 P3", 2: "S2 X4", 3: "T3 V5", 4: "X3 S0", 5: "P4 V0"}  # 0 = end
GRAPH = {s: {e[0]: int(e[1]) for e in v.split()} for s, v in GRAPH.items()}


def walk(inner):
    """(state, symbol) edges taken by a plain Reber string B...E."""
    state, edges = 1, []
    for c in inner[1:-1]:
        edges.append((state, c))
        state = GRAPH[state][c]
    assert state == 0 and inner[0] == "B" and inner[-1] == "E"
    return edges


def test_regex_sanity():
    for s in ["BTBTSSXXTVVETE", "BPBPVVEPE", "BTBTXXVPSETE", "BPBPVPXVPXVPXVVEPE", "BTBTXSETE"]:
        assert EMBEDDED.fullmatch(s)
    for s in ["BTBTXSEPE", "BTBTXXETE", "BTBPVPETE", "BTBTSSETE", "BTTXSETE", "BTBTXSET"]:
        assert not EMBEDDED.fullmatch(s)


def test_reber_strings():
    counts = {}
    n = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for _ in range(3000):
            s = reber.embedded_reber_string(rng)
            assert EMBEDDED.fullmatch(s), s
            assert s[-2] == s[1] and len(s) >= 9
            edges = [(0, s[1])] + walk(s[2:-2])  # state 0 here: the embedded T/P choice
            for e in edges:
                counts[e] = counts.get(e, 0) + 1
            n += 1
            assert EMBEDDED.fullmatch("BT" + reber.reber_string(rng) + "TE")
    # every transition occurs, and every choice is a fair coin (docs/paper.md §4.1)
    choices = {0: "TP", **{s: "".join(GRAPH[s]) for s in GRAPH}}
    for state, symbols in choices.items():
        a, b = (counts.get((state, c), 0) for c in symbols)
        assert a > 0 and b > 0
        assert_balanced([a], [0.5], a + b)
    assert len(counts) == 12


def test_reber_files():
    for i in range(3):
        train, test = reber.load_pair(i)
        assert len(train) == len(test) == 256
        assert not set(train) & set(test)
        assert all(EMBEDDED.fullmatch(s) for s in train + test)
        # the committed files are what data/reber/make_reber.py generates
        assert (train, test) == reber.make_pair(np.random.default_rng(1997_000 + i))
    assert reber.load_pair(0) != reber.load_pair(1)


def test_legal_next_and_encode():
    T, P, B, S, X, V, E = ({c} for c in "TPBSXVE")
    assert reber.legal_next("BTBTXSETE") == [T | P, B, T | P, S | X, X | S, E, T, E]
    assert reber.legal_next("BPBPVVEPE") == [T | P, B, T | P, T | V, P | V, E, P, E]
    assert reber.legal_next("BTBPTVPXVVETE") == [T | P, B, T | P, T | V, T | V, P | V, X | S,
                                                  T | V, P | V, E, T, E]
    for bad in ["BTBTXSEPE", "BTBTXXETE", "BTBTSETE", "XTBTXSETE"]:
        with pytest.raises(ValueError):
            reber.legal_next(bad)
    strings = ["BTBTXSETE", "BPBPVVEPE"]
    b = reber.encode(strings)
    assert list(b.lengths) == [8, 8] and b.n_in == 7 and b.n_out == 7
    assert "".join("BTPSXVE"[i] for i in b.x_idx[:, 0]) == "BTBTXSET" + "BPBPVVEP"
    assert (b.targets.sum(axis=1) == 1).all()
    assert "".join("BTPSXVE"[i] for i in b.targets.argmax(axis=1)) == "TBTXSETE" + "PBPVVEPE"
    assert list(b.info["label"]) == [0, 1]
    mask = reber.legal_mask(strings)
    assert mask.shape == (16, 7) and list(mask.sum(axis=1)) == [2, 1, 2, 2, 2, 1, 1, 1] * 2
    assert mask[np.arange(16), b.targets.argmax(axis=1)].all()  # the actual next symbol is legal


def test_encode_multihot_targets_are_the_legal_sets():
    """targets="legal" (docs/paper.md §6.4 variant): same inputs, the target at each step is the multi-hot
    of the legal next symbols, which contains the one-hot of the actual next symbol."""
    strings = ["BTBTXSETE", "BPBPVVEPE", "BTBPTVPXVVETE"]
    one, multi = reber.encode(strings), reber.encode(strings, targets="legal")
    np.testing.assert_array_equal(one.x_idx, multi.x_idx)
    np.testing.assert_array_equal(one.starts, multi.starts)
    np.testing.assert_array_equal(multi.targets, reber.legal_mask(strings))
    assert (multi.targets >= one.targets).all()
    assert list(multi.targets[:8].sum(axis=1)) == [2, 1, 2, 2, 2, 1, 1, 1]   # BTBTXSETE
    with pytest.raises(ValueError, match="unknown Reber targets 'both'"):
        reber.encode(strings, targets="both")
    task = EmbeddedReber.from_pair(2, targets="legal")
    np.testing.assert_array_equal(task.train_batch.targets, task.train_legal)
    np.testing.assert_array_equal(task.test_batch.targets, task.test_legal)


def test_correct():
    legal = np.zeros((5, 7), bool)
    legal[:, [1, 2]] = True  # T, P
    legal[4] = [False, False, False, False, False, False, True]  # E only
    out = np.array([
        [0.1, 0.9, 0.8, 0.2, 0.0, 0.0, 0.0],  # both legal on top: correct
        [0.1, 0.9, 0.2, 0.5, 0.0, 0.0, 0.0],  # P below S: wrong
        [0.1, 0.9, 0.5, 0.5, 0.0, 0.0, 0.0],  # tie between legal P and illegal S: wrong
        [0.1, 0.3, 0.3, 0.2, 0.2, 0.2, 0.2],  # tie among the legal ones is fine
        [0.1, 0.3, 0.3, 0.2, 0.2, 0.2, 0.31],  # single legal E, the largest
    ])
    assert list(reber.correct(out, legal)) == [True, False, False, True, True]


def test_embedded_reber_sample():
    task = EmbeddedReber.from_pair(1)
    assert len(task.train_legal) == task.train_batch.starts[-1]
    assert len(task.test_legal) == task.test_batch.starts[-1]
    b = task.sample(np.random.default_rng(0), 5000)
    idx = b.info["index"]
    assert len(np.unique(idx)) == 256  # uniform with replacement: all 256 picked
    seq, _ = steps(b)
    text = np.array(list("BTPSXVE"))[b.x_idx[:, 0]]
    for i in range(0, 5000, 97):
        s = task.train_strings[idx[i]]
        assert "".join(text[seq == i]) == s[:-1]
        assert "".join(np.array(list("BTPSXVE"))[b.targets[seq == i].argmax(axis=1)]) == s[1:]
    # perfect predictions of the legal sets pass the success test
    assert reber.correct(task.test_legal.astype(float), task.test_legal).all()


# ---------------------------------------------------------------- Experiment 2

def test_noise_free():
    p = 100
    for seed in SEEDS:
        b = NoiseFree(p).sample(np.random.default_rng(seed), 1000)
        assert (b.lengths == p).all() and b.n_in == b.n_out == p + 1
        inputs = b.x_idx[:, 0].reshape(-1, p)
        assert (b.targets.sum(axis=1) == 1).all() and (b.targets.max(axis=1) == 1).all()
        nxt = b.targets.argmax(axis=1).reshape(-1, p)
        full = np.hstack([inputs, nxt[:, -1:]])  # the whole sequence s_0..s_p
        assert (nxt[:, :-1] == inputs[:, 1:]).all()  # target = next symbol at every step
        rows = {tuple(r) for r in full}
        middle = tuple(range(p - 1))
        assert rows == {(p - 1,) + middle + (p - 1,), (p,) + middle + (p,)}  # (x..x), (y..y)
        assert (full[:, 0] == p - 1 + b.info["label"]).all()
        assert_balanced([b.info["label"].sum()], [0.5], 1000)


def test_no_local_regularities():
    p, n = 100, 1000
    for seed in SEEDS:
        b = NoLocalRegularities(p).sample(np.random.default_rng(seed), n)
        inputs = b.x_idx[:, 0].reshape(-1, p)
        nxt = b.targets.argmax(axis=1).reshape(-1, p)
        assert (b.targets.sum(axis=1) == 1).all()
        assert (nxt[:, :-1] == inputs[:, 1:]).all()
        assert (inputs[:, 0] == nxt[:, -1]).all() and (inputs[:, 0] == p - 1 + b.info["label"]).all()
        middle = inputs[:, 1:]
        assert middle.min() == 0 and middle.max() == p - 2  # only a_1..a_{p-1}
        counts = np.bincount(middle.ravel(), minlength=p - 1)
        assert_balanced(counts, np.full(p - 1, 1 / (p - 1)), middle.size, 5)
        assert_balanced([b.info["label"].sum()], [0.5], n)


@pytest.mark.parametrize("p,q", [(50, 50), (10, 100), (100, 1000)])
def test_very_long_lag(p, q):
    n = 20000 if q < 1000 else 3000
    for seed in SEEDS:
        b = VeryLongLag(p, q).sample(np.random.default_rng(seed), n)
        assert b.n_in == p + 4 and b.n_out == 2
        sym = b.x_idx[:, 0]
        first, last = b.starts[:-1], b.starts[1:] - 1
        assert (sym[first] == p + 1).all() and (sym[first + 1] == p + 2 + b.info["label"]).all()
        assert (sym[last] == p).all()  # e is the last input; the final x/y is not fed
        assert (sym == p).sum() == n and (sym == p + 1).sum() == n and (sym >= p + 2).sum() == n
        assert_end_only(b)
        assert (b.end_targets() == np.eye(2)[b.info["label"]]).all()
        assert_balanced([b.info["label"].sum()], [0.5], n)
        # Inputs: b, x/y, q distractors, K extra distractors, e, with K geometric:
        # P(K=k) = 0.1 * 0.9**k, E[K] = 0.9/0.1 = 9, Var[K] = 0.9/0.1**2 = 90. Hence
        # mean #inputs = q + 3 + 9 = q + 12 (q + 13 with the final x/y, docs/paper.md §6.9c).
        L = b.lengths
        assert L.min() == q + 3
        assert abs(L.mean() - (q + 12)) < 4 * np.sqrt(90 / n)
        assert_balanced([(L == q + 3).sum()], [0.1], n)  # P(K=0) = 1/10
        # Each sequence has D = q + K distractors, each uniform over the p symbols, so a
        # given distractor occurs on average E[D]/p = (q + 9)/p times per sequence, with
        # variance E[D](1/p)(1 - 1/p) + Var[D]/p**2 = (q + 9)(p - 1)/p**2 + 90/p**2.
        counts = np.bincount(sym[sym < p], minlength=p) / n
        se = np.sqrt(((q + 9) * (p - 1) / p**2 + 90 / p**2) / n)
        assert (np.abs(counts - (q + 9) / p) < 5 * se).all()


# ---------------------------------------------------------------- Experiment 3

@pytest.mark.parametrize("variant", ["3a", "3b", "3c"])
@pytest.mark.parametrize("T,N", [(100, 1), (100, 3), (1000, 3)])
def test_two_sequence(variant, T, N):
    n = 5000 if T == 100 else 1000
    for seed in SEEDS[:2]:
        b = TwoSequence(T, N, variant).sample(np.random.default_rng(seed), n)
        assert b.n_in == b.n_out == 1 and (b.x_idx == 0).all()
        assert_lengths(b, T, T + T // 10)
        assert_end_only(b)
        label, clean = b.info["label"], b.info["clean"]
        assert_balanced([label.sum()], [0.5], n)
        seq, pos = steps(b)
        x = b.x_val[:, 0]
        sign = (1.0 - 2.0 * label)[seq]  # +1 class 1, -1 class 2
        noise = x[pos >= N]  # positions t > N (1-based): pure noise, mean 0, variance 0.2
        se = 0.2 * np.sqrt(2 / len(noise))
        assert abs(noise.var() - 0.2) < 4 * se and abs(noise.mean()) < 4 * np.sqrt(0.2 / len(noise))
        head = x[pos < N] - sign[pos < N]
        if variant == "3b":  # information elements are +-1 plus the same noise
            assert abs(head.var() - 0.2) < 4 * 0.2 * np.sqrt(2 / len(head))
            assert abs(head.mean()) < 4 * np.sqrt(0.2 / len(head))
        else:  # noise-free information elements (3c: "like in Task 3a", docs/paper.md §6.12)
            assert (head == 0).all()
        y = b.end_targets()[:, 0]
        if variant == "3c":
            assert np.array_equal(clean, np.where(label == 0, 0.2, 0.8))
            d = y - clean  # training-target noise: mean 0, variance 0.1
            assert abs(d.var() - 0.1) < 4 * 0.1 * np.sqrt(2 / n) and abs(d.mean()) < 4 * np.sqrt(0.1 / n)
        else:
            assert np.array_equal(clean, np.where(label == 0, 1.0, 0.0)) and np.array_equal(y, clean)


# ---------------------------------------------------------------- Experiments 4 and 5

@pytest.mark.parametrize("cls", [Adding, Multiplication])
@pytest.mark.parametrize("T", [100, 1000])
def test_adding_multiplication(cls, T):
    n = 10000 if T == 100 else 2000
    for seed in SEEDS:
        b = cls(T).sample(np.random.default_rng(seed), n)
        assert b.n_in == 2 and b.n_out == 1
        assert (b.x_idx == [0, 1]).all()
        assert_lengths(b, T, T + T // 10)
        assert_end_only(b)
        seq, pos = steps(b)
        value, marker = b.x_val[:, 0], b.x_val[:, 1]
        lo = -1.0 if cls is Adding else 0.0
        assert value.min() >= lo and value.max() <= 1.0
        assert abs(value.mean() - (lo + 1) / 2) < 5 * np.sqrt((1 - lo) ** 2 / 12 / len(value))
        # markers: exactly two 1.0, -1 at the first and last step unless marked, 0 elsewhere
        marked = marker == 1.0
        assert (np.bincount(seq[marked], minlength=n) == 2).all()
        first, last = b.starts[:-1], b.starts[1:] - 1
        edge = np.zeros(len(marker), bool)
        edge[first] = edge[last] = True
        assert (marker[edge & ~marked] == -1.0).all() and (marker[~edge & ~marked] == 0.0).all()
        p = pos[marked].reshape(n, 2)  # in order of position
        v = value[marked].reshape(n, 2)
        pos1, pos2 = b.info["pos1"], b.info["pos2"]
        assert np.array_equal(np.sort(np.column_stack([pos1, pos2]), axis=1), p)
        assert (pos1 < 10).all() and (pos2 < T // 2).all() and (pos1 != pos2).all()
        assert (pos1 >= 0).all() and (pos2 >= 0).all()
        # X1 uniform over 0..9; X2 uniform over the 49 (T=100) positions 0..T/2-1 other than X1's
        assert_balanced(np.bincount(pos1, minlength=10), np.full(10, 0.1), n, 5)
        prob2 = np.where(np.arange(T // 2) < 10, 0.9, 1.0) / (T // 2 - 1)
        assert_balanced(np.bincount(pos2, minlength=T // 2), prob2, n, 5)
        # a marked first pair has value 0 (adding) / 1 (multiplication)
        at0 = p[:, 0] == 0
        assert at0.any() and (v[at0, 0] == (0.0 if cls is Adding else 1.0)).all()
        # target recomputed from the inputs
        want = 0.5 + v.sum(axis=1) / 4 if cls is Adding else v.prod(axis=1)
        assert np.allclose(b.end_targets()[:, 0], want, rtol=0, atol=1e-12)
        assert np.allclose(np.sort(np.column_stack([b.info["X1"], b.info["X2"]]), axis=1), np.sort(v, axis=1))


# ---------------------------------------------------------------- Experiment 6

@pytest.mark.parametrize("k", [2, 3])
def test_temporal_order(k):
    ranges = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}[k]  # 1-based, docs/paper.md §4.6
    n = 10000
    for seed in SEEDS:
        b = TemporalOrder(k).sample(np.random.default_rng(seed), n)
        assert b.n_in == 8 and b.n_out == 2**k
        assert_lengths(b, 100, 110)
        assert_end_only(b)
        seq, pos = steps(b)
        sym = np.array(list("EBabcdXY"))[b.x_idx[:, 0]]
        first, last = b.starts[:-1], b.starts[1:] - 1
        assert (sym[first] == "E").all() and (sym == "E").sum() == n
        assert (sym[last] == "B").all() and (sym == "B").sum() == n
        rel = (sym == "X") | (sym == "Y")
        assert (np.bincount(seq[rel], minlength=n) == k).all()
        p = pos[rel].reshape(n, k)
        assert np.array_equal(p, b.info["positions"])
        for j, (lo, hi) in enumerate(ranges):
            assert p[:, j].min() + 1 == lo and p[:, j].max() + 1 == hi
        other = ~rel & (pos > 0) & (pos < b.lengths[seq] - 1)
        assert set(np.unique(sym[other])) == set("abcd")
        assert_balanced([(sym[other] == c).sum() for c in "abcd"], [0.25] * 4, other.sum(), 5)
        # class = X/Y string as a binary number, X=0, Y=1, first most significant
        bits = (sym[rel] == "Y").reshape(n, k)
        label = bits @ (2 ** np.arange(k - 1, -1, -1))
        assert np.array_equal(label, b.info["label"])
        assert np.array_equal(b.end_targets(), np.eye(2**k)[label])
        assert_balanced(np.bincount(label, minlength=2**k), np.full(2**k, 2.0**-k), n)


def test_temporal_order_class_names():
    # 6a: XX->Q, XY->R, YX->S, YY->U; 6b: XXX->Q ... YYY->C (docs/paper.md §4.6)
    names = {2: "QRSU", 3: "QRSUVABC"}
    for k, order in names.items():
        b = TemporalOrder(k).sample(np.random.default_rng(3), 400)
        sym = np.array(list("EBabcdXY"))[b.x_idx[:, 0]]
        xy = sym[(sym == "X") | (sym == "Y")].reshape(-1, k)
        for row, lab in zip(xy, b.info["label"]):
            s = "".join(row)
            want = {2: {"XX": "Q", "XY": "R", "YX": "S", "YY": "U"},
                    3: {"XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U",
                        "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}}[k][s]
            assert order[lab] == want


# ---------------------------------------------------------------- Batch helpers

def claims_and_facts(b):
    """What a batch says of itself (targets_at_ends, unit_inputs, target_idx), and what holds;
    where it gives target_idx, those are the units of its targets' 1.0."""
    has = ~np.isnan(b.targets).all(axis=1)          # steps with a target
    has[b.starts[1:] - 1] = False
    ones, zeros = (b.targets == 1.0).sum(axis=1), (b.targets == 0.0).sum(axis=1)
    onehot = bool(((ones == 1) & (zeros == b.n_out - 1)).all())
    if b.target_idx is not None:
        assert np.array_equal(np.eye(b.n_out)[b.target_idx], b.targets)
    return ((b.targets_at_ends, b.unit_inputs, b.target_idx is not None),
            (not has.any(), bool((b.x_val == 1.0).all()), onehot))


@pytest.mark.parametrize("make", ALL_TASKS)
def test_a_batch_says_exactly_what_holds_of_it(make):
    """The lane engine skips reads on these claims (lanes._kernel), so a false True would
    change results; a missing one only costs speed. Each task claims exactly what holds:
    targets only at the end for 2c, 3, 4, 5, 6; inputs of 1.0 for the one-hot tasks; a one-hot
    target at every step, with its unit, for 2a, 2b and Reber's next symbol."""
    b = make().sample(np.random.default_rng(3), 50)
    claims, facts = claims_and_facts(b)
    assert claims == facts
    for part in (b.take([7, 0, 7]), Batch.concat([b, b.take([1])])):
        assert claims_and_facts(part) == (claims, facts)


def test_concat_claims_what_all_its_batches_claim():
    a = VeryLongLag(10, 20).sample(np.random.default_rng(0), 5)
    for key in ("targets_at_ends", "unit_inputs"):
        assert getattr(Batch.concat([a, a]), key)
        assert not getattr(Batch.concat([a, replace(a, **{key: False})]), key)
    b = NoiseFree(10).sample(np.random.default_rng(0), 3)
    assert np.array_equal(Batch.concat([b, b]).target_idx, np.concatenate([b.target_idx] * 2))
    assert Batch.concat([b, replace(b, target_idx=None)]).target_idx is None


def test_take():
    b = Adding(100).sample(np.random.default_rng(0), 20)
    idx = [3, 3, 0, 19]
    t = b.take(idx)
    assert list(t.lengths) == list(b.lengths[idx])
    for j, i in enumerate(idx):
        for u, v in zip(t.dense(j), b.dense(i)):
            assert np.array_equal(u, v, equal_nan=True)
    assert np.array_equal(t.info["X1"], b.info["X1"][idx])
