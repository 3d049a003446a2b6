"""The configurations: the comparison rows are declared, and each is its main run with only the
declared change."""
from dataclasses import asdict

import numpy as np

from lstm97 import experiments
from lstm97.experiments import COMPARISONS, EXPERIMENTS

MAIN = {i: e for i, e in EXPERIMENTS.items() if not e.variant}


def test_comparison_rows_are_exactly_the_declared_ones():
    declared = {f"{r}+{c.name}" for c in COMPARISONS for r in c.rows}
    assert {i for i, e in EXPERIMENTS.items() if e.variant} == declared
    assert all(r in MAIN for c in COMPARISONS for r in c.rows)
    assert set(experiments.VARIANTS) == {c.name for c in COMPARISONS}


def test_each_comparison_changes_only_its_declared_fields():
    for c in COMPARISONS:
        for r in c.rows:
            main, other = asdict(MAIN[r]), asdict(EXPERIMENTS[f"{r}+{c.name}"])
            changed = {k for k in main if main[k] != other[k]}
            assert changed == {"id"} | set(c.change), (r, c.name, changed)
            assert all(other[k] == v for k, v in c.change.items())


def _targets_before_the_end(exp):
    batch = exp.make_task(0).sample(np.random.default_rng(0), 3)
    end = np.zeros(len(batch.targets), bool)
    end[batch.starts[1:] - 1] = True
    return bool(np.any(~np.isnan(batch.targets[~end])))


def test_per_step_updates_are_compared_where_errors_come_before_the_sequence_end():
    """Per-sequence and per-step updates differ only where a sequence has targets before its
    last step (docs/paper.md §6.3): the '+step' rows are exactly those main runs."""
    step = next(c for c in COMPARISONS if c.name == "step")
    assert set(step.rows) == {i for i, e in MAIN.items() if _targets_before_the_end(e)}
