"""Trial records -> the paper's statistics, beside the paper's own row (Tables 1-9)."""
import math

import numpy as np

from . import ablations, criteria, paper
from .experiments import BASELINES, EXPERIMENTS, VARIANTS, get
from .network import LSTM97
from .records import SMOKE
from .tables import Table, auto, count, text

COLUMNS = ("trials", "success_pct", "mean", "median", "min", "max", "ratio", "st1", "wrong",
           "test_size", "fraction_misclassified", "av_difference", "mse")


def _stage(exp, row_id):
    """Which stage of a record a paper row is measured at."""
    if exp.criterion == "nseq":
        return f"nseq{paper.RESULTS[row_id]['n_seq']}"
    return criteria.final_stage(exp)


def ours(exp, records, row_id):
    """Our numbers for one paper row: success %, sequences until success, test measures."""
    stage = _stage(exp, row_id)
    reached = [r for r in records if stage in r["stages"]]
    seqs = np.array([r["stages"][stage] for r in reached], float)
    tests = [r["test"].get(stage, {}) for r in reached]
    mean_of = lambda key: float(np.mean([t[key] for t in tests])) if tests and key in tests[0] else None
    out = dict(row=row_id, trials=len(records),
               success_pct=100.0 * len(reached) / len(records) if records else None,
               mean=float(seqs.mean()) if len(seqs) else None,
               median=float(np.median(seqs)) if len(seqs) else None,
               min=int(seqs.min()) if len(seqs) else None,
               max=int(seqs.max()) if len(seqs) else None)
    theirs = paper.result(row_id).get("mean_sequences")
    out["ratio"] = out["mean"] / theirs if out["mean"] is not None and theirs else None
    st1 = [r["stages"]["st1"] for r in reached if "st1" in r["stages"]]
    out["st1"] = float(np.mean(st1)) if st1 else None
    out["wrong"] = mean_of(criteria.of(exp).wrong_key)
    out["test_size"] = tests[0].get("test_size") if tests else None
    out["fraction_misclassified"] = mean_of("fraction_misclassified")
    out["av_difference"] = mean_of("av_difference")
    out["mse"] = mean_of("mse")
    out["diverged"] = sum(r["stopped"] == "diverged" for r in records)
    return out


def theirs(row_id):
    r = paper.result(row_id)
    return dict(row=row_id, trials=r.get("trials"), success_pct=r.get("success_pct"),
                mean=r.get("mean_sequences"), median=None, min=r.get("min_sequences"),
                max=r.get("max_sequences"), ratio=None, st1=r.get("st1"), wrong=r.get("wrong"),
                test_size=r.get("test_size"), fraction_misclassified=r.get("fraction_misclassified"),
                av_difference=r.get("av_difference"), mse=r.get("mse"))


def summarise(exp, records):
    """{"ours": [...], "paper": [...]}: one entry per paper row of the experiment."""
    return {"experiment": exp.id, "ours": [ours(exp, records, r) for r in exp.rows],
            "paper": [theirs(r) for r in exp.rows]}


def describe_task(exp):
    """The task of an experiment in words, with its parameters named as in the paper."""
    name, args = exp.task
    if name == "EmbeddedReber":
        return "embedded Reber, " + ("all legal next symbols as targets" if args else "next symbol as target")
    if name == "NoiseFree":
        return f"noise-free sequences, p={args[0]}"
    if name == "NoLocalRegularities":
        return f"no local regularities, p={args[0]}"
    if name == "VeryLongLag":
        return f"very long lags, p={args[0]}, q={args[1]}"
    if name == "TwoSequence":
        return f"two-sequence problem {args[2]}, T={args[0]}, N={args[1]}"
    if name in ("Adding", "Multiplication"):
        return f"{name.lower()} problem, T={args[0]}"
    if name == "TemporalOrder":
        return f"temporal order, {args[0]} relevant symbols"
    return name


CRITERIA = {"reber": "every string of training and test set predicted",
            "window": "ABS over 10,000 successive sequences",
            "st12": "ST1, then ST2", "st3": "ST3",
            "nseq": "at most n of the last 2,000 sequences wrong"}

GLOSSARY = ("Criteria: ST1: no more than a given number of a fresh test set's 256 sequences "
            "misclassified; ST2: ST1 and the mean absolute test error below a bound; ST3: the mean "
            "error of the last 2,000 training sequences below a bound and all 2,000 right; ABS: "
            "every one of 10,000 successive training sequences within the error tolerance "
            "(docs/paper.md §4).")


def config_rows(exps):
    """Each configuration beside its Table-10 row, in words."""
    rows = []
    for e in exps:
        t10 = paper.TABLE10[e.condition]
        net = LSTM97(**e.net)
        gate = lambda v: ", ".join(f"{x:g}" for x in v) if v else None
        rows.append(dict(
            experiment=e.id, task=describe_task(e),
            blocks=f"{net.B} block{'s' * (net.B != 1)} of {net.S} cell{'s' * (net.S != 1)}",
            weights=net.n_weights, paper_weights=t10["weights"],
            in_gate_bias=gate(e.net["input_gate_bias"]) or ("random" if net.bias != "none" else "none"),
            out_gate_bias=gate(e.net["output_gate_bias"]) or
            ("none" if not net.output_gates or net.bias == "none" else "random"),
            init=f"±{e.net['init']:g}", lr=e.lr, paper_lr=t10["lr"], trials=e.trials,
            criterion=CRITERIA[e.criterion], budget=e.budget,
            update="per step" if e.update == "step" else "per sequence"))
    return rows


def config_table(exps):
    """config_rows as a table for people: one column per condition, one row per setting (so that
    even nine conditions fit a page), with the criteria's glossary."""
    settings = [("task", "task", text), ("blocks", "memory cells", text),
                ("weights", "weights", count), ("paper_weights", "Table 10's weights", count),
                ("in_gate_bias", "input-gate biases", text), ("out_gate_bias", "output-gate biases", text),
                ("init", "initial weights", text), ("lr", "learning rate", text),
                ("paper_lr", "Table 10's learning rate", text), ("trials", "trials", count),
                ("criterion", "stops when", text), ("budget", "budget (sequences)", count),
                ("update", "weight update", text)]
    configs = config_rows(exps)
    rows = [dict(setting=label, **{c["experiment"]: fmt(c[key]) for c in configs}) for key, label, fmt in settings]
    columns = [("setting", "condition", "text")] + [(c["experiment"], c["experiment"], "text") for c in configs]
    return Table(rows, columns, notes=[GLOSSARY])


def paired(pairs):
    """(experiment, our row, the paper's row) for every paper row of (experiment, records) pairs."""
    for exp, records in pairs:
        table = summarise(exp, records)
        for o, p in zip(table["ours"], table["paper"]):
            yield exp, o, p


def result_rows(pairs):
    """Ours beside the paper, row by row, for (experiment, records) pairs."""
    rows = []
    for exp, o, p in paired(pairs):
        rows.append(dict(o, who=f"ours ({VARIANTS.get(exp.variant, exp.variant)})" if exp.variant else "ours"))
        rows.append(dict(p, who="paper"))
    return rows


RESULT_COLUMNS = {
    "who": ("who", "", "text"), "row": ("row", "row", "text"), "trials": ("trials", "trials", "count"),
    "success_pct": ("success_pct", "success", "pct"), "mean": ("mean", "mean sequences", "count"),
    "median": ("median", "median", "count"), "min": ("min", "min", "count"), "max": ("max", "max", "count"),
    "ratio": ("ratio", "ratio to paper", "ratio"), "st1": ("st1", "ST1 reached at (mean)", "count"),
    "wrong": ("wrong", "wrong (test)", "sig3"), "test_size": ("test_size", "test sequences", "count"),
    "fraction_misclassified": ("fraction_misclassified", "misclassified (test)", "sig3"),
    "av_difference": ("av_difference", "mean |error| (test)", "sig3"), "mse": ("mse", "MSE (test)", "sig3"),
}


def result_table(pairs, columns=("who", "row", "trials", "success_pct", "mean", "median", "min", "max",
                                 "ratio")):
    """Ours beside the paper, row by row, as a table: one line for our trials, one for the paper's.
    ``columns``: keys of RESULT_COLUMNS."""
    return Table(result_rows(pairs), [RESULT_COLUMNS[c] for c in columns], notes=[
        "success: trials that met the paper's criterion within the budget; mean, median, min, max: "
        "training sequences until success over the successful trials; ratio: our mean over the "
        "paper's; test measures: means over the successful trials."])


# The project's targets, fixed before the runs; lstm97.verdicts names the categories.
POINTS = 10.0        # success within this many points of the paper's (or above it)
FACTOR = 2.0         # mean sequences until success within this factor of the paper's
MIN_SOLVED = 3       # a mean ratio is judged only with at least this many successful trials
FAIL_BELOW = 20.0    # success below this % fails the task


def classify(success_pct, paper_pct, ratio, solved):
    """The category of one row: "reproduced", "faster", "slower", "lower" or "fails" (None with
    no trials); lstm97.verdicts explains them and their edge cases."""
    if success_pct is None:
        return None
    paper_pct = 100.0 if paper_pct is None else paper_pct
    if success_pct < paper_pct - POINTS or solved < MIN_SOLVED or ratio is None:
        return "fails" if success_pct < FAIL_BELOW else "lower"
    if ratio < 1 / FACTOR:
        return "faster"
    if ratio > FACTOR:
        return "slower"
    return "reproduced"


def solved_of(o):
    """The number of successful trials of one of ``ours``'s rows."""
    return round((o["success_pct"] or 0.0) * o["trials"] / 100)


def targets_met(o, p):
    """(paper's success %, success target met?, mean target met?) for our row ``o`` against the
    paper's ``p``. Where the paper states no success rate its table reports every trial: 100%.
    Success above the paper's meets the success target; the mean target needs MIN_SOLVED
    successful trials."""
    paper_pct = p["success_pct"] if p["success_pct"] is not None else 100.0
    ok_pct = o["success_pct"] is not None and o["success_pct"] >= paper_pct - POINTS
    ok_mean = (o["ratio"] is not None and solved_of(o) >= MIN_SOLVED
               and 1 / FACTOR <= o["ratio"] <= FACTOR)
    return paper_pct, ok_pct, ok_mean


def distance(o, p):
    """How far a row is from the paper's (the readings study's yardstick, fixed before its runs):
    |success % - paper's| / 10 + |log2(mean ratio)|; a row with no success counts as 8x off."""
    paper_pct, _, _ = targets_met(o, p)
    off = abs(np.log2(o["ratio"])) if o["ratio"] else 3.0
    return abs((o["success_pct"] or 0.0) - paper_pct) / 10 + off


def reading_rows(groups, planned=None):
    """The readings study, one line per (paper row, reading): ``groups`` maps a main run's id to
    its [(experiment, records), ...], the main run first. ``planned`` maps ids to the planned
    trial count. Each line says whether it meets the project's targets and how far it is off."""
    rows = []
    for base, pairs in groups.items():
        for exp, o, p in paired([(e, r) for e, r in pairs if r]):
            paper_pct, ok_pct, ok_mean = targets_met(o, p)
            rows.append(dict(row=o["row"], reading=exp.variant or "main", trials=o["trials"],
                             of=(planned or {}).get(exp.id, exp.trials), success_pct=o["success_pct"],
                             paper_pct=paper_pct, mean=o["mean"], paper_mean=p["mean"],
                             ratio=o["ratio"], meets_both=ok_pct and ok_mean,
                             distance=round(distance(o, p), 2)))
    return rows


def _best(others):
    """The best-matching reading (smallest distance) among the pairs with all their planned
    trials; among all of them only while none is complete (a few trials can look best by luck)."""
    done = [r for r in others if r["trials"] >= r["of"]]
    return min(done or others, key=lambda r: r["distance"]) if others else None


def best_reading_rows(rows):
    """Per paper row of the readings study (rows from reading_rows): the main run and the
    best-matching reading (smallest ``distance``, among complete pairs: _best), beside the paper's row."""
    out = []
    for row in dict.fromkeys(r["row"] for r in rows):
        main = [r for r in rows if r["row"] == row and r["reading"] == "main"]
        others = [r for r in rows if r["row"] == row and r["reading"] != "main"]
        if main and others:
            m, b = main[0], _best(others)
            out.append(dict(row=row, main_trials=m["trials"], main_pct=m["success_pct"], main_mean=m["mean"],
                            best_reading=b["reading"], trials=b["trials"], of=b["of"], success_pct=b["success_pct"],
                            mean=b["mean"], meets_both=b["meets_both"], paper_pct=m["paper_pct"],
                            paper_mean=m["paper_mean"]))
    return out


def learning_rows(pairs, fractions=(0.9, 0.99)):
    """When the nets learn versus when the criterion holds (stream criteria only).

    For each experiment: the median over trials of the first training chunk in which at least
    90% (99%) of the sequences were within the tolerance at the sequence end, beside the mean
    sequences until the paper's criterion held and the paper's mean.
    """
    rows = []
    for exp, records in pairs:
        if not criteria.of(exp).stream:
            continue
        row = dict(experiment=exp.id, trials=len(records))
        for f in fractions:
            firsts = []
            for r in records:
                c = np.array(r["curve"])
                hit = np.flatnonzero(c[:, 2] >= f) if len(c) else []
                if len(hit):
                    firsts.append(c[hit[0], 0])
            row[f"median_first_{f:.0%}_right"] = float(np.median(firsts)) if firsts else None
            row[f"trials_reaching_{f:.0%}"] = len(firsts)
        o = ours(exp, records, exp.rows[-1])
        row.update(mean_until_criterion=o["mean"], paper_mean=paper.RESULTS[exp.rows[-1]].get("mean_sequences"))
        rows.append(row)
    return rows


def learning_table(pairs):
    """learning_rows as a table for people."""
    return auto(learning_rows(pairs), [
        ("experiment", "condition"), ("trials", "trials"),
        ("median_first_90%_right", "90% right from (median)", "count"),
        ("trials_reaching_90%", "trials reaching 90%", "count"),
        ("median_first_99%_right", "99% right from (median)", "count"),
        ("trials_reaching_99%", "trials reaching 99%", "count"),
        ("mean_until_criterion", "criterion held at (mean)", "count"),
        ("paper_mean", "paper's mean", "count")], notes=[
        "90% (99%) right from: the first training chunk in which at least 90% (99%) of the "
        "sequences were within the tolerance at the sequence end, in training sequences."])


def compute_rows(pairs):
    """What the trials cost, per experiment and in total: trials, training sequences, LSTM time
    steps and wall time (the sum of the trials' measured wall times, each a trial's core time;
    two processes ran them on a 2-core machine, so a run of all of them takes about
    core-hours / 2 there)."""
    rows = []
    for exp, records in pairs:
        rows.append(dict(experiment=exp.id, trials=len(records), of=exp.trials,
                         sequences=sum(r["sequences_trained"] for r in records),
                         steps=float(sum(r["steps"] for r in records)),
                         core_hours=sum(r["wall_time"] for r in records) / 3600))
    total = dict(experiment="total", trials=sum(r["trials"] for r in rows), of=sum(r["of"] for r in rows),
                 sequences=sum(r["sequences"] for r in rows), steps=sum(r["steps"] for r in rows),
                 core_hours=sum(r["core_hours"] for r in rows))
    for r in rows + [total]:
        r["hours_on_2_cores"] = r["core_hours"] / 2
    return rows + [total]


def scale_statement(scale, results, pairs=None, train=False):
    """The line each notebook opens its results with: which scale, which records, and (with
    ``pairs`` of (experiment, records)) how many trials are behind the numbers."""
    if scale == "smoke":
        what = (f"smoke, at most {SMOKE['trials']} trials per configuration and budgets capped at "
                f"{SMOKE['budget']:,} sequences: a check that the pipeline runs, not comparable to "
                "the paper")
    else:
        what = "paper, the paper's trial counts and sequence budgets"
    if pairs is None:
        where = "written to and read from" if train else "read from"
        return f"Scale: {what}. Records {where} {results}."
    trials = sum(len(r) for _, r in pairs)
    return (f"Scale: {scale}; {trials:,} trials of {len(pairs)} configuration"
            f"{'' if len(pairs) == 1 else 's'} from {results}"
            f"{': not comparable to the paper' if scale == 'smoke' else ''}.")


# --------------------------------------------------------------------------- competitors
def competitor_rows(table, records):
    """Table 1's or Table 2's competitor rows (paper.COMPETITORS), our runs beside the paper's:
    one line per configuration that re-runs a row (Table 2's "1.0-10.0" rows: one per rate),
    "cited only" where none does. ``records``: {experiment id: records}."""
    rows = []
    for c in paper.COMPETITORS:
        if c["table"] != table:
            continue
        p = paper.result(c["id"])
        exps = [e for e in BASELINES.values() if c["id"] in e.rows]
        size = f"p={c['p']}" if "p" in c else f"{c['hidden_units']} units"
        base = dict(method=f"{c['method']} {size}", row=c["id"], task=f"p={c['p']}" if "p" in c else "Reber",
                    paper_lr=c["lr"], paper_pct=p["success_pct"],
                    paper_mean=p["mean_sequences"] or c["success_after"])
        if not exps:
            rows.append(dict(base, experiment="cited only", lr=None, trials=None, of=None,
                             success_pct=None, mean=None, ratio=None))
        for e in exps:
            recs = records.get(e.id, [])
            o = ours(e, recs, c["id"]) if recs else {}
            rows.append(dict(base, experiment=e.id, lr=e.lr, trials=len(recs), of=e.trials,
                             success_pct=o.get("success_pct"), mean=o.get("mean"), ratio=o.get("ratio")))
    return rows


def _rank_key(pct, mean):
    """Better first: more successful trials, then fewer sequences until success."""
    return (-(pct or 0.0), mean if mean is not None else float("inf"))


def _paper_range(pct):
    """The paper's success % as (low, high): a number is itself; "some fraction" (Table 1's
    RTRL) lies strictly between 0 and 100, so it ranks above 0% and below 100% and against
    nothing in between."""
    if isinstance(pct, (int, float)):
        return (float(pct), float(pct))
    return (math.nextafter(0.0, 1.0), math.nextafter(100.0, 0.0))


def _paper_above(a, b):
    """Does the paper rank a above b? a, b: ((low, high) success %, mean sequences)."""
    (a_lo, a_hi), a_mean = a
    (b_lo, b_hi), b_mean = b
    if a_lo > b_hi:
        return True
    exact = a_lo == a_hi == b_lo == b_hi
    return exact and _rank_key(a_lo, a_mean) < _rank_key(b_lo, b_mean)


def ranking(rows, lstm=()):
    """Does the paper's ranking of the methods hold in our runs? ``rows``: competitor_rows;
    ``lstm``: (label, our row, the paper's row, task) of the LSTM rows they sit beside. Methods
    are compared only on the same task (Table 2: the same delay p) and only with all their
    planned trials recorded, by success %, then mean sequences until success; a success the
    paper gives only in words ("some fraction") is ranked only where that decides
    (:func:`_paper_range`). Returns dict(paper=[labels best first], ours=[...], holds=bool
    (None: no two methods comparable yet), broken=[(a, b): the paper ranks a above b, our runs
    do not], left_out=[...])."""
    done, left = [], []
    for r in rows:
        label = f"{r['method']} lr {r['lr']:g}" if r["lr"] is not None else f"{r['method']} (cited)"
        if r["trials"] and r["trials"] == r["of"]:
            paper_mean = r["paper_mean"] if isinstance(r["paper_mean"], (int, float)) else None
            done.append((label, (_paper_range(r["paper_pct"]), paper_mean), _rank_key(r["success_pct"], r["mean"]),
                         r.get("task", "")))
        else:
            left.append(label)
    for label, o, p, task in lstm:
        if o["trials"]:
            pct = p["success_pct"] if p["success_pct"] is not None else 100.0
            done.append((label, (_paper_range(pct), p["mean"]), _rank_key(o["success_pct"], o["mean"]), task))
    by_paper = [d[0] for d in sorted(done, key=lambda d: (-sum(d[1][0]) / 2, _rank_key(0, d[1][1])))]
    by_ours = [d[0] for d in sorted(done, key=lambda d: d[2])]
    # every pair of methods on one task that the paper orders (a better than b) must be ordered
    # alike in our runs; two rows of one method (two LSTM rows, RTRL at two rates) are not two methods
    method = lambda d: d[0].split()[0]
    pairs = [(a, b) for a in done for b in done if a[3] == b[3] and method(a) != method(b)]
    ordered = [(a, b) for a, b in pairs if _paper_above(a[1], b[1])]
    broken = [(a[0], b[0]) for a, b in ordered if not a[2] < b[2]]
    holds = not broken if ordered else None
    return dict(paper=by_paper, ours=by_ours, holds=holds, broken=broken, left_out=left)


def guessing_rows(records):
    """Random weight guessing (experiments.BASELINES, gradient "guess"), one line per task and
    architecture: trials, solved, guesses until success (mean, median), sequences evaluated per
    trial (mean), and the budget in guesses; beside it the LSTM row's paper mean in sequences."""
    rows = []
    for e in BASELINES.values():
        if e.gradient != "guess":
            continue
        recs = records.get(e.id, [])
        won = [r["guesses"] for r in recs if r["success"]]
        lstm_id = e.id.rsplit("-guess-", 1)[0]
        rows.append(dict(experiment=e.id, arch=e.net["arch"], trials=len(recs), of=e.trials,
                         solved=len(won), mean_guesses=float(np.mean(won)) if won else None,
                         median_guesses=float(np.median(won)) if won else None,
                         sequences_evaluated=float(np.mean([r["sequences_evaluated"] for r in recs])) if recs else None,
                         budget=e.budget,
                         lstm_paper_mean=paper.result(EXPERIMENTS[lstm_id].rows[0]).get("mean_sequences")))
    return rows


def ranking_lines(competitors, pairs):
    """One line per table: does the paper's ranking of the methods hold in our runs?
    ``competitors``: {id: records} of experiments.BASELINES; ``pairs``: the LSTM main runs."""
    lines = []
    for table, lstm_ids in (("Table 1", [f"1-{k}" for k in range(1, 6)]), ("Table 2", ["2a"])):
        rows = competitor_rows(table, competitors)
        task = "p=100" if table == "Table 2" else "Reber"
        lstm = [(f"LSTM {e.id} ({task})" if table == "Table 2" else f"LSTM {e.id}", o, p, task)
                for e, o, p in paired(pairs) if e.id in lstm_ids]
        r = ranking(rows, lstm)
        ran = sum(1 for x in rows if x["trials"])
        status = {True: "holds", False: "does not hold", None: "cannot be judged yet"}[r["holds"]]
        line = (f"- {table}: the paper's ranking of the methods, task by task, {status} in our runs "
                f"({len(r['paper'])} rows with complete records; {ran} of "
                f"{sum(1 for x in rows if x['experiment'] != 'cited only')} competitor rows started)")
        if r["broken"]:
            line += "; the paper ranks " + ", ".join(f"{a} above {b}" for a, b in r["broken"][:4])
            line += " and more" if len(r["broken"]) > 4 else ""
            line += ", our runs do not"
        lines.append(line + ".")
    return "\n".join(lines)


def ranking_table(competitors, pairs):
    """Tables 1 and 2: every method on each task, the paper's rank beside ours (1 = best: higher
    success, then fewer sequences), and in the notes whether the paper's order holds, task by task.
    Methods are compared only on the same task and only with all their planned trials recorded.
    ``competitors``: {id: records} of experiments.BASELINES; ``pairs``: the LSTM main runs."""
    rows, notes = [], []
    for table, lstm_ids in (("Table 1", [f"1-{k}" for k in range(1, 6)]), ("Table 2", ["2a"])):
        comp = competitor_rows(table, competitors)
        task_of = lambda r: r["task"]
        entries = []
        for r in comp:
            if r["trials"] and r["trials"] == r["of"]:
                entries.append(dict(table=table, task=task_of(r), method=f"{r['method']}, rate {r['lr']:g}",
                                    paper_pct=r["paper_pct"] if isinstance(r["paper_pct"], (int, float)) else None,
                                    paper_mean=r["paper_mean"] if isinstance(r["paper_mean"], (int, float)) else None,
                                    success_pct=r["success_pct"], mean=r["mean"], trials=r["trials"]))
        for e, o, p in paired(pairs):
            if e.id in lstm_ids:
                entries.append(dict(table=table, task="p=100" if table == "Table 2" else "Reber",
                                    method=f"LSTM {e.id}", paper_pct=p["success_pct"] if p["success_pct"] is not None else 100.0,
                                    paper_mean=p["mean"], success_pct=o["success_pct"], mean=o["mean"], trials=o["trials"]))
        for task in dict.fromkeys(x["task"] for x in entries):
            mine = [x for x in entries if x["task"] == task]
            for key, field in (("paper_rank", ("paper_pct", "paper_mean")), ("rank", ("success_pct", "mean"))):
                keys = [_rank_key(x[field[0]], x[field[1]]) for x in mine]
                for x, k in zip(mine, keys):
                    x[key] = 1 + sum(other < k for other in keys)       # ties share a rank
            methods = lambda x: x["method"].split()[0]
            broken = [(a["method"], b["method"]) for a in mine for b in mine if methods(a) != methods(b)
                      and a["paper_rank"] < b["paper_rank"] and not a["rank"] < b["rank"]]
            if len({methods(x) for x in mine}) > 1:
                notes.append(f"{table}, task {task}: the paper's order of the methods "
                             + ("holds in our runs." if not broken else
                                "does not hold: the paper ranks " + "; ".join(f"{a} above {b}" for a, b in broken[:3])
                                + (" and more" if len(broken) > 3 else "") + ", our runs do not."))
            else:
                notes.append(f"{table}, task {task}: only {methods(mine[0])} was run on this task "
                             "(at several learning rates), so there are no methods to rank.")
            rows += sorted(mine, key=lambda x: x["paper_rank"])
    return Table(rows, [("table", "table", "text"), ("task", "task", "text"), ("method", "method", "text"),
                        ("paper_pct", "paper's success", "pct"), ("paper_mean", "paper's mean", "count"),
                        ("paper_rank", "paper's rank", "count"), ("trials", "our trials", "count"),
                        ("success_pct", "our success", "pct"), ("mean", "our mean", "count"),
                        ("rank", "our rank", "count")], notes=notes)


# --------------------------------------------------------------------------- the cell ablation study
def ablation_rows(records, plan=None):
    """One line per pair of the ablation plan (lstm97/ablations.py), the main row beside it:
    trials, solved, success and mean sequences until success of each, the variant's mean over the
    main row's, the Fisher p of the success counts, and the outcome ('worse', 'better', 'same'; None
    while the pair or its main row lacks planned trials). ``records``: {id: records} with the
    plan's pairs and their main rows."""
    plan = plan or ablations.PLAN
    rows = []
    for pair, n in plan:
        base, names = pair.split("+", 1)
        main_exp, exp = get(base), get(pair)
        main_recs, recs = records.get(base) or [], records.get(pair) or []
        row_id = main_exp.rows[0]
        o_main = ours(main_exp, main_recs, row_id) if main_recs else None
        o = ours(exp, recs, row_id) if recs else None
        done = bool(o and o_main and len(recs) >= n and len(main_recs) >= ablations.MAIN.get(base, main_exp.trials))
        a, b = (solved_of(o_main) if o_main else 0), (solved_of(o) if o else 0)
        rows.append(dict(
            claim=ablations.ABLATIONS[names.split("+")[0]].claim, row=row_id, pair=pair, variant=names,
            main_trials=len(main_recs), main_solved=a, main_pct=o_main["success_pct"] if o_main else None,
            main_mean=o_main["mean"] if o_main else None, trials=len(recs), of=n, solved=b,
            success_pct=o["success_pct"] if o else None, mean=o["mean"] if o else None,
            ratio_to_main=(o["mean"] / o_main["mean"]) if o and o_main and o["mean"] and o_main["mean"] else None,
            p=ablations.fisher_p(a, len(main_recs), b, len(recs)) if done else None,
            outcome=ablations.compare((a, len(main_recs), o_main["mean"]), (b, len(recs), o["mean"])) if done else None))
    return rows


def claim_rows(rows):
    """Each claim of ablations.CLAIMS with its verdict (ablations.judge) and the outcome counts of
    its pairs; the forget gate, not a claim of the paper, says how many failing rows it rescues."""
    out = []
    for claim, statement in ablations.CLAIMS.items():
        mine = [r for r in rows if r["claim"] == claim]
        outcomes = {r["pair"]: r["outcome"] for r in mine}
        done = [r for r in mine if r["outcome"] is not None]
        count = lambda k: sum(r["outcome"] == k for r in done)
        verdict = ("later cell: see its rows" if claim == "forget" else ablations.judge(claim, outcomes))
        out.append(dict(claim=claim, text=statement, pairs=len(mine), recorded=len(done), worse=count("worse"),
                        same=count("same"), better=count("better"), verdict=verdict))
    return out


def forget_rows(rows):
    """The forget gate (Gers et al. 2000), per row of the plan: the main row and each forget-gate
    variant, its outcome against the main row, and its verdict against the paper's row
    (``classify``): does the later cell rescue a row the 1997 cell misses? From ablation_rows."""
    out = []
    for r in rows:
        if r["claim"] != "forget" or r["outcome"] is None:
            continue
        p = theirs(r["row"])
        paper_pct = p["success_pct"] if p["success_pct"] is not None else 100.0
        ratio = r["mean"] / p["mean"] if r["mean"] and p["mean"] else None
        main_ratio = r["main_mean"] / p["mean"] if r["main_mean"] and p["mean"] else None
        out.append(dict(row=r["row"], variant=r["variant"], main_pct=r["main_pct"],
                        main=classify(r["main_pct"], paper_pct, main_ratio, r["main_solved"]),
                        success_pct=r["success_pct"], trials=r["trials"], mean=r["mean"],
                        outcome=r["outcome"], verdict=classify(r["success_pct"], paper_pct, ratio, r["solved"])))
    return out
