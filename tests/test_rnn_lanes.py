"""RTRL and BPTT in lanes (lstm97.rnn_lanes): each lane is its single-trial learner bit for bit."""
import copy

import numpy as np
import pytest

from lstm97 import bptt, rnn, rnn_lanes, rtrl
from lstm97.online import SSE
from lstm97.tasks import NoiseFree
from lstm97.tasks.base import onehot_batch

SINGLE = {"rtrl": rtrl.train_batch, "bptt": bptt.train_batch}
LANED = {"rtrl": rnn_lanes.train_rtrl, "bptt": rnn_lanes.train_bptt}
TIMINGS = [("rtrl", "step"), ("rtrl", "sequence"), ("bptt", "sequence")]   # the updates each learner has


def train_both(learner, update, exp, start, batches, lr):
    """The same nets and batches through the single-trial learner, one by one, and the lanes:
    ((nets, results), (nets, results))."""
    single, laned = copy.deepcopy(start), copy.deepcopy(start)
    ref = [SINGLE[learner](net, b, lr, update, exp) for net, b in zip(single, batches)]
    out = LANED[learner](laned, batches, lr, update, exp)
    return (single, ref), (laned, out)


def assert_same(single, ref, laned, out):
    """Every lane's weights, statistics and divergence index are the single-trial learner's."""
    assert len(out) == len(ref)
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, laned, ref, out):
        assert bad_b == bad_a
        assert np.array_equal(st_b, st_a, equal_nan=True)
        for k in ("W_h", "W_o"):
            assert np.array_equal(b.weights[k], a.weights[k], equal_nan=True), k
            finite = np.isfinite(a.weights[k])           # zeros' signs too (the sign of a NaN is no result)
            assert np.array_equal(np.signbit(b.weights[k][finite]), np.signbit(a.weights[k][finite])), k


def table2(p, sizes, lr=4.0):
    """Table 2's net at delay p, one per lane (seeds 0, 1, ...), each with its own task sample and
    number of sequences."""
    start = [rnn.table2_net(p, seed=s) for s in range(len(sizes))]
    batches = [NoiseFree(p).sample(np.random.default_rng(10 + s), n) for s, n in enumerate(sizes)]
    return start, batches, lr


@pytest.mark.parametrize("exp", ["libm", "poly"])
@pytest.mark.parametrize("learner, update", TIMINGS)
@pytest.mark.parametrize("p", [4, 10])
def test_each_lane_is_the_single_trial_learner_on_table2(p, learner, update, exp):
    start, batches, lr = table2(p, [40, 25, 33])
    (single, ref), (laned, out) = train_both(learner, update, exp, start, batches, lr)
    assert [bad for _, bad in ref] == [-1, -1, -1]
    assert all(np.abs(a.weights["W_o"] - s.weights["W_o"]).max() > 0.1 for a, s in zip(single, start)), \
        "training moved no weight"
    assert np.abs(single[0].weights["W_o"] - single[1].weights["W_o"]).max() > 0.1, "lanes alike: a weak test"
    assert_same(single, ref, laned, out)


def test_a_perturbed_lane_fails_the_check():
    """The comparison sees a difference far below any tolerance: a lane whose start differs in
    one weight by a relative 1e-12 ends with other bits (a single ulp can vanish in the rounding
    of a much larger update)."""
    start, batches, lr = table2(4, [30, 30, 30])
    (single, ref), (laned, out) = train_both("rtrl", "step", "poly", start, batches, lr)
    assert_same(single, ref, laned, out)
    nudged = copy.deepcopy(start)
    nudged[1].weights["W_o"][3, 0] *= 1 + 1e-12
    out = rnn_lanes.train_rtrl(nudged, batches, lr, "step", "poly")
    with pytest.raises(AssertionError):
        assert_same(single, ref, nudged, out)
    assert_same(single[::2], ref[::2], nudged[::2], out[::2])     # the other lanes are untouched


def mixed(rng, n, p):
    """n one-hot sequences of 1 to 12 steps for Table 2's net at delay p; 30% of the steps
    without a target, 20% with targets for half of the units only: lanes wait, and some lanes
    have a target at a tick where others have none."""
    lengths = rng.integers(1, 13, size=n)
    steps = int(lengths.sum())
    targets = np.eye(p + 1)[rng.integers(p + 1, size=steps)]
    targets[rng.random(steps) < 0.3] = np.nan
    targets[rng.random(steps) < 0.2, :(p + 1) // 2] = np.nan
    return onehot_batch(rng.integers(p + 1, size=steps), lengths, p + 1, targets)


@pytest.mark.parametrize("exp", ["libm", "poly"])
@pytest.mark.parametrize("learner, update", TIMINGS)
def test_lanes_with_different_lengths_missing_targets_and_idle_lanes(learner, update, exp):
    sizes = [15, 0, 7, 20, 3]                   # lane 1 has nothing to do, lanes 2 and 4 end early
    start = [rnn.table2_net(4, seed=s) for s in range(len(sizes))]
    batches = [mixed(np.random.default_rng(s), n, 4) for s, n in enumerate(sizes)]
    (single, ref), (laned, out) = train_both(learner, update, exp, start, batches, 2.0)
    assert out[1][0].shape == (0, 4)
    assert_same(single, ref, laned, out)


@pytest.mark.parametrize("learner, update", TIMINGS)
@pytest.mark.parametrize("where", [("W_o", (2, 0)), ("W_o", (2, 3)), ("W_h", (0, 2))])
def test_a_diverging_lane_stops_where_its_learner_stops(learner, update, where):
    """A NaN weight in lane 1 (the hidden unit's column of the readout, an input column, an
    input weight of the hidden unit): E(t) is NaN, and RTRL's per-step update stops the lane
    within its first sequence; the other lanes go on."""
    start, batches, lr = table2(4, [12, 12, 12], lr=1.0)
    key, at = where
    start[1].weights[key][at] = np.nan
    (single, ref), (laned, out) = train_both(learner, update, "poly", start, batches, lr)
    assert [bad for _, bad in out] == [-1, 0, -1]
    assert np.isnan(out[1][0][0, SSE])
    assert_same(single, ref, laned, out)


@pytest.mark.parametrize("kw", [dict(bias=True), dict(shortcuts=False), dict(recurrence="none", bias=True)])
@pytest.mark.parametrize("learner, update", TIMINGS)
def test_other_masks_of_one_unit_nets(learner, update, kw):
    """Biases, no input->output shortcuts (their mask 0), no recurrent weight (w = 0 in the
    sensitivities): the same bits."""
    start = [rnn.RNN(5, 5, 1, **{"recurrence": "self", "shortcuts": True, **kw}, seed=s) for s in range(3)]
    batches = [mixed(np.random.default_rng(20 + s), 12, 4) for s in range(3)]
    (single, ref), (laned, out) = train_both(learner, update, "poly", start, batches, 1.0)
    assert_same(single, ref, laned, out)


def test_more_nets_than_lanes_run_in_groups():
    start, batches, lr = table2(4, [5 + s % 7 for s in range(rnn_lanes.LANES + 3)])
    for learner, update in (("rtrl", "step"), ("bptt", "sequence")):
        (single, ref), (laned, out) = train_both(learner, update, "poly", start, batches, lr)
        assert_same(single, ref, laned, out)


def test_a_lane_does_not_depend_on_its_neighbours():
    start, batches, lr = table2(10, [20, 20, 20, 20])
    alone = copy.deepcopy(start[2])
    crowd = copy.deepcopy(start)
    [(st_alone, _)] = rnn_lanes.train_bptt([alone], [batches[2]], lr, "sequence", "poly")
    st_crowd = rnn_lanes.train_bptt(crowd, batches, lr, "sequence", "poly")[2][0]
    assert np.array_equal(st_alone, st_crowd)
    for k in ("W_h", "W_o"):
        assert np.array_equal(alone.weights[k], crowd[2].weights[k])


def test_what_the_lanes_refuse():
    nets = [rnn.table2_net(4, seed=s) for s in range(2)]
    batches = [NoiseFree(4).sample(np.random.default_rng(s), 3) for s in range(2)]
    with pytest.raises(ValueError, match="once per sequence"):
        rnn_lanes.train_bptt(nets, batches, 1.0, "step")
    with pytest.raises(ValueError, match="unknown update"):
        rnn_lanes.train_rtrl(nets, batches, 1.0, "epoch")
    with pytest.raises(ValueError, match="unknown exp"):
        rnn_lanes.train_rtrl(nets, batches, 1.0, "step", "fast")
    with pytest.raises(ValueError, match="one batch per net"):
        rnn_lanes.train_rtrl(nets, batches[:1], 1.0)
    table1 = rnn.RNN(7, 7, 3, outputs="recurrent", seed=0)             # Table 1's RTRL net
    assert rnn_lanes.supports(nets[0]) and not rnn_lanes.supports(table1)
    assert not rnn_lanes.supports(rnn.RNN(5, 5, 2, recurrence="self", seed=0))
    with pytest.raises(ValueError, match="one recurrent unit"):
        rnn_lanes.train_rtrl([table1], [batches[0]], 1.0)
    uneven = rnn.table2_net(4, seed=2)                 # input columns masked unit by unit differently
    uneven.restrict({"W_h": uneven.masks["W_h"], "W_o": np.ones_like(uneven.masks["W_o"]) - np.eye(5, 7)})
    assert not rnn_lanes.supports(uneven)
    with pytest.raises(ValueError, match="one recurrent unit"):
        rnn_lanes.train_rtrl([uneven], [batches[0]], 1.0)
    biased = rnn.RNN(5, 5, 1, recurrence="self", shortcuts=True, bias=True, seed=3)
    assert rnn_lanes.supports(biased) and rnn_lanes.group_key(biased) != rnn_lanes.group_key(nets[0])
    with pytest.raises(ValueError, match="share their sizes and masks"):
        rnn_lanes.train_rtrl([nets[0], biased], batches, 1.0)
