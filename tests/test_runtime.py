"""The runtime of a paper-scale `make reproduce`: per notebook from the records' wall times,
with a labelled estimate for configurations without records."""
import pytest

from lstm97 import summary
from lstm97.experiments import EXPERIMENTS


def _records(n, wall, seqs):
    return [dict(wall_time=wall, sequences_trained=seqs, steps=100 * seqs, stages={}, test={},
                 curve=[], stopped="budget", success=False) for _ in range(n)]


def test_runtime_table_sums_per_notebook_and_estimates_the_missing_step_rows():
    pairs = [(EXPERIMENTS["1-1"], _records(30, 36.0, 1000)), (EXPERIMENTS["1-2"], _records(30, 36.0, 1000)),
             (EXPERIMENTS["2b"], _records(18, 720.0, 5_000_000)), (EXPERIMENTS["6a"], _records(20, 18.0, 100))]
    missing = [EXPERIMENTS["2b+step"], EXPERIMENTS["3a-T100-N3"]]
    rows = {r["notebook"]: r for r in summary.runtime_rows(pairs, missing)}
    assert rows["01_embedded_reber"]["trials"] == 60
    assert rows["01_embedded_reber"]["core_hours"] == pytest.approx(60 * 36 / 3600)
    assert rows["06_temporal_order"]["core_hours"] == pytest.approx(20 * 18 / 3600)
    (exp, hours, n), = rows["02_long_time_lags"]["estimated"]
    assert n == exp.trials == 18
    # every trial to its budget at 2b's measured time per sequence, times the per-step slowdown
    per_seq = 720.0 / 5_000_000
    assert hours == pytest.approx(exp.trials * exp.budget * per_seq * summary.PER_STEP_SLOWDOWN / 3600)
    assert rows["03_noise_and_signal"]["estimated"] == [(EXPERIMENTS["3a-T100-N3"], None, 10)]
    table, measured, estimated, unknown = summary.runtime_table(pairs, missing)
    assert measured == pytest.approx((60 * 36 + 18 * 720 + 20 * 18) / 3600)
    assert estimated == pytest.approx(hours) and unknown == ["3a-T100-N3"]
    assert "2b+step (18 trials): about" in table and "3a-T100-N3 (10 trials): no basis" in table
    lines = table.splitlines()
    assert lines[-1].startswith("| total | 98 |")


def test_a_partly_recorded_row_is_estimated_from_its_own_trials():
    pairs = [(EXPERIMENTS["2b"], _records(18, 720.0, 5_000_000)),
             (EXPERIMENTS["2a+step"], _records(5, 900.0, 5_000_000) + _records(5, 1100.0, 5_000_000))]
    table, measured, estimated, unknown = summary.runtime_table(pairs, [])
    assert measured == pytest.approx((18 * 720 + 10 * 1000) / 3600)
    assert estimated == pytest.approx(8 * 1000 / 3600) and unknown == []
    assert "2a+step (8 more of 18 trials): about 2 core-hours" in table


def test_core_hours_are_summed_per_learner_and_unnamed_records_are_the_single_trial_engine():
    lanes = _records(3, 3600.0, 10)
    for r in lanes:
        r["engine"] = "lstm97.lanes: truncated gradient, eqs. 19-28, trials in SIMD lanes, exp_poly"
    rtrl = [dict(r, engine="lstm97.rtrl: real-time recurrent learning") for r in _records(2, 720.0, 10)]
    old = _records(4, 1800.0, 10)                        # records from before they named a learner
    assert summary.learner_hours(old + rtrl + lanes) == [
        ("lstm97.lanes", (3.0, 3)), ("lstm97.engine", (2.0, 4)), ("lstm97.rtrl", (0.4, 2))]
