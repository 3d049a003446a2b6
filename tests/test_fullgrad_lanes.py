"""The full gradient in lanes (lstm97.fullgrad_lanes): each lane is fullgrad.train_batch bit for bit."""
import copy
from dataclasses import replace

import numpy as np
import pytest

from lstm97 import experiments, fullgrad, fullgrad_lanes, nets, scheduling
from lstm97.learners import LANE_KERNELS
from lstm97.network import LSTM97
from lstm97.online import SSE
from lstm97.records import FULL
from lstm97.runner import keep_weights, run_trial
from lstm97.tasks.base import dense_batch, onehot_batch
from lstm97.trialqueue import lane_key

KEYS = ("W_in", "W_out", "W_c", "W_k")
ROWS = ("1-5+full", "4-1+full", "2c-2+full", "6a+full", "3a-T100-N3+full")   # the nets of the 'full' rows


def train_both(start, batches, lr, update):
    """The same nets and batches through fullgrad.train_batch, one by one, and through the
    lanes: ((nets, results), (nets, results))."""
    single, laned = copy.deepcopy(start), copy.deepcopy(start)
    ref = [fullgrad.train_batch(net, b, lr, update) for net, b in zip(single, batches)]
    out = fullgrad_lanes.train_full(laned, batches, lr, update)
    return (single, ref), (laned, out)


def assert_same(single, ref, laned, out):
    """Every lane's weights, statistics and divergence index are the single-trial learner's,
    the signs of zeros included."""
    assert len(out) == len(ref)
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, laned, ref, out):
        assert bad_b == bad_a
        assert np.array_equal(st_b, st_a, equal_nan=True)
        for k in KEYS:
            assert np.array_equal(b.weights[k], a.weights[k], equal_nan=True), k
            finite = np.isfinite(a.weights[k])
            assert np.array_equal(np.signbit(b.weights[k][finite]), np.signbit(a.weights[k][finite])), k


def moved(single, start):
    return max(np.abs(a.weights[k] - s.weights[k]).max() for a, s in zip(single, start) for k in KEYS)


def row(exp_id, sizes):
    """The net of an experiment, one per lane (seeds 0, 1, ...), each with its own sample of its
    task and number of sequences, and its learning rate."""
    exp = experiments.get(exp_id)
    task = exp.make_task()
    start = [nets.make_net(exp, seed=s) for s in range(len(sizes))]
    batches = [task.sample(np.random.default_rng(10 + s), n) for s, n in enumerate(sizes)]
    return start, batches, exp.lr


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("exp_id", ROWS)
def test_each_lane_is_the_single_trial_learner_on_the_full_rows(exp_id, update):
    """Exp 1's Reber net (targets at every step), the adding net (dense inputs), 2c-2 (104
    one-hot inputs, each lane its own column), 6a and 3a, three lanes of 16 with batches of
    different sizes and sequences of different lengths (2c's all have p + 1 steps)."""
    start, batches, lr = row(exp_id, [8, 5, 11] if exp_id.startswith("1-") else [3, 2, 4])
    (single, ref), (laned, out) = train_both(start, batches, lr, update)
    assert [bad for _, bad in ref] == [-1, -1, -1]
    assert moved(single, start) > 1e-4, "training moved no weight"
    assert max(np.abs(single[0].weights[k] - single[1].weights[k]).max() for k in KEYS) > 1e-3
    assert_same(single, ref, laned, out)


def test_a_perturbed_lane_fails_the_check():
    """The comparison sees a difference far below any tolerance: a lane whose start differs in
    one weight by a relative 1e-12 ends with other bits, and only that lane."""
    start, batches, lr = row("1-5+full", [6, 6, 6])
    (single, ref), (laned, out) = train_both(start, batches, lr, "step")
    assert_same(single, ref, laned, out)
    nudged = copy.deepcopy(start)
    nudged[1].weights["W_c"][2, 8] *= 1 + 1e-12
    out = fullgrad_lanes.train_full(nudged, batches, lr, "step")
    with pytest.raises(AssertionError):
        assert_same(single, ref, nudged, out)
    assert_same(single[::2], ref[::2], nudged[::2], out[::2])


def mixed(rng, n, n_in, n_out):
    """n one-hot sequences of 1 to 12 steps; 30% of the steps without a target, 20% with targets
    for half of the units only: lanes wait, and some lanes have a target at a tick where others
    have none."""
    lengths = rng.integers(1, 13, size=n)
    steps = int(lengths.sum())
    targets = rng.uniform(0, 1, (steps, n_out))
    targets[rng.random(steps) < 0.3] = np.nan
    targets[rng.random(steps) < 0.2, :(n_out + 1) // 2] = np.nan
    return onehot_batch(rng.integers(n_in, size=steps), lengths, n_in, targets)


VARIANTS = {    # LSTM97(7, 5, blocks, size, **kwargs): the cells fullgrad.py trains
    "1997 cell": (3, 2, dict(bias="gates", init=0.5, output_gate_bias=[-1, -2, -3])),
    "no input gate": (2, 2, dict(bias="all", init=0.5, input_gates=False)),
    "no output gate, shortcuts, h = id": (2, 1, dict(bias="none", init=0.5, output_gates=False, shortcuts=True,
                                                     g="logistic", h="identity")),
    "legend g, h, reset, cells from inputs": (2, 1, dict(bias="input", init=0.5, input_gate_bias=[-1, -2],
                                                         g="legend", h="legend", reset=0.5,
                                                         cell_sources="inputs")),
}


def dense(batch, rng):
    """The batch with inputs of every unit at every step, normal random values (nnz = n_in)."""
    return dense_batch((rng.normal(size=(len(xs), batch.n_in)), tg) for xs, tg in batch.sequences())


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("inputs", ["one-hot", "dense"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_lanes_with_different_lengths_missing_targets_idle_lanes_and_other_cells(variant, inputs, update):
    blocks, size, kw = VARIANTS[variant]
    sizes = [15, 0, 7, 20, 3]                   # lane 1 has nothing to do, lanes 2 and 4 end early
    start = [LSTM97(7, 5, blocks, size, seed=s, **kw) for s in range(len(sizes))]
    batches = [mixed(np.random.default_rng(s), n, 7, 5) for s, n in enumerate(sizes)]
    if inputs == "dense":
        batches = [dense(b, np.random.default_rng(s)) if len(b) else b for s, b in enumerate(batches)]
        batches[1] = batches[0].take([])
    (single, ref), (laned, out) = train_both(start, batches, 0.5, update)
    assert out[1][0].shape == (0, 4)
    assert moved(single, start) > 1e-4
    assert_same(single, ref, laned, out)


def with_input(batch, seq, value):
    """The batch with the input value of the first step of sequence ``seq`` set to ``value``."""
    x_val = batch.x_val.copy()
    x_val[batch.starts[seq], 0] = value
    return replace(batch, x_val=x_val, unit_inputs=False)


@pytest.mark.parametrize("update", ["sequence", "step"])
def test_a_diverging_lane_stops_where_its_learner_stops(update):
    """Three lanes of 2c-2 stop, each at another sequence, the others go on. Lane 1 meets an
    infinite input in its sequence 3: E stays finite, the weight changes x δ do not, and the
    update stops the lane there. Lane 2 starts with a NaN weight in the column of an input its
    first sequence does not show: E is finite, the update leaves the weight NaN, and the lane
    stops at sequence 0. Lane 3 meets a NaN input in its sequence 2: E is NaN. With per-step
    updates the update at the sequence's target stops lanes 1 and 2, its SSE set to NaN."""
    start, batches, lr = row("2c-2+full", [5, 5, 5, 5, 5])
    batches[1] = with_input(batches[1], 3, np.inf)
    unused = sorted(set(range(start[2].n_in)) - set(batches[2].x_idx[:batches[2].starts[1], 0]))[0]
    start[2].weights["W_c"][0, unused] = np.nan
    batches[3] = with_input(batches[3], 2, np.nan)
    (single, ref), (laned, out) = train_both(start, batches, lr, update)
    assert [bad for _, bad in ref] == [-1, 3, 0, 2, -1]
    assert [bool(np.isnan(st[bad, SSE])) for st, bad in ref[1:4]] == [update == "step"] * 2 + [True]
    assert_same(single, ref, laned, out)


def test_a_lane_with_targets_at_every_step_diverges_within_its_sequence():
    """Per-step updates on Reber's net: a NaN input in sequence 2 stops the lane at its next
    target step, its statistics of that sequence as the learner leaves them."""
    start, batches, lr = row("1-5+full+step", [6, 6, 6])
    batches[0] = with_input(batches[0], 2, np.nan)
    (single, ref), (laned, out) = train_both(start, batches, lr, "step")
    assert [bad for _, bad in ref] == [2, -1, -1]
    assert_same(single, ref, laned, out)


def test_more_nets_than_lanes_run_in_groups_and_a_lane_does_not_depend_on_its_neighbours():
    start, batches, lr = row("1-3+full", [3 + s % 5 for s in range(fullgrad_lanes.LANES + 3)])
    (single, ref), (laned, out) = train_both(start, batches, lr, "sequence")
    assert_same(single, ref, laned, out)
    last = len(start) - 1                       # in the second group, beside two others
    alone = copy.deepcopy(start[last])
    [(st_alone, _)] = fullgrad_lanes.train_full([alone], [batches[last]], lr, "sequence")
    assert np.array_equal(st_alone, out[last][0])
    assert all(np.array_equal(alone.weights[k], laned[last].weights[k]) for k in KEYS)


def test_what_the_lanes_refuse():
    start, batches, lr = row("6a+full", [2, 2])
    with pytest.raises(ValueError, match="unknown update"):
        fullgrad_lanes.train_full(start, batches, lr, "epoch")
    with pytest.raises(ValueError, match="one batch per net"):
        fullgrad_lanes.train_full(start, batches[:1], lr)
    forget = LSTM97(8, 4, 2, 2, bias="all", forget_gates=True, seed=0)
    assert not fullgrad_lanes.supports(forget) and fullgrad_lanes.supports(start[0])
    with pytest.raises(ValueError, match="forget gates"):
        fullgrad_lanes.train_full([forget], batches[:1], lr)
    three = LSTM97(8, 4, 3, 2, bias="all", seed=1)
    assert fullgrad_lanes.group_key(three) != fullgrad_lanes.group_key(start[0])
    with pytest.raises(ValueError, match="share their sizes and masks"):
        fullgrad_lanes.train_full([start[0], three], batches, lr)


def test_the_runner_trains_the_full_rows_in_lanes_with_the_records_each_trial_gets_alone(monkeypatch):
    """learners.LANE_KERNELS[FULL]: the queue groups the 'full' rows, and a lane group of 6a+full
    at smoke scale gives every trial the record run_trial gives it with fullgrad.train_batch (its
    "engine" FULL), wall time aside."""
    assert all(lane_key(e) is not None and lane_key(e)[0] == FULL for e in ROWS + ("1-5+full+step",))
    assert lane_key("6a+full") != lane_key("6a") and lane_key("1-5+full") != lane_key("1-5+full+step")
    calls = []
    train = fullgrad_lanes.train_full
    monkeypatch.setattr(fullgrad_lanes, "train_full", lambda ns, *a: calls.append(len(ns)) or train(ns, *a))
    exp = replace(experiments.get("6a+full"), budget=300)
    records, trials = [], iter(range(6))
    scheduling.run_lanes(exp, lambda: next(trials, None), records.append, scale="smoke")
    assert len(records) == 6 and calls and max(calls) == 6 > LANE_KERNELS[FULL].solo
    for rec in records:
        alone = run_trial(exp, rec["trial"], 0, "smoke", keep_weights(exp, rec["trial"]), engine=FULL)
        assert rec["engine"] == alone["engine"] == FULL and rec["sequences_trained"] == 300
        assert {k: v for k, v in rec.items() if k != "wall_time"} == {k: v for k, v in alone.items() if k != "wall_time"}
