"""The figures the notebooks show. Each takes matplotlib axes and draws on them."""
import numpy as np

from . import paper
from .network import LSTM97


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
    """Per-trial sequences until success (dots), failures at their budget (x), paper mean (bar).

    When the rows belong to more than one run (main run and labelled comparisons), each group of
    ticks gets its label below the axis (main, per-step updates, ...) and a separator.
    """
    from .experiments import VARIANTS
    for x, (exp, records, row_id, stage) in enumerate(pairs):
        ok = [r["stages"][stage] for r in records if stage in r["stages"]]
        bad = [r["sequences_trained"] for r in records if stage not in r["stages"]]
        jitter = np.linspace(-0.2, 0.2, max(len(ok), 1))[:len(ok)]
        ax.plot(x + jitter, ok, "o", ms=4, alpha=0.7, color="C0", label="our trials" if x == 0 else None)
        if bad:
            ax.plot(x + np.linspace(-0.2, 0.2, len(bad)), bad, "x", color="C3",
                    label="failed (at budget or diverged)" if x == 0 else None)
        if ok:
            ax.hlines(np.mean(ok), x - 0.3, x + 0.3, color="C0", lw=2, label="our mean" if x == 0 else None)
        mean = paper.RESULTS[row_id].get("mean_sequences")
        if mean:
            ax.hlines(mean, x - 0.3, x + 0.3, color="k", lw=2, ls="--", label="paper mean" if x == 0 else None)
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
                        xycoords=("data", "axes fraction"), xytext=(0, -38), textcoords="offset points",
                        ha="center", va="top", fontsize=8, fontweight="bold")
            if first:
                ax.axvline(first - 0.5, color="0.6", lw=0.8)
    ax.set_xlim(-0.6, len(pairs) - 0.4)
    ax.set_yscale("log")
    ax.set_ylabel("training sequences until success")
    ax.legend(fontsize=7)


def learning_curves(ax, records, label=""):
    """Mean training error per chunk over training, one line per trial (log-log)."""
    for r in records:
        c = np.array(r["curve"])
        if len(c):
            ax.plot(c[:, 0], c[:, 1], lw=0.7, color="C0" if r["success"] else "C3", alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training sequences")
    ax.set_ylabel("mean error E per sequence")
    ax.set_title(f"{label} (blue: solved, red: failed)", fontsize=9)


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
