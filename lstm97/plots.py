"""The figures the notebooks show. Each takes matplotlib axes and draws on them; ``style``
sets the one look every figure shares."""
import numpy as np

from . import paper
from .experiments import VARIANTS
from .network import LSTM97
from .summary import _stage
from .tasks import reber
from .verdicts import CATEGORIES, LABELS

# The colours of the verdict categories (lstm97.verdicts), the same in every figure.
CATEGORY_COLOURS = {"reproduced": "#1b9e77", "faster": "#66a61e", "slower": "#e6ab02",
                    "lower": "#d95f02", "fails": "#c0392b", None: "#999999"}
SOLVED, FAILED, PAPER = "#1f77b4", "#c0392b", "black"


def style():
    """The report's figure style: readable type, light grid, no top/right spines, 100 dpi."""
    import matplotlib as mpl
    mpl.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 11,
        "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 8,
        "legend.framealpha": 0.9, "axes.grid": True, "grid.color": "0.9", "grid.linewidth": 0.6,
        "axes.spines.top": False, "axes.spines.right": False, "axes.axisbelow": True,
        "svg.hashsalt": "lstm97"})


def trained_net(exp, record):
    """The net a record stored (records keep the weights of their first trials)."""
    net = LSTM97(**exp.net)
    net.set_weights({k: np.array(v) for k, v in record["weights"].items()})
    return net


def sample_sequences(ax, batch, k=3, labels=None):
    """Inputs of the first k sequences: one-hot tasks as symbol index over time, others as values."""
    onehot = batch.x_idx.shape[1] == 1 and np.all(batch.x_val == 1.0)
    for i in range(min(k, len(batch))):
        a, b = batch.starts[i], batch.starts[i + 1]
        t = np.arange(b - a)
        if onehot:
            ax.plot(t, batch.x_idx[a:b, 0] + 0.15 * i, ".", ms=3, label=f"sequence {i}")
            ax.set_ylabel("input symbol (index)")
        else:
            for m in range(batch.x_idx.shape[1]):
                ax.plot(t, batch.x_val[a:b, m], lw=0.8, label=f"seq {i} input {m}" if labels is None else labels[m])
            ax.set_ylabel("input value")
    ax.set_xlabel("time step")
    ax.legend(fontsize=7, loc="upper right")


def sequences_until_success(ax, pairs):
    """Per-trial sequences until success (dots, with our mean as a bar), failed trials as a
    jittered strip just above their budget with their count written above it, and the paper's
    mean (dashed bar), one column per (experiment, records, paper row, stage) of ``pairs``.

    When the rows belong to more than one run (main run and labelled comparisons), each group of
    columns gets its label below the axis (main, per-step updates, ...) and a separator.
    """
    rng = np.random.default_rng(0)                 # the jitter only; the same figure every time
    top = 0
    for x, (exp, records, row_id, stage) in enumerate(pairs):
        ok = [r["stages"][stage] for r in records if stage in r["stages"]]
        bad = [r["sequences_trained"] for r in records if stage not in r["stages"]]
        if ok:
            ax.plot(x + rng.uniform(-0.22, 0.22, len(ok)), ok, "o", ms=4, alpha=0.75, color=SOLVED,
                    label="solved trial" if x == 0 else None)
            ax.hlines(np.mean(ok), x - 0.3, x + 0.3, color=SOLVED, lw=2, label="our mean" if x == 0 else None)
        if bad:
            y = np.array(bad, float) * 10 ** rng.uniform(0.02, 0.12, len(bad))
            ax.plot(x + rng.uniform(-0.3, 0.3, len(bad)), y, "x", ms=4, mew=1, alpha=0.8, color=FAILED,
                    label="failed trial (at its budget)" if not any(
                        h.get_label().startswith("failed") for h in ax.lines) else None)
            ax.annotate(f"{len(bad)} of {len(records)}\nfailed", (x, y.max()), xytext=(0, 4),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7, color=FAILED)
            top = max(top, y.max())
        mean = paper.RESULTS[row_id].get("mean_sequences")
        if mean:
            ax.hlines(mean, x - 0.35, x + 0.35, color=PAPER, lw=1.5, ls="--",
                      label="paper's mean" if x == 0 else None)
    ax.set_xticks(range(len(pairs)), [p[2] for p in pairs], rotation=30, ha="right")
    groups = []                                   # [variant, first x, last x]
    for x, (exp, *_) in enumerate(pairs):
        if groups and groups[-1][0] == exp.variant:
            groups[-1][2] = x
        else:
            groups.append([exp.variant, x, x])
    if len(groups) > 1:
        for variant, first, last in groups:
            ax.annotate(VARIANTS.get(variant, variant) if variant else "main", ((first + last) / 2, 0),
                        xycoords=("data", "axes fraction"), xytext=(0, -42), textcoords="offset points",
                        ha="center", va="top", fontsize=8, fontweight="bold")
            if first:
                ax.axvline(first - 0.5, color="0.6", lw=0.8)
    ax.set_xlim(-0.6, len(pairs) - 0.4)
    ax.set_yscale("log")
    if top:
        ax.set_ylim(top=top * 3)                  # room for the failure counts
    ax.set_ylabel("training sequences until success")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def learning_curves(ax, records, label=""):
    """Mean training error per chunk over training, one line per trial; the error axis is
    logarithmic only where the curves span more than a factor of 10."""
    values = []
    for r in records:
        c = np.array(r["curve"])
        if len(c):
            ax.plot(c[:, 0], c[:, 1], lw=0.7, color=SOLVED if r["success"] else FAILED, alpha=0.7)
            values.append(c[:, 1])
    ax.set_xscale("log")
    if values:
        v = np.concatenate(values)
        v = v[v > 0]
        if len(v) and v.max() > 10 * v.min():
            ax.set_yscale("log")
    ax.set_xlabel("training sequences")
    ax.set_ylabel("mean error E per sequence")
    solved = sum(r["success"] for r in records)
    ax.set_title(f"{label}: {solved} of {len(records)} solved (blue), failed red", fontsize=9)


def inside(axes, net, xs, marks=(), title=""):
    """Cell states s, input gates, output gates and outputs of ``net`` over one sequence."""
    ys, act = net.forward(xs, trace=True)
    panels = [("cell state s", act["s"]), ("input gate y_in", act["y_in"]),
              ("output gate y_out", act["y_out"]), ("output y_k", ys)]
    for ax, (name, values) in zip(axes, panels):
        unit = "block" if values.shape[1] == net.B and name.startswith(("input", "output gate")) else (
            "output" if name.startswith("output y") else "cell")
        for i in range(values.shape[1]):
            ax.plot(values[:, i], lw=0.9, label=f"{unit} {i + 1}")
        if values.shape[1] <= 8:
            ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        for m in marks:
            ax.axvline(m, color="k", ls=":", lw=0.8)
        ax.set_ylabel(name, fontsize=8)
    axes[0].set_title(title, fontsize=9)
    axes[-1].set_xlabel("time step")


def drift_at_init(ax, rows):
    """Median |s| at the sequence end of each trial's initial net against the lag q (log-log):
    ``rows`` are (q, row of :func:`lstm97.analysis.initial_drift`); blue solved, red failed,
    grey not run yet. The dotted line is where h'(s) = 2 sigma (1 - sigma) falls to 1e-4."""
    colour = {True: "C0", False: "C3", None: "0.6"}
    label = {True: "solved", False: "failed", None: "not run yet"}
    seen = set()
    for i, (q, row) in enumerate(rows):
        ok = row.get("success")
        x = q * (1 + 0.08 * ((i % 9) - 4) / 4)                    # spread the trials of one q
        ax.plot(x, row["median |s_end|"], "o" if ok else "x", ms=4, color=colour[ok],
                label=None if ok in seen else label[ok])
        seen.add(ok)
    ax.axhline(np.log(2e4), color="k", ls=":", lw=0.8, label="h'(s) = 1e-4")   # 2e^-|s| = 1e-4
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lag q")
    ax.set_ylabel("median |s| at the sequence end, untrained net")
    ax.legend(fontsize=7)


def headline(verdicts):
    """The report's headline figure: every paper row, our success beside the paper's (left) and our
    mean sequences until success over the paper's (right, log; the band is the factor-of-2
    target), coloured by its verdict (lstm97.verdicts). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    vs = list(verdicts)
    y = np.arange(len(vs))[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 0.26 * len(vs) + 1.6), sharey=True,
                                      gridspec_kw=dict(width_ratios=(1, 1.25), wspace=0.06))
    for yi, v in zip(y, vs):
        c = CATEGORY_COLOURS[v.category]
        left.plot([v.paper_pct], [yi], "|", color=PAPER, ms=11, mew=1.5)
        if v.success_pct is not None:
            left.plot([0, v.success_pct], [yi, yi], "-", color=c, lw=2.5, alpha=0.35)
            left.plot([v.success_pct], [yi], "o", color=c, ms=6)
        if v.ratio is not None and v.solved:
            right.plot([v.ratio], [yi], "o", color=c, ms=6,
                       mfc=c if v.solved >= 3 else "white")
        else:
            right.annotate("never solved", (1.0, yi), ha="center", va="center", fontsize=7, color=c)
    left.set_xlim(-3, 103)
    left.set_xlabel("trials solved (%)")
    left.set_yticks(y, [v.row for v in vs], fontsize=8)
    left.set_ylim(-0.8, len(vs) - 0.2)
    right.set_xscale("log")
    right.axvspan(0.5, 2, color="0.92", zorder=0)
    right.axvline(1, color="0.5", lw=0.8, ls=":")
    right.set_xlim(0.1, 500)
    right.set_xticks([0.1, 0.5, 1, 2, 10, 100], ["0.1×", "0.5×", "1×", "2×", "10×", "100×"])
    right.minorticks_off()
    family = lambda row: row.split("-")[0] if row[0] in "1345" else row[:2]
    for (ya, a), b in zip(zip(y, vs), vs[1:]):
        if family(a.row) != family(b.row):
            for ax in (left, right):
                ax.axhline(ya - 0.5, color="0.75", lw=0.6)
    right.set_xlabel("our mean sequences until success / the paper's (log)")
    handles = [Line2D([], [], marker="o", ls="", color=CATEGORY_COLOURS[k], label=LABELS[k]) for k in CATEGORIES]
    handles += [Line2D([], [], marker="|", ls="", color=PAPER, ms=10, mew=1.5, label="the paper's success"),
                Line2D([], [], marker="o", ls="", color="0.4", mfc="white", label="fewer than 3 solved")]
    fig.legend(handles=handles, loc="lower center", ncol=4, bbox_to_anchor=(0.5, 0.0), frameon=False, fontsize=8)
    fig.suptitle("The 1997 LSTM re-run: each row of the paper's Tables 1-9 against the paper", fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.95, bottom=0.75 / (0.26 * len(vs) + 1.6) + 0.07)
    return fig


def save(fig, path):
    """Save a figure as a PNG whose bytes depend only on the figure (no date or version inside)."""
    fig.savefig(path, format="png", metadata={"Software": None}, dpi=100)


# ---- notebooks 02 and 03
def learning_curve_grid(pairs, cols=4):
    """learning_curves for each (label, records) of ``pairs``, one panel each, ``cols`` per row.
    Returns the figure."""
    import matplotlib.pyplot as plt
    cols = min(cols, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    for ax, (label, records) in zip(axes.flat, pairs):
        learning_curves(ax, records, label)
        if ax.get_yscale() == "linear":           # a narrow range: from 0, so a flat line looks flat
            ax.set_ylim(0, 1.15 * ax.get_ylim()[1])
    for ax in axes.flat[len(pairs):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def long_lag_sequence(ax, batch, p, i=0):
    """One 2c sequence (docs/paper.md §4.2) of ``batch``: the distractors a_1..a_p as grey dots
    at their index, and b, the stored x or y and the trigger e as labelled symbols."""
    a, b = batch.starts[i], batch.starts[i + 1]
    sym = batch.x_idx[a:b, 0]
    t = np.arange(b - a)
    d = sym < p
    ax.plot(t[d], sym[d] + 1, ".", ms=3, color="0.6", label="distractor a_i (its index i)")
    names = {p: "e", p + 1: "b", p + 2: "x", p + 3: "y"}
    for k, step in enumerate(np.flatnonzero(~d)):           # b and x/y are neighbours: two heights
        ax.annotate(names[sym[step]], (t[step], p * (0.62 if k % 2 == 0 else 0.38)), ha="center",
                    va="center", fontsize=11, fontweight="bold", color=SOLVED,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
        ax.axvline(t[step], color=SOLVED, lw=0.6, ls=":")
    ax.set_ylim(0, p + 1)
    ax.set_xlabel("time step")
    ax.set_ylabel("distractor index i")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.22), frameon=False)


def two_sequence_classes(ax, batch, title=""):
    """The first sequence of each class of a two-sequence batch (Exp 3, docs/paper.md §4.3),
    numbered as in the paper: class 1 starts with +1 (target 1.0; 0.2 in 3c), class 2 with -1
    (target 0.0; 0.8 in 3c)."""
    label = np.asarray(batch.info["label"])
    for cls, colour in ((0, SOLVED), (1, FAILED)):
        i = int(np.flatnonzero(label == cls)[0])
        a, b = batch.starts[i], batch.starts[i + 1]
        ax.plot(np.arange(b - a), batch.x_val[a:b, 0], lw=0.8, color=colour,
                label=f"class {cls + 1} (target {batch.info['clean'][i]:g})")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xlabel("time step")
    ax.set_ylabel("input value")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=2, frameon=False)


# ---- notebooks 00, 04, 05 and 06
def errors_by_target(ax, t, y, tolerance, xlabel):
    """Error at the sequence end (output - target) against the target, one dot per sequence, with
    the tolerance band dotted: wrong sequences are the dots outside it (Exp 4, 5)."""
    wrong = np.abs(y - t) >= tolerance
    ax.plot(t[~wrong], (y - t)[~wrong], ".", ms=1.5, alpha=0.4, color=SOLVED, label="right")
    ax.plot(t[wrong], (y - t)[wrong], "x", ms=4, color=FAILED, label=f"wrong ({wrong.sum():,})")
    for v in (tolerance, -tolerance):
        ax.axhline(v, color="0.3", ls=":", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("output − target at the end")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def outputs_against_targets(ax, t, y, tolerance, xlabel):
    """Output at the sequence end against the target, one dot per sequence; the diagonal with the
    tolerance band on either side (Exp 5)."""
    wrong = np.abs(y - t) >= tolerance
    ax.plot(t[~wrong], y[~wrong], ".", ms=2, alpha=0.5, color=SOLVED, label="right")
    ax.plot(t[wrong], y[wrong], "x", ms=4, color=FAILED, label=f"wrong ({wrong.sum():,})")
    line = np.array([0.0, 1.0])
    ax.plot(line, line, color="0.3", lw=0.8, label="output = target")
    for v in (tolerance, -tolerance):
        ax.plot(line, line + v, color="0.3", ls=":", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("output at the end")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


# ---- notebook 07
def summary_scatter(ax, verdicts, budgets):
    """Our mean sequences until success against the paper's, one point per paper row, coloured
    by its verdict; hollow where fewer than 3 trials were solved (the mean says little), and rows
    never solved drawn hollow at their budget. ``budgets``: row -> budget in sequences."""
    pts = [(v, v.mean if v.mean else budgets[v.row]) for v in verdicts if v.paper_mean and v.category]
    lo = min(min(v.paper_mean for v, _ in pts), min(y for _, y in pts)) / 2
    hi = max(max(v.paper_mean for v, _ in pts), max(y for _, y in pts)) * 4
    x = np.geomspace(lo, hi)
    ax.fill_between(x, x / 2, x * 2, color="0.92", label="within a factor of 2")
    ax.plot(x, x, ":", color="0.5", lw=1)
    for v, y in pts:
        c = CATEGORY_COLOURS[v.category]
        full = v.mean is not None and v.solved >= 3
        ax.plot(v.paper_mean, y, "o" if v.mean else "v", ms=6, color=c, mfc=c if full else "white", mew=1.5)
        if v.mean:
            ax.annotate(v.row, (v.paper_mean, y), fontsize=6, xytext=(4, 2), textcoords="offset points", color="0.25")
        else:                                     # rows at one budget: labels upright, side by side
            ax.annotate(v.row, (v.paper_mean, y), fontsize=6, xytext=(0, 6), textcoords="offset points",
                        color="0.25", rotation=90, ha="center", va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("paper: mean sequences until success")
    ax.set_ylabel("ours: mean sequences until success")
    from matplotlib.lines import Line2D
    seen = [c for c in CATEGORIES if any(v.category == c for v, _ in pts)]
    handles = [Line2D([], [], marker="o", ls="", color=CATEGORY_COLOURS[c], label=LABELS[c]) for c in seen]
    handles += [Line2D([], [], marker="o", ls="", color="0.4", mfc="white", label="fewer than 3 trials solved"),
                Line2D([], [], marker="v", ls="", color="0.4", mfc="white", label="never solved: at the budget")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


# ---- notebook 01
def reber_inside(axes, net, string, title=""):
    """:func:`inside` for one embedded Reber string: the time axis labelled by the symbol read,
    the outputs by the symbol they predict (B T P S X V E), dotted lines at the second symbol
    and at the step that must recall it (docs/paper.md §4.1)."""
    xs, _ = reber.encode([string]).dense(0)
    inside(axes, net, xs, marks=(1, len(string) - 3), title=title)
    out = axes[-1]
    out.legend(out.get_lines()[:len(reber.ALPHABET)], list(reber.ALPHABET), title="predicts",
               fontsize=7, title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    out.set_xticks(range(len(string) - 1), list(string[:-1]))
    out.set_xlabel("symbol read at the time step")


# ---- notebook 08
def readings_panels(groups, bases, variants, ncols=1, title=""):
    """Sequences until success (:func:`sequences_until_success`) of the main runs ``bases`` and
    their readings: one panel per reading of ``variants`` ('' the main run), one column per paper
    row, all panels on one scale, one legend below. ``groups``: study.group's dict."""
    import matplotlib.pyplot as plt
    panels = []
    for v in variants:
        items = [(e, recs, e.rows[-1], _stage(e, e.rows[-1]))
                 for b in bases for e, recs in groups.get(b, []) if e.variant == v and recs]
        if items:
            panels.append((v or "main run (the paper's set-up as stated)", items))
    if not panels:
        return None
    nrows = -(-len(panels) // ncols)
    width = max(len(items) for _, items in panels)
    height = 3.0 * nrows + 0.9
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(3.0, 0.75 * width) * ncols + 0.6, height),
                             squeeze=False)
    handles = {}
    used = axes.flat[:len(panels)]
    for ax, (name, items) in zip(used, panels):
        sequences_until_success(ax, items)
        ax.set_title(name, fontsize=10)
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
        ax.get_legend().remove()
    low, high = min(ax.get_ylim()[0] for ax in used), max(ax.get_ylim()[1] for ax in used)
    for ax in used:
        ax.set_ylim(low, high)                    # one scale for every panel
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.4 / height, 1, 1 - 0.25 / height))   # room for the legend and the title
    return fig
