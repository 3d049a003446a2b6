"""The numbers reported in Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", as plain data.

Everything here is copied from docs/paper.md (the project's description of the paper), which
copies the paper's tables exactly:

- ``TABLE10``      Table 10, conditions (Part I): one row per experimental condition.
- ``TABLE11``      Table 11, conditions (Part II): one row per task.
- ``RESULTS``      the LSTM rows of Tables 1-9 (Table 1: Exp 1; Table 2: 2a; the text of
                   Section 5.2: 2b; Table 3: 2c; Tables 4/5/6: 3a/3b/3c; Table 7: Exp 4;
                   Table 8: Exp 5; Table 9: 6a/6b), plus the extra figures the text gives.
- ``COMPETITORS``  the non-LSTM rows of Table 1 (RTRL, ELM, RCC) and Table 2 (RTRL, BPTT, CH).

Nothing is rounded or invented. Where the paper gives no number the value is None (commented).
Numbers with thousands separators in the paper ("39,740") are plain ints here (39740); strings
are kept only where the paper prints a string ("some fraction", "> 5,000,000").
"""

# --------------------------------------------------------------------------------------------
# Table 10 (Part I)
# --------------------------------------------------------------------------------------------
# Columns as in the paper: p = minimal sequence length, lag = minimal number of steps from the
# last relevant input to the teacher signal, b = blocks, s = block size, in, out, w = weights,
# c = connectivity ("F" fully recurrent hidden layer, "B" each layer from all layers below),
# ogb / igb = output / input gate biases per block, bias = which units have bias weights
# ("ga" gates only, "none", "b1" all hidden units, "all" all non-input units), h, g, alpha.
#
# Gate biases: a tuple of floats (one per block), "r" (random in the normal init range), or
# None. None stands for the paper's "no og" (2a/2b: there is no output gate), and for "none"
# (2a/2b input gate and all of 2c: no bias weight at all).
#
# h / g are the labels printed in the table. The table's legend ("h1" in [-2,2], "g2" in
# [-1,1]) contradicts the text and Appendix (h in [-1,1], g in [-2,2]); the text is
# authoritative (docs/paper.md §1.2, §6.1). "id" = identity, "g1" = logistic in [0,1].
#
# For 2c the p column is the lag q of Table 3 (the number of distractors of Table 3 is in - 4).
_COLUMNS = ("p", "lag", "blocks", "block_size", "n_in", "n_out", "weights", "connectivity",
            "output_gate_bias", "input_gate_bias", "bias", "h", "g", "lr")

_O3 = (-1.0, -2.0, -3.0)
_O4 = (-1.0, -2.0, -3.0, -4.0)
_ROWS = [
    # id     p     lag   b  s  in    out  w      c    ogb                igb                 bias    h     g     alpha
    ("1-1",  9,    9,    4, 1, 7,    7,   264,   "F", _O4,               "r",                "ga",   "h1", "g2", 0.1),
    ("1-2",  9,    9,    3, 2, 7,    7,   276,   "F", _O3,               "r",                "ga",   "h1", "g2", 0.1),
    ("1-3",  9,    9,    3, 2, 7,    7,   276,   "F", _O3,               "r",                "ga",   "h1", "g2", 0.2),
    ("1-4",  9,    9,    4, 1, 7,    7,   264,   "F", _O4,               "r",                "ga",   "h1", "g2", 0.5),
    ("1-5",  9,    9,    3, 2, 7,    7,   276,   "F", _O3,               "r",                "ga",   "h1", "g2", 0.5),
    ("2a",   100,  100,  1, 1, 101,  101, 10504, "B", None,              None,               "none", "id", "g1", 1.0),
    ("2b",   100,  100,  1, 1, 101,  101, 10504, "B", None,              None,               "none", "id", "g1", 1.0),
    ("2c-1", 50,   50,   2, 1, 54,   2,   364,   "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-2", 100,  100,  2, 1, 104,  2,   664,   "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-3", 200,  200,  2, 1, 204,  2,   1264,  "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-4", 500,  500,  2, 1, 504,  2,   3064,  "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-5", 1000, 1000, 2, 1, 1004, 2,   6064,  "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-6", 1000, 1000, 2, 1, 504,  2,   3064,  "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-7", 1000, 1000, 2, 1, 204,  2,   1264,  "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-8", 1000, 1000, 2, 1, 104,  2,   664,   "F", None,              None,               "none", "h1", "g2", 0.01),
    ("2c-9", 1000, 1000, 2, 1, 54,   2,   364,   "F", None,              None,               "none", "h1", "g2", 0.01),
    ("3a",   100,  100,  3, 1, 1,    1,   102,   "F", (-2.0, -4.0, -6.0), (-1.0, -3.0, -5.0), "b1",   "h1", "g2", 1.0),
    ("3b",   100,  100,  3, 1, 1,    1,   102,   "F", (-2.0, -4.0, -6.0), (-1.0, -3.0, -5.0), "b1",   "h1", "g2", 1.0),
    ("3c",   100,  100,  3, 1, 1,    1,   102,   "F", (-2.0, -4.0, -6.0), (-1.0, -3.0, -5.0), "b1",   "h1", "g2", 0.1),
    ("4-1",  100,  50,   2, 2, 2,    1,   93,    "F", "r",               (-3.0, -6.0),       "all",  "h1", "g2", 0.5),
    ("4-2",  500,  250,  2, 2, 2,    1,   93,    "F", "r",               (-3.0, -6.0),       "all",  "h1", "g2", 0.5),
    ("4-3",  1000, 500,  2, 2, 2,    1,   93,    "F", "r",               (-3.0, -6.0),       "all",  "h1", "g2", 0.5),
    ("5",    100,  50,   2, 2, 2,    1,   93,    "F", "r",               "r",                "all",  "h1", "g2", 0.1),
    ("6a",   100,  40,   2, 2, 8,    4,   156,   "F", "r",               (-2.0, -4.0),       "all",  "h1", "g2", 0.5),
    ("6b",   100,  24,   3, 2, 8,    8,   308,   "F", "r",               (-2.0, -4.0, -6.0), "all",  "h1", "g2", 0.1),
]
TABLE10 = {r[0]: dict(zip(_COLUMNS, r[1:])) for r in _ROWS}

# --------------------------------------------------------------------------------------------
# Table 11 (Part II)
# --------------------------------------------------------------------------------------------
# select: "t1" = picked at random from a training set, "t2" = at random from 2 classes,
# "t3" = generated at random on-line. init: the weight init interval, stored as a (low, high)
# tuple of floats (printed "[-0.2,0.2]" / "[-0.1,0.1]"). test_set_size: None for 2a, which the
# paper prints as "no test set". "ST3(b)": average training error below b and the 2000 most
# recent sequences processed correctly; "ABS(b)": absolute error of all outputs at the sequence
# end below b. "see text" is printed as such (the criteria are in docs/paper.md §4.1, §4.3, §4.5).
TABLE11 = {
    "1":  dict(select="t1", init=(-0.2, 0.2), test_set_size=256,
               stopping="training & test correctly predicted", success="see text"),
    "2a": dict(select="t1", init=(-0.2, 0.2), test_set_size=None,
               stopping="after 5 million exemplars", success="ABS(0.25)"),
    "2b": dict(select="t2", init=(-0.2, 0.2), test_set_size=10000,
               stopping="after 5 million exemplars", success="ABS(0.25)"),
    "2c": dict(select="t2", init=(-0.2, 0.2), test_set_size=10000,
               stopping="after 5 million exemplars", success="ABS(0.2)"),
    "3a": dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST1 and ST2", success="ABS(0.2)"),
    "3b": dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST1 and ST2", success="ABS(0.2)"),
    "3c": dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST1 and ST2", success="see text"),
    "4":  dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST3(0.01)", success="ABS(0.04)"),
    "5":  dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="see text", success="ABS(0.04)"),
    "6a": dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST3(0.1)", success="ABS(0.3)"),
    "6b": dict(select="t3", init=(-0.1, 0.1), test_set_size=2560, stopping="ST3(0.1)", success="ABS(0.3)"),
}

# --------------------------------------------------------------------------------------------
# LSTM results (Tables 1-9)
# --------------------------------------------------------------------------------------------
# Common keys: condition (the TABLE10 id), table, trials, success_pct, mean_sequences (the mean
# number of training sequences: "success after" / "stop" / ST2 columns).
# success_pct is only given where the paper states it (Exp 1 % column; 2a Table 2; 2b "always
# succeeded"). For 2c-6b the tables report means over all trials, which suggests every trial
# succeeded, but the paper never says so: None.
# Test measures: wrong + test_size ("1 out of 2560"), fraction_misclassified (Tables 4-6),
# av_difference (Table 6), mse (Table 8). avg_test_error_below / wrong_at_most are the bounds
# the text states over all runs ("average test set error was always below ...", "never more
# than ... incorrectly processed sequences").
RESULTS = {
    # Table 1 (means of 30 trials: 3 training/test set pairs x 10 initializations).
    "1-1": dict(condition="1-1", table="Table 1", trials=30, blocks=4, block_size=1, weights=264,
                lr=0.1, success_pct=100, mean_sequences=39740),
    "1-2": dict(condition="1-2", table="Table 1", trials=30, blocks=3, block_size=2, weights=276,
                lr=0.1, success_pct=100, mean_sequences=21730),
    "1-3": dict(condition="1-3", table="Table 1", trials=30, blocks=3, block_size=2, weights=276,
                lr=0.2, success_pct=97, mean_sequences=14060),
    "1-4": dict(condition="1-4", table="Table 1", trials=30, blocks=4, block_size=1, weights=264,
                lr=0.5, success_pct=97, mean_sequences=9500),
    # Text: "the number of training examples ranged from 3,800 to 24,100" (bottom row).
    "1-5": dict(condition="1-5", table="Table 1", trials=30, blocks=3, block_size=2, weights=276,
                lr=0.5, success_pct=100, mean_sequences=8440, min_sequences=3800, max_sequences=24100),

    # Table 2 (means of 18 trials).
    "2a": dict(condition="2a", table="Table 2", trials=18, p=100, lr=1.0, weights=10504,
               success_pct=100, mean_sequences=5040),
    # 2b has no table: Section 5.2 text, "LSTM always succeeded", mean of 18 trials at p=100.
    "2b": dict(condition="2b", table=None, trials=18, p=100, lr=1.0, weights=10504,
               success_pct=100, mean_sequences=5680),

    # Table 3 (20 trials per (p, q) pair). q = time lag - 1, p = number of random inputs
    # (distractors), q_over_p = expected occurrences of each distractor.
    "2c-1": dict(condition="2c-1", table="Table 3", trials=20, q=50, p=50, q_over_p=1, weights=364,
                 success_pct=None, mean_sequences=30000),
    "2c-2": dict(condition="2c-2", table="Table 3", trials=20, q=100, p=100, q_over_p=1, weights=664,
                 success_pct=None, mean_sequences=31000),
    "2c-3": dict(condition="2c-3", table="Table 3", trials=20, q=200, p=200, q_over_p=1, weights=1264,
                 success_pct=None, mean_sequences=33000),
    "2c-4": dict(condition="2c-4", table="Table 3", trials=20, q=500, p=500, q_over_p=1, weights=3064,
                 success_pct=None, mean_sequences=38000),
    "2c-5": dict(condition="2c-5", table="Table 3", trials=20, q=1000, p=1000, q_over_p=1, weights=6064,
                 success_pct=None, mean_sequences=49000),
    "2c-6": dict(condition="2c-6", table="Table 3", trials=20, q=1000, p=500, q_over_p=2, weights=3064,
                 success_pct=None, mean_sequences=49000),
    "2c-7": dict(condition="2c-7", table="Table 3", trials=20, q=1000, p=200, q_over_p=5, weights=1264,
                 success_pct=None, mean_sequences=75000),
    "2c-8": dict(condition="2c-8", table="Table 3", trials=20, q=1000, p=100, q_over_p=10, weights=664,
                 success_pct=None, mean_sequences=135000),
    "2c-9": dict(condition="2c-9", table="Table 3", trials=20, q=1000, p=50, q_over_p=20, weights=364,
                 success_pct=None, mean_sequences=203000),

    # Tables 4 and 5 (10 trials each): st1 = "stop: ST1", mean_sequences = "stop: ST2",
    # fraction_misclassified = on the extra 2560-sequence test set after ST2.
    # The T=1000 rows have no Table 10 row of their own; they use the 3a/3b settings.
    "3a-T100-N3": dict(condition="3a", table="Table 4", trials=10, T=100, N=3, weights=102, success_pct=None,
                       st1=27380, mean_sequences=39850, fraction_misclassified=0.000195, test_size=2560),
    "3a-T100-N1": dict(condition="3a", table="Table 4", trials=10, T=100, N=1, weights=102, success_pct=None,
                       st1=58370, mean_sequences=64330, fraction_misclassified=0.000117, test_size=2560),
    "3a-T1000-N3": dict(condition="3a", table="Table 4", trials=10, T=1000, N=3, weights=102, success_pct=None,
                        st1=446850, mean_sequences=452460, fraction_misclassified=0.000078, test_size=2560),
    "3b-T100-N3": dict(condition="3b", table="Table 5", trials=10, T=100, N=3, weights=102, success_pct=None,
                       st1=41740, mean_sequences=43250, fraction_misclassified=0.00828, test_size=2560),
    "3b-T100-N1": dict(condition="3b", table="Table 5", trials=10, T=100, N=1, weights=102, success_pct=None,
                       st1=74950, mean_sequences=78430, fraction_misclassified=0.01500, test_size=2560),
    "3b-T1000-N1": dict(condition="3b", table="Table 5", trials=10, T=1000, N=1, weights=102, success_pct=None,
                        st1=481060, mean_sequences=485080, fraction_misclassified=0.01207, test_size=2560),
    # Table 6: one "stop" column (no separate ST1); av_difference = "av. difference to mean".
    "3c-T100-N3": dict(condition="3c", table="Table 6", trials=10, T=100, N=3, weights=102, success_pct=None,
                       mean_sequences=269650, fraction_misclassified=0.00558, av_difference=0.014,
                       test_size=2560),
    "3c-T100-N1": dict(condition="3c", table="Table 6", trials=10, T=100, N=1, weights=102, success_pct=None,
                       mean_sequences=565640, fraction_misclassified=0.00441, av_difference=0.012,
                       test_size=2560),

    # Table 7 (means of 10 trials). Text: average test error always below 0.01, never more
    # than 3 incorrectly processed sequences.
    "4-1": dict(condition="4-1", table="Table 7", trials=10, T=100, min_lag=50, weights=93, success_pct=None,
                wrong=1, test_size=2560, mean_sequences=74000, avg_test_error_below=0.01, wrong_at_most=3),
    "4-2": dict(condition="4-2", table="Table 7", trials=10, T=500, min_lag=250, weights=93, success_pct=None,
                wrong=0, test_size=2560, mean_sequences=209000, avg_test_error_below=0.01, wrong_at_most=3),
    # Text: for T=1000 the number of training sequences ranged from 370,000 to 2,020,000 and
    # exceeded 700,000 in only 3 of the 10 runs.
    "4-3": dict(condition="4-3", table="Table 7", trials=10, T=1000, min_lag=500, weights=93, success_pct=None,
                wrong=1, test_size=2560, mean_sequences=853000, avg_test_error_below=0.01, wrong_at_most=3,
                min_sequences=370000, max_sequences=2020000, runs_over_700000=3),

    # Table 8 (means of 10 trials). Text: average test error always below 0.026 (n_seq=140) and
    # 0.013 (n_seq=13), never more than 170 and 15 wrong sequences respectively. (Note the paper's
    # Table 8 MSE for n_seq=13, 0.0139, is above that 0.013 bound; both are copied as printed.)
    "5-140": dict(condition="5", table="Table 8", trials=10, T=100, min_lag=50, weights=93, n_seq=140,
                  success_pct=None, wrong=139, test_size=2560, mse=0.0223, mean_sequences=482000,
                  avg_test_error_below=0.026, wrong_at_most=170),
    "5-13": dict(condition="5", table="Table 8", trials=10, T=100, min_lag=50, weights=93, n_seq=13,
                 success_pct=None, wrong=14, test_size=2560, mse=0.0139, mean_sequences=1273000,
                 avg_test_error_below=0.013, wrong_at_most=15),

    # Table 9: 6a mean of 20 trials, 6b mean of 10. Text: average test error always below 0.1,
    # never more than 3 misclassified sequences.
    "6a": dict(condition="6a", table="Table 9", trials=20, weights=156, success_pct=None,
               wrong=1, test_size=2560, mean_sequences=31390, avg_test_error_below=0.1, wrong_at_most=3),
    "6b": dict(condition="6b", table="Table 9", trials=10, weights=308, success_pct=None,
               wrong=2, test_size=2560, mean_sequences=571100, avg_test_error_below=0.1, wrong_at_most=3),
}

# --------------------------------------------------------------------------------------------
# Competitors (non-LSTM rows of Tables 1 and 2)
# --------------------------------------------------------------------------------------------
# Table 1: results from the literature (RTRL: Smith & Zipser 1989; ELM: Cleeremans et al. 1989;
# RCC: Fahlman 1991). All weight counts there are the authors' estimates (printed with "≈"),
# hence weights_approx=True. lr None where the paper prints "-". Ranges stay strings as printed.
# Table 2: run by the authors, means of 18 trials, weights in [-0.2,0.2].
# "id": the row's name, for the competitor configurations of lstm97.experiments (BASELINES).
COMPETITORS = [
    dict(id="T1-RTRL-3", table="Table 1", method="RTRL", hidden_units=3, weights=170, weights_approx=True, lr=0.05,
         success_pct="some fraction", success_after=173000),
    dict(id="T1-RTRL-12", table="Table 1", method="RTRL", hidden_units=12, weights=494, weights_approx=True, lr=0.1,
         success_pct="some fraction", success_after=25000),
    dict(id="T1-ELM", table="Table 1", method="ELM", hidden_units=15, weights=435, weights_approx=True, lr=None,
         success_pct=0, success_after=">200,000"),
    dict(id="T1-RCC", table="Table 1", method="RCC", hidden_units="7-9", weights="119-198", weights_approx=True, lr=None,
         success_pct=50, success_after=182000),

    dict(id="T2-RTRL-p4-lr1", table="Table 2", method="RTRL", p=4, lr=1.0, weights=36, success_pct=78, success_after=1043000),
    dict(id="T2-RTRL-p4-lr4", table="Table 2", method="RTRL", p=4, lr=4.0, weights=36, success_pct=56, success_after=892000),
    dict(id="T2-RTRL-p4-lr10", table="Table 2", method="RTRL", p=4, lr=10.0, weights=36, success_pct=22, success_after=254000),
    dict(id="T2-RTRL-p10", table="Table 2", method="RTRL", p=10, lr="1.0-10.0", weights=144, success_pct=0,
         success_after="> 5,000,000"),
    dict(id="T2-RTRL-p100", table="Table 2", method="RTRL", p=100, lr="1.0-10.0", weights=10404, success_pct=0,
         success_after="> 5,000,000"),
    dict(id="T2-BPTT-p100", table="Table 2", method="BPTT", p=100, lr="1.0-10.0", weights=10404, success_pct=0,
         success_after="> 5,000,000"),
    dict(id="T2-CH-p100", table="Table 2", method="CH", p=100, lr=1.0, weights=10506, success_pct=33, success_after=32400),
]


COMPETITOR_ROWS = {c["id"]: c for c in COMPETITORS}


def result(row_id):
    """A paper row in the form of RESULTS, for an LSTM row or a competitor row (COMPETITORS
    "id"). A competitor's "success after" is its mean_sequences where the paper prints a number;
    Table 2's rows are means of 18 trials; Table 1's competitor rows give no trial count."""
    if row_id in RESULTS:
        return dict(RESULTS[row_id])
    c = COMPETITOR_ROWS.get(row_id)
    if c is None:
        raise KeyError(f"unknown paper row {row_id!r}; valid: {', '.join(list(RESULTS) + list(COMPETITOR_ROWS))}")
    number = lambda v: v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return dict(c, trials=18 if c["table"] == "Table 2" else None, success_pct=number(c["success_pct"]),
                mean_sequences=number(c["success_after"]))


def row(condition_id):
    """Return (a copy of) the RESULTS entry for ``condition_id``, e.g. ``row("4-3")``."""
    try:
        return dict(RESULTS[condition_id])
    except KeyError:
        raise KeyError(f"unknown condition id {condition_id!r}; valid ids: {', '.join(RESULTS)}") from None
