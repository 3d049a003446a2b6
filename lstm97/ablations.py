"""What each part of the memory cell does: cell variants as data, and the pre-registered plan.

The paper rests on claims about the parts of its memory cell (docs/paper.md §5.2, §5.3): the
constant error carousel alone fails through input and output weight conflicts; the input gate
protects the stored value from irrelevant inputs; the output gate protects other units from it
("we did not get fast learning without output gates", Exp 1); blocks of cells that share their
gates store more efficiently; a negative initial input-gate bias prevents internal state drift and
"requires no fine-tuning"; negative output-gate biases solve the "abuse problem". Each variant
below changes one part of a main row's set-up to test one claim, as a labelled comparison beside
the main row (``ROW+VARIANT``, e.g. ``6a+no-input-gate``), never in its place. The forget gate is
the later cell of Gers, Schmidhuber & Cummins 2000, "Learning to forget", not the paper's.

A variant's trial i uses the main run's seeds for trial i, as the readings do; where the variant
changes the net's shape (more gates, forget-gate weights) the initial weights drawn from that seed
differ. ``PLAN`` is the study, fixed before any of its trials ran: every (row, variant) pair with
its trial count, the main row's (Exp 1: 60, as in the readings study), and the main row's budget.
Every pair is reported, whether it helps or not.
"""
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Ablation:
    name: str
    claim: str         # the key of CLAIMS this variant tests
    what: str          # the change, in words
    evidence: str      # the paper's sentence (or Gers et al. 2000) behind it
    change: object     # Experiment -> Experiment


CLAIMS = {
    "cec": "The constant error carousel alone does not work: input and output weight conflicts "
           "(docs/paper.md §5.2).",
    "input-gate": "The input gate protects the stored value from irrelevant inputs (docs/paper.md §5.2).",
    "output-gate": "The output gate protects other units from irrelevant memory contents; \"we did not "
                   "get fast learning without output gates\" (Exp 1; docs/paper.md §4.1, §5.3).",
    "blocks": "Blocks of cells that share their gates store information more efficiently "
              "(docs/paper.md §1.1).",
    "input-bias": "A negative initial input-gate bias prevents internal state drift and \"requires no "
                  "fine-tuning\"; the exact values \"hardly matter\" (Exps 3, 4, 6; docs/paper.md §3, §5.3).",
    "output-bias": "Negative initial output-gate biases solve the abuse problem (docs/paper.md §3, §5.3).",
    "forget": "Later evidence: the forget gate of Gers, Schmidhuber & Cummins 2000 lets a cell reset "
              "its state, the remedy history chose for drift. Not a claim of the 1997 paper.",
}


def _net(**kw):
    return lambda e: replace(e, net={**e.net, **kw})


def _scaled_input_bias(factor):
    def change(e):
        if e.net["input_gate_bias"] is None:
            raise ValueError(f"{e.id}: no input-gate biases to scale")
        return replace(e, net={**e.net, "input_gate_bias": [factor * b for b in e.net["input_gate_bias"]]})
    return change


def _same_input_bias(value):
    def change(e):
        if e.net["input_gate_bias"] is None:
            raise ValueError(f"{e.id}: no input-gate biases to replace")
        return replace(e, net={**e.net, "input_gate_bias": [value] * e.net["blocks"]})
    return change


def _blocks_of_one(e):
    """The same cells as blocks of 1: each cell gets its own gates, with its old block's gate
    biases (so the gates start as in the main run)."""
    S = e.net["block_size"]
    if S == 1:
        raise ValueError(f"{e.id}: its blocks already hold one cell each")
    per_cell = lambda v: None if v is None else [b for b in v for _ in range(S)]
    return replace(e, net={**e.net, "blocks": e.net["blocks"] * S, "block_size": 1,
                           "input_gate_bias": per_cell(e.net["input_gate_bias"]),
                           "output_gate_bias": per_cell(e.net["output_gate_bias"])})


def _forget(bias):
    return lambda e: replace(e, net={**e.net, "forget_gates": True,
                                     "forget_gate_bias": [bias] * e.net["blocks"]})


ABLATIONS = {a.name: a for a in (
    Ablation("naive-cec", "cec", "no input and no output gates: the CEC with g and h only",
             "Section 3.2: the naive constant error flow and its weight conflicts",
             _net(input_gates=False, output_gates=False, input_gate_bias=None, output_gate_bias=None)),
    Ablation("no-input-gate", "input-gate", "no input gates (y_in := 1)",
             "Section 3.2: the input gate is there to resolve the input weight conflict",
             _net(input_gates=False, input_gate_bias=None)),
    Ablation("no-output-gate", "output-gate", "no output gates (y_out := 1)",
             "Exp 1: 'we did not get fast learning without output gates'",
             _net(output_gates=False, output_gate_bias=None)),
    Ablation("blocks-of-1", "blocks", "the same cells as blocks of 1, each with its own gates",
             "Section 4: blocks of size S share gates and store more efficiently", _blocks_of_one),
    Ablation("in-bias-none", "input-bias", "input-gate biases random like every other weight",
             "the drift remedy: negative initial input-gate biases", _net(input_gate_bias=None)),
    Ablation("in-bias-half", "input-bias", "input-gate biases halved",
             "'the exact bias values hardly matter'", _scaled_input_bias(0.5)),
    Ablation("in-bias-double", "input-bias", "input-gate biases doubled",
             "'the exact bias values hardly matter'", _scaled_input_bias(2.0)),
    Ablation("in-bias-same", "input-bias", "one input-gate bias, -3, for every block",
             "'requires no fine-tuning'", _same_input_bias(-3.0)),
    Ablation("out-bias-none", "output-bias", "output-gate biases random like every other weight",
             "the abuse problem's remedy: negative initial output-gate biases", _net(output_gate_bias=None)),
    Ablation("forget", "forget", "forget gates (Gers et al. 2000), bias starting at 0",
             "Gers, Schmidhuber & Cummins 2000", _forget(0.0)),
    Ablation("forget-open", "forget", "forget gates (Gers et al. 2000), bias starting at +2 (open)",
             "Gers, Schmidhuber & Cummins 2000 start the forget gate open", _forget(2.0)),
)}

EXP1_TRIALS = 60          # Exp 1 stands on the paper's 30 trials plus a second seed set
GATE_ROWS = ["2c-1", "3a-T100-N3", "4-1", "6a", "1-5"]
BIAS_ROWS = ["3a-T100-N3", "4-1", "6a"]
FORGET_ROWS = ["1-1", "1-5", "3a-T100-N3", "4-1", "6a", "2c-2", "2c-5", "2c-9", "2a", "2b"]
TRIALS = {"1-1": EXP1_TRIALS, "1-5": EXP1_TRIALS, "2a": 18, "2b": 18, "2c-1": 20, "2c-2": 20, "2c-5": 20,
          "2c-9": 20, "3a-T100-N3": 10, "4-1": 10, "6a": 20}

# The pre-registered plan: (experiment id, trials), cheap pairs first, so that a run that stops
# early leaves whole pairs; the long 2c and 2a/2b forget-gate pairs come last.
PLAN = (
    [(f"{r}+{v}", TRIALS[r]) for v in ("naive-cec", "no-input-gate", "no-output-gate") for r in GATE_ROWS]
    + [(f"{r}+blocks-of-1", TRIALS[r]) for r in ("4-1", "6a")]
    + [(f"{r}+{v}", TRIALS[r]) for v in ("in-bias-none", "in-bias-half", "in-bias-double", "in-bias-same")
       for r in BIAS_ROWS]
    + [(f"{r}+out-bias-none", TRIALS[r]) for r in ("1-5", "3a-T100-N3")]
    + [(f"{r}+{v}", TRIALS[r]) for r in FORGET_ROWS for v in ("forget", "forget-open")]
)
# The main rows the plan compares with; Exp 1's at 60 trials as in the readings study.
MAIN = {r: TRIALS[r] for r in dict.fromkeys(p.split("+")[0] for p, _ in PLAN)}
# Every run of the study, (id, trials): the main rows, then the pairs (what notebook 09 trains).
RUNS = tuple(MAIN.items()) + tuple(PLAN)


# --------------------------------------------------------------------------- the decision rule
# Fixed with the plan, before the study's results are read: a variant differs from its main row
# in success when a two-sided Fisher exact test on (solved, failed) gives p < ALPHA, and in speed
# when both have at least MIN_SOLVED successes and the ratio of their means is outside
# [1/FACTOR, FACTOR] (the project's own factor-of-2 target).
ALPHA = 0.05
FACTOR = 2.0
MIN_SOLVED = 3


def fisher_p(a, n, b, m):
    """Two-sided Fisher exact test: p of a table at least as unlikely as (a of n solved) against
    (b of m solved), with the margins fixed (hypergeometric; no SciPy needed)."""
    from math import comb
    k, total = a + b, n + m
    prob = lambda x: comb(n, x) * comb(m, k - x) / comb(total, k)
    seen = prob(a)
    return min(1.0, sum(prob(x) for x in range(max(0, k - m), min(k, n) + 1) if prob(x) <= seen * (1 + 1e-9)))


def compare(main, variant):
    """'worse', 'better' or 'same': the variant's (solved, trials, mean) against the main row's."""
    (a, n, mean_a), (b, m, mean_b) = main, variant
    if fisher_p(a, n, b, m) < ALPHA:
        return "worse" if b / m < a / n else "better"
    if a >= MIN_SOLVED and b >= MIN_SOLVED and mean_a and mean_b:
        if mean_b > FACTOR * mean_a:
            return "worse"
        if mean_b < mean_a / FACTOR:
            return "better"
    return "same"


def judge(claim, outcomes):
    """A claim's verdict from its pairs' outcomes {pair id: 'worse'|'better'|'same'|None (pending)}:
    "supported", "contradicted" or "not decidable". A part the paper calls useful is supported when
    removing it makes some row worse and none better, contradicted when it makes no row worse (it
    made no difference, or only helped, where it should bite), else not decidable. For the input-gate
    biases, the paper's remedy is supported when removing it ('in-bias-none') makes some row worse,
    and "requires no fine-tuning" when no other value (half, double, one for all) makes any row worse;
    the claim is supported only if both hold, contradicted otherwise. Pending pairs make a claim not decidable. The forget gate
    is not the paper's: it is judged by the rows it rescues, not here."""
    if any(v is None for v in outcomes.values()):
        return "not decidable"
    if claim == "input-bias":
        none = [v for k, v in outcomes.items() if k.endswith("+in-bias-none")]
        other = [v for k, v in outcomes.items() if not k.endswith("+in-bias-none")]
        remedy, no_tuning = "worse" in none, "worse" not in other
        return "supported" if remedy and no_tuning else "contradicted"
    values = list(outcomes.values())
    if "worse" in values and "better" not in values:
        return "supported"
    if "worse" not in values:
        return "contradicted"
    return "not decidable"
