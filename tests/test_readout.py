"""The competitors' kernels (rnn.py: W_o kept transposed, loops over the output units
vectorised; rtrl.py, bptt.py: the hidden units' loops restructured) compute bit for bit what they
computed before, and the exp_poly learners (runner.RTRL_POLY, runner.BPTT_POLY) stay close to them.

BEFORE holds SHA-256 digests (the first 16 hex digits) of the statistics, divergence indices
and weights that rtrl.py, bptt.py, elman.py and rnn.evaluate gave on these runs at commit
45635b3, before the readout was transposed: W_o (K, n_v) row-major, one output unit at a time.
They were computed with that commit's own learners, and again with a verbatim copy of its
kernels beside the new ones (identical). The entries added later pin further paths (one
recurrent unit, zero recurrent weights, recurrent outputs, exp_poly, a NaN amid missing
targets) as commit 9faf0fd gave them, before the sensitivities, the W_h update, the errors and
BPTT's backward pass were restructured. The records made by RTRL (2a at p=4) depend on these
bits: tests/test_records.py retrains them. Any change of order in a unit's arithmetic, of a sum
over units, or of a -0.0 shows here.
"""
import copy
import hashlib

import numpy as np
import pytest

from lstm97 import bptt, elman, experiments, rnn, rtrl, runner
from lstm97.online import SSE
from lstm97.tasks import EmbeddedReber, NoiseFree, dense_batch

BEFORE = {'2a p=4-rtrl-step-lr1': '4d33d4cdd4212b47',
 '2a p=4-rtrl-step-lr100': '50f2c1feac5b050b',
 '2a p=4-rtrl-sequence-lr4': '81a2d17fb11c49e9',
 '2a p=4-bptt-sequence-lr10': '78beaf7775be2afe',
 '2a p=100-rtrl-step-lr1': '7c3c51552e6a48c0',
 '2a p=100-rtrl-sequence-lr10': 'be352e7c5891e736',
 '2a p=100-bptt-sequence-lr1': '9c08329f72ad0924',
 '1 RTRL 3-rtrl-step-lr0.05': 'bdf18b9ddbf5d02f',
 '1 RTRL 3-rtrl-sequence-lr0.5': '6e5add9a674db85b',
 '1 RTRL 3-bptt-sequence-lr0.5': '75068417a6150fc0',
 '1 ELM 15-elman-step-lr0.1': 'f8cc0689f0e84d42',
 '1 ELM 15-elman-sequence-lr0.5': 'bc80fb5cf42a20cc',
 'dense, bias, shortcuts-rtrl-step-lr0.5': '0e6a4e10d7a0d66c',
 'dense, bias, shortcuts-rtrl-sequence-lr0.5': 'b475fec41b34ba1f',
 'dense, bias, shortcuts-bptt-sequence-lr0.5': 'a2f86d657cc4d086',
 'dense, bias, shortcuts-elman-step-lr0.5': 'b7a3e23819f53f1e',
 'saturated-rtrl-step': 'cbc842c3cec010c5',
 'saturated-rtrl-sequence': '2a64f97f996be1bf',
 'saturated-bptt-sequence': '319e4cc33fcac524',
 'diverging-2a p=4-rtrl-step': '5f2153effe0dfd96',
 'diverging-2a p=4-rtrl-sequence': '72547ec31b46bd2d',
 'diverging-2a p=4-bptt-sequence': '72547ec31b46bd2d',
 'diverging-1 ELM 15-elman-step': 'ec6604bd1b2133f9',
 'diverging-1 ELM 15-elman-sequence': '93c60756cf991931',
 'evaluate-2a p=100': '161d25e17104ac5d',
 'evaluate-1 RTRL 3': 'e1c05b0b6d665f6a',
 'evaluate-1 ELM 15': '96352852c30a63b4',
 'evaluate-dense, bias, shortcuts': '1f10afe3034312aa',
 # added later, computed at commit 9faf0fd (module docstring)
 'dense N=1-rtrl-step-lr0.5': 'a937ef31382a0f3a',
 'dense N=1-rtrl-sequence-lr0.5': '510b707710e0917b',
 'dense N=1-bptt-sequence-lr0.5': '15a3427a22b6eb42',
 'dense N=1, no recurrence-rtrl-step-lr0.5': '7acee59863728551',
 'dense N=1, no recurrence-rtrl-sequence-lr0.5': '560d2b0083134356',
 'dense N=1, no recurrence-bptt-sequence-lr0.5': '092911faac8f69a8',
 'dense, self-recurrent-rtrl-step-lr0.5': 'bdfff6d154dee86e',
 'dense, self-recurrent-rtrl-sequence-lr0.5': 'ae763439cadebfe0',
 'dense, self-recurrent-bptt-sequence-lr0.5': '2a2d073a78b11de1',
 'dense, recurrent outputs-rtrl-step-lr0.5': '860ad59d80584dc2',
 'dense, recurrent outputs-rtrl-sequence-lr0.5': '648588fc72ff919d',
 'dense, recurrent outputs-bptt-sequence-lr0.5': '4365b6b4a98b99da',
 'dense, one recurrent unit-rtrl-step-lr0.5': 'a78b093194d5b5cd',
 'dense, one recurrent unit-rtrl-sequence-lr0.5': '8d632cea1d17ba3e',
 'dense, one recurrent unit-bptt-sequence-lr0.5': '46dd38e23a81d405',
 'dense N=1-elman-step-lr0.5': '7b96893233cee50c',
 'poly-2a p=4-rtrl-step-lr1': 'e268d0114adf3d17',
 'poly-2a p=100-rtrl-step-lr1': '6a4a24d60a760aa0',
 'poly-2a p=100-rtrl-sequence-lr10': 'aa32087cd8080e17',
 'poly-2a p=100-bptt-sequence-lr1': '0669d968102a15b6',
 'poly-dense, bias, shortcuts-rtrl-step-lr0.5': '89ed1c9239eb93bc',
 'poly-dense, bias, shortcuts-bptt-sequence-lr0.5': '10bc0d129c57d2e4',
 'poly-dense N=1-rtrl-step-lr0.5': '17abbeb571af3c8d',
 'poly-dense N=1-bptt-sequence-lr0.5': '3ad8fee9ebad38d2',
 'diverging-dense-rtrl-step': 'b9baa260cfb11a91',
 'diverging-dense-rtrl-sequence': '888fad21df71ec66',
 'diverging-dense-bptt-sequence': '888fad21df71ec66',
 'diverging-dense-elman-step': 'b9baa260cfb11a91',
 'diverging-dense-elman-sequence': '888fad21df71ec66'}


# ----------------------------------------------------------------------------- the tests
class Dense:
    """Sequences of 5 to 9 dense inputs in [-1, 1] (nnz = n_in), with some targets missing:
    every term of a unit's net input is non-zero, so the order of the sum shows in its bits."""

    def __init__(self, n_in, n_out):
        self.n_in, self.n_out = n_in, n_out

    def sample(self, rng, n):
        seqs = []
        for _ in range(n):
            T = int(rng.integers(5, 10))
            targets = rng.uniform(0, 1, (T, self.n_out))
            targets[rng.uniform(size=targets.shape) < 0.3] = np.nan
            seqs.append((rng.uniform(-1, 1, (T, self.n_in)), targets))
        return dense_batch(seqs)


NETS = {  # name: (net of seed s, task, sequences)
    "2a p=4": (lambda s: rnn.table2_net(4, seed=s), NoiseFree(4), 400),
    "2a p=100": (lambda s: rnn.table2_net(100, seed=s), NoiseFree(100), 200),
    "1 RTRL 3": (lambda s: rnn.RNN(7, 7, 3, outputs="recurrent", seed=s), EmbeddedReber.from_pair(0), 300),
    "1 ELM 15": (lambda s: rnn.RNN(7, 7, 15, seed=s), EmbeddedReber.from_pair(0), 300),
    "dense, bias, shortcuts": (lambda s: rnn.RNN(5, 19, 3, shortcuts=True, bias=True, init=1.0, seed=s),
                               Dense(5, 19), 300),         # 19 units: vector loops and their remainder
    # the learners' paths for one recurrent unit, zero recurrent weights, recurrent outputs
    "dense N=1": (lambda s: rnn.RNN(5, 19, 1, recurrence="self", shortcuts=True, bias=True, init=1.0, seed=s),
                  Dense(5, 19), 300),
    "dense N=1, no recurrence": (lambda s: rnn.RNN(5, 19, 1, recurrence="none", bias=True, init=1.0, seed=s),
                                 Dense(5, 19), 300),
    "dense, self-recurrent": (lambda s: rnn.RNN(5, 19, 3, recurrence="self", shortcuts=True, bias=True, init=1.0,
                                                seed=s), Dense(5, 19), 300),
    "dense, recurrent outputs": (lambda s: rnn.RNN(5, 4, 2, outputs="recurrent", bias=True, init=1.0, seed=s),
                                 Dense(5, 4), 300),
    "dense, one recurrent unit": (lambda s: rnn.RNN(5, 1, 0, outputs="recurrent", bias=True, init=1.0, seed=s),
                                  Dense(5, 1), 300),
}
RUNS = [  # (net, learner, update, lr)
    ("2a p=4", rtrl, "step", 1.0), ("2a p=4", rtrl, "step", 100.0), ("2a p=4", rtrl, "sequence", 4.0),
    ("2a p=4", bptt, "sequence", 10.0),
    ("2a p=100", rtrl, "step", 1.0), ("2a p=100", rtrl, "sequence", 10.0), ("2a p=100", bptt, "sequence", 1.0),
    ("1 RTRL 3", rtrl, "step", 0.05), ("1 RTRL 3", rtrl, "sequence", 0.5), ("1 RTRL 3", bptt, "sequence", 0.5),
    ("1 ELM 15", elman, "step", 0.1), ("1 ELM 15", elman, "sequence", 0.5),
    ("dense, bias, shortcuts", rtrl, "step", 0.5), ("dense, bias, shortcuts", rtrl, "sequence", 0.5),
    ("dense, bias, shortcuts", bptt, "sequence", 0.5), ("dense, bias, shortcuts", elman, "step", 0.5),
] + [(name, learner, update, 0.5) for name in ("dense N=1", "dense N=1, no recurrence", "dense, self-recurrent",
                                                "dense, recurrent outputs", "dense, one recurrent unit")
     for learner, update in ((rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence"))] + [
    ("dense N=1", elman, "step", 0.5)]
POLY_RUNS = [  # the same with exp_poly (runner.RTRL_POLY, runner.BPTT_POLY)
    ("2a p=4", rtrl, "step", 1.0), ("2a p=100", rtrl, "step", 1.0), ("2a p=100", rtrl, "sequence", 10.0),
    ("2a p=100", bptt, "sequence", 1.0), ("dense, bias, shortcuts", rtrl, "step", 0.5),
    ("dense, bias, shortcuts", bptt, "sequence", 0.5), ("dense N=1", rtrl, "step", 0.5),
    ("dense N=1", bptt, "sequence", 0.5),
]


def bits(a):
    """The bytes of a, NaNs as 0.0: an operation on two NaNs returns one of them, and vector code
    may pick the other (the sign bit of a NaN weight is no result)."""
    a = np.asarray(a)
    return np.ascontiguousarray(np.where(np.isnan(a), 0.0, a)).tobytes() + np.isnan(a).tobytes()


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(bits(a))
    return h.hexdigest()[:16]


def train(name, learner, update, lr, start=None, chunks=2, **kw):
    """(start, net, last (stats, diverged), digest) of the learner on its net and sequences, in a
    few train_batch calls; ``kw`` goes to train_batch (exp)."""
    make, task, n = NETS[name]
    start = start or make(1)
    net = copy.deepcopy(start)
    batch = task.sample(np.random.default_rng(2), n)
    outs = []
    for part in np.array_split(np.arange(n), chunks):
        out = learner.train_batch(net, batch.take(part), lr, update, **kw)
        outs += [out[0], np.array([out[1]])]
    return start, net, out, digest(*outs, *[net.weights[k] for k in sorted(net.weights)])


def short(learner):
    return learner.__name__.split(".")[-1]


@pytest.mark.parametrize("name, learner, update, lr", RUNS,
                         ids=[f"{n}-{short(m)}-{u}-lr{lr:g}" for n, m, u, lr in RUNS])
def test_learners_give_the_bits_they_gave_before(name, learner, update, lr):
    start, net, (stats, bad), got = train(name, learner, update, lr)
    assert got == BEFORE[f"{name}-{short(learner)}-{update}-lr{lr:g}"]
    assert bad == -1 and np.all(np.isfinite(stats))
    assert max(np.abs(net.weights[k] - start.weights[k]).max() for k in start.weights) > 1e-3, "nothing learned"


@pytest.mark.parametrize("name, learner, update, lr", POLY_RUNS,
                         ids=[f"{n}-{short(m)}-{u}-lr{lr:g}" for n, m, u, lr in POLY_RUNS])
def test_poly_learners_give_the_bits_they_gave_before(name, learner, update, lr):
    _, _, (stats, bad), got = train(name, learner, update, lr, exp="poly")
    assert got == BEFORE[f"poly-{name}-{short(learner)}-{update}-lr{lr:g}"]
    assert bad == -1 and np.all(np.isfinite(stats))


@pytest.mark.parametrize("learner, update", [(rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence")])
def test_saturated_output_units_are_skipped_as_before(learner, update):
    """Output units 0 and 1 driven to y = 0.0 and 1.0 exactly: their e_k = +0.0 or -0.0, so their
    weights do not change. With per-step updates not even by adding c = +0.0, which would turn
    the -0.0 of a masked bias entry into 0.0 (per-sequence updates add lr * M * dW to every
    weight, and did so before)."""
    start = rnn.table2_net(4, seed=1)
    W_o, M_o = start.weights["W_o"], start.masks["W_o"]
    for k, w in ((0, -800.0), (1, 40.0)):
        W_o[k] = np.where(M_o[k] != 0, w, -0.0)
    assert np.all(M_o[:, -1] == 0.0)
    _, net, _, got = train("2a p=4", learner, update, 1.0, start)
    assert got == BEFORE[f"saturated-{short(learner)}-{update}"]
    assert np.array_equal(net.weights["W_o"][:2], start.weights["W_o"][:2])
    assert update == "sequence" or bits(net.weights["W_o"][:2]) == bits(start.weights["W_o"][:2])


@pytest.mark.parametrize("name, learner, update", [("2a p=4", rtrl, "step"), ("2a p=4", rtrl, "sequence"),
                                                   ("2a p=4", bptt, "sequence"), ("1 ELM 15", elman, "step"),
                                                   ("1 ELM 15", elman, "sequence")])
def test_divergence_is_reported_as_before(name, learner, update):
    start = NETS[name][0](1)
    start.weights["W_o"][2, 1] = np.nan
    _, _, (stats, bad), got = train(name, learner, update, 1.0, start, chunks=1)
    assert got == BEFORE[f"diverging-{name}-{short(learner)}-{update}"]
    assert bad == 0 and np.isnan(stats[0, SSE])


@pytest.mark.parametrize("learner, update", [(rtrl, "step"), (rtrl, "sequence"), (bptt, "sequence"),
                                             (elman, "step"), (elman, "sequence")])
def test_divergence_amid_missing_targets_is_reported_as_before(learner, update):
    """A NaN output among outputs without targets: the maximum |d - y| of a step skips those."""
    start = NETS["dense, bias, shortcuts"][0](1)
    start.weights["W_o"][2, 1] = np.nan
    _, _, (stats, bad), got = train("dense, bias, shortcuts", learner, update, 0.5, start, chunks=1)
    assert got == BEFORE[f"diverging-dense-{short(learner)}-{update}"]
    assert bad >= 0


@pytest.mark.parametrize("name", ["2a p=100", "1 RTRL 3", "1 ELM 15", "dense, bias, shortcuts"])
def test_evaluate_gives_the_bits_it_gave_before(name):
    make, task, _ = NETS[name]
    net = make(3)
    stats, outputs = rnn.evaluate(net, task.sample(np.random.default_rng(4), 20))
    assert digest(stats, outputs) == BEFORE[f"evaluate-{name}"]


# ----------------------------------------------------------------------------- exp_poly
@pytest.mark.parametrize("p, learner, update", [(4, rtrl, "step"), (100, rtrl, "step"), (100, bptt, "sequence")])
def test_poly_learners_stay_close_to_libm(p, learner, update):
    """exp_poly is within 1 ulp of libm's exp; after 100 sequences the weights differ by about
    1e-16 of their largest (measured; 1e-15 after 1,000 sequences at p = 4)."""
    start = rnn.table2_net(p, seed=5)
    batch = NoiseFree(p).sample(np.random.default_rng(6), 100)
    exact, poly = copy.deepcopy(start), copy.deepcopy(start)
    st_exact, bad_exact = learner.train_batch(exact, batch, 1.0, update)
    st_poly, bad_poly = learner.train_batch(poly, batch, 1.0, update, exp="poly")
    assert bad_exact == bad_poly == -1
    for k in start.weights:
        scale = np.abs(exact.weights[k]).max()
        assert np.abs(poly.weights[k] - exact.weights[k]).max() <= 1e-13 * scale, k
    np.testing.assert_allclose(st_poly, st_exact, rtol=1e-12, atol=1e-15)
    assert any(bits(poly.weights[k]) != bits(exact.weights[k]) for k in start.weights), "poly is libm?"


def test_rtrl_and_bptt_rows_train_with_the_poly_learners():
    batch = NoiseFree(4).sample(np.random.default_rng(0), 20)
    for name, learner, update in ((runner.RTRL_POLY, rtrl, "step"), (runner.BPTT_POLY, bptt, "sequence")):
        a, b = rnn.table2_net(4, seed=0), rnn.table2_net(4, seed=0)
        assert bits(runner.LEARNERS[name](a, batch, 1.0, update)[0]) == \
            bits(learner.train_batch(b, batch, 1.0, update, exp="poly")[0])
        assert all(bits(a.weights[k]) == bits(b.weights[k]) for k in a.weights)
    assert runner.learner_of(experiments.get("2a-rtrl-p100-lr1")) == runner.RTRL_POLY
    assert runner.learner_of(experiments.get("2a-bptt-p100-lr1")) == runner.BPTT_POLY
    rec = runner.run_trial("2a-rtrl-p4-lr1", 1, scale="smoke", engine=runner.RTRL_POLY)
    assert rec["engine"] == runner.RTRL_POLY and rec["sequences_trained"] == 2000
    with pytest.raises(ValueError, match="unknown exp"):
        rtrl.train_batch(rnn.table2_net(4), batch, 1.0, exp="fast")
