"""lstm97: the 1997 Long Short-Term Memory of Hochreiter & Schmidhuber, reproduced in full.

``lstm97.train`` is ``engine.train`` (the compiled engine, or the reference with
engine="numpy"); it is looked up on first use, so that importing the package reads and writes
no file: the compiled kernels' cache is checked when the first kernel module is imported
(``sources.py``). docs/architecture.md describes the package's layers.
"""
from .network import LSTM97, truncated_gradient

__all__ = ["LSTM97", "train", "truncated_gradient"]


def __getattr__(name):
    if name == "train":
        from .engine import train
        return train
    raise AttributeError(f"module 'lstm97' has no attribute {name!r}")
