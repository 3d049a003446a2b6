"""make reproduce's plan (lstm97/plan.py): what each notebook trains, the estimated time, one bar."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lstm97 import ablations, experiments, plan, readings
from lstm97.runner import SMOKE, fingerprint, record_path, run_trials, write_record

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
NB = {p.name[:2]: p for p in NOTEBOOKS}


def test_each_notebook_trains_its_ids_its_competitors_or_the_study():
    assert plan.experiments_of(NB["05"], "paper") == [("5", 10)]
    assert plan.experiments_of(NB["05"], "smoke") == [("5", 2)]
    one = dict(plan.experiments_of(NB["01"], "paper"))
    assert one["1-1"] == 30 and one["1-5+long"] == 30 and one["1-rtrl3"] == 30 and one["1-elm15"] == 30
    assert "2a-rtrl-p4-lr1" in dict(plan.experiments_of(NB["02"], "paper"))
    assert dict(plan.experiments_of(NB["03"], "smoke"))["6a-guess-A2"] == 2
    assert plan.experiments_of(NB["08"], "paper") == list(readings.PLAN)
    assert plan.experiments_of(NB["08"], "smoke") == [(i, SMOKE["pair_trials"]) for i, _ in readings.PLAN]
    assert plan.experiments_of(NB["09"], "paper") == list(ablations.RUNS)
    assert dict(plan.experiments_of(NB["09"], "paper"))["1-1"] == 60       # a second seed set
    assert plan.experiments_of(NB["09"], "smoke") == [(i, SMOKE["pair_trials"]) for i, _ in ablations.RUNS]
    assert plan.experiments_of(NB["00"]) == [] and plan.experiments_of(NB["07"]) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_that_trains_is_known_to_the_plan(path):
    code = "\n".join(plan._code(plan._read(path)))
    assert ("runner.records(" in code) == bool(plan.experiments_of(path)), path.name
    for i, _ in plan.experiments_of(path):
        experiments.get(i)                         # every id is an experiment


def _fake_records(folder, exp_id, times):
    exp = experiments.get(exp_id)
    for t, seconds in enumerate(times):
        write_record(record_path(folder, exp_id, t),
                     dict(experiment=exp_id, trial=t, config=fingerprint(exp, "paper"), success=True,
                          wall_time=seconds))


def test_paper_estimates_are_the_mean_wall_time_of_the_records_over_the_workers(tmp_path):
    basis, results = tmp_path / "basis", tmp_path / "results"
    _fake_records(basis, "6a", [10.0, 30.0])                # 6a: 20 s a trial; 6b: no records
    _fake_records(results, "6a", [1.0] * 5)                 # trials 0-4 are done already
    assert plan.trial_seconds("6a", "paper", basis) == 20.0
    assert plan.trial_seconds("6a+full", "paper", basis) == 20.0     # a reading: its main run's
    assert plan.trial_seconds("6b", "paper", basis) is None
    steps = plan.make_plan([NB["06"]], "paper", results, basis)[0][1]
    assert [(s.experiment, s.missing[0], len(s.missing), s.seconds) for s in steps] == \
        [("6a", 5, 15, 20.0), ("6b", 0, 10, None)]
    assert plan.totals(steps) == (25, 300.0, 10)
    lines = plan.describe(plan.make_plan([NB["06"], NB["07"]], "paper", results, basis), 4)
    assert re.search(r"06_temporal_order +25 trials of +2 experiments, estimated +0\.02 h \(1\.2 min\) "
                     r"\(no estimate for 10 of them\)", lines[0])
    assert "07_summary" in lines[1] and "nothing to train" in lines[1]
    assert lines[-1] == "25 trials, estimated 0.02 h on 4 workers (1.2 min)"   # 300 s / 4 = 75 s


def test_smoke_estimates_count_trials_and_no_notebook_trains_a_trial_twice(tmp_path):
    p = plan.make_plan([NB["01"], NB["08"]], "smoke", tmp_path)
    first, study = p[0][1], p[1][1]
    assert {s.experiment for s in first} >= {"1-1", "1-rtrl3"}
    assert "1-1" not in {s.experiment for s in study}      # 01 trains 2 of 1-1; 08 wants 1
    trials, seconds, unknown = plan.totals(first + study)
    assert trials == 2 * len(first) + len(study) and unknown == 0
    assert seconds == pytest.approx(trials * plan.SMOKE_SECONDS)
    assert plan.describe(p, 2)[-1] == (f"{trials} trials, estimated {seconds / 2 / 3600:.2f} h on 2 workers "
                                       f"({seconds / 2 / 60:.1f} min)")


def test_run_trials_reports_each_record_to_a_progress_function_and_draws_no_bar(tmp_path, capsys):
    heard = []
    records = run_trials("6a", 2, scale="smoke", results=tmp_path, workers=1, progress=heard.append)
    assert sorted(r["trial"] for r in heard) == [0, 1] and heard == [r for r in heard if r in records]
    assert capsys.readouterr().err == ""


def test_reproduce_prints_the_plan_then_trains_with_one_bar_and_the_notebook_trains_nothing(tmp_path):
    notebook = NB["05"]
    run = subprocess.run([sys.executable, "-m", "lstm97.notebooks", "reproduce", "--scale", "smoke",
                          "--results", str(tmp_path), str(notebook)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    last = out.index(f"{SMOKE['trials']} trials, estimated ")
    assert out.index("05_multiplication") < last < out.index(f"== {notebook}")
    assert re.search(r"\n2 trials, estimated \d+\.\d\d h on \d+ workers \(\d+\.\d min\)\n", out)
    assert "plan did not list" not in out and "trained 2 trials" in out
    bars = [line for line in run.stderr.replace("\r", "\n").splitlines() if "%|" in line]
    assert bars and all(line.startswith("reproduce:") for line in bars)     # one bar, no per-row bar
    assert sorted(p.name for p in (tmp_path / "5").iterdir()) == ["trial_000.json", "trial_001.json"]
    assert (tmp_path / "notebooks" / notebook.name).exists()
