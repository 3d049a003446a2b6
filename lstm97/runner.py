"""Running an experiment's trials: ``records`` gives an experiment's records, training the missing
ones first when asked (the notebooks' one call for their records); ``run_trials`` runs the trials
of an experiment that have no record yet, on local processes or a Dask cluster (scheduling.py), and
writes each finished record to disk at once, atomically (records.py), so an interrupted run loses
no finished trial and resumes where it stopped; a long trial also leaves a checkpoint beside its
record every ``trial.CHECKPOINT_EVERY`` seconds and resumes from it, so a run stopped in the middle
of a lane group loses at most that much. A record's ``engine`` names the learner that made it (it
is retrained with that one), and its ``wall_time`` is the core time the trial took: its own time
plus its share of each lane-engine call.

The names below from the modules that do the work are this module's too, for the notebooks and
scripts that use them from here.
"""
import os
import time
from pathlib import Path

import numpy as np

from . import lanes
from .experiments import get
from .learners import LEARNERS, learner_of  # noqa: F401
from .nets import initial_net, make_net, trial_seeds  # noqa: F401
from .records import (BPTT, BPTT_POLY, ELMAN, ENGINE, FULL, GUESS, LANES, RTRL, RTRL_POLY, SCALES,  # noqa: F401
                      SMOKE, RecordError, check_scale, check_writable, checkpoint_path, fingerprint,
                      keep_weights, load_record, load_records, record_path, scaled, trial_count,
                      write_record)
from .scheduling import PROGRESS_EVERY, Progress, connect, run_dask, run_lanes, run_pool  # noqa: F401
from .trial import guess_trial, run_trial  # noqa: F401


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


def _check_counts(trials, lanes, workers):
    """ValueError naming the argument unless the counts are whole numbers in range."""
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise ValueError(f"trials must be a non-negative integer, got {trials!r}")
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
        raise ValueError(f"lanes must be a positive integer, got {lanes!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")


def recorded(exp, trials, scale, results):
    """{trial: record} of the trials 0..trials-1 of ``exp`` recorded in ``results``, each
    checked to be of this configuration and scale (RecordError)."""
    paths = {t: record_path(results, exp.id, t) for t in range(trials)}
    return {t: load_record(p, exp, scale) for t, p in paths.items() if p.exists()}


def store(results, rec):
    """Write a finished trial's record into ``results`` and remove its checkpoint."""
    write_record(record_path(results, rec["experiment"], rec["trial"]), rec)
    checkpoint_path(results, rec["experiment"], rec["trial"]).unlink(missing_ok=True)


def run_trials(experiment, trials=None, *, scale="paper", results=None, seed=0,
               scheduler=None, workers=None, lanes=lanes.LANES, progress=True):
    """Run trials 0..trials-1 of an experiment that have no record yet; return all records.

    ``progress``: True, a progress bar of this experiment's trials; False, none; a function,
    no bar but ``progress(record)`` with each record as it is written (for one bar over many
    experiments, as ``make reproduce`` keeps).

    Records go to ``results`` (default ``results/<scale>`` under the current directory, never
    the committed ``data/results`` unless it is named). Local processes by default
    (``workers``, default all cores); a Dask cluster when ``scheduler`` (or the
    LSTM97_SCHEDULER variable) gives its address. Each process trains up to ``lanes`` trials at
    once in the lane engine (``run_lanes``); a record is written as soon as its trial ends.
    Local runs keep each running trial's checkpoint (``checkpoint_path``) in ``results`` and
    resume from it; trials on a Dask cluster, whose workers may not share the disk, keep none.
    """
    results = Path("results") / scale if results is None else results
    exp = get(experiment) if isinstance(experiment, str) else experiment
    check_scale(scale)
    if trials is None:
        trials = trial_count(exp, scale)
    _check_counts(trials, lanes, workers)
    scheduler = scheduler or os.environ.get("LSTM97_SCHEDULER") or None
    records = recorded(exp, trials, scale, results)     # read everything first: fail before training
    for t in records:                             # left if a run stopped between record and cleanup
        checkpoint_path(results, exp.id, t).unlink(missing_ok=True)
    todo = [(exp.id, t, seed, scale) for t in range(trials) if t not in records]
    if todo:
        bar, hear = None, progress if callable(progress) else None
        if progress and hear is None:
            bar = _progress_bar()(total=trials, initial=trials - len(todo), desc=exp.id, unit="trial")
        t0, seqs, shown = time.perf_counter(), 0, 0.0
        running, budget = {}, scaled(exp, scale).budget     # trial -> sequences trained so far

        def show():
            nonlocal shown
            post = dict(solved=sum(r["success"] for r in records.values()))
            if seqs:
                post["seq_per_s"] = f"{seqs / (time.perf_counter() - t0):,.0f}"
            if running:
                lo, hi = min(running.values()), max(running.values())
                post["running"] = (f"{len(running)} at {lo:,}" + (f"-{hi:,}" if hi > lo else "")
                                   + f" of {budget:,} sequences")
            bar.set_postfix(post)
            shown = time.perf_counter()

        def finished(rec):
            nonlocal seqs
            if isinstance(rec, Progress):         # a worker's running trials, not a record
                running.update({t: n for t, n in rec.running.items() if t not in records})
                if bar and time.perf_counter() - shown >= PROGRESS_EVERY:
                    show()
                return
            store(results, rec)
            records[rec["trial"]] = rec
            running.pop(rec["trial"], None)
            seqs += rec["sequences_trained"]
            if hear:
                hear(rec)
            if bar:
                show()
                bar.update(1)

        try:
            trials_left = [job[1] for job in todo]
            n_workers = min(workers or os.cpu_count() or 1, len(todo))
            if scheduler:
                run_dask(scheduler, exp.id, seed, scale, trials_left, finished, lanes)
            elif n_workers == 1:
                run_lanes(exp.id, lambda: trials_left.pop(0) if trials_left else None, finished, seed, scale,
                          lanes, checkpoints=results, progress=lambda t, n: finished(Progress({t: n})))
            else:
                run_pool(n_workers, exp.id, seed, scale, trials_left, finished, lanes, results)
        finally:
            if bar:
                bar.close()
    return [records[t] for t in sorted(records)]


def records(experiment, scale="paper", *, results=None, trials=None, plan=None, train=False, seed=0,
            scheduler=None, progress=True):
    """An experiment's records in ``results`` (an id or an Experiment), by trial order: every
    record there, checked like ``run_trials`` checks them. With ``train``, trials 0..n-1 that
    have no record yet are trained first (``run_trials``), n = ``trials``, else
    ``trial_count(experiment, scale, plan)``: the paper's count, or the count of a study's
    ``plan`` that runs the experiment as one of its pairs, fewer at smoke scale. Without
    ``train`` nothing is trained, whatever records are missing.

    ``results`` defaults to ``results/<scale>`` under the current directory, as for run_trials;
    ``scheduler``: a Dask scheduler address ('' or None: local processes)."""
    results = Path("results") / scale if results is None else results
    exp = get(experiment) if isinstance(experiment, str) else experiment
    check_scale(scale)
    if train:
        n = trial_count(exp, scale, plan) if trials is None else trials
        run_trials(exp, n, scale=scale, results=results, seed=seed, scheduler=scheduler or None,
                   progress=progress)
    return load_records(results, exp, scale)
