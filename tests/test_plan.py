"""make reproduce's plan (lstm97/plan.py): what each notebook trains, the estimated time, one bar;
the plan command."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lstm97 import ablations, experiments, plan, readings, trialcost, trialqueue
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
                     dict(experiment=exp_id, trial=t, seed=0, config=fingerprint(exp, "paper"), success=True,
                          wall_time=seconds))


def test_paper_estimates_come_from_the_records_and_the_plan_packs_them(tmp_path):
    basis, results = tmp_path / "basis", tmp_path / "results"
    _fake_records(basis, "6a", [10.0, 30.0])                # trials 0, 1 of 6a: 10 s and 30 s
    _fake_records(results, "6a", [1.0] * 5)                 # trials 0-4 are done already
    seconds = trialqueue.estimator("paper", basis)
    assert seconds(("6a", 1, 0)) == 30.0                    # its own record
    assert seconds(("6a", 7, 0)) == 20.0                    # the mean of the experiment's
    assert seconds(("6a+full", 0, 0)) == 20.0               # a reading not run: its main run's
    assert seconds(("6b", 0, 0)) is None
    p = plan.make_plan([NB["06"], NB["07"]], "paper", results, 4, basis, costs=tmp_path / "no-costs.json")
    steps = p.notebooks[0][1]
    assert [(s.experiment, s.missing[0], len(s.missing)) for s in steps] == [("6a", 5, 15), ("6b", 0, 10)]
    assert sorted(t for task in p.tasks for t in task.trials) == sorted(
        [("6a", t, 0) for t in range(5, 20)] + [("6b", t, 0) for t in range(10)])
    assert p.hours() == trialqueue.expected_wall_time(p.tasks, 4, p.sample) / 3600
    lines = plan.describe(p)
    assert re.search(r"06_temporal_order +25 trials of +2 experiments, +100\.0% of the time", lines[0])
    assert "07_summary" in lines[1] and "nothing to train" in lines[1]
    assert lines[-1] == f"25 trials, estimated {plan.hours_text(p.hours())} h on 4 workers"


def test_measured_costs_are_kept_per_experiment_and_guessing_has_none(tmp_path):
    path = tmp_path / "costs.json"
    costs = trialcost.measure_all(["6a", "6a-guess-A1"], path, heard=lambda line: None)
    assert list(costs) == ["6a"] and costs == trialcost.load(path)
    c = costs["6a"]
    assert 0 < c["step"] < 1e-3 and 0 <= c["other"] < 1 and 0.5 < c["pass"] < 64
    trialcost.measure_all(["1-rtrl3"], path, heard=lambda line: None)      # no lanes: no pass
    again = trialcost.load(path)
    assert set(again) == {"6a", "1-rtrl3"} and "pass" not in again["1-rtrl3"] and again["6a"] == c


def test_smoke_estimates_count_trials_and_no_notebook_trains_a_trial_twice(tmp_path):
    p = plan.make_plan([NB["01"], NB["08"]], "smoke", tmp_path, 2)
    first, study = p.notebooks[0][1], p.notebooks[1][1]
    assert {s.experiment for s in first} >= {"1-1", "1-rtrl3"}
    assert "1-1" not in {s.experiment for s in study}      # 01 trains 2 of 1-1; 08 wants 1
    trials = sum(len(task.trials) for task in p.tasks)
    assert trials == 2 * len(first) + len(study)
    assert plan.describe(p)[-1] == f"{trials} trials, estimated {plan.hours_text(p.hours())} h on 2 workers"


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
    assert re.search(r"\n2 trials, estimated \d+\.\d+ h on \d+ workers\n", out)
    assert "plan did not list" not in out and "trained 2 trials" in out
    bars = [line for line in run.stderr.replace("\r", "\n").splitlines() if "%|" in line]
    assert bars and all(line.startswith("reproduce:") for line in bars)     # one bar, no per-row bar
    assert sorted(p.name for p in (tmp_path / "5").iterdir()) == ["trial_000.json", "trial_001.json"]
    assert (tmp_path / "notebooks" / notebook.name).exists()


def test_the_plan_command_ends_with_trials_hours_and_workers(capsys):
    from lstm97.__main__ import main
    assert main(["plan", "--scale", "smoke", "--workers", "3", "--notebooks", "05", "6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "05_multiplication" in out[1] and "06_temporal_order" in out[2]
    assert re.fullmatch(r"6 trials, estimated \d+\.\d+ h on 3 workers", out[-1])


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "argument --workers: expected a positive integer, got 0"),
    (["--notebooks", "01", "12"], "argument --notebooks: no notebook 12"),
    (["--scale", "huge"], "argument --scale: invalid choice: 'huge'"),
])
def test_the_plan_command_rejects_bad_input_in_one_line_with_exit_2(args, message, capsys):
    from lstm97.__main__ import main
    assert main(["plan", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1


def test_the_bar_moves_as_trials_train_and_end(tmp_path, monkeypatch, capsys):
    """train() passes the plan's tasks to the queue; a Progress moves the bar by the trained
    part of a trial's budget, a record by the whole trial."""
    from lstm97.runner import Progress
    p = plan.make_plan([NB["05"]], "smoke", tmp_path, 1)
    seen = []

    def fake_run(tasks, scale, results, workers, scheduler, heard):
        seen.append([t.trials for t in tasks])
        heard(Progress({("5", 0): 1000, ("5", 1): 500}))
        heard(dict(experiment="5", trial=0))
        heard(Progress({("5", 0): 2000, ("5", 1): 2000}))
        heard(dict(experiment="5", trial=1))
    monkeypatch.setattr(plan.trialqueue, "run", fake_run)
    assert plan.train(p, "smoke", tmp_path) == 2
    assert seen == [[t.trials for t in p.tasks]]
    assert "100%" in capsys.readouterr().err.replace("\r", "\n").splitlines()[-1]
