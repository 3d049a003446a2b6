"""Trials: one online training run per seed, judged by the paper's criteria; many in parallel.

``run_trial(experiment, trial)`` trains one net with the compiled engine until its
experiment's criterion holds, the sequence budget is used up, or a weight becomes
NaN/inf, and returns a JSON-able record. ``run_trials`` runs many on local processes
or a Dask cluster and writes each finished record to disk at once, atomically, so an
interrupted run loses nothing and resumes where it stopped.
"""
import hashlib
import json
import os
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from . import bptt, elman, engine, fullgrad, guessing, rnn, rtrl
from .engine import ABS_ALL, ABS_END, ERR_END, SSE
from .experiments import get
from .network import LSTM97
from .tasks import reber

SCALES = ("paper", "smoke")
SMOKE = dict(budget=2000, test_size=256, trials=2)  # smoke: the whole pipeline in seconds, no success expected
MAX_CURVE = 400


class RecordError(Exception):
    """A results file that cannot be used (corrupt, or from another configuration)."""


def scaled(exp, scale):
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if scale == "smoke":
        return replace(exp, budget=min(exp.budget, SMOKE["budget"]), test_size=SMOKE["test_size"],
                       check_every=min(exp.check_every, 500) if exp.check_every else 0)
    return exp


# the Experiment fields that decide a trial's record (new fields must be added on purpose)
FINGERPRINT_FIELDS = ("id", "condition", "task", "net", "lr", "criterion", "budget", "abs", "beta",
                      "window", "all_steps", "st1_wrong", "st2_mean", "check_every", "check_size",
                      "test_size", "nseq", "update", "grow")
# fields added later: part of the fingerprint only where they differ from their default, so
# that the records made before them keep their fingerprints
LATER_FIELDS = {"gradient": "truncated", "seed_id": ""}


def fingerprint(exp, scale):
    """Short hash of everything that determines a trial's record except its seed."""
    fields = asdict(scaled(exp, scale))
    keep = {k: fields[k] for k in FINGERPRINT_FIELDS}
    keep.update({k: fields[k] for k, default in LATER_FIELDS.items() if fields[k] != default})
    text = json.dumps([keep, scale], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# the compiled learner of each gradient: (module, what records call it)
LEARNERS = {"truncated": (engine, "lstm97.engine: truncated gradient, eqs. 19-28"),
            "full": (fullgrad, "lstm97.fullgrad: full gradient, BPTT / exact online RTRL"),
            # the competitors (experiments.BASELINES), on rnn.RNN nets
            "rtrl": (rtrl, "lstm97.rtrl: real-time recurrent learning"),
            "bptt": (bptt, "lstm97.bptt: backpropagation through time per sequence"),
            "elman": (elman, "lstm97.elman: Elman's procedure, backprop truncated after one step"),
            "guess": (guessing, "lstm97.guessing: random weight guessing in [-100, 100]")}


def make_net(exp, seed=None):
    """The net an experiment trains: an LSTM97, or a competitor's rnn.RNN (guessing: its A1/A2 net)."""
    if exp.gradient == "guess":
        return guessing.architecture(**exp.net, seed=seed)
    if exp.is_baseline:
        return rnn.RNN(**exp.net, seed=seed)
    return LSTM97(**exp.net, seed=seed)


def evaluate(net, batch):
    """Forward pass of either kind of net: (stats, outputs at every step), as engine.evaluate."""
    return (rnn.evaluate if isinstance(net, rnn.RNN) else engine.evaluate)(net, batch)


def versions():
    """What a record was made with."""
    import platform
    import numba
    return dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__)


# --------------------------------------------------------------------------- criteria
def _runs(ok, carry):
    """Length of the run of consecutive True ending at each index, continuing ``carry``."""
    idx = np.arange(len(ok))
    last_bad = np.maximum.accumulate(np.where(~ok, idx, -1))
    return np.where(last_bad >= 0, idx - last_bad, carry + idx + 1)


class StreamCriterion:
    """Criteria read off the training stream itself (2a-2c, 4, 5, 6): exact to the sequence.

    ``scan(stats)`` consumes one chunk of per-sequence statistics and returns the stages
    reached in it as (index in chunk, stage name).
    """

    def __init__(self, exp):
        self.exp = exp
        self.run = 0                    # consecutive good sequences so far
        self.tail_err = np.zeros(0)     # last `window` end errors (for ST3 and n_seq)
        self.tail_bad = np.zeros(0, bool)
        self.todo = [f"nseq{n}" for n in exp.nseq] if exp.criterion == "nseq" else ["solved"]

    def scan(self, stats):
        exp, hits = self.exp, []
        if exp.criterion == "window":
            ok = stats[:, ABS_ALL if exp.all_steps else ABS_END] < exp.abs
            runs = _runs(ok, self.run)
            self.run = int(runs[-1])
            i = np.flatnonzero(runs >= exp.window)
            if len(i):
                hits.append((int(i[0]), "solved"))
            return hits
        w = exp.window
        err = np.concatenate([self.tail_err, stats[:, ERR_END]])
        bad = np.concatenate([self.tail_bad, stats[:, ABS_END] >= exp.abs])
        off = len(self.tail_err)
        self.tail_err, self.tail_bad = err[-w:], bad[-w:]
        if len(err) < w:
            return hits
        csum_err = np.concatenate([[0.0], np.cumsum(err)])
        csum_bad = np.concatenate([[0], np.cumsum(bad)])
        end = np.arange(max(w, off + 1), len(err) + 1)          # windows err[end-w:end]
        mean_err = (csum_err[end] - csum_err[end - w]) / w
        n_bad = csum_bad[end] - csum_bad[end - w]
        if exp.criterion == "st3":
            i = np.flatnonzero((mean_err < exp.beta) & (n_bad == 0))
            if len(i):
                hits.append((int(end[i[0]] - 1 - off), "solved"))
        else:
            for stage in list(self.todo):
                i = np.flatnonzero(n_bad < int(stage[4:]))
                if not len(i):
                    break
                hits.append((int(end[i[0]] - 1 - off), stage))
                self.todo.remove(stage)
        return hits

    def final(self, stage):
        return stage == final_stage(self.exp)


def final_stage(exp):
    """Name of the stage whose sequence count is the trial's 'success after'."""
    return {"st12": "st2", "nseq": f"nseq{exp.nseq[-1]}" if exp.nseq else ""}.get(exp.criterion, "solved")


def _end_outputs(net, batch):
    stats, outputs = evaluate(net, batch)
    return stats, outputs[batch.starts[1:] - 1]


def check_st12(exp, net, task, rng, n):
    """ST1/ST2 of Exp 3 on n fresh sequences: (misclassified, mean |error|) (docs/paper.md §4.3)."""
    batch = task.sample(rng, n)
    _, y = _end_outputs(net, batch)
    if exp.condition == "3c":
        diff = np.abs(y[:, 0] - batch.info["clean"])            # against the noise-free target
    else:
        diff = np.abs(y[:, 0] - batch.end_targets()[:, 0])
    return int(np.sum(diff > exp.abs)), float(diff.mean())


def check_reber(net, task):
    """Wrong predictions on the training and the test set (docs/paper.md §4.1)."""
    wrong = []
    for batch, legal in ((task.train_batch, task.train_legal), (task.test_batch, task.test_legal)):
        _, outputs = evaluate(net, batch)
        wrong.append(int(np.sum(~reber.correct(outputs, legal))))
    return wrong


def test_measures(exp, net, task, rng):
    """The test figures the paper reports for this experiment, on a fresh test set."""
    if exp.criterion == "reber":
        tr, te = check_reber(net, task)
        return dict(train_wrong=tr, test_wrong=te)
    n = exp.test_size
    if exp.criterion == "st12":
        wrong, mean_abs = check_st12(exp, net, task, rng, n)
        out = dict(test_size=n, wrong=wrong, fraction_misclassified=wrong / n)
        out["av_difference" if exp.condition == "3c" else "mean_abs_error"] = mean_abs
        return out
    batch = task.sample(rng, n)
    stats, _ = evaluate(net, batch)
    column = ABS_ALL if exp.all_steps else ABS_END
    return dict(test_size=n, wrong=int(np.sum(stats[:, column] >= exp.abs)),
                mse=float(stats[:, ERR_END].mean() / net.n_out),
                mean_error=float(stats[:, ERR_END].mean()))


# --------------------------------------------------------------------------- one trial
def _chunk_size(exp, task):
    if exp.check_every:
        return exp.check_every
    probe = task.sample(np.random.default_rng(0), 20)
    per_seq = probe.starts[-1] / len(probe)
    return int(np.clip(300_000 // per_seq, 200, 2000))


def _grow_masks(net):
    """2a/2b before the cell is added: only the direct input->output layer exists (docs/paper.md §6.7)."""
    full = {k: m.copy() for k, m in net.masks.items()}
    net.masks["W_in"][:] = 0.0
    net.masks["W_c"][:] = 0.0
    net.masks["W_k"][:, :net.C] = 0.0
    for k in net.weights:
        net.weights[k] *= net.masks[k]
    return full


def _add_cell(net, full):
    for k in ("W_in", "W_c", "W_k"):
        new = (full[k] > 0) & (net.masks[k] == 0)
        net.weights[k][new] = net.rng.uniform(-net.init, net.init, int(new.sum()))
        net.masks[k] = full[k]


def trial_seeds(exp, trial, seed):
    """A trial's three independent random streams: initial weights, training data, tests.
    Readings use their main run's (``seed_id``), so trial i of both starts alike."""
    return np.random.SeedSequence([seed, trial, zlib.crc32((exp.seed_id or exp.id).encode())]).spawn(3)


def initial_net(experiment, trial, seed=0):
    """The net that trial ``trial`` of ``experiment`` starts from: its Table-10 initialisation
    (docs/paper.md §3), before any training. The scale does not change it."""
    exp = get(experiment) if isinstance(experiment, str) else experiment
    return make_net(exp, trial_seeds(exp, trial, seed)[0])


def run_trial(experiment, trial, seed=0, scale="paper", keep_weights=False, on_chunk=None):
    """Train one net of ``experiment`` (an id or Experiment) for trial number ``trial``.

    The same (experiment, trial, seed, scale) always gives the same record (wall time aside).
    ``on_chunk(n, net)``, if given, is called after each chunk of training with the number of
    sequences so far (for looking at a net during training; it must not change the net).
    """
    exp = scaled(get(experiment) if isinstance(experiment, str) else experiment, scale)
    if exp.gradient == "guess":
        return guess_trial(exp, trial, seed, scale, keep_weights)
    t0 = time.perf_counter()
    task = exp.make_task(trial)
    net_ss, data_ss, test_ss = trial_seeds(exp, trial, seed)
    net = make_net(exp, net_ss)
    learner, engine_name = LEARNERS[exp.gradient]
    rng, test_rng = np.random.default_rng(data_ss), np.random.default_rng(test_ss)
    chunk = _chunk_size(exp, task)
    stream = StreamCriterion(exp) if exp.criterion in ("window", "st3", "nseq") else None
    full = _grow_masks(net) if exp.grow else None
    grow_prev, cell_added_at = None, None

    n = steps = 0
    stages, tests, curve = {}, {}, []
    stopped, reason = "budget", f"no success within {exp.budget} sequences"
    while n < exp.budget and stopped == "budget":
        batch = task.sample(rng, min(chunk, exp.budget - n))
        snapshot = {k: w.copy() for k, w in net.weights.items()}
        stats, bad = learner.train_batch(net, batch, exp.lr, exp.update)
        if bad >= 0:
            stopped, reason = "diverged", f"NaN/inf in sequence {n + bad + 1}"
            n += bad + 1
            break
        hits = stream.scan(stats) if stream else []
        done = 0                                  # sequences of this chunk kept so far
        if hits:                                  # replay up to each stage, exactly
            net.set_weights(snapshot)
            for i, stage in hits:
                learner.train_batch(net, batch.take(np.arange(done, i + 1)), exp.lr, exp.update)
                done = i + 1
                count = n + done
                if exp.criterion == "window":
                    count = n + done - exp.window      # sequences before the window started
                stages[stage] = count
                tests[stage] = test_measures(exp, net, task, test_rng) if exp.test_size else {}
                if stream.final(stage):
                    stopped, reason = "solved", f"{stage} after {count} sequences"
                    break
            if stopped == "budget" and done < len(batch):
                learner.train_batch(net, batch.take(np.arange(done, len(batch))), exp.lr, exp.update)
                done = len(batch)
        else:
            done = len(batch)
        steps += int(batch.starts[done])
        n += done
        curve.append([n, float(stats[:, SSE].mean()), float(np.mean(stats[:, ABS_END] < exp.abs))])
        if on_chunk is not None:
            on_chunk(n, net)
        if stopped != "budget":
            break
        if full is not None and cell_added_at is None:
            m = stats[:, SSE].mean()
            if grow_prev is not None and m >= 0.99 * grow_prev:
                _add_cell(net, full)
                cell_added_at = n
            grow_prev = m
        if exp.criterion == "reber":
            wrong = check_reber(net, task)
            if wrong == [0, 0]:
                stages["solved"] = n
                tests["solved"] = test_measures(exp, net, task, test_rng)
                stopped, reason = "solved", f"all correct after {n} sequences"
        elif exp.criterion == "st12":
            wrong, mean_abs = check_st12(exp, net, task, test_rng, exp.check_size)
            if wrong <= exp.st1_wrong:
                stages.setdefault("st1", n)
                if mean_abs < exp.st2_mean:
                    stages["st2"] = n
                    tests["st2"] = test_measures(exp, net, task, test_rng)
                    stopped, reason = "solved", f"ST2 after {n} sequences"

    while len(curve) > MAX_CURVE:
        curve = curve[::2] if len(curve) % 2 else curve[::2] + [curve[-1]]
    record = dict(
        experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
        success=stopped == "solved", stopped=stopped, reason=reason,
        sequences=stages.get(final_stage(exp)) if stopped == "solved" else None,
        stages=stages, test=tests, sequences_trained=n, steps=steps, curve=curve,
        cell_added_at=cell_added_at, wall_time=time.perf_counter() - t0,
        engine=engine_name, versions=versions())
    if keep_weights:
        record["weights"] = {k: w.tolist() for k, w in net.weights.items()}
    return record


def guess_trial(exp, trial, seed=0, scale="paper", keep_weights=False):
    """One trial of random weight guessing (guessing.py): guesses until one passes the LSTM row's
    stopping test or the budget (in guesses) is spent. The record has the fields of run_trial's;
    its "sequences" and stages count guesses; "sequences_evaluated" and "steps" count the
    sequences and steps the guesses were run on; nothing is trained."""
    t0 = time.perf_counter()
    task = exp.make_task(trial)
    net_ss, data_ss, test_ss = trial_seeds(exp, trial, seed)
    net = make_net(exp, net_ss)
    n, seqs, steps, W = guessing.search(exp, task, net, np.random.default_rng(net_ss),
                                        np.random.default_rng(data_ss))
    stage = final_stage(exp)
    stages, tests = {}, {}
    if W is not None:
        net.set_weights({"W_h": W, "W_o": net.weights["W_o"]})
        stages[stage] = n
        tests[stage] = test_measures(exp, net, task, np.random.default_rng(test_ss)) if exp.test_size else {}
    record = dict(
        experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
        success=W is not None, stopped="solved" if W is not None else "budget",
        reason=f"guess {n} passed" if W is not None else f"no guess of {n} passed",
        sequences=n if W is not None else None, unit="guesses", guesses=n,
        stages=stages, test=tests, sequences_trained=0, sequences_evaluated=seqs, steps=steps,
        curve=[], cell_added_at=None, wall_time=time.perf_counter() - t0,
        engine=LEARNERS["guess"][1], versions=versions())
    if keep_weights:
        record["weights"] = {k: w.tolist() for k, w in net.weights.items()}
    return record


# --------------------------------------------------------------------------- records on disk
def record_path(results, experiment_id, trial):
    return Path(results) / experiment_id / f"trial_{trial:03d}.json"


def load_record(path, exp=None, scale=None):
    """Read one record; RecordError naming the file if it is corrupt or from another config."""
    try:
        rec = json.loads(Path(path).read_text())
        if not isinstance(rec, dict) or "success" not in rec or "experiment" not in rec:
            raise ValueError("not a trial record")
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"corrupt results file {path}: {e}. Move it away to rerun that trial; "
                          "it was not used or overwritten.") from None
    if exp is not None and rec.get("config") != fingerprint(exp, scale):
        raise RecordError(f"results file {path} was made by another configuration or scale "
                          f"({rec.get('config')} != {fingerprint(exp, scale)}); move it away to rerun")
    return rec


def write_record(path, record):
    """Atomic: write a temporary file, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)


def load_records(results, experiment_id, scale="paper"):
    """All finished records of an experiment, by trial order (checked like run_trials does)."""
    exp = get(experiment_id)
    folder = Path(results) / experiment_id
    return [load_record(p, exp, scale) for p in sorted(folder.glob("trial_*.json"))]


def keep_weights(exp, trial):
    """Records store trained weights (for looking inside nets): every trial of a net with at
    most 1,000 weights, the first three trials of bigger nets."""
    return trial < 3 or exp.n_weights <= 1000


def _die_with_parent():
    """Pool workers end when the run that started them is killed (Linux), instead of
    training on, orphaned, for a result nobody will write."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _job(args):
    exp_id, trial, seed, scale = args
    return run_trial(exp_id, trial, seed, scale, keep_weights=keep_weights(get(exp_id), trial))


def _progress_bar():
    """tqdm's widget bar where ipywidgets can draw it, else the plain text bar. (tqdm.auto in a
    kernel without ipywidgets prints an "IProgress not found" warning that papermill would save
    into the executed notebook.)"""
    import importlib.util
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm


def run_trials(experiment, trials=None, *, scale="paper", results=None, seed=0,
               scheduler=None, workers=None, progress=True):
    """Run trials 0..trials-1 of an experiment that have no record yet; return all records.

    Records go to ``results`` (default ``results/<scale>`` under the current directory, never
    the committed ``data/results`` unless it is named). Local processes by default
    (``workers``, default all cores); a Dask cluster when ``scheduler`` (or the
    LSTM97_SCHEDULER variable) gives its address.
    """
    results = Path("results") / scale if results is None else results
    exp = get(experiment) if isinstance(experiment, str) else experiment
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if trials is None:
        trials = exp.trials if scale == "paper" else min(exp.trials, SMOKE["trials"])
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise ValueError(f"trials must be a non-negative integer, got {trials!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    scheduler = scheduler or os.environ.get("LSTM97_SCHEDULER") or None
    records = {}
    for t in range(trials):                       # read everything first: fail before training
        p = record_path(results, exp.id, t)
        if p.exists():
            records[t] = load_record(p, exp, scale)
    todo = [(exp.id, t, seed, scale) for t in range(trials) if t not in records]
    if todo:
        bar = None
        if progress:
            bar = _progress_bar()(total=trials, initial=trials - len(todo), desc=exp.id, unit="trial")
        t0, seqs = time.perf_counter(), 0

        def finished(rec):
            nonlocal seqs
            write_record(record_path(results, exp.id, rec["trial"]), rec)
            records[rec["trial"]] = rec
            seqs += rec["sequences_trained"]
            if bar:
                bar.set_postfix(seq_per_s=f"{seqs / (time.perf_counter() - t0):,.0f}",
                                solved=sum(r["success"] for r in records.values()))
                bar.update(1)

        try:
            if scheduler:
                _run_dask(scheduler, todo, finished)
            elif (workers or os.cpu_count() or 1) == 1 or len(todo) == 1:
                for job in todo:
                    finished(_job(job))
            else:
                pool = ProcessPoolExecutor(max_workers=min(workers or os.cpu_count(), len(todo)),
                                           mp_context=get_context("spawn"), initializer=_die_with_parent)
                try:
                    for fut in as_completed([pool.submit(_job, j) for j in todo]):
                        finished(fut.result())
                except KeyboardInterrupt:      # finished trials are on disk; queued ones never start
                    running = list((getattr(pool, "_processes", None) or {}).values())
                    pool.shutdown(wait=False, cancel_futures=True)
                    for proc in running:
                        proc.terminate()
                    raise
                pool.shutdown()
        finally:
            if bar:
                bar.close()
    return [records[t] for t in sorted(records)]


def connect(scheduler, timeout=5):
    """A Dask client for ``scheduler``; ValueError naming the address if it cannot be reached."""
    from dask.distributed import Client
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ValueError(f"cannot reach Dask scheduler {scheduler!r}: {e}") from None


def _run_dask(scheduler, todo, finished):
    from dask.distributed import as_completed as dask_completed
    client = connect(scheduler)
    try:
        futures = [client.submit(_job, job, pure=False) for job in todo]
        for fut in dask_completed(futures):
            finished(fut.result())
    finally:
        client.close()
