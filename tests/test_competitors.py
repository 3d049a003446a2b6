"""The competitor configurations (experiments.BASELINES) run through the same runner as LSTM."""
import json
from pathlib import Path

import pytest

from lstm97 import experiments, nets, paper, runner
from lstm97.__main__ import main
from lstm97.rnn import RNN

ROOT = Path(__file__).resolve().parents[1]


def test_every_competitor_builds_the_papers_net_for_its_task():
    want = {"2a-rtrl-p4": 36, "2a-rtrl-p10": 144, "2a-rtrl-p100": 10404, "2a-bptt-p100": 10404,
            "1-rtrl3": 170, "1-rtrl12": 494, "1-elm15": 435}
    for exp in experiments.BASELINES.values():
        net = runner.make_net(exp, 0)
        assert isinstance(net, RNN) and exp.is_baseline
        task = exp.make_task(0)
        assert (task.n_in, task.n_out) == (net.n_in, net.n_out), exp.id
        key = exp.id.rpartition("-lr")[0] if exp.id.startswith("2a") else exp.id
        if key in want:
            assert net.n_weights == want[key] == exp.n_weights, exp.id
        for r in exp.rows:
            assert paper.result(r)["method"] in ("RTRL", "BPTT", "ELM")
        assert experiments.get(exp.id) is exp


def test_competitors_share_the_lstm_rows_criteria():
    two_a = experiments.EXPERIMENTS["2a"]
    for exp in experiments.BASELINES.values():
        if exp.condition == "2a":
            assert (exp.criterion, exp.abs, exp.window, exp.all_steps, exp.budget, exp.trials) == \
                (two_a.criterion, two_a.abs, two_a.window, two_a.all_steps, 5_000_000, 18)
        elif exp.gradient == "guess":
            lstm = experiments.EXPERIMENTS[exp.id.rpartition("-guess")[0]]
            for field in ("criterion", "abs", "beta", "window", "st1_wrong", "st2_mean", "check_size", "trials"):
                assert getattr(exp, field) == getattr(lstm, field), (exp.id, field)
        else:
            assert exp.criterion == "reber" and exp.check_every == 256 and exp.trials == 30


def test_table2_paper_numbers_are_reachable():
    assert paper.result("T2-RTRL-p4-lr1")["mean_sequences"] == 1043000
    assert paper.result("T2-RTRL-p100")["mean_sequences"] is None       # "> 5,000,000"
    assert paper.result("T1-RTRL-3")["success_pct"] is None             # "some fraction"
    assert experiments.get("2a-rtrl-p4-lr4").paper_row["success_pct"] == 56


def test_lstm_fingerprints_are_unchanged():
    for exp_id in ("2a", "6a", "1-5+full"):
        rec = json.loads((ROOT / "data" / "results" / exp_id / "trial_000.json").read_text())
        assert rec["config"] == runner.fingerprint(experiments.get(exp_id), "paper")


@pytest.mark.parametrize("exp_id", ["2a-rtrl-p4-lr1", "2a-bptt-p100-lr1", "1-rtrl3", "1-elm15"])
def test_smoke_trials_of_the_gradient_competitors(exp_id):
    a = runner.run_trial(exp_id, 1, scale="smoke", keep_weights=True)
    b = runner.run_trial(exp_id, 1, scale="smoke")
    strip = lambda r: {k: v for k, v in r.items() if k not in ("wall_time", "weights")}
    assert strip(a) == strip(b)
    assert a["sequences_trained"] == 2000 and a["stopped"] in ("budget", "solved")
    assert a["engine"] == runner.learner_of(experiments.get(exp_id))
    assert set(a["weights"]) == {"W_h", "W_o"}
    start = nets.initial_net(experiments.get(exp_id), 1).weights
    assert any((abs(sum(map(sum, a["weights"][k])) - start[k].sum()) > 1e-9) for k in start)   # it learned


def test_a_2a_rtrl_trial_can_succeed_and_is_judged_like_lstm():
    """p=4 with a short window: the window criterion and its replay work on RNN nets."""
    from dataclasses import replace
    exp = replace(experiments.get("2a-rtrl-p4-lr10"), window=50, budget=20_000)
    rec = runner.run_trial(exp, 0)
    if rec["success"]:
        assert rec["sequences"] == rec["stages"]["solved"] == rec["sequences_trained"] - 50
    else:
        assert rec["stopped"] in ("budget", "diverged")


def test_guessing_trial_records():
    rec = runner.run_trial("3a-T100-N3-guess-A1", 0, scale="smoke")
    assert rec["unit"] == "guesses" and rec["sequences_trained"] == 0
    if rec["success"]:
        assert rec["sequences"] == rec["guesses"] == rec["stages"]["st2"] <= 2000
        assert rec["test"]["st2"]["test_size"] == 256
    assert rec["sequences_evaluated"] >= 16 * rec["guesses"]
    miss = runner.run_trial("6a-guess-A2", 0, scale="smoke")
    assert not miss["success"] and miss["guesses"] == 2000 and miss["stopped"] == "budget"


def test_cli_lists_and_accepts_competitors(capsys, tmp_path):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "2a-rtrl-p100-lr10" in out and "1-elm15" in out and "6a-guess-A2" in out
    assert main(["run", "3a-T100-N3-guess-A1", "--trials", "1", "--results", str(tmp_path), "--workers", "1"]) == 0


def test_ranking_holds_only_if_every_pair_the_paper_orders_is_ordered_alike():
    from lstm97 import summary

    def row(method, paper_pct, paper_mean, pct, mean, trials=18, task="p=4"):
        return dict(method=method, row=method, lr=1.0, trials=trials, of=18, paper_pct=paper_pct,
                    paper_mean=paper_mean, success_pct=pct, mean=mean, task=task)
    same = [row("A", 78, 1_000_000, 60, 2e6), row("B", 0, "> 5,000,000", 0, None)]
    assert summary.ranking(same)["holds"] is True
    tie = [row("A", 78, 1_000_000, 0, None), row("B", 0, "> 5,000,000", 0, None)]
    got = summary.ranking(tie)
    assert got["holds"] is False and got["broken"] == [("A lr 1", "B lr 1")]
    partial = summary.ranking([row("A", 78, 1e6, 50, 1e6, trials=3), row("B", 0, None, 0, None)])
    assert partial["holds"] is None and partial["left_out"] == ["A lr 1"]
    # methods on different tasks (Table 2: different delays p) are not compared
    apart = summary.ranking([row("A", 78, 1e6, 0, None), row("B", 0, None, 0, None, task="p=100")])
    assert apart["holds"] is None and apart["broken"] == []
    # two rows of one method (RTRL at two rates) are not two methods
    rates = summary.ranking([row("A", 78, 1e6, 0, None), dict(row("A", 22, 2e5, 100, 8e5), lr=10.0)])
    assert rates["holds"] is None
    # Table 1's RTRL succeeds in "some fraction": above 0% and below 100%, unordered against 50%
    some = row("R", "some fraction", 173_000, 0, None)
    assert summary.ranking([some, row("E", 0, None, 0, None)])["holds"] is False
    assert summary.ranking([row("L", 100, 8e3, 0, None), some])["broken"] == [("L lr 1", "R lr 1")]
    assert summary.ranking([row("C", 50, 1.8e5, 0, None), some])["holds"] is None
