"""The README's generated part and the headline figure, from the trial records.

``python -m lstm97 readme`` (run by ``make render``) rewrites the block between README_BEGIN and
README_END and the headline figure docs/figures/headline.png; ``--check`` changes nothing and says
whether the README still matches the records. Every count of rows comes from lstm97.verdicts.
"""
from pathlib import Path

from . import plots, study, summary, verdicts
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


def runtime_block(results):
    """The README's paper-scale time: one figure, its scope, and where it comes from."""
    trials, hours = paper_scale_hours(results)
    return "\n".join([
        RUNTIME_BEGIN,
        f"At the paper's scale `make reproduce` trains {count(trials)} trials (every notebook: the "
        f"main rows, the readings study and the competitors). Their committed records took "
        f"{hours:,.0f} core-hours, so a complete run takes about {hours / 2:,.0f} hours on 2 cores "
        "(docs/runtime.md: per notebook, and what faster lanes and more cores change).",
        RUNTIME_END])


def claim_sentences(results, scale="paper"):
    """One sentence per claim of the cell ablation study (notebook 09): its verdict and its pairs."""
    rows = summary.ablation_rows(study.load_ablations(results, scale))
    lines = []
    for c in summary.claim_rows(rows):
        if c["claim"] == "forget":
            done = summary.forget_rows(rows)
            rescued = sorted({r["row"] for r in done if r["main"] != "reproduced" and r["verdict"] == "reproduced"})
            lines.append(f"**The forget gate** (Gers et al. 2000, a later cell, not the paper's): "
                         f"{len(done)} of {c['pairs']} pairs recorded; it brings "
                         + (", ".join(rescued) if rescued else "no row") + " the 1997 cell misses to the "
                         "paper's targets so far.")
            continue
        pending = c["pairs"] - c["recorded"]
        lines.append(f"**{NAMES[c['claim']]}**, the paper says: {c['verdict']} here. Of {c['recorded']} "
                     f"pairs, the variant made {c['worse']} worse than the main row and {c['better']} better"
                     + (f"; {pending} pairs pending." if pending else "."))
    return lines


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


def readme(results, path, check=False, figure=True):
    """Rewrite (or with ``check`` only compare) the README's generated block, and draw the headline
    figure beside it (docs/figures/headline.png under the README's folder). Returns 0, or 1 when
    ``check`` finds the README out of date."""
    import sys
    if not Path(results).is_dir():
        raise ValueError(f"no results folder {results}")
    vs = verdicts.row_verdicts(results, "paper")
    text = Path(path).read_text()
    new = rewrite(text, readme_block(vs, results))
    if RUNTIME_BEGIN in text:
        new = rewrite(new, runtime_block(results), RUNTIME_BEGIN, RUNTIME_END)
    if ROWS_BEGIN in text:
        new = rewrite(new, rows_block(vs), ROWS_BEGIN, ROWS_END)
    if CLAIMS_BEGIN in text:
        new = rewrite(new, claim_lines(results), CLAIMS_BEGIN, CLAIMS_END)
    if check:
        if new != text:
            print(f"{path}: the results block differs from the records in {results}; "
                  f"run python -m lstm97 readme", file=sys.stderr)
            return 1
        return 0
    Path(path).write_text(new)
    if figure:
        headline_figure(vs, Path(path).parent / FIGURE)
    return 0


