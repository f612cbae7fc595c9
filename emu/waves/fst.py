"""Read an FST file (GTKWave's compressed format, what ``disagg run --waves`` and failing tests record).

Through pywellen, the Python binding of wellen (the Rust waveform library behind the Surfer viewer),
which reads FST, VCD and GHW. The result is the same :class:`~emu.waves.reader.Waveform` the VCD reader
gives, so checks and rendering do not care where it came from. Signals are loaded on first use: a recorded
window of the whole system has thousands of signals, and a check or an excerpt reads only a few of them.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DisaggError
from .reader import _UNIT_FS, Trace, Waveform

__all__ = ["load_fst"]


class _LazyTrace(Trace):
    """A :class:`Trace` whose value changes are read from the file the first time they are needed."""

    def __init__(self, scope, leaf, width, ident, var):
        self.scope, self.leaf, self.width, self.ident = scope, leaf, width, ident
        self._var, self._changes, self._times_cache = var, None, None

    def __repr__(self):
        return f"Trace({self.name!r}, width={self.width})"

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    @property
    def changes(self):
        if self._changes is None:
            try:
                self._changes = [(int(t), _bits(v)) for t, v in self._var.signal]
            except (RuntimeError, ValueError) as exc:
                raise DisaggError(f"cannot read {self.name} from the FST file: {' '.join(str(exc).split())}") from None
        return self._changes

    @property
    def _times(self):
        if self._times_cache is None:
            self._times_cache = [t for t, _ in self.changes]
        return self._times_cache


def _bits(value) -> str:
    """A wellen value as a VCD-style string (binary, MSB first; x/z kept)."""
    if isinstance(value, int):
        return format(value, "b")
    if value is None:
        return "x"
    return str(value).lower()


def load_fst(path) -> Waveform:
    """Read an FST file; a one-line :class:`DisaggError` if it is missing or not readable."""
    path = Path(path)
    if not path.exists():
        raise DisaggError(f"no such file: {path}")
    if path.is_dir():
        raise DisaggError(f"{path} is a folder, not a waveform file")
    try:
        import pywellen
    except ImportError as exc:
        raise DisaggError(f"reading FST needs pywellen ({exc}); pip install pywellen") from None
    try:
        wave = pywellen.Waveform(str(path))
        variables = wave.all_vars()
        ts = wave.timescale
    except (RuntimeError, OSError, ValueError) as exc:
        raise DisaggError(f"{path} is not a readable FST file: {' '.join(str(exc).split())}") from None
    unit = str(ts.unit) if ts is not None else "ps"
    if unit not in _UNIT_FS:
        raise DisaggError(f"{path}: unsupported time unit {unit!r}")
    unit_fs = int(ts.factor) * _UNIT_FS[unit] if ts is not None else 10**3
    traces = {}
    try:
        for var in variables:
            name = var.full_name
            scope, _, leaf = name.rpartition(".")
            trace = _LazyTrace(scope, leaf, int(var.bitwidth or 1), str(var.signal_ref), var)
            traces.setdefault(trace.name, trace)
    except (RuntimeError, ValueError) as exc:
        raise DisaggError(f"{path} is not a readable FST file: {' '.join(str(exc).split())}") from None
    return Waveform(path, traces, unit_fs, _end_time(traces))


def _end_time(traces) -> int:
    """The last time stamp of the file: the last change of the clock-like signals (read lazily)."""
    clocks = [t for t in traces.values() if t.leaf in ("clk", "clock") and t.width == 1]
    for trace in clocks or list(traces.values())[:1]:
        if trace.changes:
            return trace.changes[-1][0]
    return 0
