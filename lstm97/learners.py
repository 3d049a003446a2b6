"""The compiled learners, by the name records give them (``records.py``): each
``train_batch(net, batch, lr, update) -> (stats, diverged)``. A record is retrained with the
learner its "engine" names (tests/test_records.py). ``LANE_KERNELS``: the learners that can
also train many trials at once, each lane bit for bit the learner alone."""
from dataclasses import dataclass

from . import bptt, elman, engine, fullgrad, fullgrad_lanes, lanes, rnn_lanes, rtrl
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


@dataclass(frozen=True)
class LaneKernel:
    """A kernel that trains many trials at once, one per lane, each bit for bit what its
    learner gives alone: ``train(nets, batches, lr, update)``; trials share a call if their
    nets have one ``key(net)`` (and one learning rate, update timing and inputs per step);
    ``supports(net)``, whether it trains that net at all. A group of at most ``solo`` trials
    costs less trained one by one with ``single`` (the same bits); a call costs about ``cost``
    single-trial steps per tick whatever the number of busy lanes (bench.py, 16 lanes)."""
    train: object
    key: object
    supports: object
    single: object
    solo: int
    cost: float


LANE_KERNELS = {
    # a pass of 16 lanes: 3.7-4.6 single-trial steps (lanes.SOLO)
    LANES: LaneKernel(lambda nets, batches, lr, update: lanes.train_batches(nets, batches, lr, update),
                      lanes.group_key, lambda net: True,
                      lambda net, batch, lr, update: engine.train_batch(net, batch, lr, update, exp="poly"),
                      lanes.SOLO, {8: 2.5, 16: 4.15, 32: 8.65}[lanes.LANES]),
    # Table 2's nets (rnn_lanes.supports): 16 lanes ran 1.8-1.9x the single-trial rate at p=100,
    # a pass costing about 8.4 single-trial steps, so a group of 8 or fewer goes one by one
    RTRL_POLY: LaneKernel(lambda nets, batches, lr, update: rnn_lanes.train_rtrl(nets, batches, lr, update, exp="poly"),
                          rnn_lanes.group_key, rnn_lanes.supports, LEARNERS[RTRL_POLY], 8, 8.4 * lanes.LANES / 16),
    BPTT_POLY: LaneKernel(lambda nets, batches, lr, update: rnn_lanes.train_bptt(nets, batches, lr, update, exp="poly"),
                          rnn_lanes.group_key, rnn_lanes.supports, LEARNERS[BPTT_POLY], 8, 8.4 * lanes.LANES / 16),
    # the full gradient (fullgrad_lanes.supports: no forget gates), both with libm's exp: on the
    # rows' nets 16 lanes ran 1.9-3.5x the single-trial rate, a pass costing 4.6-4.8 single-trial
    # steps on 3a, 4-1 and 6a, 6.0 on 2c-2 and 8.0-8.5 on Exp 1's Reber net (bench.py, two runs),
    # so a group of 4 or fewer goes one by one
    FULL: LaneKernel(lambda nets, batches, lr, update: fullgrad_lanes.train_full(nets, batches, lr, update),
                     fullgrad_lanes.group_key, fullgrad_lanes.supports, LEARNERS[FULL], 4, 6.5 * lanes.LANES / 16),
}
