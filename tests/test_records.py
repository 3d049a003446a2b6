"""The committed trial records: readable, complete, and reproducible from their seeds."""
import json
from pathlib import Path

import pytest

from lstm97 import experiments, runner

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
RECORDS = sorted(RESULTS.glob("*/trial_*.json"))


def test_every_committed_record_loads_and_matches_its_configuration():
    for path in RECORDS:
        rec = runner.load_record(path, experiments.get(path.parent.name), "paper")
        assert rec["trial"] == int(path.stem.split("_")[1])
        assert rec["success"] == (rec["stopped"] == "solved")


def _cheap_sample(max_steps=40_000_000):
    """The cheapest LSTM record of each task family (Reber, 2a, ..., temporal order) under
    max_steps, so that the sample spans the tasks rather than the many Exp 1 comparisons."""
    by_task = {}
    for path in RECORDS:
        rec = json.loads(path.read_text())
        if rec["steps"] <= max_steps and not experiments.get(rec["experiment"]).is_baseline:
            family = experiments.get(rec["experiment"]).task[0]
            by_task[family] = min(by_task.get(family, (rec["steps"], path)), (rec["steps"], path))
    return [path for _, path in sorted(by_task.values())]


def _cheap_reading_sample(max_steps=10_000_000):
    """The cheapest record of each reading of the readings study (readings.py)."""
    by_reading = {}
    for path in RECORDS:
        exp = experiments.get(path.parent.name)
        if exp.seed_id:
            rec = json.loads(path.read_text())
            if rec["steps"] <= max_steps:
                by_reading[exp.variant] = min(by_reading.get(exp.variant, (rec["steps"], path)), (rec["steps"], path))
    return [path for _, path in sorted(by_reading.values())]


def _cheap_engine_sample(max_steps=20_000_000):
    """The cheapest record made by each learner (a record's "engine": the single-trial engine,
    the lane engine, the full gradient, each competitor's), so each is retrained with its own."""
    by_engine = {}
    for path in RECORDS:
        rec = json.loads(path.read_text())
        name = rec.get("engine", runner.ENGINE)
        if rec["steps"] <= max_steps:
            by_engine[name] = min(by_engine.get(name, (rec["steps"], path)), (rec["steps"], path))
    return [path for _, path in sorted(by_engine.values())]


@pytest.mark.parametrize("path", sorted(set(_cheap_sample() + _cheap_reading_sample() + _cheap_engine_sample())),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_recorded_trial_is_retrained_from_its_seed(path):
    rec = json.loads(path.read_text())
    again = runner.run_trial(rec["experiment"], rec["trial"], rec["seed"], rec["scale"],
                             keep_weights="weights" in rec, engine=rec.get("engine", runner.ENGINE))
    for key in rec:
        if key not in ("wall_time", "versions"):
            assert again[key] == rec[key], key


def test_readme_results_match_the_committed_records():
    from lstm97.__main__ import main
    root = RESULTS.parents[1]
    assert main(["readme", "--results", str(RESULTS), "--file", str(root / "README.md"), "--check"]) == 0


def _long_record_per_engine(min_steps=20_000_000):
    """For each learner and update timing, its first record too long to retrain whole in CI
    (the p=10 and p=100 competitor rows and the per-step rows 2a+step, 2b+step have no other)."""
    first = {}
    for path in RECORDS:
        rec = json.loads(path.read_text())
        name = rec.get("engine", runner.ENGINE)
        if rec["steps"] > min_steps and name != runner.GUESS:
            first.setdefault((name, experiments.get(rec["experiment"]).update), path)
    return sorted(first.values())


@pytest.mark.parametrize("path", _long_record_per_engine(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_first_chunk_of_a_long_record_is_retrained_from_its_seed(path):
    """The first chunk of training of a long record (its curve's first point: sequences, mean
    error, fraction correct), retrained from its seed with its learner, to the bit."""
    from dataclasses import replace
    rec = json.loads(path.read_text())
    n0 = rec["curve"][0][0]
    exp = replace(experiments.get(rec["experiment"]), budget=n0)
    again = runner.run_trial(exp, rec["trial"], rec["seed"], rec["scale"],
                             engine=rec.get("engine", runner.ENGINE))
    assert again["sequences_trained"] == n0 and again["curve"][0] == rec["curve"][0]
