"""Trial-parallel training (lstm97.lanes): each lane computes what the single-trial engine computes."""
import copy
import math
from dataclasses import replace

import numpy as np
import pytest

from lstm97 import engine, lanes, online
from lstm97.network import LSTM97
from lstm97.tasks import Adding, EmbeddedReber, NoiseFree, TemporalOrder, VeryLongLag

# name: task, LSTM97 arguments, learning rate (the nets of bench.NETS, a Reber net, a readings net)
CASES = {
    "adding": (Adding(100), (2, 1, 2, 2), dict(bias="all", input_gate_bias=[-3, -6]), 0.5),
    "6b": (TemporalOrder(3), (8, 8, 3, 2), dict(bias="all", input_gate_bias=[-2, -4, -6]), 0.1),
    "2c p=1000": (VeryLongLag(1000, 1000), (1004, 2, 2, 1), dict(bias="none", init=0.2), 0.01),
    "reber 1-x": (EmbeddedReber.from_pair(0), (7, 7, 3, 2),
                  dict(bias="gates", init=0.2, output_gate_bias=[-1, -2, -3]), 0.5),
    "2c readings": (VeryLongLag(20, 20), (24, 2, 2, 1),
                    dict(bias="input", input_gate_bias=[-1, -2], init=0.2, g="legend", h="legend",
                         reset=0.5, cell_sources="inputs", recurrent=False), 0.5),
    # 2a at p=20: input->output shortcuts, no output gates, h = id, a target at every step
    "2a shortcuts": (NoiseFree(20), (21, 21, 1, 1),
                     dict(bias="none", init=0.2, output_gates=False, recurrent=False, shortcuts=True,
                          g="logistic", h="identity"), 1.0),
}


def train_both(name, update, n, exp, lanes_n=3, engine_exp="libm"):
    """Lanes and the single-trial engine from the same nets and batches: (single, lanes, start)."""
    task, shape, kw, lr = CASES[name]
    batches = [task.sample(np.random.default_rng(s), n) for s in range(lanes_n)]
    start = [LSTM97(*shape, **kw, seed=s) for s in range(lanes_n)]
    single, parallel = copy.deepcopy(start), copy.deepcopy(start)
    ref = [engine.train_batch(net, b, lr, update, exp=engine_exp) for net, b in zip(single, batches)]
    out = lanes.train_batches(parallel, batches, lr, update, exp=exp)
    return (single, ref), (parallel, out), start


def max_rel(a, b):
    return max(np.abs(a.weights[k] - b.weights[k]).max() / (np.abs(a.weights[k]).max() or 1.0)
               for k in lanes.KEYS)


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("name", list(CASES))
def test_each_lane_is_the_single_engine_after_1000_sequences(name, update):
    (single, ref), (parallel, out), start = train_both(name, update, 1000, "libm")
    assert max(max_rel(a, b) for a, b in zip(single, start)) > 1e-4, "training moved no weight"
    assert max_rel(single[0], single[1]) > 1e-3, "lanes do not differ; the comparison would be weak"
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, parallel, ref, out):
        assert bad_a == bad_b == -1
        assert max_rel(a, b) <= 1e-9
        np.testing.assert_allclose(st_b, st_a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("update", ["sequence", "step"])
def test_what_the_batches_claim_changes_no_result(update):
    """Where every batch claims targets_at_ends or unit_inputs (tasks.Batch), the kernel skips
    reading targets before a sequence's end, or the input values; without a claim it reads
    them. 2c's batches claim both; trained with both, with either alone and with neither, the
    records are the same, bit for bit."""
    task, shape, kw, lr = CASES["2c readings"]
    claimed = [task.sample(np.random.default_rng(s), 200) for s in range(3)]
    assert all(b.targets_at_ends and b.unit_inputs for b in claimed)
    runs = []
    for cleared in ((), ("targets_at_ends",), ("unit_inputs",), ("targets_at_ends", "unit_inputs")):
        batches = [replace(b, **dict.fromkeys(cleared, False)) for b in claimed]
        nets = [LSTM97(*shape, **kw, seed=s) for s in range(3)]
        runs.append((nets, lanes.train_batches(nets, batches, lr, update)))
    (ref, ref_out), *others = runs
    for nets, out in others:
        for a, b, (st_a, bad_a), (st_b, bad_b) in zip(ref, nets, ref_out, out):
            assert bad_a == bad_b == -1
            np.testing.assert_array_equal(st_a, st_b)
            assert all(np.array_equal(a.weights[k], b.weights[k]) for k in lanes.KEYS)


@pytest.mark.parametrize("update", ["sequence", "step"])
def test_one_hot_targets_read_as_units_change_no_result(update):
    """2a's batches give the unit of each step's one-hot target (tasks.Batch.target_idx), and
    the kernel then reads that one index per lane and tick instead of K targets. Trained with
    and without it, the records are the same, bit for bit; the lanes hold different numbers
    of sequences, so some run out and wait (no target) while others train."""
    task, shape, kw, lr = CASES["2a shortcuts"]
    given = [task.sample(np.random.default_rng(s), n) for s, n in enumerate((120, 70, 30))]
    assert all(b.target_idx is not None for b in given)
    runs = []
    for batches in (given, [replace(b, target_idx=None) for b in given]):
        nets = [LSTM97(*shape, **kw, seed=s) for s in range(3)]
        runs.append((nets, lanes.train_batches(nets, batches, lr, update)))
    (ref, ref_out), (nets, out) = runs
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(ref, nets, ref_out, out):
        assert bad_a == bad_b == -1
        np.testing.assert_array_equal(st_a, st_b)
        assert all(np.array_equal(a.weights[k], b.weights[k]) for k in lanes.KEYS)


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_engine_with_exp_poly_is_a_poly_lane_bit_for_bit(name, update):
    """What lets runner.run_lanes train a group of up to lanes.SOLO trials in the single-trial
    engine: engine.train_batch(exp="poly") gives a lane's weights and statistics exactly."""
    (single, ref), (parallel, out), start = train_both(name, update, 300, "poly", engine_exp="poly")
    assert max(max_rel(a, b) for a, b in zip(single, start)) > 1e-5, "training moved no weight"
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, parallel, ref, out):
        assert bad_a == bad_b == -1
        for k in lanes.KEYS:
            assert np.array_equal(a.weights[k], b.weights[k]), k
        assert np.array_equal(st_a, st_b)


def test_engine_exp_must_be_libm_or_poly():
    task, shape, kw, lr = CASES["adding"]
    with pytest.raises(ValueError, match="unknown exp"):
        engine.train_batch(LSTM97(*shape, **kw, seed=0), task.sample(np.random.default_rng(0), 2), lr,
                           exp="svml")


@pytest.mark.parametrize("update", ["sequence", "step"])
@pytest.mark.parametrize("name", ["adding", "6b", "reber 1-x"])
def test_poly_exp_lanes_stay_close_to_the_single_engine(name, update):
    """exp_poly differs from libm's exp by at most 1 ulp; online learning carries such differences
    on (measured after 1,000 sequences: 1e-15 on adding and 6b, 2e-8 on Reber with lr 0.5 and
    per-sequence updates). After 100 sequences every lane is within 1e-10 of the engine."""
    (single, ref), (parallel, out), _ = train_both(name, update, 100, "poly")
    for a, b, (st_a, bad_a), (st_b, bad_b) in zip(single, parallel, ref, out):
        assert bad_a == bad_b == -1
        assert max_rel(a, b) <= 1e-10
        np.testing.assert_allclose(st_b[:, online.SSE], st_a[:, online.SSE], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("update", ["sequence", "step"])
def test_lanes_with_different_lengths_batch_sizes_and_one_diverging(update):
    task, shape, kw, lr = CASES["adding"]
    sizes = [30, 0, 7, 50, 30]                          # lane 1 has nothing to do, lane 2 stops early
    batches = [Adding(10 + 20 * i).sample(np.random.default_rng(i), n) for i, n in enumerate(sizes)]
    start = [LSTM97(*shape, **kw, seed=s) for s in range(len(sizes))]
    start[4].weights["W_in"][0, 1] = np.inf             # as if an update had overflowed
    single, parallel = copy.deepcopy(start), copy.deepcopy(start)
    ref = [engine.train_batch(net, b, lr, update) for net, b in zip(single, batches)]
    out = lanes.train_batches(parallel, batches, lr, update, exp="libm")
    assert [bad for _, bad in out] == [bad for _, bad in ref] == [-1, -1, -1, -1, 0]
    for a, b, (st_a, _), (st_b, _) in zip(single, parallel, ref, out):
        np.testing.assert_array_equal(st_b, st_a)
        for k in lanes.KEYS:
            np.testing.assert_array_equal(b.weights[k], a.weights[k])
    assert out[1][0].shape == (0, 4) and np.isnan(out[4][0][0, online.SSE])


def test_a_lane_does_not_depend_on_its_neighbours():
    """The same net and batch give the same bits alone, and in lane 2 of 5 (records made with
    lanes can be remade with any lane count)."""
    task, shape, kw, lr = CASES["6b"]
    batches = [task.sample(np.random.default_rng(s), 20) for s in range(5)]
    alone = LSTM97(*shape, **kw, seed=2)
    crowd = [LSTM97(*shape, **kw, seed=s) for s in range(5)]
    [(st_alone, _)] = lanes.train_batches([alone], [batches[2]], lr)
    st_crowd = lanes.train_batches(crowd, batches, lr)[2][0]
    np.testing.assert_array_equal(st_alone, st_crowd)
    for k in lanes.KEYS:
        np.testing.assert_array_equal(alone.weights[k], crowd[2].weights[k])


def test_exp_poly_is_within_one_ulp_of_math_exp():
    rng = np.random.default_rng(0)
    xs = np.concatenate([np.linspace(lanes.EXP_LO, lanes.EXP_HI, 20001), rng.uniform(-40, 40, 20000),
                         rng.uniform(-1e-3, 1e-3, 1000), [0.0, 1.0, -1.0, 0.5 * math.log(2)]])
    worst = max(abs(lanes.exp_poly(x) - math.exp(x)) / math.exp(x) for x in xs)
    assert worst <= 2.3e-16                              # 1 ulp (2**-52 = 2.2e-16)
    assert lanes.exp_poly(0.0) == 1.0
    assert lanes.exp_poly(710.0) == math.inf and lanes.exp_poly(math.inf) == math.inf
    assert lanes.exp_poly(-709.0) == 0.0 and lanes.exp_poly(-math.inf) == 0.0
    assert math.isnan(lanes.exp_poly(math.nan))


def test_nets_of_one_call_must_share_their_topology():
    b = Adding(10).sample(np.random.default_rng(0), 2)
    with pytest.raises(ValueError, match="topology"):
        lanes.train_batches([LSTM97(2, 1, 2, 2), LSTM97(2, 1, 2, 1)], [b, b], 0.5)
    with pytest.raises(ValueError, match="masks"):
        lanes.train_batches([LSTM97(2, 1, 2, 2), LSTM97(2, 1, 2, 2, bias="none")], [b, b], 0.5)
    with pytest.raises(ValueError, match="one batch per net"):
        lanes.train_batches([LSTM97(2, 1, 2, 2)], [b, b], 0.5)
    with pytest.raises(ValueError, match="exp"):
        lanes.train_batches([LSTM97(2, 1, 2, 2)], [b], 0.5, exp="svml")


def test_sigma_on_lane_vectors_is_the_scalar_sigma_bit_for_bit():
    """sigma_lanes (the forward pass's σ, in registers) repeats _exp_poly's operations."""
    from numba import njit
    from lstm97.fastexp import sigma_array
    from lstm97.lanevec import LANES, get, put

    @njit(error_model="numpy")
    def on_lanes(x, out):
        for i in range(x.shape[0]):
            put(out, i, lanes.sigma_lanes(get(x, i)))

    @njit(error_model="numpy")
    def scalar(x, out):
        sigma_array(x, out, x.size, False)

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 10, 4000), np.linspace(-800, 800, 4000),
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, 708.5, -708.5, 709.5, -709.5, 745.2, -745.2,
                         1e-300, -1e-300, 5e-324, 700.0, -700.0]])
    x = x[:len(x) // LANES * LANES].reshape(-1, LANES)
    a, b = np.zeros_like(x), np.zeros_like(x)
    on_lanes(x, a)
    scalar(x.ravel(), b.ravel())
    np.testing.assert_array_equal(a.view(np.int64), b.view(np.int64))


def test_more_nets_than_lanes_run_in_groups():
    """train_batches splits LANES + 2 nets into a full group and a padded one; every net still
    gets what the engine gives it."""
    task, shape, kw, lr = CASES["adding"]
    n = lanes.LANES + 2
    batches = [task.sample(np.random.default_rng(s), 3) for s in range(n)]
    start = [LSTM97(*shape, **kw, seed=s) for s in range(n)]
    single, parallel = copy.deepcopy(start), copy.deepcopy(start)
    ref = [engine.train_batch(net, b, lr) for net, b in zip(single, batches)]
    out = lanes.train_batches(parallel, batches, lr, exp="libm")
    assert len(out) == n
    for a, b, (st_a, _), (st_b, bad) in zip(single, parallel, ref, out):
        assert bad == -1
        np.testing.assert_array_equal(st_b, st_a)
        for k in lanes.KEYS:
            np.testing.assert_array_equal(b.weights[k], a.weights[k])


WIDTH_CHECK = """
import copy, numpy as np
from lstm97 import engine, lanes
from tests.test_lanes import CASES
from lstm97.network import LSTM97
assert lanes.LANES == 8 and not lanes.CACHE
for name, update in (("2a shortcuts", "step"), ("6b", "sequence")):
    task, shape, kw, lr = CASES[name]
    n = lanes.LANES + 2                       # a full group of 8 and a padded one
    batches = [task.sample(np.random.default_rng(s), 30) for s in range(n)]
    start = [LSTM97(*shape, **kw, seed=s) for s in range(n)]
    single, parallel = copy.deepcopy(start), copy.deepcopy(start)
    ref = [engine.train_batch(net, b, lr, update, exp="poly") for net, b in zip(single, batches)]
    out = lanes.train_batches(parallel, batches, lr, update)
    for a, b, (st_a, _), (st_b, bad) in zip(single, parallel, ref, out):
        assert bad == -1
        np.testing.assert_array_equal(st_b, st_a)
        for k in lanes.KEYS:
            np.testing.assert_array_equal(b.weights[k], a.weights[k])
    assert any((a.weights[k] != s.weights[k]).any() for a, s in zip(single, start) for k in lanes.KEYS)
print("ok")
"""


def test_a_kernel_of_8_lanes_gives_each_net_what_the_engine_gives():
    """LSTM97_LANES=8 (lanevec.width_from): every net, in a full group and in a padded one, is
    the single-trial engine's with exp_poly bit for bit, on a sparse net with per-step updates
    (the rows 2a+step, 2b+step) and a dense one; such a process compiles its own kernel."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", WIDTH_CHECK], cwd=root, capture_output=True, text=True,
                         env=dict(os.environ, LSTM97_LANES="8"), timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("raw", ["12", "", "sixteen"])
def test_another_lane_width_is_refused_by_name(raw):
    from lstm97.lanevec import width_from
    with pytest.raises(ValueError, match="LSTM97_LANES must be one of 8, 16, 32"):
        width_from({"LSTM97_LANES": raw})
    assert width_from({}) == 16
