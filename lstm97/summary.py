"""Trial records -> the paper's statistics, beside the paper's own row (Tables 1-9)."""
import numpy as np

from . import paper
from .experiments import VARIANTS
from .runner import ENGINE

COLUMNS = ("trials", "success_pct", "mean", "median", "min", "max", "ratio", "st1", "wrong",
           "test_size", "fraction_misclassified", "av_difference", "mse")


def _stage(exp, row_id):
    """Which stage of a record a paper row is measured at."""
    if exp.criterion == "nseq":
        return f"nseq{paper.RESULTS[row_id]['n_seq']}"
    return "st2" if exp.criterion == "st12" else "solved"


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
    if exp.criterion == "reber":
        out["wrong"] = mean_of("test_wrong")
    else:
        out["wrong"] = mean_of("wrong")
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


def format_table(rows, columns=None, floats="{:,.4g}"):
    """A plain-text table (deterministic, so nbval can check it) of a list of dicts."""
    if not rows:
        return "(no records)"
    columns = columns or list(rows[0])

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 1000 else floats.format(v)
        if isinstance(v, int):
            return f"{v:,}"
        if isinstance(v, (list, tuple)):
            return ",".join(cell(x) for x in v)
        return str(v)

    body = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = lambda cells: "  ".join(s.rjust(w) for s, w in zip(cells, widths))
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(b) for b in body])


def config_rows(exps):
    """Each experiment's configuration beside its Table-10 row."""
    from .network import LSTM97
    rows = []
    for e in exps:
        t10 = paper.TABLE10[e.condition]
        net = LSTM97(**e.net)
        rows.append(dict(
            experiment=e.id, task=f"{e.task[0]}{e.task[1]}", blocks=f"{net.B}x{net.S}",
            weights=net.n_weights, paper_weights=t10["weights"], bias=net.bias,
            in_gate_bias=e.net["input_gate_bias"] or "r", out_gate_bias=e.net["output_gate_bias"] or
            ("none" if not net.output_gates or net.bias == "none" else "r"),
            init=e.net["init"], lr=e.lr, paper_lr=t10["lr"], trials=e.trials, criterion=e.criterion,
            budget=e.budget, update=e.update))
    return rows


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
        rows.append(dict(o, who=f"ours ({exp.variant})" if exp.variant else "ours"))
        rows.append(dict(p, who="paper"))
    return rows


def targets_met(o, p):
    """(paper's success %, success within 10 points?, mean within a factor of 2?): the project's
    targets. Where the paper states no success rate its table reports every trial: read as 100%."""
    paper_pct = p["success_pct"] if p["success_pct"] is not None else 100.0
    ok_pct = o["success_pct"] is not None and abs(o["success_pct"] - paper_pct) <= 10
    ok_mean = o["ratio"] is not None and 0.5 <= o["ratio"] <= 2.0
    return paper_pct, ok_pct, ok_mean


def distance(o, p):
    """How far a row is from the paper's (the readings study's yardstick, fixed before its runs):
    |success % - paper's| / 10 + |log2(mean ratio)|; a row with no success counts as 8x off."""
    paper_pct, _, _ = targets_met(o, p)
    off = abs(np.log2(o["ratio"])) if o["ratio"] else 3.0
    return abs((o["success_pct"] or 0.0) - paper_pct) / 10 + off


def verdict_rows(pairs):
    """The project's targets per paper row: success within 10 points, mean within a factor of 2."""
    rows = []
    for exp, o, p in paired(pairs):
        paper_pct, ok_pct, ok_mean = targets_met(o, p)
        rows.append(dict(experiment=exp.id, row=o["row"], trials=o["trials"],
                         success_pct=o["success_pct"], paper_pct=paper_pct,
                         within_10_points=ok_pct, ratio=o["ratio"], within_2x=ok_mean))
    return rows


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


def reading_verdicts(rows, readings):
    """A verdict in words for each paper row from reading_rows: reproduced by the main run, or
    under which reading (and what that reading contradicts in the paper), or by none; with the
    best-matching reading (smallest ``distance``). ``readings``: name -> Reading."""
    out = []
    for row in dict.fromkeys(r["row"] for r in rows):
        mine = [r for r in rows if r["row"] == row]
        main = [r for r in mine if r["reading"] == "main"]
        others = [r for r in mine if r["reading"] != "main"]
        best = _best(others)
        fmt = lambda r: (f"{r['reading']}: {r['success_pct']:.0f}% of {r['trials']}"
                         + (f" (of {r['of']} planned)" if r["trials"] < r["of"] else "")
                         + (f", mean {r['mean']:,.0f}" if r["mean"] is not None else ""))
        good = [r for r in others if r["meets_both"]]
        if main and main[0]["meets_both"]:
            text = "reproduced by the main run"
        elif good:
            what = "; ".join(
                fmt(r) + "".join(f" [contradicts {readings[n].contradicts}]" for n in r["reading"].split("+")
                                 if n in readings and readings[n].contradicts) for r in good)
            text = f"reproduced only under a reading: {what}"
        else:
            text = "not reproduced under any reading tried"
        paper = mine[0]
        out.append(dict(row=row, paper=f"{paper['paper_pct']:.0f}%" + (
            f", mean {paper['paper_mean']:,.0f}" if paper["paper_mean"] else ""),
            main=fmt(main[0]) if main else "-", verdict=text,
            best_reading=fmt(best) if best else "-"))
    return out


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


def best_reading_lines(rows):
    """README table of best_reading_rows, each reading labelled as such."""
    pct = lambda p, n, of=None: f"{p:.0f}% of {n}" + (f" (of {of} planned)" if of and n < of else "")
    num = lambda x: "-" if x is None else f"{x:,.0f}"
    lines = ["| row | main run: success, mean | best-matching reading | its success, mean | meets both targets "
             "| paper |", "|---|---|---|---|---|---|"]
    for b in best_reading_rows(rows):
        lines.append(f"| {b['row']} | {pct(b['main_pct'], b['main_trials'])}, {num(b['main_mean'])} | "
                     f"{b['best_reading']} | {pct(b['success_pct'], b['trials'], b['of'])}, {num(b['mean'])} | "
                     f"{'yes' if b['meets_both'] else 'no'} | {b['paper_pct']:.0f}%, {num(b['paper_mean'])} |")
    return "\n".join(lines)


def markdown_rows(pairs):
    """README table: one line per paper row, ours beside the paper (paper in brackets)."""
    pct = lambda x: "-" if x is None else f"{x:.0f}"
    num = lambda x: "-" if x is None else f"{x:,.0f}"
    lines = ["| row | trials | success % (paper) | mean sequences (paper) | ratio |", "|---|---|---|---|---|"]
    for exp, o, t in paired(pairs):
        who = o["row"] + (f" ({VARIANTS[exp.variant]})" if exp.variant else "")
        ratio = "-" if o["ratio"] is None else f"{o['ratio']:.2f}"
        lines.append(f"| {who} | {o['trials']} | {pct(o['success_pct'])} ({pct(t['success_pct'])}) | "
                     f"{num(o['mean'])} ({num(t['mean'])}) | {ratio} |")
    return "\n".join(lines)


def learning_rows(pairs, fractions=(0.9, 0.99)):
    """When the nets learn versus when the criterion holds (stream criteria only).

    For each experiment: the median over trials of the first training chunk in which at least
    90% (99%) of the sequences were within the tolerance at the sequence end, beside the mean
    sequences until the paper's criterion held and the paper's mean.
    """
    rows = []
    for exp, records in pairs:
        if exp.criterion not in ("window", "st3", "nseq"):
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
    from .runner import SMOKE
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


# Which notebook trains which experiments: the experiment number is the notebook number.
NOTEBOOKS = {"1": "01_embedded_reber", "2": "02_long_time_lags", "3": "03_noise_and_signal",
             "4": "04_adding", "5": "05_multiplication", "6": "06_temporal_order"}
# Per-step weight updates on the 2a/2b net cost 1.2-1.9 times the per-sequence time in the
# single-trial engine (make bench, "the net of 2a/2b", three runs on a quiet core, 2026-11-30,
# since a per-step update visits only the readout columns the step wrote; before that, a short
# 2b+step check gave 5). Rounded up; used only to estimate rows with no records.
PER_STEP_SLOWDOWN = 2.0


def estimate_core_hours(exp, pairs):
    """Core-hours of an experiment with no records, from its main row's measured time per sequence,
    as if every trial ran to its budget (an upper bound); None when there is no basis."""
    measured = {e.id: r for e, r in pairs}
    base = measured.get(exp.id.split("+")[0])
    if exp.variant != "step" or not base:
        return None
    per_seq = sum(r["wall_time"] for r in base) / sum(r["sequences_trained"] for r in base)
    return exp.trials * exp.budget * per_seq * PER_STEP_SLOWDOWN / 3600


def runtime_rows(pairs, missing=()):
    """What ``make reproduce`` at paper scale costs, per notebook: trials and measured core-hours
    from the records, plus an estimate for configurations without records (``missing``: experiments).
    A row with fewer records than its trial count gets an estimate for the rest from its own
    records' mean wall time. ``estimated``: [(experiment, core-hours or None, trials estimated)].
    """
    rows = {}
    for exp, records in pairs:
        r = rows.setdefault(NOTEBOOKS[exp.id[0]], dict(trials=0, core_hours=0.0, estimated=[]))
        r["trials"] += len(records)
        r["core_hours"] += sum(x["wall_time"] for x in records) / 3600
        if records and len(records) < exp.trials:
            rest = exp.trials - len(records)
            r["estimated"].append((exp, rest * np.mean([x["wall_time"] for x in records]) / 3600, rest))
    for exp in missing:
        r = rows.setdefault(NOTEBOOKS[exp.id[0]], dict(trials=0, core_hours=0.0, estimated=[]))
        r["estimated"].append((exp, estimate_core_hours(exp, pairs), exp.trials))
    return [dict(notebook=k, **rows[k]) for k in sorted(rows)]


def runtime_table(pairs, missing=(), study=None, competitors=None):
    """The README's runtime table (markdown) and the totals: measured, estimated, and what has no
    basis for an estimate. ``study``: the readings study's pairs (see study_runtime), one line;
    ``competitors``: [(experiment, records, planned trials)] of the competitor rows, one line."""
    lines = ["| notebook | trials recorded | core-hours measured | not recorded yet: estimate |",
             "|---|---|---|---|"]
    measured = estimated = 0.0
    unknown = []
    for r in runtime_rows(pairs, missing):
        est = []
        for exp, hours, n in r["estimated"]:
            what = f"{exp.id} ({n} trials)" if n == exp.trials else f"{exp.id} ({n} more of {exp.trials} trials)"
            if hours is None:
                unknown.append(exp.id)
                est.append(f"{what}: no basis for an estimate")
            else:
                estimated += hours
                est.append(f"{what}: about {hours:.0f} core-hours")
        measured += r["core_hours"]
        lines.append(f"| {r['notebook']} | {r['trials']:,} | {r['core_hours']:.1f} | "
                     f"{'; '.join(est) or '-'} |")
    trials = sum(len(r) for _, r in pairs)
    if study:
        line, hours, est, unstarted = study_runtime(study)
        lines.append(line)
        measured, estimated = measured + hours, estimated + est
        trials += sum(len(r) for _, r, _ in study)
        if unstarted:
            unknown.append(f"{len(unstarted)} unstarted pairs of the readings study")
    if competitors:
        line, hours, est, unstarted = study_runtime(competitors, "competitors (01-03)")
        lines.append(line)
        measured, estimated = measured + hours, estimated + est
        trials += sum(len(r) for _, r, _ in competitors)
        if unstarted:
            unknown.append(f"{len(unstarted)} unstarted competitor rows")
    lines.append(f"| total | {trials:,} | {measured:.1f} | "
                 f"{f'about {estimated:.0f} core-hours' if estimated else '-'} |")
    return "\n".join(lines), measured, estimated, unknown


README_BEGIN = "<!-- results: written by `python -m lstm97 readme` from the records; do not edit by hand -->"
README_END = "<!-- /results -->"


def study_runtime(study, label="08_readings"):
    """The readings study's line of the runtime table (notebook 08): its reading pairs' measured
    core-hours, and for unfinished pairs an estimate from their own recorded trials' mean time.
    ``study``: [(experiment, records, planned trials)] of the plan's reading pairs. The same for
    the competitors' rows (label "competitors (01-03)")."""
    hours = sum(r["wall_time"] for _, recs, _ in study for r in recs) / 3600
    est, unknown, todo = 0.0, [], 0
    for exp, recs, n in study:
        if len(recs) < n:
            todo += n - len(recs)
            if recs:
                est += (n - len(recs)) * np.mean([r["wall_time"] for r in recs]) / 3600
            else:
                unknown.append(exp.id)
    kind = "pairs" if label == "08_readings" else "rows"
    parts = ([f"about {est:.1f} core-hours for the started {kind}"] if est else []) + \
            ([f"no basis yet for {len(unknown)} unstarted {kind}"] if unknown else [])
    line = (f"| {label} | {sum(len(r) for _, r, _ in study):,} | {hours:.1f} | "
            + (f"{todo:,} planned trials: {', '.join(parts)}" if todo else "-") + " |")
    return line, hours, est, unknown


def learner_hours(records):
    """Measured core-hours and trials per learner, from each record's ``engine`` (up to its
    colon: "lstm97.lanes", "lstm97.rtrl", ...), most hours first."""
    out = {}
    for r in records:
        name = r.get("engine", ENGINE).split(":")[0]     # naming none: made before records named it
        hours, n = out.get(name, (0.0, 0))
        out[name] = (hours + r["wall_time"] / 3600, n + 1)
    return sorted(out.items(), key=lambda kv: -kv[1][0])


def learner_line(records):
    """The README's sentence on which learners made the measured core-hours."""
    parts = [f"{name} {hours:.1f} ({n:,} trials)" for name, (hours, n) in learner_hours(records)]
    return ("By the learner each record names (those naming none are the single-trial engine's), core-hours: "
            + ", ".join(parts) + ". A run today trains the truncated-gradient rows in SIMD lanes "
            "(lstm97.lanes), faster per trial-step than the single-trial engine (`make bench`). The "
            f"rows that {ENGINE.split(':')[0]} recorded were not re-run in lanes, so the time above "
            "is the records', not a run's of today.")


def readme_block(pairs, missing, study=None, study_rows=None, competitors=None):
    """The generated part of the README's Results section: compute and the runtime of a paper-scale
    ``make reproduce``, ours beside the paper for every row, when the nets learn versus when the
    criterion holds, and the readings study's best-matching reading per row. ``missing``: the ids
    of the experiments with no records; ``study``: see study_runtime; ``study_rows``: reading_rows;
    ``competitors``: {id: records} of the competitor rows (experiments.BASELINES)."""
    from .experiments import EXPERIMENTS, get
    total = compute_rows(pairs)[-1]
    comp = [(get(i), r, get(i).trials) for i, r in competitors.items()] if competitors is not None else None
    runtime, measured, estimated, unknown = runtime_table(pairs, [EXPERIMENTS[i] for i in missing], study, comp)
    if estimated:
        whole = (f"about {(measured + estimated) / 2:.0f} hours on 2 cores ({measured:.1f} "
                 f"core-hours measured plus about {estimated:.0f} estimated")
        whole += f"; nothing known for {', '.join(unknown)})" if unknown else ")"
    else:
        whole = f"about {measured / 2:.1f} hours on 2 cores"
    partial = [f"{e.id} ({len(r)} of {e.trials})" for e, r in pairs if len(r) < e.trials]
    num = lambda x: "-" if x is None else f"{x:,.0f}"
    learn = ["| experiment | first chunk 90% right (median) | first chunk 99% right (median) "
             "| criterion held (mean) | paper |", "|---|---|---|---|---|"]
    for r in learning_rows(pairs):
        learn.append(f"| {r['experiment']} | {num(r['median_first_90%_right'])} | "
                     f"{num(r['median_first_99%_right'])} | {num(r['mean_until_criterion'])} | "
                     f"{num(r['paper_mean'])} |")
    return "\n".join([
        README_BEGIN,
        f"- Measured at paper scale: {total['trials']:,} trials, {total['steps']:.2e} LSTM time steps, "
        f"{total['core_hours']:.1f} core-hours of training (the sum of the trials' measured wall "
        f"times; two processes ran them, so about {total['hours_on_2_cores']:.1f} hours on 2 cores).",
        f"- Rows not run yet: {', '.join(missing) or 'none'}.",
        f"- Rows with fewer trials than the paper's count so far: {', '.join(partial) or 'none'}.",
        f"- A complete `make reproduce` (paper scale, every row the notebooks run) takes {whole}. "
        "Per notebook (notebooks 00 and 07 train nothing; a row with some records is estimated at its "
        "own mean time per trial; a row with none as if every trial runs to its budget, at the main "
        f"row's measured time per sequence times {PER_STEP_SLOWDOWN:g}, the slowdown per-step updates "
        "show on the 2a/2b net in `make bench`, rounded up):",
        "",
        runtime,
        "",
        learner_line([r for _, recs in pairs for r in recs]
                     + [r for _, recs, _ in (study or []) for r in recs]
                     + [r for recs in (competitors or {}).values() for r in recs]),
        "",
        markdown_rows(pairs),
        "",
        "When the nets learn (the first training chunk with 90% or 99% of its sequences within the "
        "tolerance at the sequence end, median over the trials that got there) beside when the "
        "paper's criterion held (mean over successful trials):",
        "",
        *learn,
        *(["", "The readings study (notebook 08): for each row it covers, the main run and the reading "
           "of the paper's set-up that comes closest to the paper's row (smallest |success % - paper's| / 10 "
           "+ |log2 mean ratio|), labelled as such. Main rows stay the literal 1997 set-up; "
           "notebook 08 shows every reading and what each contradicts in the paper.", "",
           best_reading_lines(study_rows)] if study_rows else []),
        *(["", "The paper's competitors, re-run (notebooks 01-03): whether the paper's ranking of the methods "
           "(by success rate, then mean sequences until success) holds in our runs, per table.", "",
           ranking_lines(competitors, pairs)] if competitors is not None else []),
        README_END])


# --------------------------------------------------------------------------- competitors (issue 16)
def competitor_rows(table, records):
    """Table 1's or Table 2's competitor rows (paper.COMPETITORS), our runs beside the paper's:
    one line per configuration that re-runs a row (Table 2's "1.0-10.0" rows: one per rate),
    "cited only" where none does. ``records``: {experiment id: records}."""
    from .experiments import BASELINES
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


def ranking(rows, lstm=()):
    """Does the paper's ranking of the methods hold in our runs? ``rows``: competitor_rows;
    ``lstm``: (label, our row, the paper's row, task) of the LSTM rows they sit beside. Methods
    are compared only on the same task (Table 2: the same delay p) and only with all their
    planned trials recorded, by success %, then mean sequences until success. Returns
    dict(paper=[labels best first], ours=[...], holds=bool (None: no two methods comparable yet),
    broken=[(a, b): the paper ranks a above b, our runs do not], left_out=[...])."""
    done, left = [], []
    for r in rows:
        label = f"{r['method']} lr {r['lr']:g}" if r["lr"] is not None else f"{r['method']} (cited)"
        if r["trials"] and r["trials"] == r["of"]:
            paper_pct = r["paper_pct"] if isinstance(r["paper_pct"], (int, float)) else None
            paper_mean = r["paper_mean"] if isinstance(r["paper_mean"], (int, float)) else None
            done.append((label, _rank_key(paper_pct, paper_mean), _rank_key(r["success_pct"], r["mean"]),
                         r.get("task", "")))
        else:
            left.append(label)
    for label, o, p, task in lstm:
        if o["trials"]:
            done.append((label, _rank_key(p["success_pct"] if p["success_pct"] is not None else 100.0,
                                          p["mean"]), _rank_key(o["success_pct"], o["mean"]), task))
    by_paper = [d[0] for d in sorted(done, key=lambda d: d[1])]
    by_ours = [d[0] for d in sorted(done, key=lambda d: d[2])]
    # every pair of methods on one task that the paper orders (a better than b) must be ordered
    # alike in our runs; two rows of one method (two LSTM rows, RTRL at two rates) are not two methods
    method = lambda d: d[0].split()[0]
    pairs = [(a, b) for a in done for b in done if a[3] == b[3] and method(a) != method(b)]
    broken = [(a[0], b[0]) for a, b in pairs if a[1] < b[1] and not a[2] < b[2]]
    holds = not broken if any(a[1] != b[1] for a, b in pairs) else None
    return dict(paper=by_paper, ours=by_ours, holds=holds, broken=broken, left_out=left)


def guessing_rows(records):
    """Random weight guessing (experiments.BASELINES, gradient "guess"), one line per task and
    architecture: trials, solved, guesses until success (mean, median), sequences evaluated per
    trial (mean), and the budget in guesses; beside it the LSTM row's paper mean in sequences."""
    from .experiments import BASELINES, EXPERIMENTS
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
