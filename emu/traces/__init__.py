"""Traces: importing recorded accesses (valgrind lackey) and disagg's own binary format (``.dtrace``).

:func:`load_trace` opens either: a file starting with the dtrace magic is read as such, anything else is
parsed as a lackey log. ``disagg run --trace FILE`` and ``disagg sweep --trace FILE`` use it.
"""

from .dtrace import is_dtrace, load, load_meta, save
from .lackey import load_lackey

__all__ = ["load_trace", "load", "load_meta", "save", "load_lackey", "is_dtrace"]


def load_trace(path, **lackey_options):
    """Load a ``.dtrace`` file or a lackey log (``lackey_options`` go to :func:`load_lackey`)."""
    if is_dtrace(path):
        return load(path)
    return load_lackey(path, **lackey_options)
