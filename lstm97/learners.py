"""The compiled learners, by the name records give them (``records.py``): each
``train_batch(net, batch, lr, update) -> (stats, diverged)``. A record is retrained with the
learner its "engine" names (tests/test_records.py)."""
from . import bptt, elman, engine, fullgrad, lanes, rtrl
from .records import BPTT, BPTT_POLY, ELMAN, ENGINE, FULL, GUESS, LANES, RTRL, RTRL_POLY

LEARNERS = {ENGINE: engine.train_batch,
            LANES: lambda net, batch, lr, update: lanes.train_batches([net], [batch], lr, update)[0],
            FULL: fullgrad.train_batch, RTRL: rtrl.train_batch, BPTT: bptt.train_batch,
            ELMAN: elman.train_batch,
            RTRL_POLY: lambda net, batch, lr, update: rtrl.train_batch(net, batch, lr, update, exp="poly"),
            BPTT_POLY: lambda net, batch, lr, update: bptt.train_batch(net, batch, lr, update, exp="poly")}
BY_GRADIENT = {"full": FULL, "rtrl": RTRL_POLY, "bptt": BPTT_POLY, "elman": ELMAN, "guess": GUESS}


def learner_of(exp, lane_engine=True):
    """The name of the learner that trains ``exp``: the one its ``gradient`` names (the full
    gradient, a competitor's), else the truncated gradient, in SIMD lanes by default."""
    if exp.gradient in BY_GRADIENT:
        return BY_GRADIENT[exp.gradient]
    return LANES if lane_engine else ENGINE
