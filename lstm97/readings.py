"""Readings: other ways to read the paper's set-up, each a named change to an experiment.

Where a main row misses the paper, the gap may be the paper's or ours. Each reading below is
one plausible reading of a point the paper leaves open or states inconsistently, with the
evidence for it. ``apply(exp, "full+step")`` gives the labelled comparison
``<id>+full+step``; main rows stay the literal 1997 set-up.

A reading's trials share the main run's seeds trial by trial (``Experiment.seed_id``): trial
i starts from the same initial weights and sees the same training data as main trial i, so
every reading is a paired comparison. (The three older comparisons ``+step``, ``+multihot``
and ``+long`` predate this and draw seeds of their own.)

``PLAN`` is the pre-registered study: every (row, reading) pair that is run, with
its trial count, fixed before any of its trials ran. Every pair is reported, whether it helps
or not. ``SAME_AS_MAIN`` lists pairs that are the main run itself, with the reason. The study's
records are read by ``study.py``.
"""
from dataclasses import dataclass, replace

from . import paper
from .ablations import ABLATIONS

# Table 10's legend, read literally (docs/paper.md §6.1): the names in the table's h and g
# columns mean these ranges, where the text says h in [-1,1] and g in [-2,2].
LEGEND_H = {"h1": "legend", "id": "identity"}        # h1: sigmoid in [-2,2]
LEGEND_G = {"g2": "legend", "g1": "logistic"}        # g2: sigmoid in [-1,1]; g1: in [0,1]


@dataclass(frozen=True)
class Reading:
    name: str
    what: str          # the change, in words
    evidence: str      # why it is a plausible reading of the paper
    contradicts: str   # what in the paper it contradicts ('' if nothing)
    change: object     # Experiment -> Experiment


def _net(**kw):
    return lambda e: replace(e, net={**e.net, **kw})


def _legend(e):
    row = paper.TABLE10[e.condition]
    return replace(e, net={**e.net, "h": LEGEND_H[row["h"]], "g": LEGEND_G[row["g"]]})


def _gate_bias(e):
    if e.net["bias"] != "none":
        raise ValueError(f"{e.id}: 'gate-bias' is for set-ups without biases (2c); "
                         f"this one has bias={e.net['bias']!r}")
    blocks = e.net["blocks"]
    return replace(e, net={**e.net, "bias": "input", "input_gate_bias": [-(j + 1.0) for j in range(blocks)]})


READINGS = {r.name: r for r in (
    Reading("full", "the untruncated gradient of the same net (BPTT through the whole sequence; "
            "exact online RTRL with per-step updates), same online SGD, same update timing",
            "the paper's own claim: 'a few non-truncated runs showed no significant difference' "
            "(docs/paper.md §5.6)", "", lambda e: replace(e, gradient="full")),
    Reading("step", "weights change after every step with a target, not once per sequence",
            "'on-line learning' with the total update the sum over time steps (docs/paper.md §6.3)",
            "", lambda e: replace(e, update="step")),
    Reading("cells-from-inputs", "the cells' net input comes from the inputs (and the bias, "
            "where the topology has one) only; gates stay fully recurrent",
            "a screening: Table 3's counts are matched (docs/paper.md §7.4, §7.6)",
            "Table 10's weight counts, which need recurrent connections into the cells",
            _net(cell_sources="inputs")),
    Reading("no-recurrence", "neither gates nor cells see recurrent sources (inputs and bias only)",
            "chosen beside cells-from-inputs after its screening (docs/paper.md §7.4, §7.6); "
            "it removes the gates' recurrent sources too",
            "Table 10's weight counts and the text's 'fully recurrent' hidden layer",
            _net(recurrent=False)),
    Reading("legend", "h and g with Table 10's legend ranges: h1 in [-2,2], g2 in [-1,1] "
            "(g1 in [0,1] and h = id unchanged)",
            "Table 10's legend, as printed in every transcription (docs/paper.md §6.1)",
            "the main text and Appendix eqs. 4-5 (h in [-1,1], g in [-2,2])", _legend),
    Reading("reset-half", "every recurrent activation (y_c, y_in, y_out) restarts at 0.5 at a "
            "sequence start; the state s at 0",
            "the JKU LSTM simulator resets activations to 0.5 (docs/paper.md §7.1)",
            "the text: activations are reset to zero", _net(reset=0.5)),
    Reading("gate-bias", "input gates get a trainable bias weight starting at -1, -2 (block 1, 2)",
            "the paper's own drift remedy, negative input-gate biases (docs/paper.md §5.3)",
            "2c's 'no bias weights' (docs/paper.md §4.2)", _gate_bias),
)}


def split(experiment_id):
    """'2c-5+cells-from-inputs+full' -> ('2c-5', ['cells-from-inputs', 'full'])."""
    base, *names = experiment_id.split("+")
    return base, names


def apply(exp, names):
    """``exp`` under the readings ``names`` (a list, or one string 'a+b'), or under the cell
    variants of lstm97/ablations.py, as a labelled comparison with the main run's seeds.
    ValueError naming an unknown name."""
    if isinstance(names, str):
        names = names.split("+")
    out = exp
    for n in names:
        if n in READINGS:
            out = READINGS[n].change(out)
        elif n in ABLATIONS:
            out = ABLATIONS[n].change(out)
        else:
            raise ValueError(f"unknown reading {n!r}; readings: {', '.join(READINGS)}; "
                             f"cell variants: {', '.join(ABLATIONS)}")
    return replace(out, id="+".join([exp.id, *names]), seed_id=exp.id)


EXP1 = [f"1-{i}" for i in range(1, 6)]
TWO_C = [f"2c-{i}" for i in range(1, 10)]
CONTROLS = ["3a-T100-N3", "4-1", "6a"]

# The pre-registered plan: (experiment id, trials). Exp 1 stands on 60 trials, the paper's 30
# plus a second seed set (trials 30-59), main rows included; every other pair has the paper's
# trial count. Budgets are the main runs'. Cheap pairs come first, so that a run that ends
# early leaves whole pairs, not a little of everything.
PLAN = (
    [(f"{r}+{x}", 20) for x in ("cells-from-inputs", "no-recurrence") for r in TWO_C]
    + [(f"{r}+{x}", n) for r, n in zip(CONTROLS, (10, 10, 20)) for x in ("cells-from-inputs", "full")]
    + [(r, 60) for r in EXP1]
    + [(f"{r}+{x}", 60) for x in ("legend+step", "full", "full+step") for r in EXP1]
    + [(f"2c-2+{x}", 20) for x in ("gate-bias", "legend", "reset-half", "full")]
    + [(f"2c-5+{x}", 20) for x in ("gate-bias", "legend", "reset-half")]
)

# Pairs of the plan's list that are the main run itself, so they are not run again.
SAME_AS_MAIN = {
    "2a+full": "2a/2b have no recurrent connections into gates or cells, so nothing is truncated: "
               "the truncated gradient is the full one (tests/test_fullgrad.py checks it to 1e-12)",
    "2b+full": "as 2a+full",
    "2a+legend": "Table 10 gives 2a h = id and g = g1, which mean the same in its legend as in the text",
    "2b+legend": "as 2a+legend",
}
