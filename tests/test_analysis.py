"""How trained 6a nets solve the task (lstm97.analysis): the rule on hand-built nets."""
import numpy as np
import pytest

from lstm97 import LSTM97
from lstm97.analysis import classify_temporal_order, count_types
from lstm97.experiments import EXPERIMENTS
from lstm97.tasks.temporal_order import ALPHABET

EXP = EXPERIMENTS["6a"]
X, Y = ALPHABET.index("X"), ALPHABET.index("Y")
YC = 8          # y_c of cell c is source column YC + c (8 inputs first)
BIAS = 16       # last source column


def record(setup):
    """A record of a 6a net whose weights are all 0 except those ``setup`` sets."""
    net = LSTM97(**EXP.net)
    w = {k: np.zeros_like(v) for k, v in net.weights.items()}
    setup(w)
    net.set_weights(w)
    return {"trial": 7, "weights": {k: v.tolist() for k, v in net.weights.items()}}


def classify(setup):
    return classify_temporal_order(EXP, record(setup), n=40)


def type2(w):
    """Block 1, cell 0: X writes +, Y writes -, and a strong positive self-connection makes
    the second symbol's write depend on the stored sign (XY ends positive, YX negative)."""
    w["W_in"][0, [X, Y]] = 10.0
    w["W_in"][0, BIAS] = -5.0
    w["W_c"][0, X], w["W_c"][0, Y] = 1.0, -1.0
    w["W_c"][0, YC + 0] = 4.0


def type1(w):
    """As type2, but the stored sign reaches the input gate instead of the cell input."""
    w["W_in"][0, [X, Y]] = 8.0
    w["W_in"][0, BIAS] = -7.0
    w["W_in"][0, YC + 0] = 10.0
    w["W_c"][0, X], w["W_c"][0, Y] = 1.0, -1.0


def two_blocks(w):
    """Block 1 stores the first symbol (cell 0 "filled", cell 1 which one) and then closes
    its input gate; block 2 opens only once block 1 is filled and stores the second one."""
    w["W_out"][0, BIAS] = 10.0                              # block 1's outputs visible
    w["W_in"][0, [X, Y]], w["W_in"][0, BIAS], w["W_in"][0, YC + 0] = 10.0, -5.0, -30.0
    w["W_c"][0, [X, Y]] = 2.0
    w["W_c"][1, X], w["W_c"][1, Y] = 2.0, -2.0
    w["W_in"][1, [X, Y]], w["W_in"][1, BIAS], w["W_in"][1, YC + 0] = 10.0, -15.0, 30.0
    w["W_c"][2, X], w["W_c"][2, Y] = 2.0, -2.0


def test_strong_positive_self_connection_is_type_2():
    r = classify(type2)
    assert r["solution"] == "one block, type 2"
    assert (r["blocks_used"], r["storing_blocks"]) == (1, "1")
    assert r["block_1"] == "stores t1+t2" and r["block_2"] == "unused"
    assert r["w_c_self"] == 4.0 and r["w_in_from_cells"] == 0.0
    assert r["dnet_c_t2"] > 0.5 and r["dnet_in_t2"] == 0.0
    assert r["trial"] == 7


def test_cell_output_to_input_gate_is_type_1():
    r = classify(type1)
    assert r["solution"] == "one block, type 1"
    assert r["storing_blocks"] == "1"
    assert r["w_in_from_cells"] == 10.0 and r["w_c_self"] == 0.0


def test_one_symbol_per_block_is_two_blocks():
    r = classify(two_blocks)
    assert r["solution"] == "two blocks"
    assert (r["blocks_used"], r["storing_blocks"]) == (2, "1+2")
    assert r["block_1"] == "stores t1" and r["block_2"] == "stores t2"
    assert r["w_c_self"] is None and r["w_in_from_cells"] is None


def test_silent_net_stores_nothing_and_results_are_rounded():
    assert classify(lambda w: None)["solution"] == "no storing block"
    r = classify(type2)
    for b in r["blocks"]:
        for v in b.values():
            if isinstance(v, float):
                assert v == round(v, 3)


def test_needs_weights_and_6a():
    with pytest.raises(ValueError, match="no weights"):
        classify_temporal_order(EXP, {"trial": 0})
    with pytest.raises(ValueError, match="6a"):
        classify_temporal_order(EXPERIMENTS["6b"], record(type2))


def test_count_types():
    labels = (["two blocks"] * 3 + ["one block, type 1"] * 9 + ["one block, type 2"] * 6
              + ["one block, unclear"] * 2)
    rows = [{"solution": s} for s in labels]
    assert count_types(rows) == "20 nets: 3 two blocks, 9 one block type 1, 6 one block type 2, 2 unclear"
    assert count_types([{"solution": "one block, type 2"}, {"solution": "no storing block"}]) == (
        "2 nets: 0 two blocks, 0 one block type 1, 1 one block type 2, 0 unclear, 1 no storing block")
    assert count_types([]) == "0 nets: 0 two blocks, 0 one block type 1, 0 one block type 2, 0 unclear"
    with pytest.raises(ValueError, match="unknown solution"):
        count_types([{"solution": "three blocks"}])


def test_state_drift_tells_a_storing_net_from_a_drifted_one():
    """2c (q=p=50): x and y are inputs p+2 and p+3. A net writing +x/-y stores the class; a net
    whose every distractor writes + drifts to a large state of one sign that carries no class."""
    from lstm97.analysis import state_drift
    exp = EXPERIMENTS["2c-1"]
    p = 50

    def rec(setup):
        net = LSTM97(**exp.net)
        w = {k: np.zeros_like(v) for k, v in net.weights.items()}
        setup(w)
        net.set_weights(w)
        return {"trial": 3, "success": False, "weights": {k: v.tolist() for k, v in net.weights.items()}}

    def stores(w):
        w["W_c"][:, p + 2], w["W_c"][:, p + 3] = 3.0, -3.0

    def drifts(w):
        w["W_c"][:, :p] = 3.0

    good, bad = state_drift(exp, rec(stores), n=30), state_drift(exp, rec(drifts), n=30)
    assert good["separation"] > 0.99 and good["same-sign cells"] == 0.0
    assert bad["separation"] < 0.2 and bad["same-sign cells"] == 1.0
    assert bad["median |s_end|"] > 20 and bad["median h'(s_end)"] < 1e-6
    assert good["trial"] == 3 and good["experiment"] == "2c-1"
    with pytest.raises(ValueError, match="no weights"):
        state_drift(exp, {"trial": 0})


def test_initial_drift_of_a_net_with_only_gate_weights(monkeypatch):
    """The mechanism initial_drift describes, on a net where it can be computed by hand: all
    weights 0 except the cells' weights from the gates. Then y_in = y_out = 1/2 at every step,
    the cell's net input is the gate push 0.5 * (sum of its gate weights) from step 2 on (z = 0
    at step 1), so s(end) = (L - 1) * 0.5 * g(push) (eqs. 6-7), whatever the inputs and class."""
    from lstm97 import analysis, nets
    from lstm97.network import squash_g
    exp = EXPERIMENTS["2c-1"]
    net = LSTM97(**exp.net)
    w = {k: np.zeros_like(v) for k, v in net.weights.items()}
    gates = net.n_in + net.C + np.arange(2 * net.B)
    w["W_c"][0, gates] = [0.6, 0.3, 0.3, 0.0]           # push +0.6
    w["W_c"][1, gates] = [-0.3, 0.0, -0.3, -0.6]        # push -0.6
    net.set_weights(w)
    monkeypatch.setattr(nets, "initial_net", lambda e, t, seed=0: net)
    row = analysis.initial_drift(exp, 7, {"success": True}, n=10, seed=3)

    lengths = exp.make_task(7).sample(np.random.default_rng(3), 10).lengths
    expected = np.median((lengths - 1) * 0.5 * squash_g(np.array(0.6), net.g)[0])
    assert row["median |s_end|"] == pytest.approx(expected, abs=1e-3)
    assert row["follows push"] == 1.0 and row["success"] is True and row["trial"] == 7
    assert row["median h'(s_end)"] < 1e-4                  # |s| ~ 0.3 * 60 steps, h' ~ 2 e^-|s|

    summary_row = analysis.drift_summary(exp, [row, dict(row, success=False)])
    assert summary_row["q"] == 50 and summary_row["p"] == 50 and summary_row["success %"] == 50
    assert summary_row["trials with h' < 1e-4 at init %"] == 100


def _zero_net_but_outputs(exp):
    net = LSTM97(**exp.net)
    w = {k: np.zeros_like(v) for k, v in net.weights.items()}
    w["W_k"][:, :net.C] = [[0.3, -0.1], [-0.2, 0.4]]       # from the cells (no output bias in 2c)
    net.set_weights(w)
    return net


def test_gradient_scale_gate_traces_grow_with_the_sequence(monkeypatch):
    """All weights 0 but the outputs': s stays 0, y_in = y_out = 1/2, g'(0) = 1, and e_s is the
    same in every sequence. The trace of a weight from a gate is then (L - 1)/4 (eq. 27: 1/2 * 1/2
    at steps 2..L), that of the weight from x or y 1/2 (seen once, at step 2): the ratio of their
    updates is mean(L - 1)/2, and a distractor's trace is 1/2 per occurrence."""
    from lstm97 import analysis, nets
    exp = EXPERIMENTS["2c-2"]
    monkeypatch.setattr(nets, "initial_net", lambda e, t, seed=0: _zero_net_but_outputs(exp))
    row = analysis.gradient_scale(exp, 0, n=6, seed=4)
    batch = exp.make_task(0).sample(np.random.default_rng(4), 6)
    assert row["gate / (x, y)"] == pytest.approx(np.mean(batch.lengths - 1) / 2, rel=1e-3)
    distractor_steps = np.mean(batch.lengths - 3)          # b, x/y and e are not distractors
    assert row["from one distractor"] / row["|Δw/α| from x, y"] == pytest.approx(
        distractor_steps / 100, rel=1e-2)


def test_drift_in_training_starts_without_push_and_is_reproducible():
    from lstm97 import analysis
    exp = EXPERIMENTS["2c-1"]
    rows = analysis.drift_in_training(exp, 2, checkpoints=(0, 200), n=3, seed=1)
    assert [(r["sequences"], r["cell"]) for r in rows] == [(0, 1), (0, 2), (200, 1), (200, 2)]
    assert rows[0]["gate push"] == rows[1]["gate push"] == 0
    assert any(r["gate push"] != 0 for r in rows[2:])      # training moves the gate weights
    assert rows == analysis.drift_in_training(exp, 2, checkpoints=(200, 0), n=3, seed=1)


def test_reber_penultimate_counts_open_blocks_and_separability():
    """The Exp 1 failure measures on nets whose answer is known: output gates forced shut, or
    forced open with unsaturated cells."""
    from lstm97 import analysis, experiments
    from lstm97.network import LSTM97
    exp = experiments.get("1-5")
    task = exp.make_task(0)
    net = LSTM97(**exp.net, seed=0)
    net.weights["W_out"][:, -1] = -50.0                       # every output gate shut
    shut = analysis.reber_penultimate(net, task)
    assert shut["blocks_open"] == 0 and max(shut["out_gates"]) < 1e-10
    net.weights["W_out"][:, -1] = 50.0                        # every gate open, small weights: h' large
    net.weights["W_c"][:] *= 0.01
    net.weights["W_in"][:] *= 0.01
    wide = analysis.reber_penultimate(net, task)
    assert wide["blocks_open"] == net.B and min(wide["out_gates"]) > 0.999
    assert wide["widest_gate"] == max(wide["out_gates"]) and wide["next_gate"] == sorted(wide["out_gates"])[-2]
    assert 0.0 <= wide["separable"] <= 1.0 and 0.0 <= wide["tp_right"] <= 1.0


def test_forget_gate_hold_on_nets_whose_forget_gates_are_constant(monkeypatch):
    """forget_gate_hold on nets where it can be computed by hand: every weight 0 but the forget
    gates' biases (and, after "training", one output weight). Then y_φ = σ(bias) at every step,
    and a value stored at the first step of a T-step sequence keeps σ(bias)^(T-1)."""
    from lstm97 import analysis, nets
    from lstm97.experiments import get
    exp = get("6a+forget")

    def net_with(b, w_k=0.0):
        net = LSTM97(**exp.net)
        w = {k: np.zeros_like(v) for k, v in net.weights.items()}
        w["W_forget"][:, net.n_src - 1] = b
        w["W_k"][tuple(np.argwhere(net.masks["W_k"])[0])] = w_k
        net.set_weights(w)
        return net
    before, after = net_with(-1.0), net_with(3.0, w_k=0.5)
    monkeypatch.setattr(nets, "initial_net", lambda e, t, seed=0: before)
    record = {"trial": 4, "seed": 0, "success": False,
              "weights": {k: v.tolist() for k, v in after.weights.items()}}
    row = analysis.forget_gate_hold(exp, record, n=6, seed=2)

    sig = lambda b: 1 / (1 + np.exp(-b))
    lengths = exp.make_task(4).sample(np.random.default_rng(2), 6).lengths
    assert row["y_φ before"] == pytest.approx(sig(-1.0)) and row["y_φ after"] == pytest.approx(sig(3.0))
    assert row["kept before"] == pytest.approx(np.median(sig(-1.0) ** (lengths - 1)))
    assert row["kept after"] == pytest.approx(np.median(sig(3.0) ** (lengths - 1)))
    hidden = sum(v.size for k, v in after.weights.items() if k != "W_k")
    assert row["Δw hidden"] == pytest.approx(4.0 * before.B / hidden)
    assert row["Δw output"] == pytest.approx(0.5 / after.weights["W_k"].size)
    assert row["trial"] == 4 and row["success"] is False
    with pytest.raises(ValueError, match="holds no weights"):
        analysis.forget_gate_hold(exp, {"trial": 1, "seed": 0})
    summary = analysis.forget_gate_summary(exp, [record, {"trial": 5, "seed": 0, "success": True}], n=6, seed=2)
    assert summary["nets"] == 1 and summary["kept after"] == row["kept after"]
    assert analysis.forget_gate_summary(exp, [{"trial": 5}]) is None
