"""lstm97: the 1997 Long Short-Term Memory of Hochreiter & Schmidhuber, reproduced in full."""
from .network import LSTM97, train, truncated_gradient

__all__ = ["LSTM97", "train", "truncated_gradient"]
