"""lstm97: the 1997 Long Short-Term Memory of Hochreiter & Schmidhuber, reproduced in full."""
import hashlib
from pathlib import Path


def _sources_digest(package=Path(__file__).parent):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(package.rglob("*.py")))).hexdigest()


def _clear_stale_kernels(digest, package=Path(__file__).parent):
    """Numba's cache (``cache=True``, in lstm97/__pycache__) notices a change of a kernel's own
    file only: a kernel keeps the old code of the functions it calls from other files (rnn.py
    for rtrl.py's kernel, fastexp.py for the engines'). So the cached kernels go whenever any
    source file of the package has changed since they were compiled (a stamp of all sources)."""
    cache = package / "__pycache__"
    stamp = cache / "numba-sources.sha256"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for p in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            p.unlink(missing_ok=True)
        stamp.write_text(digest)
    except OSError:             # a read-only install: numba then caches elsewhere or not at all
        pass


_digest = _sources_digest()
# a stamp of the package's source files: a running trial's checkpoint is used only by the same code
SOURCES = _digest[:16]
_clear_stale_kernels(_digest)

from .network import LSTM97, train, truncated_gradient  # noqa: E402

__all__ = ["LSTM97", "train", "truncated_gradient"]
