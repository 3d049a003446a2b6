"""The README's generated part and the headline figure, from the trial records, and
docs/experiments.md, from the experiments.

``python -m lstm97 readme`` (run by ``make render``) rewrites the block between README_BEGIN and
README_END, the headline figure docs/figures/headline.png and docs/experiments.md (every condition's
settings, from lstm97/experiments.py); ``--check`` changes nothing and says whether they still
match the records and the experiments. Every count of rows comes from lstm97.verdicts.
"""
from pathlib import Path

from . import ablations, criteria, experiments, nets, paper, plots, readings, study, summary, tables, verdicts
from .tables import Table, count

FIGURE = Path("docs") / "figures" / "headline.png"
README_BEGIN = "<!-- results: written by `python -m lstm97 readme` from the records; do not edit by hand -->"
README_END = "<!-- /results -->"
RUNTIME_BEGIN = "<!-- runtime: written by `python -m lstm97 readme` from the records; do not edit by hand -->"
RUNTIME_END = "<!-- /runtime -->"
ROWS_BEGIN = "<!-- rows: written by `python -m lstm97 readme` from the records; do not edit by hand -->"
ROWS_END = "<!-- /rows -->"
CLAIMS_BEGIN = "<!-- claims: written by `python -m lstm97 readme` from the records; do not edit by hand -->"
CLAIMS_END = "<!-- /claims -->"
NAMES = {"cec": "The constant error carousel alone fails",
         "input-gate": "The input gate protects the stored value",
         "output-gate": "The output gate is needed for fast learning",
         "blocks": "Blocks of cells that share gates store more efficiently",
         "input-bias": "Negative input-gate biases prevent drift and need no fine-tuning",
         "output-bias": "Negative output-gate biases solve the abuse problem"}

# The paper's experiments as a reader knows them, with the rows each holds (by id prefix).
EXPERIMENTS = [
    ("1", "Experiment 1: embedded Reber grammar (Table 1)"),
    ("2a", "Experiment 2a: noise-free sequences, long lags (Table 2)"),
    ("2b", "Experiment 2b: no local regularities (Section 5.2)"),
    ("2c", "Experiment 2c: very long lags, q=50 to 1,000 (Table 3)"),
    ("3", "Experiment 3: noise and signal on one channel (Tables 4-6)"),
    ("4", "Experiment 4: the adding problem (Table 7)"),
    ("5", "Experiment 5: the multiplication problem (Table 8)"),
    ("6", "Experiment 6: temporal order (Table 9)"),
]


def family(row):
    """The experiment (a key of EXPERIMENTS) a paper row belongs to: '2c-5' -> '2c', '4-1' -> '4'."""
    return row[:2] if row[:2] in ("2a", "2b", "2c") else row[0]


def by_experiment(vs):
    """Rows per experiment and category: one dict per experiment of EXPERIMENTS."""
    out = []
    for key, name in EXPERIMENTS:
        mine = [v for v in vs if family(v.row) == key]
        n = verdicts.counts(mine)
        out.append(dict(experiment=name, rows=len(mine), **{c: n[c] for c in verdicts.CATEGORIES},
                        under_reading=n["under_reading"]))
    return out


def by_experiment_table(vs):
    """The verdict table by experiment (the README's and the index's first table)."""
    short = {"reproduced": "reproduced", "faster": "solved, faster", "slower": "solved, slower",
             "lower": "lower success", "fails": "fails"}
    cols = [("experiment", "experiment", "text"), ("rows", "rows", "count")]
    cols += [(c, short[c], "count") for c in verdicts.CATEGORIES]
    cols += [("under_reading", "reproduced under a reading", "count")]
    rows = by_experiment(vs)
    total = dict(experiment="all rows", **{k: sum(r[k] for r in rows) for k in rows[0] if k != "experiment"})
    return Table(rows + [total], cols, css="verdict-table", notes=[
        "Rows of the paper's tables per verdict. " + verdicts.GLOSSARY + " Solved, faster (slower): "
        "success within 10 points, mean below half (above twice) the paper's. Lower success: more "
        "than 10 points below the paper's; fails: under 20% of trials solved. Reproduced under a "
        "reading: a main row missed, but a labelled reading of the set-up meets both targets "
        "(notebook 08)."])


def headline_figure(vs, path):
    """Draw the headline figure (plots.headline) into ``path``; byte-stable for the same records."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with matplotlib.rc_context():
        plots.style()
        fig = plots.headline(vs)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        plots.save(fig, path)
        plt.close(fig)


def paper_scale_hours(results):
    """(trials, core-hours) of every committed record: the sum of the trials' measured times."""
    import json
    trials, seconds = 0, 0.0
    for p in Path(results).glob("*/trial_*.json"):
        trials += 1
        seconds += json.loads(p.read_text())["wall_time"]
    return trials, seconds / 3600


def readme_block(vs, results):
    """The generated answer of the README: the answer in sentences, the headline figure, the
    verdict table by experiment, and the trials behind them."""
    trials, hours = paper_scale_hours(results)
    return "\n".join([
        README_BEGIN,
        " ".join(verdicts.answer(vs)),
        "",
        f"![Each row of the paper's Tables 1-9: trials solved, and mean sequences until success "
        f"against the paper's, coloured by verdict]({FIGURE.as_posix()})",
        "",
        by_experiment_table(vs).to_markdown(),
        "",
        f"Behind these numbers: {count(trials)} trials at the paper's scale (main rows, readings and "
        f"competitors), {hours:,.0f} core-hours of training, the sum of the trials' measured times.",
        README_END])


def rows_block(vs):
    """The README's table of every row beside the paper's."""
    return "\n".join([ROWS_BEGIN, verdicts.verdict_table(vs).to_markdown(), ROWS_END])


def runtime_block(results, planned=()):
    """The README's paper-scale time: the queue's plan of a complete run, one line per machine
    size of ``planned`` [(workers, trials, hours)] (plan.py); the trials not recorded yet; what
    the committed records took."""
    trials, hours = paper_scale_hours(results)
    loaded = study.load_ablations(results)
    pending = [(i, n - len(loaded[i])) for i, n in ablations.PLAN if len(loaded[i]) < n]
    missing = sum(k for _, k in pending)
    plan_lines = [f"- {w} workers: about {tables.hours(h)} hours for {count(n)} trials "
                  f"(`python -m lstm97 plan --workers {w}`)" for w, n, h in planned]
    return "\n".join([
        RUNTIME_BEGIN,
        *(["A complete run at the paper's scale, as the queue plans it from the records' trial-steps "
           "and the costs per experiment measured on a 2-core virtual machine (docs/runtime.md: how "
           "the plan is made, and how close it came to measured runs):", ""] + plan_lines + [""]
          if planned else []),
        f"The committed records hold {count(trials)} trials (every notebook: the main rows, the "
        f"readings study, the competitors and the cell's parts); with the code and machines of "
        f"their day they took {hours:,.0f} core-hours."
        + (f" Not recorded yet: {count(missing)} planned trials of notebook 09, of {len(pending)} pairs "
           f"({', '.join(i for i, _ in pending)}); the plan counts them." if missing else ""),
        RUNTIME_END])


def forget_sentence(rows, pairs):
    """What the forget-gate pairs of the cell study (summary.ablation_rows ``rows``; ``pairs``
    planned) show so far: how many are recorded, the rows it brings to the paper's targets that
    the 1997 cell misses, and the rows it makes worse than the 1997 cell."""
    done = summary.forget_rows(rows)
    rescued = sorted({r["row"] for r in done if r["main"] != "reproduced" and r["verdict"] == "reproduced"})
    worse = sorted({r["row"] for r in done if r["outcome"] == "worse"})
    return (f"{len(done)} of {pairs} pairs recorded; it brings " + (", ".join(rescued) if rescued else "no row")
            + " the 1997 cell misses to the paper's targets"
            + (f", and makes {', '.join(worse)} worse than the 1997 cell" if worse else "") + ".")


def claim_verdicts(rows, bold=False):
    """One sentence per claim of the cell study (summary.ablation_rows ``rows``): the claim,
    its verdict and its pairs; the claim's name in Markdown bold if ``bold``."""
    name = (lambda s: f"**{s}**") if bold else (lambda s: s)
    lines = []
    for c in summary.claim_rows(rows):
        if c["claim"] == "forget":
            lines.append(name("The forget gate") + " (Gers et al. 2000, a later cell, not the paper's): "
                         + forget_sentence(rows, c["pairs"]))
            continue
        pending = c["pairs"] - c["recorded"]
        lines.append(f"{name(NAMES[c['claim']])}, the paper says: {c['verdict']} here. Of {c['recorded']} "
                     f"pairs, the variant made {c['worse']} worse than the main row, {c['same']} no different "
                     f"and {c['better']} better"
                     + (f"; {pending} pairs pending." if pending else "."))
    return lines


def claim_sentences(results, scale="paper"):
    """claim_verdicts of the records in ``results``, the names in bold: the README's and 07's list."""
    return claim_verdicts(summary.ablation_rows(study.load_ablations(results, scale)), bold=True)


def claim_lines(results, scale="paper"):
    """The README's list of claim_sentences."""
    return "\n".join([CLAIMS_BEGIN, *(f"- {line}" for line in claim_sentences(results, scale)), CLAIMS_END])


def rewrite(text, block, begin=README_BEGIN, end=README_END):
    """``text`` with its one generated block (``begin`` ... ``end``) replaced by ``block``;
    ValueError without exactly one such block."""
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"the README needs exactly one {begin!r} ... {end!r} block")
    head, rest = text.split(begin)
    return head + block + rest.split(end, 1)[1]


def readme(results, path, check=False, figure=True, planned=()):
    """Rewrite (or with ``check`` only compare) the README's generated block and docs/experiments.md
    (experiments_doc) beside it, and draw the headline figure (docs/figures/headline.png under the
    README's folder). Returns 0, or 1 when ``check`` finds either file out of date."""
    import sys
    if not Path(results).is_dir():
        raise ValueError(f"no results folder {results}")
    vs = verdicts.row_verdicts(results, "paper")
    text = Path(path).read_text()
    new = rewrite(text, readme_block(vs, results))
    if RUNTIME_BEGIN in text:
        new = rewrite(new, runtime_block(results, planned), RUNTIME_BEGIN, RUNTIME_END)
    if ROWS_BEGIN in text:
        new = rewrite(new, rows_block(vs), ROWS_BEGIN, ROWS_END)
    if CLAIMS_BEGIN in text:
        new = rewrite(new, claim_lines(results), CLAIMS_BEGIN, CLAIMS_END)
    doc = Path(path).parent / EXPERIMENTS_DOC
    if check:
        stale = []
        if new != text:
            stale.append(f"{path}: the results block differs from the records in {results}")
        if not doc.exists() or doc.read_text() != experiments_doc():
            stale.append(f"{doc}: differs from lstm97/experiments.py")
        for line in stale:
            print(f"{line}; run python -m lstm97 readme", file=sys.stderr)
        return 1 if stale else 0
    Path(path).write_text(new)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(experiments_doc())
    if figure:
        headline_figure(vs, Path(path).parent / FIGURE)
    return 0




# --------------------------------------------------------------------------- docs/experiments.md
EXPERIMENTS_DOC = Path("docs") / "experiments.md"
BIAS_WORDS = {"gates": "gates only", "none": "none", "hidden": "all hidden units", "all": "all non-input units",
              "input": "input gates only"}


def paper_row_words(e):
    """The paper's row an experiment stands for: 'Table 4, 3a-T100-N3'; '–' for guessing."""
    if not e.rows:
        return None
    table = paper.result(e.rows[0])["table"] or "Section 5.2 text"
    return f"{table}, {', '.join(e.rows)}"


def criterion_words(e):
    """An experiment's stopping criterion in words (summary.CRITERIA), with its bounds."""
    words = summary.CRITERIA[e.criterion]
    if e.criterion == "reber":
        return f"{words}, checked every {e.check_every:,} strings"
    if e.criterion == "window":
        where = "at every step" if e.all_steps else "at the sequence end"
        return words.replace("ABS", f"ABS({e.abs:g})") + f", {where}"
    if e.criterion == "st12":
        clean = " against the noise-free target" if criteria.judged_on_clean(e) else ""
        every = f", checked every {e.check_every:,} sequences" if e.check_every else ""
        return (f"{words}: ST1 at most {e.st1_wrong} of {e.check_size} fresh sequences off by more than "
                f"{e.abs:g}, ST2 also their mean |error| < {e.st2_mean:g}{clean}{every}")
    if e.criterion == "st3":
        return (f"ST3({e.beta:g}): mean end error of the last {e.window:,} sequences below {e.beta:g}, "
                f"each with |error| < {e.abs:g}")
    return (f"fewer than n of the last {e.window:,} sequences with |error| ≥ {e.abs:g}, "
            f"for n = {', '.join(str(n) for n in e.nseq)}")


def net_words(e):
    """An LSTM net in words: blocks x cells and what differs from the fully recurrent net of
    docs/paper.md §1.5; a competitor's net: its units."""
    n = e.net
    if e.is_baseline:
        kind = {"guess": f"architecture {n.get('arch')}", "elman": "Elman net"}.get(e.gradient, "one layer")
        words = [f"{kind}, {n['hidden']} hidden unit{'s' * (n['hidden'] != 1)}"]
        if n.get("outputs") == "recurrent":
            words.append("recurrent outputs")
        if n.get("recurrence") == "self":
            words.append("self-recurrent")
    else:
        B, S = n["blocks"], n["block_size"]
        words = [f"{B} block{'s' * (B != 1)} of {S} cell{'s' * (S != 1)}"]
        if n.get("output_gates") is False:
            words.append("no output gates")
        if n.get("recurrent") is False:
            words.append("no recurrent connections")
        if "g" in n:
            words.append(f"g {n['g']}, h {n['h']}")
        if e.grow:
            words.append("the cell added once the error stops decreasing")
    if n.get("shortcuts"):
        words.append("input-output shortcuts")
    return ", ".join(words)


def bias_words(config):
    """Which units have bias weights, and the gates' initial biases (a row of summary.config_rows)."""
    return (f"{BIAS_WORDS[config['bias']]}; input gates {config['in_gate_bias']}; "
            f"output gates {config['out_gate_bias']}")


def setting_rows(exps):
    """One row of settings per experiment, as docs/experiments.md shows them."""
    rows = []
    for e in exps:
        guess = e.gradient == "guess"
        row = dict(experiment=e.id, paper_row=paper_row_words(e), task=summary.describe_task(e),
                   net=net_words(e), weights=nets.make_net(e).n_weights, lr=None if guess else e.lr,
                   update=None if guess else "per step" if e.update == "step" else "per sequence",
                   criterion=criterion_words(e), budget=e.budget, trials=e.trials)
        if not e.is_baseline:
            config = summary.config_rows([e])[0]
            row.update(biases=bias_words(dict(config, bias=e.net["bias"])), init=config["init"])
        else:
            row.update(biases="all units" if guess else "none", init="±100" if guess else f"±{e.net['init']:g}")
        rows.append(row)
    return rows


SETTING_COLUMNS = [("experiment", "condition", "text"), ("paper_row", "paper row", "text"),
                   ("task", "task", "text"), ("net", "net", "text"), ("weights", "weights", "count"),
                   ("biases", "bias weights; initial gate biases", "text"), ("init", "initial weights", "text"),
                   ("lr", "learning rate", "text"), ("update", "weights change", "text"),
                   ("criterion", "stops when", "text"), ("budget", "budget (sequences)", "count"),
                   ("trials", "trials", "count")]


def _pairs_table(plan, change):
    """A study's plan as a short table: one line per change and trial count, with the main rows
    it pairs with that change."""
    groups = {}
    for pair, trials in plan:
        base, _, variant = pair.partition("+")
        groups.setdefault((variant, trials), []).append(base)
    rows = [dict(pair=", ".join(bases) + (f" +{variant}" if variant else ""), change=change(variant), trials=trials)
            for (variant, trials), bases in groups.items()]
    return Table(rows, [("pair", "pairs", "text"), ("change", "change", "text"), ("trials", "trials each", "count")])


def _reading_change(variant):
    if not variant:
        return f"none: the main run again on a second seed set (trials {ablations.EXP1_TRIALS // 2}-" \
               f"{ablations.EXP1_TRIALS - 1}), so that it stands on {ablations.EXP1_TRIALS} trials"
    return "; and ".join(readings.READINGS[n].what for n in variant.split("+"))


def experiments_doc():
    """docs/experiments.md: every condition with its settings, criterion, budget, trial count and
    the paper row it stands for, from lstm97/experiments.py, readings.py and ablations.py."""
    main = [e for e in experiments.EXPERIMENTS.values() if not e.variant]
    out = ["# Experiments", "",
           "Every condition this project trains, with its settings, generated from lstm97/experiments.py "
           "(and the studies' plans in lstm97/readings.py and lstm97/ablations.py) by `python -m lstm97 "
           "readme`; do not edit by hand. Where the paper is silent, the choice is ours "
           "(docs/paper.md §6; `experiments.CHOICES`). " + summary.GLOSSARY, "",
           "## Main rows", "",
           "The literal 1997 set-up of each row of Tables 1-9 (Table 10 and 11, docs/paper.md §4). "
           "Budget: training stops as a failure after this many sequences (Exp 1: strings)."]
    for key, name in EXPERIMENTS:
        out += ["", f"### {name}", "",
                Table(setting_rows([e for e in main if family(e.rows[0]) == key]), SETTING_COLUMNS).to_markdown()]
    out += ["", "## Comparison rows", "",
            "A main run again with one thing changed, labelled `<condition>+<name>`; these draw seeds of their own."]
    for c in experiments.COMPARISONS:
        exps = [experiments.EXPERIMENTS[f"{r}+{c.name}"] for r in c.rows]
        out += ["", f"### +{c.name}: {c.what}", "", f"Why: {c.why}.", "",
                Table(setting_rows(exps), SETTING_COLUMNS).to_markdown()]
    choices = experiments.BASELINE_CHOICES
    out += ["", "## Competitors", "",
            "The competitor rows of Tables 1 and 2 (docs/paper.md §6.17) and random weight guessing "
            f"(docs/paper.md §5.8). {choices['competitors']} {choices['guessing']} "
            "Guessing's budget counts guesses; it has no learning rate and changes no weight.", "",
            Table(setting_rows(experiments.BASELINES.values()), SETTING_COLUMNS).to_markdown()]
    same = ", ".join(f"`{p}`" for p in readings.SAME_AS_MAIN)
    out += ["", "## The readings study", "",
            "Other readings of the set-up (lstm97/readings.py, notebook 08), each beside its main run with "
            f"the main run's seeds, budget and settings otherwise. Not run, being the main run itself: {same}.", "",
            _pairs_table(readings.PLAN, _reading_change).to_markdown()]
    out += ["", "## The cell ablation study", "",
            "One part of the memory cell changed (lstm97/ablations.py, notebook 09), each beside its main run "
            "with the main run's seeds, budget and settings otherwise.", "",
            _pairs_table(ablations.PLAN, lambda v: ablations.ABLATIONS[v].what).to_markdown()]
    return "\n".join(out) + "\n"
