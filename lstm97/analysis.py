"""Looking inside trained nets: 6a solution types, Reber failures, adding errors, 2c state drift.

How the Experiment-6a nets store the temporal order (docs/paper.md §4.6):

The paper (Section 5.6) describes, in words only, how its trained 6a nets work:

* a two-block solution: block 1 stores the first X/Y and closes its input gate, block 2
  sees (through its recurrent connections) that block 1 is filled and stores the second;
* typical one-block solutions of
  - type 1: the cell outputs feed the block's own input gate, so "X with filled block" and
    "X with empty block" open the gate differently;
  - type 2: a strong positive cell-output -> cell-input weight; X (Y) is stored as a positive
    (negative) state and the fed-back output bends what the second symbol writes.

:func:`classify_temporal_order` turns those words into an explicit rule. The rule, its
thresholds and the "coding direction" below are this project's own operationalisation of the
paper's text, not something the paper defines; the thresholds were set by looking at trained
nets (see the function's docstring), never to obtain a particular count.
"""
from collections import Counter

import numpy as np

from . import engine as compiled, nets, paper
from .engine import train_batch
from .experiments import VARIANTS, get
from .learners import learner_of
from .network import squash_h, truncated_gradient
from .plots import trained_net
from .readings import split
from .summary import _rank_key, paired, ranking
from .tasks import TemporalOrder, reber
from .trial import run_trial

# Thresholds of the rule (documented in classify_temporal_order).
SEPARATION = 0.5      # between-class share of the variance of a block's final states
MIN_STD = 0.1         # ... and their spread across sequences (RMS std over the block's cells)
WRITE_RATIO = 3.0     # mean |Δs| at t1 (t2) must exceed this many times the typical |Δs|
WRITE_MIN = 0.1       # ... and this absolute value
STRONG = 0.5          # a pathway weight counts as large from this magnitude on
DOMINANCE = 2.0       # ... and dominates when it is at least this many times the other one
REACH = 0.1           # the stored first symbol must change the block's y_c before t2 this much

SOLUTIONS = ("two blocks", "one block, type 1", "one block, type 2", "one block, unclear",
             "no storing block")


def _r(x):
    return None if x is None else round(float(x), 3)


def _block_cells(net, j):
    cells = np.arange(j * net.S, (j + 1) * net.S)
    return cells, net.n_in + cells          # the cells and their y_c columns in the source layout


def _between_fraction(final, label, classes):
    """Share of the total variance of ``final`` (n, cells) explained by the class means."""
    total = final.var(axis=0).sum()
    if total <= 0:
        return 0.0, 0.0
    within = sum(np.mean(label == k) * final[label == k].var(axis=0).sum()
                 for k in classes if np.any(label == k))
    return 1.0 - within / total, float(np.sqrt(total / final.shape[1]))


def _final_states(net, batch):
    """(n, cells): the cell states s at the end of each sequence of ``batch``."""
    return np.array([net.forward(xs, trace=True)[1]["s"][-1] for xs, _ in batch.sequences()])


def _gate_columns(net):
    """The y_in, y_out columns of the source layout (docs/paper.md §2.6)."""
    return net.n_in + net.C + np.arange(2 * net.B)


def _gate_push(net):
    """Per cell, 0.5 * its weights from the gates: its net input when every gate is at 1/2."""
    return 0.5 * net.weights["W_c"][:, _gate_columns(net)].sum(axis=1)


def classify_temporal_order(exp, record, n=200, seed=0):
    """Which blocks of a trained 6a net store the class, and how (docs/paper.md §4.6, paper Section 5.6).

    ``record`` needs "weights" (runner.run_trial(..., keep_weights=True)); "trial" is copied.
    The net runs on ``n`` fresh test sequences (``TemporalOrder(2)``, rng seed ``seed``), and
    with t1, t2 the steps of the two relevant symbols and s the cell states:

    1. Per block, two measurements.
       *separates*: at the last step, the class means explain more than SEPARATION (0.5) of
       the variance of the block's states, and their RMS std across sequences exceeds
       MIN_STD (0.1).
       *writes at t1 (t2)*: the mean |Δs| of its cells at t1 (t2), Δs(t) = s(t) - s(t-1),
       exceeds WRITE_RATIO (3) times their typical |Δs| (the mean over all other steps except
       the first and the last) and WRITE_MIN (0.1).
       A block *stores* if it separates and writes at t1 or t2. A block that separates
       without writing at t1 or t2 is reported as *integrates*: in trained nets such a block
       has a half-open input gate and slowly sums the outputs of the storing block over
       the whole sequence, so its final state reflects the class without the block ever
       storing a symbol (its mean |Δs| at t1 and t2 equals its drift elsewhere). It is not
       counted in ``blocks_used``; the paper's two-block solution has block 2 write at t2.
    2. Two storing blocks give "two blocks"; none gives "no storing block".
    3. One storing block j is typed by its recurrent weights from its own cell outputs,
       taken along its *coding direction* e: the unit vector of the mean Δs its cells get
       at t1 for X minus that for Y (for blocks of one cell, e = ±1 and the numbers below
       are the plain self-weights; with two cells the cells usually code X and Y with
       opposite signs, so a raw entry's sign says nothing on its own):
         w_c_self        = eᵀ W_c[cells_j, y_c cols of cells_j] e   (signed: > 0 means the
                           stored state pushes the cell inputs further the same way, the
                           paper's "strong positive cell-output -> cell-input weight")
         w_in_from_cells = |W_in[j, y_c cols of cells_j] · e|    (how strongly the stored
                           state moves the block's own input gate)
       "type 2"  if w_c_self >= STRONG (0.5) and w_c_self >= DOMINANCE (2) * w_in_from_cells;
       "type 1"  if w_in_from_cells >= STRONG and >= DOMINANCE * max(w_c_self, 0);
       "unclear" otherwise (both pathways comparable, or neither large), or when the block
       writes no clear X/Y difference at t1 (|mean Δs(X) - mean Δs(Y)| < WRITE_MIN), or when
       the stored first symbol hardly reaches its cell outputs just before t2 (mean over the
       second symbol of |ȳ_c(first X) - ȳ_c(first Y)| at t2-1 below REACH (0.1), e.g. with
       a closed output gate), so that neither pathway can act.

    Thresholds: on 20 trained nets (runner.run_trial("6a", t), t = 0..19, seed 0) the
    storing block's mean |Δs| at t1 and t2 is 0.8-1.8 against a typical 0.001-0.13; a
    non-storing block's stays at its drift (at most 1.8x its typical |Δs|), and every block's
    final between-class share is >= 0.92, so steps 1-2 do not hinge on the exact values.
    The type ratio w_c_self / w_in_from_cells is continuous: 12 nets at 4.6-31, 7 at 1.3-2.4
    (no net had w_in_from_cells larger). DOMINANCE = 2 cuts through that second group (4 of
    its 7 nets become "type 2"); read nets near a ratio of 2 as mixed. The labels do not
    change with the test sequences (seeds 0-2).

    As a check on the weights, the storing block's activity is reported too: with
    Δy_c = ȳ_c(t2-1 | first X) - ȳ_c(t2-1 | first Y) for the same second symbol (mean over
    the two), ``dnet_c_t2`` = eᵀ W_c[cells_j, y_c cols] Δy_c and ``dnet_in_t2`` =
    |W_in[j, y_c cols] · Δy_c|: how much the stored first symbol moves the cell inputs
    (along e) and the input gate's net input at t2 through those weights.

    Returns a dict of plain values, floats rounded to 3 decimals (None where a number does
    not apply, e.g. the weights of a two-block net); ``blocks`` has the per-block
    measurements, ``block_1``, ``block_2`` short summaries: "stores t1+t2", "stores t2",
    "integrates", "unused", or "writes, not kept t1" (writes but its final states do not
    separate the classes).
    """
    if exp.task != ("TemporalOrder", (2,)):
        raise ValueError(f"classify_temporal_order needs a 6a experiment, got {exp.id}")
    if not record.get("weights"):
        raise ValueError("the record has no weights (run the trial with keep_weights=True)")
    net = trained_net(exp, record)
    batch = TemporalOrder(2).sample(np.random.default_rng(seed), n)
    label = batch.info["label"]
    first, second = label // 2, label % 2          # 0 = X, 1 = Y
    act = _temporal_order_activity(net, batch)
    blocks = [_block_role(net, j, act, label) for j in range(net.B)]
    storing = [b["block"] - 1 for b in blocks if b["role"] == "stores"]
    out = dict(trial=record.get("trial"), blocks_used=len(storing),
               storing_blocks="+".join(str(j + 1) for j in storing) or "-")
    for b in blocks:
        out[f"block_{b['block']}"] = b["role"] + (f" {b['writes']}" if b["writes"] != "-" else "")
    typed = dict(w_c_self=None, w_in_from_cells=None, dnet_c_t2=None, dnet_in_t2=None)
    if len(storing) >= 2:
        solution = "two blocks"
    elif not storing:
        solution = "no storing block"
    else:
        solution, typed = _one_block_type(net, storing[0], act, first, second)
    out.update(solution=solution, **{k: _r(v) for k, v in typed.items()}, blocks=blocks)
    return out


def _temporal_order_activity(net, batch):
    """Per test sequence of a 6a batch and per cell: the final state s, |Δs| at t1 and t2, the
    typical |Δs| (the mean over the steps but the first, t1, t2 and the last), Δs at t1, and
    y_c just before t2 (classify_temporal_order)."""
    n, C, pos = len(batch), net.C, batch.info["positions"]
    act = {k: np.empty((n, C)) for k in ("final", "d1", "d2", "typical", "write1", "yc2")}
    for i in range(n):
        xs, _ = batch.dense(i)
        _, tr = net.forward(xs, trace=True)
        s = tr["s"]
        ds = np.abs(np.diff(s, axis=0, prepend=0.0))
        p1, p2 = pos[i]
        act["final"][i], act["d1"][i], act["d2"][i] = s[-1], ds[p1], ds[p2]
        act["write1"][i] = s[p1] - s[p1 - 1]
        other = np.ones(len(s), bool)
        other[[0, p1, p2, len(s) - 1]] = False
        act["typical"][i] = ds[other].mean(axis=0)
        act["yc2"][i] = tr["y_c"][p2 - 1]
    return act


def _block_role(net, j, act, label):
    """Block j's measurements and role, step 1 of classify_temporal_order."""
    cells, _ = _block_cells(net, j)
    frac, std = _between_fraction(act["final"][:, cells], label, range(4))
    jump1, jump2 = act["d1"][:, cells].mean(), act["d2"][:, cells].mean()
    typ = act["typical"][:, cells].mean()
    writes = [bool(jump > WRITE_RATIO * typ and jump > WRITE_MIN) for jump in (jump1, jump2)]
    separates = bool(frac > SEPARATION and std > MIN_STD)
    when = "+".join(t for t, w in zip(("t1", "t2"), writes) if w)
    role = ("stores" if separates and when else "integrates" if separates
            else "writes, not kept" if when else "unused")
    return dict(block=j + 1, role=role, writes=when or "-", between_fraction=_r(frac),
                final_std=_r(std), dsum_t1=_r(jump1), dsum_t2=_r(jump2), dsum_typical=_r(typ))


def _one_block_type(net, j, act, first, second):
    """Step 3 of classify_temporal_order for the one storing block j: (solution, dict of
    w_c_self, w_in_from_cells, dnet_c_t2, dnet_in_t2, unrounded, None where they do not apply)."""
    cells, cols = _block_cells(net, j)
    W_cc, W_ic = net.weights["W_c"][np.ix_(cells, cols)], net.weights["W_in"][j, cols]
    write1, yc2 = act["write1"], act["yc2"]
    code = write1[first == 0][:, cells].mean(0) - write1[first == 1][:, cells].mean(0)
    # what the stored first symbol does to the cell outputs just before t2, per second symbol
    dy = []
    for k in (0, 1):
        a, b = (first == 0) & (second == k), (first == 1) & (second == k)
        if a.any() and b.any():
            dy.append(yc2[a][:, cells].mean(0) - yc2[b][:, cells].mean(0))
    reach = float(np.mean([np.linalg.norm(d) for d in dy])) if dy else 0.0
    solution = "one block, unclear"
    w_c_self = w_in_cells = dnet_c = dnet_in = None
    if np.linalg.norm(code) >= WRITE_MIN:
        e = code / np.linalg.norm(code)
        w_c_self, w_in_cells = float(e @ W_cc @ e), float(abs(W_ic @ e))
        if dy:
            dnet_c = float(np.mean([e @ W_cc @ d for d in dy]))
            dnet_in = float(np.mean([abs(W_ic @ d) for d in dy]))
        if reach < REACH:
            pass
        elif w_c_self >= STRONG and w_c_self >= DOMINANCE * w_in_cells:
            solution = "one block, type 2"
        elif w_in_cells >= STRONG and w_in_cells >= DOMINANCE * max(w_c_self, 0.0):
            solution = "one block, type 1"
    return solution, dict(w_c_self=w_c_self, w_in_from_cells=w_in_cells, dnet_c_t2=dnet_c, dnet_in_t2=dnet_in)


def count_types(rows):
    """One line such as "20 nets: 3 two blocks, 9 one block type 1, 6 one block type 2, 2 unclear".

    ``rows`` are dicts of :func:`classify_temporal_order` (their "solution"). Nets with no
    storing block are added as ", k no storing block" only when there are any.
    """
    c = Counter(r["solution"] for r in rows)
    unknown = set(c) - set(SOLUTIONS)
    if unknown:
        raise ValueError(f"unknown solution label(s) {sorted(unknown)}")
    line = (f"{len(rows)} net{'s' if len(rows) != 1 else ''}: {c['two blocks']} two blocks, "
            f"{c['one block, type 1']} one block type 1, {c['one block, type 2']} one block type 2, "
            f"{c['one block, unclear']} unclear")
    if c["no storing block"]:
        line += f", {c['no storing block']} no storing block"
    return line


def end_errors(exp, record, n=20_000, seed=0):
    """Targets and outputs at the sequence end of a trained net on n fresh sequences (Exp 4, 5).

    Shows where a net that never reaches a stopping criterion still fails: e.g. which targets
    its wrong answers (|error| >= exp.abs) have.
    """
    if "weights" not in record:
        raise ValueError(f"record of trial {record.get('trial')} holds no weights")
    net = trained_net(exp, record)
    batch = exp.make_task(record["trial"]).sample(np.random.default_rng(seed), n)
    _, outputs = compiled.evaluate(net, batch)
    return batch.end_targets()[:, 0], outputs[batch.starts[1:] - 1, 0]


def reber_failures(exp, record, top=3):
    """Where a trained Exp 1 net still fails: the most frequent (recent input, legal next symbols)
    among the wrongly predicted steps of its training and test sets (docs/paper.md §4.1)."""
    if "weights" not in record:
        raise ValueError(f"record of trial {record.get('trial')} holds no weights")
    net = trained_net(exp, record)
    task = exp.make_task(record["trial"])
    counts = Counter()
    for strings, batch, legal in ((task.train_strings, task.train_batch, task.train_legal),
                                  (task.test_strings, task.test_batch, task.test_legal)):
        _, outputs = compiled.evaluate(net, batch)
        wrong = ~reber.correct(outputs, legal)
        for i, s in enumerate(strings):
            a = batch.starts[i]
            for p in np.flatnonzero(wrong[a:batch.starts[i + 1]]):
                recall = p == len(s) - 3
                counts[("recall of 2nd symbol" if recall else f"...{s[max(0, p - 2):p + 1]}",
                        "".join(sorted(reber.legal_next(s)[p])))] += 1
    total = sum(counts.values())
    common = ", ".join(f"{ctx} -> {{{legal}}} x{n}" for (ctx, legal), n in counts.most_common(top))
    return dict(experiment=exp.id, trial=record["trial"], stopped=record["stopped"],
                wrong_steps=total, most_frequent=common or "-")


def state_drift(exp, record, n=100, seed=0):
    """Internal state drift in a trained Exp 2c net (paper Section 4, "internal state drift").

    Runs n fresh sequences through the net and looks at the cell states s at the sequence end,
    where the error arrives. A net that stores the class has final states that differ between x
    and y (``separation``: between-class share of their variance, as in 6a). A drifted net has
    large |s| of the same sign in both classes: h (eq. 4) is then saturated, h'(s) is near 0 and
    the truncated gradient (eqs. 22-28) into the cell and its input gate vanishes.
    """
    if "weights" not in record:
        raise ValueError(f"record of trial {record.get('trial')} holds no weights")
    net = trained_net(exp, record)
    batch = exp.make_task(record["trial"]).sample(np.random.default_rng(seed), n)
    final = _final_states(net, batch)
    label = np.asarray(batch.info["label"])
    separation, _ = _between_fraction(final, label, (0, 1))
    _, dh = squash_h(final, net.h)
    # a cell drifted when its final sign is (almost) always the same, in both classes alike
    sign_x, sign_y = np.sign(final[label == 0]).mean(0), np.sign(final[label == 1]).mean(0)
    return {"experiment": exp.id, "trial": record["trial"], "success": record["success"],
            "median |s_end|": _r(np.median(np.abs(final))),
            "same-sign cells": _r(np.mean(sign_x * sign_y > 0.8)),
            "separation": _r(separation), "median h'(s_end)": float(f"{np.median(dh):.2g}")}


def initial_drift(exp, trial, record=None, n=10, seed=0):
    """Internal state drift before any training: trial ``trial``'s initial net (its seed's
    Table-10 initialisation, :func:`lstm97.nets.initial_net`) on n fresh sequences.

    In 2c (no biases at all) the gate activations y_in, y_out (about 0.5 at initialisation)
    reach every cell through its trainable recurrent weights (docs/paper.md §1.4), so the net input of
    a cell (eq. 6) carries a constant term, the ``gate push`` 0.5 * sum of the cell's
    weights from the gates: in effect a bias. The state (eq. 7) then grows by about
    y_in * g(push) at every step (plus the distractors' and the cell's own feedback), in a
    direction that does not depend on the class, so |s| at the sequence end grows with the
    lag q and h'(s) (eq. 4) shrinks towards 0 before the first weight change.
    ``follows push`` is the share of cells whose final state has the sign of their push.
    """
    net = nets.initial_net(exp, trial, seed)
    batch = exp.make_task(trial).sample(np.random.default_rng(seed), n)
    final = _final_states(net, batch)
    _, dh = squash_h(final, net.h)
    push = _gate_push(net)
    row = {"experiment": exp.id, "trial": trial}
    if record is not None:
        row["success"] = record["success"]
    row.update({"median |s_end|": _r(np.median(np.abs(final))),
                "median h'(s_end)": float(f"{np.median(dh):.2g}"),
                "follows push": _r(np.mean(np.sign(np.median(final, axis=0)) == np.sign(push)))})
    return row


def drift_summary(exp, rows):
    """One line per 2c condition from :func:`initial_drift` rows: the lag, the median initial
    |s_end| over its trials, the share of trials whose initial h'(s_end) is under 1e-4, how
    often the drift follows the gate push, and the success rate of the recorded trials."""
    s = np.array([r["median |s_end|"] for r in rows])
    dh = np.array([r["median h'(s_end)"] for r in rows])
    ok = [r["success"] for r in rows if "success" in r]
    return {"experiment": exp.id, "q": exp.task[1][1], "p": exp.task[1][0], "trials": len(rows),
            "median |s_end| at init": _r(np.median(s)),
            "trials with h' < 1e-4 at init %": _r(100 * np.mean(dh < 1e-4)),
            "cells following the push %": _r(100 * np.mean([r["follows push"] for r in rows])),
            "recorded": len(ok), "success %": _r(100 * np.mean(ok)) if ok else None}


def _without_push(exp, trial, seed):
    """Trial ``trial``'s initial net with its cells' weights from the gates set to 0."""
    net = nets.initial_net(exp, trial, seed)
    w = {k: v.copy() for k, v in net.weights.items()}
    w["W_c"][:, _gate_columns(net)] = 0.0
    net.set_weights(w)
    return net


def gradient_scale(exp, trial, n=10, seed=0):
    """Why training brings the drift back (2c): mean |Δw/α| per sequence (eqs. 27-28) of the
    cells' weights by source, at trial ``trial``'s initial net with the gate push removed.

    A cell weight's update is e_s(end) times its trace (eq. 27), the sum over the sequence of
    g'·y_in·y^m. The weights from x or y (the class, seen once) get one term; the weights from
    the gates, whose activations are there at every step, get about q terms. Both move with the
    same class-dependent e_s, so the gate weights, and with them the push, move about q times
    faster than the weights that could store the class.
    """
    net = _without_push(exp, trial, seed)
    p = exp.task[1][0]
    batch = exp.make_task(trial).sample(np.random.default_rng(seed), n)
    grads = np.array([np.abs(truncated_gradient(net, xs, d)["W_c"]) for xs, d in batch.sequences()])
    xy = grads[:, :, [p + 2, p + 3]].sum(axis=2).mean()    # x or y: one of the two per sequence
    distractor = grads[:, :, :p].mean()
    gate = grads[:, :, _gate_columns(net)].mean()
    return {"experiment": exp.id, "trial": trial, "|Δw/α| from x, y": float(f"{xy:.3g}"),
            "from one distractor": float(f"{distractor:.3g}"), "from one gate": float(f"{gate:.3g}"),
            "gate / (x, y)": float(f"{gate / xy:.3g}") if xy > 0 else None}


def drift_in_training(exp, trial, checkpoints=(0, 100, 300, 1000), n=5, seed=0):
    """Does a 2c net drift if it starts without the push? Trial ``trial``'s initial net with its
    cells' weights from the gates set to 0, trained by the paper's online rule (eqs. 17-28,
    ``exp.lr``) on the trial's own training stream. At each checkpoint (sequences trained), per
    cell: its gate push, and the median |s| and h'(s) at the end of n fresh sequences."""
    net = _without_push(exp, trial, seed)
    task = exp.make_task(trial)
    rng = np.random.default_rng(nets.trial_seeds(exp, trial, seed)[1])
    probe = task.sample(np.random.default_rng(seed + 1), n)
    rows, done = [], 0
    for c in sorted(checkpoints):
        if c > done:
            train_batch(net, task.sample(rng, c - done), exp.lr)
            done = c
        final = _final_states(net, probe)
        _, dh = squash_h(final, net.h)
        push = _gate_push(net)
        for cell in range(net.C):
            rows.append({"sequences": done, "cell": cell + 1, "gate push": _r(push[cell]),
                         "median |s_end|": _r(np.median(np.abs(final[:, cell]))),
                         "median h'(s_end)": float(f"{np.median(dh[:, cell]):.2g}")})
    return rows


# --------------------------------------------------------------------------- Exp 1 failures
OPEN_GATE = 0.1       # a block can take in error at a step if its output gate is above this ...
OPEN_H = 0.05         # ... and the mean h'(s) of its cells is above this (fixed before the readings study ran)


def reber_penultimate(net, task):
    """What a Reber net does where the long lag matters: the penultimate step of each test
    string, whose input is the inner E and whose target is the second symbol (T or P).

    Returns a dict: median |s| and h'(s) over cells and strings, the mean output gate of each
    block there (and the widest and next-widest of them), the mean number of blocks that can still take in the T/P error (output gate
    above OPEN_GATE and h'(s) above OPEN_H), whether the second symbol is linearly separable
    in the cell states there (least-squares accuracy, and the between-class share of the
    variance), and the share of strings whose T/P is predicted right.
    """
    strings = task.test_strings
    batch = task.test_batch
    finals, gates, dh, right = [], [], [], []
    for i, string in enumerate(strings):
        a, b = batch.starts[i], batch.starts[i + 1]
        xs = batch.dense(i)[0]
        ys, tr = net.forward(xs, trace=True)
        t = b - a - 2                                 # input: the inner E; target: the 2nd symbol
        assert string[t] == "E" and string[t + 1] == string[1]
        finals.append(tr["s"][t])
        gates.append(tr["y_out"][t])
        dh.append(squash_h(tr["s"][t], net.h)[1])
        tp = ys[t][[1, 2]]                            # outputs T, P
        right.append((tp[0] > tp[1]) == (string[1] == "T"))
    finals, gates, dh = np.array(finals), np.array(gates), np.array(dh)
    label = np.array([s[1] == "T" for s in strings])
    dh_block = np.stack([dh[:, _block_cells(net, j)[0]].mean(1) for j in range(net.B)], 1)
    can = ((gates > OPEN_GATE) & (dh_block > OPEN_H)).sum(1)
    X = np.column_stack([finals, np.ones(len(finals))])
    coef = np.linalg.lstsq(X, np.where(label, 1.0, -1.0), rcond=None)[0]
    mean_gates = np.sort(gates.mean(0))[::-1]
    return dict(abs_s=_r(np.median(np.abs(finals))), h_prime=_r(np.median(dh)),
                out_gates=[_r(g) for g in gates.mean(0)], widest_gate=_r(mean_gates[0]),
                next_gate=_r(mean_gates[1]) if net.B > 1 else None, blocks_open=_r(can.mean()),
                separable=_r(np.mean((X @ coef > 0) == label)),
                between=_r(_between_fraction(finals, label, (False, True))[0]),
                tp_right=_r(np.mean(right)))


def reber_final_rows(exp, records):
    """reber_penultimate of every recorded trial's trained net (records keep Exp 1 weights)."""
    rows = []
    for r in records:
        if "weights" in r:
            row = reber_penultimate(trained_net(exp, r), exp.make_task(r["trial"]))
            rows.append(dict(experiment=exp.id, trial=r["trial"], success=r["success"], **row))
    return rows


def reber_over_training(exp, trial, checkpoints, seed=0, engine=None):
    """reber_penultimate at the first chunk boundary at or after each checkpoint (in training
    strings), retraining trial ``trial`` from its seed with ``engine`` (default: the
    single-trial learner that made the readings study's records), the same run as its record."""
    task, todo, rows = exp.make_task(trial), sorted(checkpoints), []

    def look(n, net):
        while todo and n >= todo[0]:
            todo.pop(0)
            rows.append(dict(experiment=exp.id, trial=trial, strings=n, **reber_penultimate(net, task)))

    run_trial(exp, trial, seed, on_chunk=look, engine=engine or learner_of(exp, lane_engine=False))
    return rows


def reber_failure_kinds(exp, records):
    """Of the failed trials with stored weights: how many fail mostly at the long lag (their most
    frequent wrong step is the recall of the 2nd symbol) and how many at a short-lag transition."""
    failed = [reber_failures(exp, r, top=1) for r in records if not r["success"] and "weights" in r]
    recall = sum(f["most_frequent"].startswith("recall") for f in failed)
    return dict(experiment=exp.id, failed_nets=len(failed), mostly_recall=recall,
                mostly_short_lag=len(failed) - recall)


# --------------------------------------------------------------------------- notebooks 02 and 03
def ranking_by_task(rows, lstm=()):
    """The paper's ranking of the methods of Table 2, task by task (``summary.ranking`` on the rows
    of one delay p at a time): one dict per task with the settings compared, the paper's order and
    ours (best first), and ``holds`` (None where only one method ran at that delay, so no two
    methods can be ranked). ``rows``, ``lstm``: as for ``summary.ranking``."""
    number = lambda v: v if isinstance(v, (int, float)) else None
    keys = {}                                     # label -> (the paper's key, ours), as ranking uses
    for r in rows:
        if r["lr"] is not None:
            keys[f"{r['method']} lr {r['lr']:g}"] = (
                _rank_key(number(r["paper_pct"]), number(r["paper_mean"])), _rank_key(r["success_pct"], r["mean"]))
    for label, o, p, _ in lstm:
        keys[label] = (_rank_key(100.0 if p["success_pct"] is None else p["success_pct"], p["mean"]),
                       _rank_key(o["success_pct"], o["mean"]))

    def order(labels, which):                     # best first; "=" between equal places
        return "".join((" = " if keys[b][which] == keys[a][which] else " > ") + b if a else b
                       for a, b in zip([None] + labels[:-1], labels))

    tasks = list(dict.fromkeys([r["task"] for r in rows] + [t for *_, t in lstm]))
    out = []
    for task in tasks:
        rank = ranking([r for r in rows if r["task"] == task], [x for x in lstm if x[3] == task])
        if not rank["paper"]:
            continue
        methods = list(dict.fromkeys(label.split()[0] for label in rank["paper"]))
        out.append(dict(task=task, methods=", ".join(methods[:-1]) + " and " * (len(methods) > 1) + methods[-1],
                        paper=order(rank["paper"], 0), ours=order(rank["ours"], 1), holds=rank["holds"],
                        broken=rank["broken"], left_out=rank["left_out"]))
    return out


def plateau_exit(exp, records, fraction=0.9):
    """When the Exp 3 nets leave the plateau, against when ST1 and ST2 hold (medians over the
    trials that reached ST2): the first training chunk in which at least ``fraction`` of the
    sequences ended within the tolerance, ST1, ST2, and the paper's mean ST1 and ST2
    (Tables 4-6; docs/paper.md §4.3)."""
    exits, st1, st2, gaps = [], [], [], []
    for r in records:
        if "st2" not in r["stages"]:
            continue
        st1.append(r["stages"].get("st1", r["stages"]["st2"]))
        st2.append(r["stages"]["st2"])
        c = np.array(r["curve"])
        hit = np.flatnonzero(c[:, 2] >= fraction) if len(c) else []
        if len(hit):
            exits.append(c[hit[0], 0])
            gaps.append(st1[-1] - exits[-1])
    p = paper.result(exp.rows[0])
    med = lambda v: float(np.median(v)) if v else None
    return dict(experiment=exp.id, trials=len(records), solved=len(st2), exit=med(exits),
                st1=med(st1), st2=med(st2), st1_after_exit=med(gaps),
                paper_st1=p.get("st1"), paper_st2=p.get("mean_sequences"))


# --------------------------------------------------------------------------- notebooks 04 and 05
HOW_STOPPED = {"solved": "criterion met", "budget": "budget reached", "diverged": "diverged"}


def trial_progress(records, fraction=0.9, tail=0.1):
    """Per trial of a stream-criterion experiment (Exp 4-6, ST3 or n_seq): how it ended, the
    sequences it trained, the first training chunk in which at least ``fraction`` of the sequences
    ended within the tolerance (``learned``), the share of sequences within it from that chunk on
    (``right_after``, None if none), and over the last ``tail`` of its training (``right_end``)."""
    rows = []
    for r in records:
        c = np.array(r["curve"])
        hit = np.flatnonzero(c[:, 2] >= fraction)
        end = c[c[:, 0] >= (1 - tail) * c[-1, 0]]
        rows.append(dict(trial=r["trial"], stopped=HOW_STOPPED.get(r["stopped"], r["stopped"]),
                         trained=r["sequences_trained"], learned=int(c[hit[0], 0]) if len(hit) else None,
                         right_after=float(c[hit[0]:, 2].mean()) if len(hit) else None,
                         right_end=float(end[:, 2].mean())))
    return rows


def wrong_by_target(exp, record, edge=0.05, n=20_000):
    """A trained adding net on ``n`` fresh sequences: the sequences it gets wrong (|error| at the
    end >= the tolerance), how many of them have a target within ``edge`` of 0 or 1, and how many
    of all ``n`` sequences have such a target."""
    t, y = end_errors(exp, record, n=n)
    wrong = np.abs(t - y) >= exp.abs
    extreme = (t < edge) | (t > 1 - edge)
    return dict(trial=record["trial"], wrong=int(wrong.sum()), wrong_extreme=int((wrong & extreme).sum()),
                extreme=int(extreme.sum()))


def mse_scales(exp, records):
    """Experiment 5's test MSE beside Table 8's (docs/paper.md §4.5), per paper row.

    ``mse``: ours, the mean over the test set of the squared end-of-sequence error (d - y)^2, averaged
    over the trials that reached the row's stopping point; ``rmse``: the mean over those trials of
    its square root. ``paper_mse``: Table 8's "MSE". ``bound``: the largest mean squared error the
    paper's own count of wrong sequences allows on its test set: a right sequence has |d - y| below
    the tolerance, and no |d - y| exceeds 1, since the logistic output and the target X1 X2 both
    lie in [0, 1]. ``wrong``, ``paper_wrong``: the wrong test sequences, ours (mean over the same
    trials) and Table 8's; ``expected_wrong``: those on the test set at the rate the stopping point
    allows in training (n_seq of 2,000)."""
    rows = []
    for row_id in exp.rows:
        p = paper.result(row_id)
        stage, size, wrong = f"nseq{p['n_seq']}", p["test_size"], p["wrong"]
        tests = [r["test"][stage] for r in records if stage in r["test"]]
        mse = np.array([t["mse"] for t in tests])
        rows.append(dict(row=row_id, trials=len(mse), mse=float(mse.mean()) if len(mse) else None,
                         rmse=float(np.sqrt(mse).mean()) if len(mse) else None, paper_mse=p["mse"],
                         bound=(exp.abs ** 2 * (size - wrong) + wrong) / size,
                         wrong=float(np.mean([t["wrong"] for t in tests])) if tests else None,
                         paper_wrong=wrong, expected_wrong=p["n_seq"] / 2000 * size))
    return rows


# --------------------------------------------------------------------------- notebook 01
def comparison_ranges(pairs):
    """Per run (the main run, then each labelled comparison, in the order of ``pairs``): its rows,
    trials per row, and the lowest and highest success % and mean ratio to the paper over them."""
    runs = {}
    for exp, o, p in paired(pairs):
        runs.setdefault(exp.variant, []).append(o)
    out = []
    for variant, rows in runs.items():
        pct = [o["success_pct"] for o in rows]
        ratios = [o["ratio"] for o in rows if o["ratio"] is not None]
        trials = sorted({o["trials"] for o in rows})
        out.append(dict(run=VARIANTS.get(variant, variant) if variant else "main run", rows=len(rows),
                        trials=str(trials[0]) if len(trials) == 1 else f"{trials[0]}-{trials[-1]}",
                        lowest_pct=min(pct), highest_pct=max(pct),
                        lowest_ratio=min(ratios) if ratios else None,
                        highest_ratio=max(ratios) if ratios else None))
    return out


# --------------------------------------------------------------------------- notebook 08
def plan_rows(plan):
    """The readings study's plan (readings.PLAN) by reading: the paper rows each reading runs on,
    each run of rows with its planned trials ('2c-1 to 2c-9: 20 each'), in the plan's order."""
    by = {}
    for exp_id, trials in plan:
        base, names = split(exp_id)
        runs = by.setdefault("+".join(names) or "main run (second seed set)", [])
        if runs and runs[-1][1] == trials:
            runs[-1][0].append(base)
        else:
            runs.append(([base], trials))
    return [dict(reading=name, pairs=sum(len(rows) for rows, _ in runs),
                 rows="; ".join(f"{_row_span(rows)}: {n} trials" + (" each" if len(rows) > 1 else "")
                                for rows, n in runs)) for name, runs in by.items()]


def _row_span(rows):
    """['2c-1', ..., '2c-9'] -> '2c-1 to 2c-9' where the numbers run on by one; else listed."""
    heads = {r.rpartition("-")[0] for r in rows}
    tails = [r.rpartition("-")[2] for r in rows]
    if len(rows) > 2 and len(heads) == 1 and all(t.isdigit() for t in tails) and \
            [int(t) for t in tails] == list(range(int(tails[0]), int(tails[0]) + len(tails))):
        return f"{rows[0]} to {rows[-1]}"
    return ", ".join(rows)


def reber_final_medians(records, ids):
    """reber_final_rows of each Exp 1 run in ``ids`` ({id: records}), as medians over its failed
    and its solved trials: one row per (run, outcome)."""
    out = []
    for i in ids:
        got = reber_final_rows(get(i), records[i])
        for ok in (False, True):
            sub = [g for g in got if g["success"] == ok]
            if sub:
                med = {k: float(np.median([g[k] for g in sub])) for k in
                       ("abs_s", "h_prime", "widest_gate", "next_gate", "blocks_open", "separable",
                        "between", "tp_right")}
                out.append(dict(experiment=i, solved=ok, nets=len(sub), **med))
    return out


def _forget_hold(net, batch):
    """(median y_φ, median over the sequences of the best block's kept fraction): the forget
    gates' activations over ``batch``, and of a value stored at a sequence's first step, the
    share its last step still holds, the product of y_φ(2..T) (Gers et al. 2000)."""
    act, kept = [], []
    for xs, _ in batch.sequences():
        y_f = net.forward(xs, trace=True)[1]["y_forget"]          # (T, B)
        act.append(y_f.ravel())
        kept.append(np.prod(y_f[1:], axis=0).max())
    return float(np.median(np.concatenate(act))), float(np.median(kept))


def forget_gate_hold(exp, record, n=5, seed=0):
    """Does a forget-gate net (the cell of Gers, Schmidhuber & Cummins 2000, not the paper's)
    learn to hold a value? Trial ``record``'s net before training (nets.initial_net) and after
    (its stored weights), on n fresh sequences of its task.

    With forget gates s(t) = y_φ(t) s(t-1) + y_in(t) g(net_c(t)), so of a value stored at the
    first step, the last step of a T-step sequence keeps the product of y_φ(2..T): ``kept``, for
    the block that keeps most (median over the sequences). The truncated gradient's traces
    decay by the same factors, so an error at the sequence end reaches back about 1/(1 - y_φ)
    steps. ``y_φ``: the gates' median activation. ``Δw hidden`` (``Δw output``): the mean
    absolute change by training of the weights into the cells and gates (into the outputs).
    """
    if "weights" not in record:
        raise ValueError(f"record of trial {record.get('trial')} holds no weights")
    before, after = nets.initial_net(exp, record["trial"], record["seed"]), trained_net(exp, record)
    batch = exp.make_task(record["trial"]).sample(np.random.default_rng(seed), n)
    (y0, k0), (y1, k1) = _forget_hold(before, batch), _forget_hold(after, batch)
    dw = {k: np.abs(after.weights[k] - before.weights[k]) for k in before.weights}
    hidden = np.concatenate([v.ravel() for k, v in dw.items() if k != "W_k"])
    return {"experiment": exp.id, "trial": record["trial"], "success": record["success"],
            "y_φ before": y0, "y_φ after": y1, "kept before": k0, "kept after": k1,
            "Δw hidden": float(hidden.mean()), "Δw output": float(dw["W_k"].mean())}


def forget_gate_summary(exp, records, trials=3, n=5, seed=0):
    """One row per forget-gate run: the medians of :func:`forget_gate_hold` over the first
    ``trials`` records that hold weights (None: none does)."""
    got = [forget_gate_hold(exp, r, n, seed) for r in [r for r in records if "weights" in r][:trials]]
    if not got:
        return None
    keys = ("y_φ before", "y_φ after", "kept before", "kept after", "Δw hidden", "Δw output")
    return dict(experiment=exp.id, nets=len(got), solved=sum(g["success"] for g in got),
                **{k: float(np.median([g[k] for g in got])) for k in keys})
