"""One queue of trials across experiments (lstm97/trialqueue.py): the packing, the plan's list
schedule, records equal to a row-by-row run, and resuming after an interrupt."""
import json

import pytest

from lstm97 import experiments, lanes, rnn_lanes, scheduling, trial, trialqueue
from lstm97.runner import Progress, keep_weights, run_trial, run_trials
from lstm97.learners import LANE_KERNELS
from lstm97.plan import COMMITTED
from lstm97.records import LANES, fingerprint
from lstm97.trialqueue import Task, group_seconds, lane_key, pack, wall_time

SHARED = ("6a", "6a+in-bias-none")        # one net, learning rate and update: one lane key
OTHER_NET = "6a+forget"                     # forget gates: another topology
ALONE = "1-rtrl3"                           # Table 1's RTRL net, several recurrent units: no lanes


def strip(rec):
    return {k: v for k, v in rec.items() if k != "wall_time"}


def test_lane_keys_join_rows_of_one_net_and_keep_others_apart():
    assert lane_key("6a") == lane_key("6a+in-bias-none") is not None
    assert lane_key(OTHER_NET) != lane_key("6a") and lane_key("2a+step") != lane_key("2a")
    assert lane_key(ALONE) is None


def test_trials_of_several_rows_fill_lane_groups_longest_first_and_others_go_alone():
    items = [(e, t, 0) for e in SHARED for t in range(20)] + [(OTHER_NET, t, 0) for t in range(5)] \
        + [(ALONE, t, 0) for t in range(3)]
    seconds = lambda item: 100.0 + item[1] + (50 if item[0] == SHARED[1] else 0)
    tasks = pack(items, seconds, workers=1)
    assert sorted(i for t in tasks for i in t.trials) == sorted(items)     # each trial once
    assert [t.seconds for t in tasks] == sorted((t.seconds for t in tasks), reverse=True)
    groups = [t for t in tasks if t.lanes]
    assert sorted(len(g.trials) for g in groups) == [5, 8, 16, 16]        # 40 trials of one key: 16, 16, 8
    for g in groups:
        assert len({lane_key(e) for e, _, _ in g.trials}) == 1
        assert g.seconds == group_seconds([seconds(i) for i in g.trials])
    first = max((g for g in groups if g.trials[0][0] in SHARED), key=lambda g: g.seconds)
    assert {e for e, _, _ in first.trials} == {SHARED[1]} and len(first.trials) == 16   # the longest 16
    mixed = [g for g in groups if {e for e, _, _ in g.trials} == set(SHARED)]
    assert len(mixed) == 1 and len(mixed[0].trials) == 16                 # a group across the two rows
    assert [t.trials for t in tasks if not t.lanes] == [[(ALONE, t, 0)] for t in (2, 1, 0)]


def test_a_lane_group_costs_its_passes_and_then_its_last_trials_one_by_one():
    for kernel in LANE_KERNELS.values():
        solo, cost = kernel.solo, kernel.cost
        times = [100.0] * (solo + 1) + [10.0] * 6
        assert group_seconds(times, kernel) == cost * 100.0
        assert group_seconds([500.0] + times[1:], kernel) == cost * 100.0 + 400.0
        assert group_seconds([7.0] * solo, kernel) == 7.0 * solo      # solo or fewer: one after another


def test_the_lanes_share_only_the_learners_part_of_a_trial():
    kernel = LANE_KERNELS[LANES]
    solo, cost = kernel.solo, kernel.cost
    times = [100.0] * (solo + 1) + [10.0] * 6
    other = [0.25] * len(times)               # a quarter of each trial outside its learner
    assert group_seconds(times, kernel, other) == pytest.approx(cost * 75.0 + 0.25 * sum(times))
    assert group_seconds(times, kernel, [0.0] * len(times)) == group_seconds(times, kernel)


def test_measured_lane_costs_replace_the_kernels_number():
    items = [("6a", t, 0) for t in range(16)]
    seconds = lambda item: 10.0
    plain = pack(items, seconds, workers=1)
    assert len(plain) == 1 and plain[0].seconds == pytest.approx(LANE_KERNELS[LANES].cost * 10.0)
    # a measured experiment of the same lane key sets the pass; "other" belongs to its own trials
    kin = pack(items, seconds, workers=1, costs={"6a+in-bias-none": {"pass": 8.0, "other": 0.5}})
    assert kin[0].seconds == pytest.approx(8.0 * 10.0)
    own = pack(items, seconds, workers=1, costs={"6a": {"pass": 8.0, "other": 0.5}})
    assert own[0].seconds == pytest.approx(8.0 * 5.0 + 16 * 5.0)
    assert pack(items, seconds, 1, {"no-such-row": {"pass": 1.0}})[0].seconds == plain[0].seconds


def test_measured_rates_turn_the_records_steps_into_time(tmp_path):
    rec = json.loads((COMMITTED / "6a" / "trial_000.json").read_text())
    (tmp_path / "6a").mkdir()
    (tmp_path / "6a" / "trial_000.json").write_text(json.dumps(rec))
    est = trialqueue.estimator("paper", tmp_path)
    assert est(("6a", 0, rec["seed"])) == rec["wall_time"]                # the record's own time
    assert est(("6a+forget", 3, 0)) == pytest.approx(rec["wall_time"])     # no records: its main run's
    costs = {"6a": {"step": 1e-7, "other": 0.5}, "6a+forget": {"step": 3e-7, "other": 0.25}}
    est = trialqueue.estimator("paper", tmp_path, costs)
    assert est(("6a", 0, rec["seed"])) == pytest.approx(rec["steps"] * 1e-7 / 0.5)
    assert est(("6a+forget", 3, 0)) == pytest.approx(rec["steps"] * 3e-7 / 0.75)   # its own rate
    assert trialqueue.estimator("paper", tmp_path / "nothing")(("6a+forget", 3, 0)) is None


def test_a_rows_times_are_a_sample_where_another_learner_made_its_records(tmp_path):
    rec = json.loads((COMMITTED / "6a" / "trial_000.json").read_text())
    for exp_id, engine, trial in (("6a", "lstm97.engine: truncated gradient", 0), ("6a", "x", 1),
                                  ("6a+in-bias-none", LANES, 0)):
        (tmp_path / exp_id).mkdir(exist_ok=True)
        r = dict(rec, experiment=exp_id, trial=trial, engine=engine, wall_time=10.0 * (trial + 1),
                 config=fingerprint(experiments.get(exp_id), "paper"))
        (tmp_path / exp_id / f"trial_{trial:03d}.json").write_text(json.dumps(r))
    sample = trialqueue.estimator("paper", tmp_path).sample
    assert sample("6a") == (10.0, 20.0)                 # the engine's records: the lanes give others
    assert sample("6a+in-bias-none") is None            # the lanes' own records: each trial known
    assert sample("6a+naive-cec") == (10.0, 20.0)       # no records: its main run's times


def test_the_expected_wall_time_draws_which_trials_run_long():
    kernel = LANE_KERNELS[LANES]
    single = Task([("e", 0, 0)], 100.0, False, [100.0])
    group = Task([("e", t, 0) for t in range(1, 5)], kernel.cost * 10.0, True, [10.0] * 4, kernel, [0.0] * 4)
    assert wall_time([single, group], 2) == max(100.0, kernel.cost * 10.0)
    sample = lambda exp_id: (10.0, 10.0, 10.0, 10.0, 100.0)
    # the long trial is the single one in 1 draw of 5, else in the group (its last trials one by one)
    expected = 0.2 * max(100.0, kernel.cost * 10.0) + 0.8 * (kernel.cost * 10.0 + 90.0)
    assert trialqueue.expected_wall_time([single, group], 2, sample, draws=4000) == pytest.approx(expected, rel=0.03)
    assert trialqueue.expected_wall_time([single, group], 2, lambda e: None) == wall_time([single, group], 2)


def test_the_plan_is_a_list_schedule_longest_first():
    tasks = [Task([("x", i, 0)], s, False) for i, s in enumerate([3, 5, 3, 4])]
    assert wall_time(tasks, 2) == 8           # 5 | 4, then 3 -> 4 + 3, then 3 -> 5 + 3
    assert wall_time(tasks, 1) == 15 and wall_time(tasks, 9) == 5 and wall_time([], 4) == 0


def test_with_more_workers_the_longest_trial_leaves_its_group_when_that_ends_sooner():
    items = [("6a", t, 0) for t in range(16)]
    seconds = lambda item: 1000.0 if item[1] == 0 else 10.0
    one = pack(items, seconds, workers=1)
    assert [len(t.trials) for t in one] == [16]                         # fewest core seconds
    two = pack(items, seconds, workers=2)
    assert two[0].trials == [("6a", 0, 0)] and not two[0].lanes and [len(t.trials) for t in two] == [1, 15]
    assert wall_time(two, 2) < wall_time(one, 2)


def test_a_queue_on_two_processes_gives_the_records_of_a_row_by_row_run(tmp_path):
    """Two rows share a lane group, an RTRL row trains alone; every record is the one the
    row-by-row run gives (wall time aside), whichever worker trained it."""
    jobs = [(SHARED[0], 3, 0), (SHARED[1], 3, 0), (ALONE, 2, 0)]
    items = trialqueue.missing(jobs, tmp_path / "queue", "smoke")
    tasks = pack(items, trialqueue.estimator("smoke", None), workers=1)
    assert [len(t.trials) for t in tasks] == [6, 1, 1] and tasks[0].lanes
    heard = []
    trialqueue.run(tasks, "smoke", tmp_path / "queue", 2, heard=heard.append)
    assert sorted((r["experiment"], r["trial"]) for r in heard if not isinstance(r, Progress)) == \
        sorted((e, t) for e, t, _ in items)
    for exp_id, n, seed in jobs:
        rows = run_trials(exp_id, n, scale="smoke", results=tmp_path / "rows", workers=1, progress=False)
        for rec in rows:
            queued = json.loads((tmp_path / "queue" / exp_id / f"trial_{rec['trial']:03d}.json").read_text())
            assert strip(queued) == strip(rec), (exp_id, rec["trial"])
    assert trialqueue.missing(jobs, tmp_path / "queue", "smoke") == []


def test_rtrl_and_bptt_rows_train_in_lane_groups_with_the_records_of_a_row_by_row_run(tmp_path, monkeypatch):
    """Table 2's RTRL and BPTT rows go into lane groups of their own learner (rnn_lanes.py) and
    give the records each trial gets alone."""
    jobs = [("2a-rtrl-p4-lr1", 10, 0), ("2a-bptt-p100-lr1", 10, 0)]
    items = trialqueue.missing(jobs, tmp_path / "queue", "smoke")
    tasks = pack(items, trialqueue.estimator("smoke", None), workers=1)
    assert sorted(len(t.trials) for t in tasks) == [10, 10] and all(t.lanes for t in tasks)
    calls = []
    for name in ("rtrl", "bptt"):
        kernel = getattr(rnn_lanes, f"train_{name}")
        monkeypatch.setattr(rnn_lanes, f"train_{name}",
                            lambda nets, *a, k=kernel, **kw: calls.append(len(nets)) or k(nets, *a, **kw))
    trialqueue.run(tasks, "smoke", tmp_path / "queue", 1)
    assert calls and max(calls) == 10                 # the lanes trained them, not one by one
    for exp_id, n, seed in jobs:
        for rec in run_trials(exp_id, n, scale="smoke", results=tmp_path / "rows", workers=1, progress=False):
            queued = json.loads((tmp_path / "queue" / exp_id / f"trial_{rec['trial']:03d}.json").read_text())
            assert strip(queued) == strip(rec), (exp_id, rec["trial"])


class _Stop(Exception):
    pass


def test_an_interrupted_queue_resumes_from_records_and_checkpoints(tmp_path, monkeypatch):
    """Stopped at its first record, the queue has one record and a checkpoint of every other
    trial of the lane group; run again, it repeats no record, resumes those trials from their
    checkpoints, trains the task never started, and every record is the trial's alone."""
    monkeypatch.setattr(trial, "CHECKPOINT_EVERY", 0.0)
    monkeypatch.setattr(trial, "chunk_size", lambda exp, task: 500)
    results = tmp_path / "res"
    jobs = [(SHARED[0], 3, 0), (SHARED[1], 3, 0), (ALONE, 1, 0)]
    calls = []
    train_batches = lanes.train_batches
    monkeypatch.setattr(lanes, "train_batches", lambda nets, *a: calls.append(len(nets)) or train_batches(nets, *a))

    def stop_at_first_record(message):
        if not isinstance(message, Progress):
            raise _Stop
    tasks = pack(trialqueue.missing(jobs, results, "smoke"), trialqueue.estimator("smoke", None), workers=1)
    with pytest.raises(_Stop):
        trialqueue.run(tasks, "smoke", results, 1, heard=stop_at_first_record)
    assert calls and max(calls) == 6                   # both rows in one kernel call
    first = {p: p.stat().st_mtime_ns for p in results.glob("*/trial_*.json")}
    assert len(first) == 1 and len(list(results.glob("*/trial_*.checkpoint"))) == 5

    load, resumed = trial.load_checkpoint, []

    def spy(path, key):
        state = load(path, key)
        if state is not None:
            resumed.append((key["experiment"], key["trial"], state.n))
        return state
    monkeypatch.setattr(trial, "load_checkpoint", spy)
    left = trialqueue.missing(jobs, results, "smoke")
    assert len(left) == 6
    heard = []
    trialqueue.run(pack(left, trialqueue.estimator("smoke", None), workers=1), "smoke", results, 1,
                   heard=heard.append)
    assert len(resumed) == 5 and all(n == 1500 for _, _, n in resumed)
    assert sorted((r["experiment"], r["trial"]) for r in heard if not isinstance(r, Progress)) == \
        sorted((e, t) for e, t, _ in left)
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in first.items())
    assert not list(results.glob("*/trial_*.checkpoint"))
    for exp_id, n, _ in jobs:
        for t in range(n):
            rec = json.loads((results / exp_id / f"trial_{t:03d}.json").read_text())
            alone = run_trial(exp_id, t, scale="smoke", keep_weights=keep_weights(experiments.get(exp_id), t))
            assert strip(rec) == strip(alone), (exp_id, t)


def test_a_queue_on_a_dask_cluster_gives_the_records_of_a_local_one(tmp_path):
    distributed = pytest.importorskip("distributed")
    jobs = [(SHARED[0], 3, 0), (SHARED[1], 3, 0)]
    tasks = pack(trialqueue.missing(jobs, tmp_path, "smoke"), trialqueue.estimator("smoke", None), workers=1)
    assert [len(t.trials) for t in tasks] == [6]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        trialqueue.run(tasks, "smoke", tmp_path / "dask", 2, scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:        # progress keeps its trials' names
            q = scheduling._DaskQueue("progress", client)
            q.put(Progress({("6a", 1): 500, 3: 250}))
            assert q.get(timeout=10) == Progress({("6a", 1): 500, 3: 250})
    trialqueue.run(tasks, "smoke", tmp_path / "local", 1)
    for p in sorted((tmp_path / "local").glob("*/trial_*.json")):
        assert strip(json.loads(p.read_text())) == \
            strip(json.loads((tmp_path / "dask" / p.relative_to(tmp_path / "local")).read_text()))
    assert len(list((tmp_path / "dask").glob("*/trial_*.json"))) == 6
