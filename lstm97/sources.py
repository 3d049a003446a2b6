"""The package's source files as one stamp, and the compiled kernels that stamp keeps fresh.

``SOURCES`` is a stamp of every source file of the package: a running trial's checkpoint is
used only by the same code (it is part of the checkpoint's key). ``clear_stale_kernels()`` runs
once per process, when the first module with cached kernels is imported (``fastexp.py`` or
``online.py``, one of which every kernel module imports), before any kernel is compiled or loaded
from the cache. Importing ``lstm97`` itself touches no file.
"""
import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).parent


@functools.cache
def digest(package=PACKAGE):
    """sha256 of the package's source files, in path order."""
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(package.rglob("*.py")))).hexdigest()


SOURCES = digest()[:16]


@functools.cache
def clear_stale_kernels(package=PACKAGE):
    """Numba's cache (``cache=True``, in lstm97/__pycache__) notices a change of a kernel's own
    file only: a kernel keeps the old code of the functions it calls from other files (rnn.py
    for rtrl.py's kernel, fastexp.py for the engines'). So the cached kernels go whenever any
    source file of the package has changed since they were compiled (a stamp of all sources)."""
    stamp_text = digest(package)
    cache = package / "__pycache__"
    stamp = cache / "numba-sources.sha256"
    try:
        if stamp.read_text() == stamp_text:
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for p in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            p.unlink(missing_ok=True)
        stamp.write_text(stamp_text)
    except OSError:             # a read-only install: numba then caches elsewhere or not at all
        pass
