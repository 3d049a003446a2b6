"""Trial records on disk: the scales, the configuration fingerprint, one record schema, the
names of the learners that make records, paths, atomic writes, checkpoints, loading.

A record is a JSON file ``<results>/<experiment id>/trial_NNN.json``; its ``config`` is the
fingerprint of the experiment at its scale, so a record is only ever read for the configuration
that made it. A running trial keeps a checkpoint (a pickle) beside its record.
"""
import hashlib
import json
import os
import pickle
import platform
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numba
import numpy as np

from .experiments import get

SCALES = ("paper", "smoke")
# smoke: the whole pipeline in seconds, no success expected. ``trials``: at most this many trials
# of an experiment run alone (a main row, a comparison, a competitor); ``pair_trials``: of each run
# of a study's plan (the readings, the cell parts), whose pairs are many.
SMOKE = dict(budget=2000, test_size=256, trials=2, pair_trials=1)
MAX_CURVE = 400             # points of a record's learning curve

# the learners, by the name records give them ("engine"); learners.py maps each name to its
# code. Records keep the name of the learner that made them, and a record is retrained with
# that learner (tests/test_records.py).
ENGINE = "lstm97.engine: truncated gradient, eqs. 19-28"
LANES = "lstm97.lanes: truncated gradient, eqs. 19-28, trials in SIMD lanes, exp_poly"
FULL = "lstm97.fullgrad: full gradient, BPTT / exact online RTRL"
# the competitors (experiments.BASELINES), on rnn.RNN nets
RTRL = "lstm97.rtrl: real-time recurrent learning"
BPTT = "lstm97.bptt: backpropagation through time per sequence"
ELMAN = "lstm97.elman: Elman's procedure, backprop truncated after one step"
GUESS = "lstm97.guessing: random weight guessing in [-100, 100]"
# RTRL and BPTT with the readout's σ by exp_poly (vectorised; within 1 ulp of libm's exp, so
# not the bits of RTRL/BPTT): the default since the long 2a runs at p = 10 and 100 (1.4-1.6x
# faster there); the 2a rows at p = 4 were recorded with RTRL. Table 1's nets have no readout
# (their outputs are recurrent units): there the two compute the same.
RTRL_POLY = "lstm97.rtrl: real-time recurrent learning, readout σ with exp_poly"
BPTT_POLY = "lstm97.bptt: backpropagation through time per sequence, readout σ with exp_poly"


class RecordError(Exception):
    """A results file that cannot be used (corrupt, or from another configuration)."""


def check_scale(scale):
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")


def scaled(exp, scale):
    check_scale(scale)
    if scale == "smoke":
        return replace(exp, budget=min(exp.budget, SMOKE["budget"]), test_size=SMOKE["test_size"],
                       check_every=min(exp.check_every, 500) if exp.check_every else 0)
    return exp


def trial_count(experiment, scale="paper", plan=None):
    """The trials an experiment runs unless told: the one rule, which the notebooks (through
    ``runner.records``), ``make reproduce``'s plan and the command line ask. ``plan``: a study's
    (id, trials) pairs, or a mapping, when the experiment runs as one of them.

    At paper scale the paper's count, ``Experiment.trials`` (Exp 1's main rows: 30, three
    training/test pairs x 10 trials, docs/paper.md §4.1), or the plan's count for an id of
    ``plan`` (the studies add a second seed set to Exp 1's main rows). At smoke scale at most
    ``SMOKE["trials"]``, and ``SMOKE["pair_trials"]`` for an id of ``plan``."""
    check_scale(scale)
    exp = get(experiment) if isinstance(experiment, str) else experiment
    planned = dict(plan or ()).get(exp.id)
    if planned is not None:
        return planned if scale == "paper" else min(planned, SMOKE["pair_trials"])
    return exp.trials if scale == "paper" else min(exp.trials, SMOKE["trials"])


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


def versions():
    """What a record was made with."""
    return dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__)


def keep_weights(exp, trial):
    """Records store trained weights (for looking inside nets): every trial of a net with at
    most 1,000 weights, the first three trials of bigger nets."""
    return trial < 3 or exp.n_weights <= 1000


def thin_curve(curve):
    """A learning curve halved (every other point, the last kept) until at most MAX_CURVE points."""
    while len(curve) > MAX_CURVE:
        curve = curve[::2] if len(curve) % 2 else curve[::2] + [curve[-1]]
    return curve


def make_record(exp, trial, seed, scale, *, stopped, reason, final, stages, tests, net, keep,
                engine, wall_time, sequences_trained, steps, curve, cell_added_at=None, guesses=None,
                sequences_evaluated=None):
    """The one record schema: a finished trial as a JSON-able dict. ``exp`` is the scaled
    Experiment; ``final``: the stage whose sequence count is the trial's "sequences" (success
    after); ``keep``: store the net's weights. A guessing trial gives ``guesses`` and
    ``sequences_evaluated``: its "sequences" and stages then count guesses."""
    record = dict(experiment=exp.id, trial=trial, seed=seed, scale=scale, config=fingerprint(exp, scale),
                  success=stopped == "solved", stopped=stopped, reason=reason,
                  sequences=stages.get(final) if stopped == "solved" else None)
    if guesses is not None:
        record.update(unit="guesses", guesses=guesses)
    record.update(stages=stages, test=tests, sequences_trained=sequences_trained)
    if sequences_evaluated is not None:
        record["sequences_evaluated"] = sequences_evaluated
    record.update(steps=steps, curve=curve, cell_added_at=cell_added_at, wall_time=wall_time,
                  engine=engine, versions=versions())
    if keep:
        record["weights"] = {k: w.tolist() for k, w in net.weights.items()}
    return record


def record_path(results, experiment_id, trial):
    return Path(results) / experiment_id / f"trial_{trial:03d}.json"


def checkpoint_path(results, experiment_id, trial):
    """Where a running trial keeps its state (git-ignored; deleted once its record is written)."""
    return Path(results) / experiment_id / f"trial_{trial:03d}.checkpoint"


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: a temporary file beside it, then a rename
    into place. A write that fails leaves the old file as it was and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(path, key, state):
    """A pickle of (key, state), written atomically."""
    write_atomic(path, pickle.dumps((key, state), protocol=pickle.HIGHEST_PROTOCOL))


def load_checkpoint(path, key):
    """The state saved in ``path`` if it is from the trial ``key`` describes (same experiment,
    trial, seed, scale, configuration, engine, library versions and package sources), else
    None: the trial then starts over and says why on stderr. The file is left alone until the
    trial saves anew."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved_key, state = pickle.loads(path.read_bytes())
    except Exception as e:                        # truncated or foreign file: only time is lost
        print(f"checkpoint {path} is unreadable ({type(e).__name__}: {e}); trial starts over",
              file=sys.stderr)
        return None
    if saved_key != key:
        diff = ", ".join(k for k in key if saved_key.get(k) != key[k]) if isinstance(saved_key, dict) else "all"
        print(f"checkpoint {path} is from another run (differs in: {diff}); trial starts over",
              file=sys.stderr)
        return None
    return state


def check_writable(folder):
    """ValueError in one line naming ``folder`` and the reason unless records can be written
    there: the folder is created if missing, and a temporary file written in it; what this
    created is removed again. Called before any training, so a run fails at once, not after
    its first trial."""
    folder = Path(folder).absolute()
    made = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"cannot write records to {folder}: {e.strerror or e}") from None
    finally:
        for p in made:                            # the deepest first
            try:
                p.rmdir()
            except OSError:
                pass


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
    """The record as JSON, written atomically."""
    write_atomic(path, json.dumps(record, indent=1).encode())


def load_records(results, experiment, scale="paper"):
    """All finished records of an experiment (an id or an Experiment), by trial order (checked
    like run_trials does)."""
    exp = get(experiment) if isinstance(experiment, str) else experiment
    folder = Path(results) / exp.id
    return [load_record(p, exp, scale) for p in sorted(folder.glob("trial_*.json"))]
