"""Task generators for every experiment of the paper (docs/paper.md §4).

Every task produces a :class:`Batch` (``tasks/base.py``): many sequences stored back to back in
flat arrays, in the sparse form the compiled engine reads.
"""
from .base import Batch, dense_batch, offsets, onehot_batch
from .reber import EmbeddedReber  # Experiment 1
from .long_lag import NoiseFree, NoLocalRegularities, VeryLongLag  # Experiment 2
from .two_sequence import TwoSequence  # Experiment 3
from .adding import Adding, Multiplication  # Experiments 4, 5
from .temporal_order import TemporalOrder  # Experiment 6

__all__ = ["Batch", "dense_batch", "offsets", "onehot_batch", "EmbeddedReber", "NoiseFree",
           "NoLocalRegularities", "VeryLongLag", "TwoSequence", "Adding", "Multiplication", "TemporalOrder"]
