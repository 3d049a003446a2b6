"""One configuration per condition the paper reports (Table 10, Table 11 and Section 5).

Each :class:`Experiment` carries the net of its Table-10 row, its learning rate, the
paper's trial count, the stopping/success criterion of Table 11 and the text, and a
sequence budget. Where the paper is silent, the choice follows docs/paper.md §6 and is listed in
``CHOICES`` so that notebooks and the CLI can show it. ``COMPARISONS`` declares the labelled
comparison rows (``+step``, ``+multihot``, ``+long``) and the main runs each applies to.
docs/experiments.md lists every condition's settings (written by ``python -m lstm97 readme``).
"""
from dataclasses import dataclass, replace

from . import paper, readings
from .ablations import PLAN as ABLATION_PLAN
from .nets import make_net
from .tasks import (Adding, EmbeddedReber, Multiplication, NoiseFree, NoLocalRegularities,
                    TemporalOrder, TwoSequence, VeryLongLag)


@dataclass(frozen=True)
class Experiment:
    """A paper condition.

    criterion  "reber"   every symbol of the training and test set predicted (docs/paper.md §4.1);
               "window"  ``window`` successive training sequences with max |error| < ``abs``
                         (at every step if ``all_steps``, else at the sequence end) (2a-2c);
               "st12"    ST1 then ST2 on fresh ``check_size``-sequence test sets (Exp 3);
               "st3"     mean end-of-sequence training error over the last ``window``
                         sequences < ``beta`` and all of them correct (|error| < ``abs``) (4, 6);
               "nseq"    fewer than n of the last ``window`` training sequences wrong, measured
                         at every n in ``nseq`` (Exp 5).
    """

    id: str
    condition: str          # Table-10 row
    rows: tuple             # ids of lstm97.paper.RESULTS compared with this experiment
    task: tuple             # (task class name, args)
    net: dict               # keyword arguments of LSTM97
    lr: float
    trials: int
    criterion: str
    budget: int             # training sequences before a trial is stopped as failed
    abs: float = 0.0
    beta: float = 0.0
    window: int = 0
    all_steps: bool = False
    st1_wrong: int = 0      # ST1: fewer than st1_wrong+1 misclassified (0 for 3a, 5 for 3b)
    st2_mean: float = 0.0   # ST2: mean absolute test error below this
    check_every: int = 0    # test-set checks (Exp 1, 3), in training sequences
    check_size: int = 256
    test_size: int = 2560
    nseq: tuple = ()
    update: str = "sequence"
    grow: bool = False      # 2a/2b: add the cell once the error stops decreasing (docs/paper.md §6.7)
    gradient: str = "truncated"   # "full": the untruncated gradient (reading 'full', fullgrad.py);
    #                               a competitor's learner: "rtrl", "bptt", "elman", "guess" (BASELINES)
    seed_id: str = ""       # the id whose seeds the trials use ('' = this id; readings: the main run's)

    def make_task(self, trial=0):
        name, args = self.task
        if name == "EmbeddedReber":
            return EmbeddedReber.from_pair(trial % 3, *args)  # 3 pairs x 10 trials (docs/paper.md §4.1)
        return TASKS[name](*args)

    @property
    def variant(self):
        """The labelled comparison this experiment is (a key of VARIANTS, or readings joined
        by '+'), '' for the main run."""
        return self.id.partition("+")[2]

    @property
    def base(self):
        """The id of the main run this is a comparison to (its own id for a main run)."""
        return self.id.partition("+")[0]

    @property
    def is_baseline(self):
        """A competitor of LSTM (BASELINES): its net is an rnn.RNN, not an LSTM97."""
        return self.gradient in BASELINE_LEARNERS

    @property
    def n_weights(self):
        if self.is_baseline:
            return make_net(self).n_weights
        return paper.TABLE10[self.condition]["weights"]

    @property
    def paper_row(self):
        """The paper's row this is compared with (None for guessing: the paper gives no numbers)."""
        return paper.result(self.rows[0]) if self.rows else None


TASKS = {c.__name__: c for c in (Adding, Multiplication, NoiseFree, NoLocalRegularities,
                                 TemporalOrder, TwoSequence, VeryLongLag)}


def _table10_net(condition, n_in, n_out, **extra):
    """LSTM97 keyword arguments of a Table-10 row (docs/paper.md §1.5, §3)."""
    row = paper.TABLE10[condition]
    bias = {"ga": "gates", "none": "none", "b1": "hidden", "all": "all"}[row["bias"]]
    gate = lambda v: list(v) if isinstance(v, tuple) else None        # "r" and None: random / absent
    net = dict(n_in=n_in, n_out=n_out, blocks=row["blocks"], block_size=row["block_size"],
               bias=bias, init=0.2 if condition[0] in "12" else 0.1,
               input_gate_bias=gate(row["input_gate_bias"]), output_gate_bias=gate(row["output_gate_bias"]))
    net.update(extra)
    return net


def _budget(row_id, factor=5):
    """Our choice (the paper gives none outside Exp 2): 5x the paper's mean, at least 100,000."""
    return max(100_000, int(factor * paper.row(row_id)["mean_sequences"]))


EXP1 = ("1-1", "1-2", "1-3", "1-4", "1-5")
TWO_C = ("2c-1", "2c-2", "2c-3", "2c-4", "2c-5", "2c-6", "2c-7", "2c-8", "2c-9")
# Exp 3's rows (Tables 4-6), each with its condition of Table 10; T=1000 uses the T=100 settings.
EXP3 = ("3a-T100-N3", "3a-T100-N1", "3a-T1000-N3", "3b-T100-N3", "3b-T100-N1", "3b-T1000-N1",
        "3c-T100-N3", "3c-T100-N1")
# Exp 3's ST1/ST2 bounds and ABS per condition (docs/paper.md §4.3).
ST12 = {"3a": dict(st1_wrong=0, st2_mean=0.01, abs=0.2),
        "3b": dict(st1_wrong=5, st2_mean=0.04, abs=0.2),
        "3c": dict(st1_wrong=0, st2_mean=0.015, abs=0.1)}


def _main_runs():
    """The main run of every condition: the literal 1997 set-up, in the paper's order."""
    ex = []
    for c in EXP1:                       # Table 1: embedded Reber grammar
        ex.append(Experiment(
            id=c, condition=c, rows=(c,), task=("EmbeddedReber", ()),
            net=_table10_net(c, n_in=7, n_out=7), lr=paper.TABLE10[c]["lr"], trials=30,
            criterion="reber", budget=_budget(c), check_every=256))
    for c, task in (("2a", "NoiseFree"), ("2b", "NoLocalRegularities")):   # Table 2, Section 5.2
        ex.append(Experiment(
            id=c, condition=c, rows=(c,), task=(task, (100,)),
            net=_table10_net(c, n_in=101, n_out=101, output_gates=False, recurrent=False,
                             shortcuts=True, g="logistic", h="identity"),
            lr=1.0, trials=18, criterion="window", budget=5_000_000, abs=0.25, window=10_000,
            all_steps=c == "2a", grow=True, test_size=0))
    for c in TWO_C:                      # Table 3: very long lags
        p, q = paper.row(c)["p"], paper.row(c)["q"]
        ex.append(Experiment(
            id=c, condition=c, rows=(c,), task=("VeryLongLag", (p, q)),
            net=_table10_net(c, n_in=p + 4, n_out=2), lr=0.01, trials=20,
            criterion="window", budget=5_000_000, abs=0.2, window=10_000, test_size=0))
    for r in EXP3:                       # Tables 4-6: noise and signal on one channel
        c, T, N = paper.row(r)["condition"], paper.row(r)["T"], paper.row(r)["N"]
        ex.append(Experiment(
            id=r, condition=c, rows=(r,), task=("TwoSequence", (T, N, c)),
            net=_table10_net(c, n_in=1, n_out=1), lr=paper.TABLE10[c]["lr"], trials=10,
            criterion="st12", budget=_budget(r), check_every=1000, **ST12[c]))
    for c, T in (("4-1", 100), ("4-2", 500), ("4-3", 1000)):   # Table 7: adding
        ex.append(Experiment(
            id=c, condition=c, rows=(c,), task=("Adding", (T,)),
            net=_table10_net(c, n_in=2, n_out=1), lr=0.5, trials=10,
            criterion="st3", budget=_budget(c), abs=0.04, beta=0.01, window=2000))
    ex.append(Experiment(                # Table 8: multiplication, both n_seq columns
        id="5", condition="5", rows=("5-140", "5-13"), task=("Multiplication", (100,)),
        net=_table10_net("5", n_in=2, n_out=1), lr=0.1, trials=10,
        criterion="nseq", budget=_budget("5-13"), abs=0.04, window=2000, nseq=(140, 13)))
    for c, n, trials in (("6a", 2, 20), ("6b", 3, 10)):         # Table 9: temporal order
        ex.append(Experiment(
            id=c, condition=c, rows=(c,), task=("TemporalOrder", (n,)),
            net=_table10_net(c, n_in=8, n_out=2 ** n), lr=paper.TABLE10[c]["lr"], trials=trials,
            criterion="st3", budget=_budget(c), abs=0.3, beta=0.1, window=2000))
    return ex


@dataclass(frozen=True)
class Comparison:
    """A labelled comparison: the main runs ``rows`` again with the fields ``change`` set, as
    ``<id>+<name>`` beside each (it draws seeds of its own)."""
    name: str
    what: str          # what differs from the main run, in words
    why: str
    rows: tuple        # the main runs it applies to
    change: dict       # Experiment fields -> values


LONG_BUDGET = 1_000_000
COMPARISONS = (
    Comparison(name="step", what="per-step updates",
               why="the one open point that changes the algorithm (docs/paper.md §6.3); only Exp 1, "
               "2a and 2b have errors before the sequence end, so only they could differ",
               rows=EXP1 + ("2a", "2b"), change=dict(update="step")),
    Comparison(name="multihot", what="multi-hot targets",
               why="the other reading of the Exp 1 targets: all legal next symbols (docs/paper.md §6.4)",
               rows=EXP1, change=dict(task=("EmbeddedReber", ("legal",)))),
    Comparison(name="long", what=f"budget {LONG_BUDGET:,} strings",
               why="the paper gives Exp 1 no training limit: a much longer one tells slow learning from none",
               rows=EXP1, change=dict(budget=LONG_BUDGET)),
)
# The labelled comparisons: Experiment.variant -> what differs from the main run.
VARIANTS = {c.name: c.what for c in COMPARISONS}


def _all():
    main = {e.id: e for e in _main_runs()}
    compared = [replace(main[r], id=f"{r}+{c.name}", **c.change) for c in COMPARISONS for r in c.rows]
    return {**main, **{e.id: e for e in compared}}


EXPERIMENTS = _all()


# --------------------------------------------------------------------------- competitors
BASELINE_LEARNERS = ("rtrl", "bptt", "elman", "guess")
GUESS_BUDGET = 1_000_000      # guesses per trial (our choice; the companion papers give none)
# The main runs random weight guessing is tried on, with the nets A1 and A2 (docs/paper.md §5.8).
GUESSED = ("3a-T100-N3", "3b-T100-N3", "3c-T100-N3", "4-1", "6a")


def _baselines():
    """The competitor rows of Tables 1 and 2, and random weight guessing (docs/paper.md §4.1,
    §4.2, §5.8, §6.17). Same tasks, criteria and trial counts as the LSTM rows they sit beside."""
    ex = []
    two_a = EXPERIMENTS["2a"]
    table2 = lambda p: dict(n_in=p + 1, n_out=p + 1, hidden=1, recurrence="self", shortcuts=True, init=0.2)
    common = dict(condition="2a", trials=18, criterion="window", budget=5_000_000, abs=0.25, window=10_000,
                  all_steps=True, test_size=0)
    for lr in (1.0, 4.0, 10.0):          # Table 2's RTRL rows at p=4, one per learning rate
        ex.append(Experiment(
            id=f"2a-rtrl-p4-lr{lr:g}", rows=(f"T2-RTRL-p4-lr{lr:g}",), task=("NoiseFree", (4,)),
            net=table2(4), lr=lr, update="step", gradient="rtrl", **common))
    for method, p in (("rtrl", 10), ("rtrl", 100), ("bptt", 100)):  # the paper: "1.0-10.0"
        for lr in (1.0, 4.0, 10.0):
            ex.append(Experiment(
                id=f"2a-{method}-p{p}-lr{lr:g}", rows=(f"T2-{method.upper()}-p{p}",),
                task=("NoiseFree", (p,)), net=table2(p), lr=lr,
                update="step" if method == "rtrl" else "sequence", gradient=method, **common))
    assert two_a.window == common["window"] and two_a.abs == common["abs"]
    reber = dict(condition="1", task=("EmbeddedReber", ()), trials=30, criterion="reber", check_every=256,
                 update="step")
    rtrl_net = lambda H: dict(n_in=7, n_out=7, hidden=H, outputs="recurrent", init=0.2)
    for H, lr, row in ((3, 0.05, "T1-RTRL-3"), (12, 0.1, "T1-RTRL-12")):
        ex.append(Experiment(
            id=f"1-rtrl{H}", rows=(row,), net=rtrl_net(H), lr=lr,
            budget=max(100_000, 5 * paper.COMPETITOR_ROWS[row]["success_after"]), gradient="rtrl", **reber))
    ex.append(Experiment(
        id="1-elm15", rows=("T1-ELM",), net=dict(n_in=7, n_out=7, hidden=15, init=0.2), lr=0.1,
        budget=1_000_000, gradient="elman", **reber))
    for lstm_id in GUESSED:
        e = EXPERIMENTS[lstm_id]
        for arch, n in (("A1", 1), ("A2", 10)):
            ex.append(replace(e, id=f"{lstm_id}-guess-{arch}", rows=(), lr=0.0, budget=GUESS_BUDGET,
                              gradient="guess", check_every=0, update="sequence",
                              net=dict(arch=arch, n_in=e.net["n_in"], n_out=e.net["n_out"], hidden=n)))
    return {e.id: e for e in ex}


BASELINES = _baselines()

# Points the paper leaves open (docs/paper.md §6), as chosen here; notebooks print them.
CHOICES = {
    "update": "Weights change once per sequence, by the sum of that sequence's Δw (docs/paper.md §6.3). "
              "Only Exp 1, 2a and 2b have errors before the end, so only they could differ.",
    "budget": "Training stops as a failure after 5x the paper's mean number of sequences "
              "(at least 100,000); Exp 2 uses the paper's own limit of 5 million.",
    "reber targets": "One-hot of the actual next symbol, squared error (docs/paper.md §6.4). The multi-hot of "
                     "all legal next symbols runs as the labelled comparison '+multihot'.",
    "reber checks": "The all-correct test on training and test set runs every 256 presentations; "
                    "'success after' is the presentation count at the first passing check.",
    "reber pairs": "Trial i uses training/test pair i mod 3 (data/reber).",
    "2a/2b growth": "The cell and its input gate are added once the error stops decreasing: mean "
                    "error over a window of 2,000 sequences no lower than 99% of the previous window "
                    "(docs/paper.md §6.7). Counts include the sequences before the cell was added.",
    "window criteria": "Learning continues during the 10,000-sequence window; success is counted at "
                       "the start of the first window in which every sequence met ABS (docs/paper.md §6.8). "
                       "That window is Exp 2's test set; no further test set is drawn.",
    "st1/st2 checks": "ST1/ST2 are checked every 1,000 training sequences on a freshly drawn "
                      "256-sequence test set (docs/paper.md §6.11); the count is that of the first passing check.",
    "st3 error": "'Average training error' is the mean over the 2,000 most recent sequences of the "
                 "end-of-sequence E = sum_k (d_k - y_k)^2 (docs/paper.md §6.13).",
    "initial ranges": "Exp 1 input-gate biases are random in [-0.2, 0.2] like every other Exp 1 "
                      "weight (docs/paper.md §6.5); Exp 1 4-block nets use output-gate biases -1..-4 (docs/paper.md §6.6).",
}


# The competitors' open points, apart from CHOICES until their notebooks show them.
BASELINE_CHOICES = {
    "competitors": "Competitor rows use the LSTM row's task, criterion, checks and trial "
                   "count. Nets: rnn.py (Table 1's RTRL nets are Williams & Zipser nets whose 7 outputs "
                   "are recurrent units, no bias: 170/494 weights; ELM is Elman's 7-15-7 net, no bias: "
                   "435; Table 2's is one self-recurrent unit and p+1 outputs: 36/144/10404), all weights "
                   "in [-0.2, 0.2], logistic units, activations reset to 0 per sequence. Error and "
                   "learning rate as for LSTM (E = sum (d-y)^2, e = f'(d-y), dw = lr e y). RTRL and "
                   "Elman's procedure update after every step with a target (online); BPTT is "
                   "untruncated, once per sequence. Table 2's p=10/100 rows ('1.0-10.0') run at 1, 4 "
                   "and 10. Budgets: 5 million sequences (Table 2); Table 1 as for LSTM, 5x the row's "
                   "'success after', at least 100,000 (ELM: 5x its 200,000). ELM's learning rate, "
                   "not in Table 1, is 0.1.",
    "guessing": "Random weight guessing (guessing.py): weights in [-100, 100], A1 (n=1) and A2 (n=10), "
                f"at most {GUESS_BUDGET:,} guesses per trial; a guess must pass the LSTM row's own "
                "stopping test on fresh sequences (ST1+ST2 on 256; ST3 on a 2000-sequence window).",
}


def get(experiment_id):
    """The Experiment with this id: a main run, one of VARIANTS, or a main run under readings
    ('2c-5+cells-from-inputs', '1-5+full+step'; see readings.py). ValueError naming the
    valid ids otherwise."""
    if experiment_id in EXPERIMENTS:
        return EXPERIMENTS[experiment_id]
    if experiment_id in BASELINES:
        return BASELINES[experiment_id]
    base, names = readings.split(str(experiment_id))
    if base in EXPERIMENTS and "+" not in base and names:
        exp = readings.apply(EXPERIMENTS[base], names)
        trials = dict(readings.PLAN).get(exp.id) or dict(ABLATION_PLAN).get(exp.id)
        return replace(exp, trials=trials) if trials else exp
    raise ValueError(f"unknown experiment {experiment_id!r}; valid: {', '.join(EXPERIMENTS)}, "
                     f"or a main run followed by readings, e.g. 1-5+full "
                     f"(readings: {', '.join(readings.READINGS)})")
