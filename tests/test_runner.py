"""Trials, records on disk, resume, Dask, and the CLI (lstm97.runner, python -m lstm97)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest

from lstm97 import (ablations, criteria, experiments, lanes, nets, readings, records, runner, scheduling,
                    trial)
from lstm97.runner import RecordError, run_trial, run_trials

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip(rec):
    return {k: v for k, v in rec.items() if k != "wall_time"}


def test_every_configuration_builds_its_table10_net():
    from lstm97 import LSTM97
    for exp in experiments.EXPERIMENTS.values():
        assert LSTM97(**exp.net).n_weights == exp.n_weights, exp.id
        assert exp.make_task(0).n_in == exp.net["n_in"]


def test_same_seed_same_record_and_another_seed_differs():
    a = run_trial("6a", 1, seed=0, scale="smoke")
    b = run_trial("6a", 1, seed=0, scale="smoke")
    c = run_trial("6a", 1, seed=1, scale="smoke")
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


def test_labelled_comparisons_differ_from_their_main_run_in_one_choice():
    from dataclasses import asdict
    for exp in experiments.EXPERIMENTS.values():
        if not exp.variant:
            continue
        main = experiments.EXPERIMENTS[exp.id.partition("+")[0]]
        differ = {k for k, v in asdict(exp).items() if asdict(main)[k] != v} - {"id"}
        assert differ == {"step": {"update"}, "multihot": {"task"}, "long": {"budget"}}[exp.variant], exp.id
        assert exp.variant in experiments.VARIANTS
    multi = experiments.EXPERIMENTS["1-3+multihot"]
    assert multi.make_task(4).targets == "legal" and experiments.EXPERIMENTS["1-3"].make_task(4).targets == "next"


def test_initial_net_is_the_net_a_trial_starts_from():
    """With no budget a trial trains nothing, so its kept weights are its starting weights."""
    exp = replace(experiments.EXPERIMENTS["2c-1"], budget=0)
    rec = run_trial(exp, 4, seed=2, keep_weights=True)
    start = nets.initial_net(exp, 4, seed=2).weights
    assert rec["sequences_trained"] == 0
    for k, w in rec["weights"].items():
        np.testing.assert_array_equal(np.array(w), start[k])
    other = nets.initial_net(experiments.get("2c-1"), 5, seed=2).weights
    assert not np.array_equal(other["W_c"], start["W_c"])


def test_paper_scale_trial_solves_6a_and_reports_test_measures():
    rec = run_trial("6a", 0)
    assert rec["success"] and rec["stopped"] == "solved"
    assert rec["sequences"] == rec["stages"]["solved"] == rec["sequences_trained"]
    assert rec["test"]["solved"]["test_size"] == 2560
    assert rec["test"]["solved"]["wrong"] <= 10


def test_diverging_trial_is_a_recorded_failure(monkeypatch):
    class Overflowed(nets.LSTM97):                    # as if an update had overflowed to inf
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.weights["W_in"][0, 1] = np.inf         # x 0-valued marker inputs -> NaN
    monkeypatch.setattr(nets, "LSTM97", Overflowed)
    rec = run_trial("4-1", 0, scale="smoke")
    assert rec["stopped"] == "diverged" and not rec["success"]
    assert "NaN" in rec["reason"]


def test_window_criterion_counts_from_the_start_of_the_window():
    exp = replace(experiments.get("2c-1"), window=5)
    crit = criteria.of(exp)
    stats = np.zeros((12, 4))
    stats[:, 2] = [0.5, 0.1, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert crit.scan(stats[:6]) == []
    assert crit.scan(stats[6:]) == [(2, "solved")]     # 5 good in a row end at index 8


def test_st3_needs_low_mean_error_and_all_recent_correct():
    exp = replace(experiments.get("4-1"), window=4)
    crit = criteria.of(exp)
    stats = np.zeros((10, 4))
    stats[:, 3] = 0.001
    stats[:, 2] = 0.01
    stats[3, 2] = 0.05                                  # one wrong sequence
    assert crit.scan(stats) == [(7, "solved")]


def test_the_reber_check_stops_at_the_first_wrong_string_and_agrees_with_the_count():
    from types import SimpleNamespace
    for exp_id in ("1-1", "1-rtrl3", "1-elm15"):
        exp = experiments.get(exp_id)
        crit, task = criteria.of(exp), exp.make_task(0)
        net = nets.initial_net(exp, 0)
        batch = task.train_batch
        whole = nets.evaluate(net, batch)[1]
        parts = [nets.evaluate(net, batch.take(np.arange(a, b)))[1] for a, b in ((0, 8), (8, 32), (32, len(batch)))]
        assert np.array_equal(np.concatenate(parts), whole)          # each string from a reset state
        assert crit.wrong(net, task) != [0, 0] and not crit.all_correct(net, task)
        everything = lambda legal: np.ones_like(legal)
        easy = SimpleNamespace(train_batch=task.train_batch, train_legal=everything(task.train_legal),
                               test_batch=task.test_batch, test_legal=everything(task.test_legal))
        assert crit.wrong(net, easy) == [0, 0] and crit.all_correct(net, easy)
        assert crit.check(net, easy, None) == ["solved"] and crit.check(net, task, None) == []
        only_test = SimpleNamespace(**{**vars(easy), "test_legal": task.test_legal})
        assert crit.wrong(net, only_test)[0] == 0 and not crit.all_correct(net, only_test)


def test_nseq_stages_in_order():
    exp = replace(experiments.get("5"), window=10, nseq=(5, 2))
    crit = criteria.of(exp)
    stats = np.zeros((30, 4))
    stats[:, 2] = [1.0] * 10 + [0.0] * 20
    assert crit.scan(stats) == [(15, "nseq5"), (18, "nseq2")]


def test_records_resume_and_corrupt_files_are_reported(tmp_path):
    recs = run_trials("6a", 2, scale="smoke", results=tmp_path, workers=1, progress=False)
    assert [r["trial"] for r in recs] == [0, 1]
    path = tmp_path / "6a" / "trial_001.json"
    stamp = path.stat().st_mtime_ns
    again = run_trials("6a", 3, scale="smoke", results=tmp_path, workers=1, progress=False)
    assert path.stat().st_mtime_ns == stamp            # not redone
    assert strip(again[1]) == strip(recs[1]) and len(again) == 3
    path.write_text("{ half a record")
    with pytest.raises(RecordError, match="trial_001.json"):
        run_trials("6a", 4, scale="smoke", results=tmp_path, workers=1, progress=False)
    assert path.read_text() == "{ half a record"        # never overwritten
    assert not (tmp_path / "6a" / "trial_003.json").exists()
    with pytest.raises(RecordError, match="another configuration"):
        run_trials("6a", 1, scale="paper", results=tmp_path, workers=1, progress=False)


def test_trial_count_is_the_paper_s_or_the_study_plan_s_and_fewer_at_smoke_scale():
    assert runner.trial_count("1-1") == experiments.get("1-1").trials == 30     # Table 1: 3 pairs x 10
    assert runner.trial_count("1-1", plan=readings.PLAN) == dict(ablations.RUNS)["1-1"] == 60
    assert runner.trial_count("1-1+full") == 60 and runner.trial_count("6b", "paper", readings.PLAN) == 10
    assert runner.trial_count("6b", "smoke") == runner.SMOKE["trials"] == 2
    assert runner.trial_count("1-1", "smoke", dict(readings.PLAN)) == runner.SMOKE["pair_trials"] == 1
    with pytest.raises(ValueError, match="unknown scale"):
        runner.trial_count("6a", "tiny")


def test_records_reads_every_record_and_trains_the_missing_only_when_asked(tmp_path, monkeypatch):
    trained = []

    def fake_run(exp, trials, *, scale, results, seed, scheduler, progress):
        trained.append((exp.id, trials, seed))
        for t in range(trials):
            runner.write_record(runner.record_path(results, exp.id, t), dict(
                experiment=exp.id, trial=t, success=False, config=runner.fingerprint(exp, scale)))
    monkeypatch.setattr(runner, "run_trials", fake_run)
    assert runner.records("6a", "smoke", results=tmp_path) == [] and trained == []
    recs = runner.records(experiments.get("6a"), "smoke", results=tmp_path, train=True, seed=3)
    assert trained == [("6a", 2, 3)] and [r["trial"] for r in recs] == [0, 1]
    runner.records("1-1", "smoke", results=tmp_path, train=True, plan=ablations.RUNS)
    assert trained[-1] == ("1-1", 1, 0)
    recs = runner.records("6a", "smoke", results=tmp_path, train=True, trials=1)
    assert trained[-1] == ("6a", 1, 0) and len(recs) == 2       # every record there, not only 0..n-1
    monkeypatch.undo()
    recs = runner.records("6a", "smoke", results=tmp_path / "real", train=True, trials=1, progress=False)
    assert [(r["trial"], r["scale"]) for r in recs] == [(0, "smoke")]
    assert runner.records("6a", "smoke", results=tmp_path / "real") == recs


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "6a" / "trial_000.json"
    runner.write_record(path, {"success": True, "experiment": "6a"})
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(records.os, "replace", crash)
    for write in (lambda: runner.write_record(path, {"success": False, "experiment": "6a"}),
                  lambda: records.save_checkpoint(path.with_suffix(".checkpoint"), {}, None)):
        with pytest.raises(OSError, match="disk full"):
            write()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["trial_000.json"]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown experiment"):
        run_trials("7z", 1)
    with pytest.raises(ValueError, match="trials"):
        run_trials("6a", -1)
    with pytest.raises(ValueError, match="scale"):
        run_trials("6a", 1, scale="huge")


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lstm97", *args], capture_output=True, text=True,
                          cwd=kw.get("cwd", ROOT), timeout=300)


@pytest.mark.parametrize("args,message", [
    (["run", "nope"], "unknown experiment"),
    (["run", "6a", "--trials", "-2"], "--trials"),
    (["run", "6a", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach"),
])
def test_cli_bad_arguments_exit_2_and_write_nothing(tmp_path, args, message):
    out = _cli(*args, "--results", str(tmp_path / "res"))
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and out.stderr.count("\n") <= 2
    assert not (tmp_path / "res").exists()


def test_cli_bad_lane_width_exits_2_and_writes_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "lstm97", "run", "6a", "--results", str(tmp_path / "res")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, LSTM97_LANES="12"))
    assert out.returncode == 2, out.stderr
    assert "LSTM97_LANES must be one of 8, 16, 32, got '12'" in out.stderr and out.stderr.count("\n") <= 2
    assert not (tmp_path / "res").exists()


def test_cli_run_prints_ours_beside_the_paper_and_json(tmp_path):
    out = _cli("run", "4-1", "--scale", "smoke", "--workers", "1", "--results", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert table["paper"][0]["mean"] == 74000 and table["ours"][0]["trials"] == 2
    listing = _cli("list").stdout
    assert "4-3" in listing and "Table 7" in listing and "3c-T100-N1" in listing


def test_killed_run_keeps_finished_trials_and_repeats_none(tmp_path):
    args = [sys.executable, "-m", "lstm97", "run", "4-3", "--scale", "smoke", "--trials", "20",
            "--workers", "1", "--lanes", "8", "--results", str(tmp_path)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = tmp_path / "4-3"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(folder.glob("trial_*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in folder.glob("trial_*.json")}
    assert 2 <= len(done) < 20
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True, timeout=300)
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("trial_*.json")}
    assert len(after) == 20
    assert all(after[name] == stamp for name, stamp in done.items())
    for name in done:
        json.loads((folder / name).read_text())


def test_dask_cluster_gives_the_same_records_as_a_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run_trials("6a", 3, scale="smoke", results=tmp_path / "dask",
                            scheduler=cluster.scheduler_address, progress=False)
    local = run_trials("6a", 3, scale="smoke", results=tmp_path / "local", workers=1, progress=False)
    assert [strip(r) for r in remote] == [strip(r) for r in local]


def test_cli_readme_rewrites_only_its_block_and_checks_it(tmp_path, capsys):
    import shutil
    from lstm97.__main__ import main
    from lstm97.report import README_BEGIN, README_END
    shutil.copytree(Path(ROOT) / "data" / "results" / "6a", tmp_path / "res" / "6a")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{README_BEGIN}\nstale\n{README_END}\nafter\n")
    args = ["readme", "--results", str(tmp_path / "res"), "--file", str(readme)]
    assert main(args + ["--check"]) == 1 and "stale" in readme.read_text()
    assert main(args) == 0
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{README_END}\nafter\n")
    six = "| Experiment 6: temporal order (Table 9) | 2 | 1 | 0 | 0 | 0 | 0 | 0 |"   # 6a reproduced, 6b not run
    assert "stale" not in text and six in text and "30 rows have no records yet" in text
    assert (tmp_path / "docs" / "figures" / "headline.png").stat().st_size > 10_000
    assert (tmp_path / "docs" / "experiments.md").read_text().startswith("#")
    assert main(args + ["--check"]) == 0
    readme.write_text(text.replace(six, six.replace("| 2 | 1 |", "| 2 | 2 |")))
    assert main(args + ["--check"]) == 1
    readme.write_text("no block here\n")
    assert main(args) == 2 and "needs exactly one" in capsys.readouterr().err
    assert readme.read_text() == "no block here\n"


def test_a_trial_in_lanes_equals_the_same_trial_alone():
    """run_lanes trains several trials at once (2a: in two groups while their masks differ),
    and a group of at most lanes.SOLO in the single-trial engine with exp="poly"; each record
    is the one run_trial gives that trial alone, whatever the lane count."""
    from lstm97.runner import run_lanes, run_trial
    width = lanes.SOLO + 1              # at every kernel width: a group in lanes, the last one alone
    for exp_id in ("6a", "2a"):
        got = {}
        todo = iter(range(width + 1))
        run_lanes(exp_id, lambda: next(todo, None), lambda r: got.__setitem__(r["trial"], r),
                  scale="smoke", width=width)
        assert sorted(got) == list(range(width + 1))
        assert got[0]["curve"] != got[1]["curve"]            # the lanes are different trials
        for t in (0, width):
            alone = run_trial(exp_id, t, scale="smoke",
                              keep_weights=runner.keep_weights(experiments.get(exp_id), t))
            assert strip(got[t]) == strip(alone)
            assert got[t]["engine"] == runner.LANES


def test_each_record_names_its_learner_and_is_retrained_with_it():
    from lstm97.runner import ENGINE, FULL, LANES, run_trial
    assert runner.learner_of(experiments.get("6a")) == LANES
    assert runner.learner_of(experiments.get("1-5+full")) == FULL
    single = run_trial("6a", 0, scale="smoke", engine=ENGINE)
    assert single["engine"] == ENGINE and strip(run_trial("6a", 0, scale="smoke", engine=ENGINE)) == strip(single)
    with pytest.raises(ValueError, match="unknown engine"):
        run_trial("6a", 0, scale="smoke", engine="lstm97.turbo")
    with pytest.raises(ValueError, match="lanes"):
        run_trials("6a", 1, scale="smoke", lanes=0)


def test_two_processes_sharing_one_queue_of_trials_give_the_records_of_one(tmp_path):
    """workers=2: two lane jobs take trials from one shared queue (lanes=2, so lanes refill);
    the records equal those of one process, trial by trial."""
    two = run_trials("6a", 5, scale="smoke", results=tmp_path / "two", workers=2, lanes=2, progress=False)
    one = run_trials("6a", 5, scale="smoke", results=tmp_path / "one", workers=1, progress=False)
    assert [r["trial"] for r in two] == list(range(5))
    assert [strip(r) for r in two] == [strip(r) for r in one]


@pytest.mark.parametrize("share, environ, width", [(5, {}, 8), (8, {}, 8), (9, {}, None), (16, {}, None),
                                                    (5, {"LSTM97_LANES": "16"}, None)])
def test_workers_with_8_trials_or_fewer_each_get_the_8_lane_kernel(share, environ, width):
    """kernel_width: 8 lanes for a share of at most 8 trials, else the default (None); a width
    the user set is kept."""
    assert scheduling.kernel_width(share, environ) == width


def test_a_worker_started_in_the_block_runs_the_kernel_width_set_there(monkeypatch):
    """A pool process takes LSTM97_LANES as it is when the process starts (at the first
    submit), so run_pool's block sets the workers' width; the parent's environment is as it
    was afterwards."""
    monkeypatch.delenv("LSTM97_LANES", raising=False)
    pool = scheduling.pool(1)
    try:
        with scheduling.environment("LSTM97_LANES", scheduling.kernel_width(5)):
            job = pool.submit(scheduling.worker_width)
        assert "LSTM97_LANES" not in os.environ
        assert job.result(timeout=300) == 8
    finally:
        pool.shutdown()


class _Stop(Exception):
    pass


def _stop_at(n_stop, seen=None):
    def on_chunk(n, net):
        if seen is not None:
            seen.append(n)
        if n >= n_stop:
            raise _Stop
    return on_chunk


def test_a_trial_stopped_midway_resumes_from_its_checkpoint_to_the_same_record(tmp_path, monkeypatch, capsys):
    """2a with a budget of 50,000 sequences in chunks of 2,000, a checkpoint after every chunk:
    stopped after 20,000 sequences, before its cell is added, the trial resumes from 18,000,
    adds the cell later and ends with the record of a run never stopped. A checkpoint of
    another trial, or an unreadable one, is not used: the trial starts over and says why."""
    monkeypatch.setattr(trial, "CHECKPOINT_EVERY", 0.0)
    exp = replace(experiments.get("2a"), budget=50_000, check_every=2000)
    kw = dict(keep_weights=True, engine=runner.ENGINE)
    whole = run_trial(exp, 1, **kw)
    assert whole["sequences_trained"] == 50_000 and 20_000 < whole["cell_added_at"] < 50_000
    ckpt = tmp_path / "2a" / "trial_001.checkpoint"
    with pytest.raises(_Stop):
        run_trial(exp, 1, **kw, on_chunk=_stop_at(20_000), checkpoint=ckpt)
    key, state = __import__("pickle").loads(ckpt.read_bytes())
    assert key["trial"] == 1 and state.n == 18_000                  # n, saved before the stop
    seen = []
    resumed = run_trial(exp, 1, **kw, on_chunk=_stop_at(10**9, seen), checkpoint=ckpt)
    assert seen[0] == 20_000 and strip(resumed) == strip(whole)
    assert resumed["wall_time"] > 0

    for t, content, says in ((2, None, "differs in: trial)"), (1, b"not a pickle", "unreadable")):
        if content:
            ckpt.write_bytes(content)
        seen = []
        with pytest.raises(_Stop):
            run_trial(exp, t, **kw, on_chunk=_stop_at(0, seen), checkpoint=ckpt)
        assert seen == [2000] and says in capsys.readouterr().err            # started over


def test_lanes_resume_each_trial_from_its_own_checkpoint(tmp_path, monkeypatch):
    """Trials 0 and 3 of five were stopped midway with checkpoints; a lane run (width 4) takes
    them up where they stopped, beside fresh trials, and every record is the uninterrupted one."""
    from lstm97.runner import checkpoint_path, run_lanes
    monkeypatch.setattr(trial, "CHECKPOINT_EVERY", 0.0)
    exp = replace(experiments.get("6a"), check_every=250)
    for t in (0, 3):
        with pytest.raises(_Stop):
            run_trial(exp, t, scale="smoke", keep_weights=True, on_chunk=_stop_at(750),
                      checkpoint=checkpoint_path(tmp_path, exp.id, t))
    load, resumed = trial.load_checkpoint, []

    def spy(path, key):
        state = load(path, key)
        if state is not None:
            resumed.append((key["trial"], state.n))
        return state
    monkeypatch.setattr(trial, "load_checkpoint", spy)
    got = {}
    todo = iter(range(5))
    run_lanes(exp, lambda: next(todo, None), lambda r: got.__setitem__(r["trial"], r),
              scale="smoke", width=4, checkpoints=tmp_path)
    assert resumed == [(0, 500), (3, 500)]
    for t in range(5):
        assert strip(got[t]) == strip(run_trial(exp, t, scale="smoke", keep_weights=True)), t


def test_run_trials_leaves_no_checkpoint_beside_finished_records(tmp_path, monkeypatch):
    monkeypatch.setattr(trial, "CHECKPOINT_EVERY", 0.0)
    monkeypatch.setattr(trial, "chunk_size", lambda exp, task: 500)
    recs = run_trials("6a", 2, scale="smoke", results=tmp_path, workers=1, progress=False)
    assert len(recs) == 2
    assert sorted(p.name for p in (tmp_path / "6a").iterdir()) == ["trial_000.json", "trial_001.json"]
    stale = runner.checkpoint_path(tmp_path, "6a", 1)     # as if a run stopped between the two
    stale.write_bytes(b"x")
    assert run_trials("6a", 2, scale="smoke", results=tmp_path, workers=1, progress=False) == recs
    assert not stale.exists()


def test_a_checkpoint_of_other_code_is_not_used(tmp_path, monkeypatch, capsys):
    """The package's sources are part of a checkpoint's key: a trial resumed after the code
    changed starts over."""
    monkeypatch.setattr(trial, "CHECKPOINT_EVERY", 0.0)
    exp = replace(experiments.get("6a"), check_every=250)
    ckpt = tmp_path / "c.checkpoint"
    with pytest.raises(_Stop):
        run_trial(exp, 0, scale="smoke", on_chunk=_stop_at(750), checkpoint=ckpt)
    monkeypatch.setattr(trial, "SOURCES", "0" * 16)
    seen = []
    with pytest.raises(_Stop):
        run_trial(exp, 0, scale="smoke", on_chunk=_stop_at(0, seen), checkpoint=ckpt)
    assert seen == [250] and "differs in: sources" in capsys.readouterr().err


def test_lanes_report_each_running_trials_progress():
    """run_lanes tells ``progress(trial, n)`` after each chunk how far each running trial is:
    in the lanes, and for a learner that trains one trial at a time."""
    from lstm97.runner import run_lanes
    for exp in (replace(experiments.get("6a"), check_every=250),
                replace(experiments.get("2a-rtrl-p4-lr1"), check_every=250)):
        heard, got = {}, {}
        todo = iter(range(5))
        run_lanes(exp, lambda: next(todo, None), lambda r: got.__setitem__(r["trial"], r), scale="smoke",
                  width=4, progress=lambda t, n: heard.setdefault(t, []).append(n))
        assert sorted(heard) == sorted(got) == [0, 1, 2, 3, 4], exp.id
        for t, ns in heard.items():
            assert ns == list(range(250, got[t]["sequences_trained"] + 1, 250))[:len(ns)] and ns, (exp.id, t)
