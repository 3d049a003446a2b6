"""Random weight guessing (guessing.py): architectures, the vectorised forward pass against the
NumPy reference, the success test, and a task that guessing provably solves."""
import numpy as np
import pytest

from lstm97 import experiments, guessing
from lstm97.tasks import TwoSequence


def counts(net):
    """(weights into each hidden unit, weights into each output unit)."""
    per_unit = net.masks["W_h"].sum(axis=1)
    return list(per_unit[:net.H]), list(per_unit[net.H:])


def test_a1_is_fully_connected_with_biased_hidden_units():
    net = guessing.architecture("A1", 1, 1, 1)
    assert counts(net) == ([4.0], [3.0])        # input, 2 recurrent, bias | input, 2 recurrent
    assert net.masks["W_h"][1, -1] == 0 and net.masks["W_o"].sum() == 0
    assert guessing.architecture("A1", 1, 1, 3).n_weights == 3 * 6 + 5


def test_a2_hidden_units_see_input_output_and_themselves():
    net = guessing.architecture("A2", 1, 1, 10)
    M = net.masks["W_h"]
    assert counts(net) == ([4.0] * 10, [12.0])  # input, output, self, bias | input, 10 hidden, bias
    rec = M[:, 1:12]
    assert np.array_equal(rec[:10, :10], np.eye(10)) and np.all(rec[:10, 10] == 1)
    assert np.all(rec[10, :10] == 1) and rec[10, 10] == 0
    assert net.n_weights == 52
    six_a = guessing.architecture("A2", 8, 4, 10)                  # several outputs
    assert counts(six_a)[1] == [8 + 10 + 3 + 1.0] * 4


def test_weights_are_drawn_in_plus_minus_100():
    w = guessing.architecture("A2", 1, 1, 10, seed=0).weights["W_h"]
    assert 50 < np.abs(w).max() <= 100


@pytest.mark.parametrize("arch, n", [("A1", 1), ("A2", 10)])
def test_vectorised_forward_matches_the_reference(arch, n):
    net = guessing.architecture(arch, 1, 1, n, seed=1)
    batch = TwoSequence(10, 3).sample(np.random.default_rng(0), 5)
    rng = np.random.default_rng(2)
    W = rng.uniform(-3, 3, (4,) + net.masks["W_h"].shape)        # moderate weights: a sharp test
    y = guessing.end_outputs(W, net.masks["W_h"], net.n_in, net.H, batch)
    for g in range(4):
        net.set_weights({"W_h": W[g], "W_o": net.weights["W_o"]})
        for i in range(len(batch)):
            xs, _ = batch.dense(i)
            np.testing.assert_allclose(y[g, i], net.forward(xs)[-1], rtol=1e-12)


def test_guessing_solves_a_task_it_provably_can():
    """T=1: the only input is the class (+1/-1) and the output sees it directly. A1's output
    has no bias, so a guess passes ST1/ST2 iff its input->output weight is above 4.6: about
    half of all guesses; 100 guesses all fail with probability 0.52**100."""
    exp = experiments.Experiment("t", "3a", (), ("TwoSequence", (1, 1, "3a")), dict(arch="A1", hidden=1),
                                 0.0, 1, "st12", 100, abs=0.2, st2_mean=0.01, gradient="guess")
    task = exp.make_task()
    net = guessing.architecture("A1", 1, 1, 1)
    n, seqs, steps, W = guessing.search(exp, task, net, np.random.default_rng(0), np.random.default_rng(1))
    assert W is not None and 1 <= n <= 20
    assert W[1, 0] > 4.59                                         # output <- input
    assert seqs >= n * guessing.SCREEN and seqs == steps          # sequences of length 1
    exp_bad = experiments.Experiment("t", "3a", (), ("TwoSequence", (1, 1, "3a")), dict(arch="A1", hidden=1),
                                     0.0, 1, "st12", 40, abs=0.2, st2_mean=-1.0, gradient="guess")
    n, seqs, _, W = guessing.search(exp_bad, task, net, np.random.default_rng(0), np.random.default_rng(1))
    assert W is None and n == 40 and seqs >= 40 * guessing.SCREEN


def test_judge_applies_the_lstm_rows_tests():
    exp = experiments.get("3b-T100-N3")
    batch = TwoSequence(10, 3, "3b").sample(np.random.default_rng(0), 256)
    goal = batch.end_targets()[:, 0]
    y = np.stack([goal] * 4)[:, :, None].copy()
    y[1, :5, 0] = 1 - goal[:5]                  # 5 wrong: 3b's ST1 allows it, mean 5/256 < 0.04
    y[2, :6, 0] = 1 - goal[:6]                  # 6 wrong: ST1 fails
    y[3, :, 0] = np.abs(goal - 0.15)            # none wrong, but ST2's mean |error| 0.15 fails
    wrong, ok = guessing.judge(exp, y, batch)
    assert list(wrong) == [0, 5, 6, 0] and list(ok) == [True, True, False, False]


@pytest.mark.parametrize("row, arch, n", [("3c-T100-N3", "A2", 10), ("3b-T100-N3", "A1", 1), ("6a", "A2", 10)])
def test_compiled_screen_counts_what_judge_counts(row, arch, n):
    """count_wrong (compiled, one guess at a time, stopping past ``allowed``) against judge on
    end_outputs, for both criteria (st12 with 3c's noise-free goal, st3 with several outputs).
    Moderate weights, so that counts spread over the threshold."""
    exp = experiments.get(row)
    net = guessing.architecture(arch, exp.net["n_in"], exp.net["n_out"], n, seed=1)
    batch = exp.make_task().sample(np.random.default_rng(0), 16)
    W = np.random.default_rng(2).uniform(-4, 4, (64,) + net.masks["W_h"].shape)
    wrong, _ = guessing.judge(exp, guessing.end_outputs(W, net.masks["W_h"], net.n_in, net.H, batch), batch)
    assert len(set(wrong)) >= 3                                   # a sharp test: counts differ
    full = guessing.count_wrong(exp, W, net.masks["W_h"], net.n_in, net.H, batch, allowed=len(batch))
    assert np.array_equal(full, wrong)
    allowed = guessing.allowed_wrong(exp)
    got = guessing.count_wrong(exp, W, net.masks["W_h"], net.n_in, net.H, batch)
    assert np.array_equal(got, np.minimum(wrong, allowed + 1))
