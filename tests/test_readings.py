"""Readings are named, documented changes to an experiment; the plan is fixed and fully reported."""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm97 import experiments, nets, readings, runner
from lstm97.network import LSTM97

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def test_every_reading_is_documented():
    for r in readings.READINGS.values():
        assert r.what and r.evidence, r.name
        assert "docs/paper.md §" in r.evidence or "Table" in r.evidence, r.name


@pytest.mark.parametrize("exp_id, trials", readings.PLAN)
def test_every_planned_pair_resolves_to_a_labelled_comparison(exp_id, trials):
    exp = experiments.get(exp_id)
    assert exp.id == exp_id
    base = experiments.EXPERIMENTS[exp.base]
    if exp.variant:
        assert exp.seed_id == base.id, "readings share the main run's seeds"
        assert exp.trials == trials
        assert exp != experiments.replace(base, id=exp.id, seed_id=base.id), "a reading must change something"
    assert exp.budget == base.budget, "readings use the main runs' budgets"
    LSTM97(**exp.net)                                  # the net can be built


def test_readings_change_what_they_say():
    get = experiments.get
    net = lambda i: LSTM97(**get(i).net, seed=0)
    main, cells, norec = net("2c-5"), net("2c-5+cells-from-inputs"), net("2c-5+no-recurrence")
    C, B, n_in = main.C, main.B, main.n_in
    assert main.n_weights == 6064
    assert cells.n_weights == 6064 - C * (C + 2 * B)             # no recurrent weights into cells
    assert norec.n_weights == 6064 - (C + 2 * B) * (C + 2 * B)   # none into gates or cells
    assert not cells.masks["W_c"][:, n_in:n_in + C + 2 * B].any()
    assert cells.masks["W_in"][:, n_in:n_in + C + 2 * B].all()
    gb = net("2c-2+gate-bias")
    assert gb.n_weights == 664 + 2 and list(gb.weights["W_in"][:, -1]) == [-1.0, -2.0]
    assert not gb.masks["W_out"][:, -1].any() and not gb.masks["W_c"][:, -1].any()
    lg = net("2c-2+legend")
    assert (lg.g, lg.h) == ("legend", "legend")
    assert net("2c-2+reset-half").initial_z().tolist() == [0.5] * 6
    assert get("1-5+full+step").gradient == "full" and get("1-5+full+step").update == "step"
    assert get("1-5+legend+step").net["g"] == "legend"
    # the same seeds as the main run: trial 3 starts from the same weights where the net is the same
    a = nets.initial_net(experiments.get("2c-2"), 3)
    b = nets.initial_net(experiments.get("2c-2+full"), 3)
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])


def test_same_as_main_pairs_are_the_main_run():
    for pair in readings.SAME_AS_MAIN:
        exp = experiments.get(pair)
        main = experiments.EXPERIMENTS[exp.base]
        if exp.variant == "legend":
            assert exp.net == main.net
        else:                       # 'full' without recurrent connections: tests/test_fullgrad.py
            assert exp.gradient == "full" and not main.net["recurrent"]


def test_unknown_or_inapplicable_readings_are_refused_with_their_names():
    with pytest.raises(ValueError, match="unknown reading 'nope'; readings: full"):
        experiments.get("1-5+nope")
    with pytest.raises(ValueError, match="gate-bias.*bias='gates'"):
        experiments.get("1-5+gate-bias")


def test_main_runs_keep_their_fingerprints():
    """Adding the readings' fields changed no main run's configuration."""
    rec = json.loads((RESULTS / "2c-5" / "trial_000.json").read_text())
    assert rec["config"] == runner.fingerprint(experiments.get("2c-5"), "paper")


def test_every_reading_record_belongs_to_the_plan():
    """No pair is run outside the plans (the readings study's, the cell ablation study's), and
    none has more records than planned."""
    from lstm97 import ablations
    planned = {**dict(readings.PLAN), **dict(ablations.PLAN)}
    for folder in RESULTS.iterdir():
        exp = experiments.get(folder.name)
        n = len(list(folder.glob("trial_*.json")))
        if exp.variant and exp.variant not in experiments.VARIANTS:
            assert folder.name in planned, folder.name
        assert n <= planned.get(folder.name, exp.trials), folder.name


def test_cli_study_lists_every_planned_pair(capsys):
    from lstm97.__main__ import main
    assert main(["study", "--results", str(RESULTS)]) == 0
    out = capsys.readouterr().out
    for exp_id, n in readings.PLAN:
        assert f"of {n:>3} trials" in out and exp_id in out
    for pair in readings.SAME_AS_MAIN:
        assert f"{pair} " in out and "the main run itself" in out
    assert main(["study", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def _fake(n, solved_at):
    """n records of which the first len(solved_at) succeeded after those sequence counts."""
    recs = []
    for t in range(n):
        ok = t < len(solved_at)
        recs.append(dict(trial=t, success=ok, stopped="solved" if ok else "budget",
                         stages={"solved": solved_at[t]} if ok else {}, test={}, sequences_trained=1000,
                         wall_time=36.0, steps=10))
    return recs


def test_verdicts_and_best_reading_from_known_records():
    from lstm97 import summary
    get = experiments.get
    groups = {"2c-2": [(get("2c-2"), _fake(20, [400_000] * 2)),                 # 10%, 12.9x slower
                       (get("2c-2+legend"), _fake(20, [31_000] * 19)),           # 95%, on time
                       (get("2c-2+gate-bias"), _fake(10, [62_000] * 10))],       # 100%, 2x: 10 of 20
              "6a": [(get("6a"), _fake(20, [31_390] * 20))]}                     # the main run matches
    rows = summary.reading_rows(groups, dict(readings.PLAN))
    by = {(r["row"], r["reading"]): r for r in rows}
    assert by[("2c-2", "main")]["success_pct"] == 10 and not by[("2c-2", "main")]["meets_both"]
    assert by[("2c-2", "legend")]["meets_both"] and by[("2c-2", "legend")]["distance"] == 0.5
    assert by[("2c-2", "gate-bias")]["of"] == 20 and by[("2c-2", "gate-bias")]["distance"] == 1.0
    best = summary.best_reading_rows(rows)
    assert [b["row"] for b in best] == ["2c-2"] and best[0]["best_reading"] == "legend"


def test_best_matching_reading_is_chosen_among_complete_pairs():
    from lstm97 import summary
    row = lambda reading, trials, distance: dict(row="2c-9", reading=reading, trials=trials, of=20,
                                                 distance=distance)
    assert summary._best([row("a", 2, 0.1), row("b", 20, 1.5)])["reading"] == "b"
    assert summary._best([row("a", 2, 0.1), row("b", 5, 1.5)])["reading"] == "a"   # none complete yet
