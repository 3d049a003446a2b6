"""Internal-consistency checks of lstm97.paper against docs/paper.md (Tables 1-11)."""
import pytest

from lstm97.paper import COMPETITORS, RESULTS, TABLE10, TABLE11, row

TABLE10_IDS = (["1-%d" % i for i in range(1, 6)] + ["2a", "2b"] + ["2c-%d" % i for i in range(1, 10)]
               + ["3a", "3b", "3c", "4-1", "4-2", "4-3", "5", "6a", "6b"])
RESULT_IDS = (["1-%d" % i for i in range(1, 6)] + ["2a", "2b"] + ["2c-%d" % i for i in range(1, 10)]
              + ["3a-T100-N3", "3a-T100-N1", "3a-T1000-N3", "3b-T100-N3", "3b-T100-N1", "3b-T1000-N1",
                 "3c-T100-N3", "3c-T100-N1", "4-1", "4-2", "4-3", "5-140", "5-13", "6a", "6b"])


def condition_of(result_id):
    """Independent mapping RESULTS id -> TABLE10 id ("3a-T100-N3" -> "3a", "5-140" -> "5")."""
    if result_id[0] == "3":
        return result_id.split("-")[0]
    if result_id.startswith("5-"):
        return "5"
    return result_id


def task_of(condition_id):
    """TABLE10 id -> TABLE11 task ("1-3" -> "1", "2c-7" -> "2c", "4-2" -> "4")."""
    return condition_id.split("-")[0]


def weight_count(c):
    """Weights implied by the topology (docs/paper.md §1.5, §4.0.1): hidden units x sources + output weights."""
    cells = c["blocks"] * c["block_size"]
    if c["connectivity"] == "B":
        # 2a/2b: one cell + its input gate, fed by the inputs only; outputs <- inputs + cell; no bias.
        hidden = cells + c["blocks"]
        return hidden * c["n_in"] + c["n_out"] * (c["n_in"] + cells)
    gates = 2 * c["blocks"]
    hidden = cells + gates
    w = hidden * (c["n_in"] + cells + gates)          # fully recurrent hidden layer, inputs too
    w += {"none": 0, "ga": gates, "b1": hidden, "all": hidden}[c["bias"]]
    w += c["n_out"] * (cells + (1 if c["bias"] == "all" else 0))   # outputs <- cells (+ bias)
    return w


def test_ids():
    assert list(TABLE10) == TABLE10_IDS
    assert list(RESULTS) == RESULT_IDS
    assert set(TABLE11) == {"1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5", "6a", "6b"}
    assert {task_of(c) for c in TABLE10} == set(TABLE11)


@pytest.mark.parametrize("cid", TABLE10_IDS)
def test_table10_weight_count_from_topology(cid):
    assert weight_count(TABLE10[cid]) == TABLE10[cid]["weights"]


@pytest.mark.parametrize("cid", [c for c in TABLE10_IDS if c.startswith("2c")])
def test_2c_weights_formula(cid):
    c = TABLE10[cid]
    p_distractors = c["n_in"] - 4
    assert c["weights"] == 6 * (p_distractors + 10) + 4
    r = RESULTS[cid]
    assert r["p"] == p_distractors and r["q"] == c["p"] == c["lag"]
    assert r["weights"] == c["weights"]
    assert r["q_over_p"] == r["q"] / r["p"]


@pytest.mark.parametrize("cid", TABLE10_IDS)
def test_table10_column_types(cid):
    c = TABLE10[cid]
    assert c["connectivity"] in ("F", "B") and c["bias"] in ("ga", "none", "b1", "all")
    for key in ("output_gate_bias", "input_gate_bias"):
        b = c[key]
        assert b is None or b == "r" or (len(b) == c["blocks"] and all(isinstance(x, float) for x in b))
    # a gate bias value requires gates to have bias weights
    if c["bias"] == "none":
        assert c["output_gate_bias"] is None and c["input_gate_bias"] is None


@pytest.mark.parametrize("rid", RESULT_IDS)
def test_results_map_to_table10(rid):
    r = RESULTS[rid]
    assert r["condition"] == condition_of(rid)
    c = TABLE10[condition_of(rid)]
    if "weights" in r:
        assert r["weights"] == c["weights"]
    if "lr" in r:
        assert r["lr"] == c["lr"]
    if "blocks" in r:
        assert (r["blocks"], r["block_size"]) == (c["blocks"], c["block_size"])
    if "min_lag" in r:
        assert (r["T"], r["min_lag"]) == (c["p"], c["lag"]) and r["min_lag"] == r["T"] // 2
    if "test_size" in r:
        assert r["test_size"] == TABLE11[task_of(condition_of(rid))]["test_set_size"]
    if "wrong" in r:
        assert 0 <= r["wrong"] <= r["wrong_at_most"]
    if "st1" in r:
        assert r["st1"] < r["mean_sequences"]
    if rid.startswith("3") and r["T"] == 100:
        assert c["p"] == c["lag"] == 100


def test_trial_counts():
    expected = {"1": 30, "2a": 18, "2b": 18, "2c": 20, "3a": 10, "3b": 10, "3c": 10,
                "4": 10, "5": 10, "6a": 20, "6b": 10}
    for rid, r in RESULTS.items():
        assert r["trials"] == expected[task_of(condition_of(rid))], rid


def test_exp1_mapping_and_two_failures():
    wanted = {"1-1": (4, 1, 0.1), "1-2": (3, 2, 0.1), "1-3": (3, 2, 0.2), "1-4": (4, 1, 0.5), "1-5": (3, 2, 0.5)}
    failures = 0
    for rid, (b, s, lr) in wanted.items():
        r = RESULTS[rid]
        assert (r["blocks"], r["block_size"], r["lr"]) == (b, s, lr)
        succeeded = round(r["success_pct"] * r["trials"] / 100)
        assert round(100 * succeeded / r["trials"]) == r["success_pct"]
        failures += r["trials"] - succeeded
    assert failures == 2          # "LSTM failed only twice in 150 trials"


def test_table2_percentages_are_fractions_of_18():
    pcts = [c["success_pct"] for c in COMPETITORS if c["table"] == "Table 2"] + [RESULTS["2a"]["success_pct"]]
    for pct in pcts:
        assert any(round(100 * k / 18) == pct for k in range(19)), pct
    assert round(100 * 7 / 9) == COMPETITORS[4]["success_pct"]      # text: 7/9 of RTRL p=4 trials
    assert COMPETITORS[4]["p"] == 4 and COMPETITORS[4]["lr"] == 1.0


def test_competitor_weights_match_spec_formulas():
    table2 = [c for c in COMPETITORS if c["table"] == "Table 2"]
    for c in table2:
        if c["method"] in ("RTRL", "BPTT"):
            p = c["p"]                      # one self-recurrent hidden unit, p+1 outputs, no bias
            assert c["weights"] == (p + 2) + (p + 1) * (p + 2)
    ch = [c for c in table2 if c["method"] == "CH"][0]
    assert ch["weights"] == 10404 + 102
    assert {c["method"] for c in COMPETITORS} == {"RTRL", "ELM", "RCC", "BPTT", "CH"}


def test_ranges_contain_means():
    for rid in ("1-5", "4-3"):
        r = RESULTS[rid]
        assert r["min_sequences"] <= r["mean_sequences"] <= r["max_sequences"]


def test_spot_values():
    assert RESULTS["4-3"]["mean_sequences"] == 853000
    assert RESULTS["2c-9"]["mean_sequences"] == 203000
    assert RESULTS["3a-T1000-N3"]["mean_sequences"] == 452460
    assert RESULTS["3a-T1000-N3"]["st1"] == 446850
    assert RESULTS["6b"]["mean_sequences"] == 571100
    assert RESULTS["1-1"]["mean_sequences"] == 39740
    assert RESULTS["2b"]["mean_sequences"] == 5680
    assert RESULTS["3b-T100-N1"]["fraction_misclassified"] == 0.01500
    assert RESULTS["3c-T100-N1"]["av_difference"] == 0.012
    assert (RESULTS["5-140"]["wrong"], RESULTS["5-140"]["mse"]) == (139, 0.0223)
    assert (RESULTS["5-13"]["wrong"], RESULTS["5-13"]["mean_sequences"]) == (14, 1273000)
    assert (RESULTS["4-3"]["min_sequences"], RESULTS["4-3"]["max_sequences"]) == (370000, 2020000)
    assert (RESULTS["1-5"]["min_sequences"], RESULTS["1-5"]["max_sequences"]) == (3800, 24100)
    assert TABLE10["3a"]["output_gate_bias"] == (-2.0, -4.0, -6.0)
    assert TABLE10["6b"]["input_gate_bias"] == (-2.0, -4.0, -6.0)
    assert TABLE11["4"]["stopping"] == "ST3(0.01)" and TABLE11["2a"]["test_set_size"] is None
    assert COMPETITORS[7]["success_after"] == "> 5,000,000"


def test_row():
    assert row("4-3")["mean_sequences"] == 853000
    r = row("6a")
    r["mean_sequences"] = 0                         # a copy: the table itself is unchanged
    assert RESULTS["6a"]["mean_sequences"] == 31390
    with pytest.raises(KeyError) as err:
        row("3a")
    assert "3a-T100-N3" in str(err.value) and "6b" in str(err.value)
