"""Generate the 3 embedded-Reber training/test pairs of Experiment 1 (docs/paper.md §4.1, §6.18).

Run from anywhere: ``python data/reber/make_reber.py``. Pair i uses the seed
numpy.random.default_rng(1997_000 + i) and is written to train_{i}.txt / test_{i}.txt
next to this script (256 strings each, one per line).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from lstm97.tasks.reber import make_pair, save_pair  # noqa: E402

if __name__ == "__main__":
    for i in range(3):
        train, test = make_pair(np.random.default_rng(1997_000 + i))
        save_pair(i, train, test, Path(__file__).resolve().parent)
        print(f"pair {i}: {len(train)} training strings ({len(set(train))} distinct), "
              f"{len(test)} test strings ({len(set(test))} distinct)")
