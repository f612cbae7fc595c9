"""Traces: importing recorded accesses (valgrind lackey) and disagg's own binary format (``.dtrace``).

:func:`load_trace` opens either: a file starting with the dtrace magic is read as such, anything else is
parsed as a lackey log. Either may be compressed (``.gz``, ``.xz``, ``.zst``; recognised by content) and
is streamed (:mod:`.source`). ``disagg run --trace FILE`` and ``disagg sweep --trace FILE`` use it.
"""

from .dtrace import is_dtrace, load, load_meta, save
from .lackey import LackeyParser, load_lackey
from .source import TraceReadError, open_trace

__all__ = ["load_trace", "load", "load_meta", "save", "load_lackey", "LackeyParser", "is_dtrace", "open_trace",
           "TraceReadError"]


def load_trace(path, *, progress=False, **lackey_options):
    """Load a ``.dtrace`` file or a lackey log (``lackey_options`` go to :func:`load_lackey`).

    ``progress`` shows a progress bar while a large file is read.
    """
    if is_dtrace(path):
        return load(path, progress=progress)
    return load_lackey(path, progress=progress, **lackey_options)
