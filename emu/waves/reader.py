"""Waveforms as traces that can be sampled at clock edges, and the VCD reader (through vcdvcd).

FST is read by :mod:`emu.waves.fst` (through pywellen); :func:`emu.waves.files.load_waveform` picks the
reader by content.

Values are kept as VCD strings: ``"0"``/``"1"``/``"x"``/``"z"`` for one bit and binary strings
(most significant bit first, possibly shorter than the width, VCD style) for vectors.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..errors import DisaggError

__all__ = ["Trace", "Waveform", "load_vcd", "parse_time", "format_time"]

_RANGE = re.compile(r"\[\d+(:\d+)?\]$")
_UNIT_FS = {"s": 10**15, "ms": 10**12, "us": 10**9, "ns": 10**6, "ps": 10**3, "fs": 1}


def _split(reference: str) -> tuple[str, str]:
    """(scope, leaf) of a vcdvcd reference, without bit range or escape.

    ``TOP.dut.\\o__payload.a`` -> (``TOP.dut``, ``o__payload.a``): an escaped Verilog name may
    contain dots (amaranth.sim names struct fields so), so the leaf starts at the backslash.
    """
    if "\\" in reference:
        scope, _, leaf = reference.partition("\\")
        scope = scope.rstrip(".")
    else:
        scope, _, leaf = reference.rpartition(".")
    return scope, _RANGE.sub("", leaf)


@dataclass
class Trace:
    """The value changes of one signal.

    Parameters
    ----------
    scope : str
        Hierarchical scope, scopes joined with dots (``TOP.dut``).
    leaf : str
        The signal's own name (bit range and VCD escape removed); :attr:`name` is ``scope.leaf``.
    width : int
        Width in bits.
    ident : str
        The VCD identifier code; aliases of one net share it.
    changes : list of (int, str)
        ``(time, value)`` pairs in time order, values as VCD strings.
    """
    scope: str
    leaf: str
    width: int
    ident: str
    changes: list = field(default_factory=list)

    def __post_init__(self):
        self._times = [t for t, _ in self.changes]

    @property
    def name(self) -> str:
        return f"{self.scope}.{self.leaf}" if self.scope else self.leaf

    def before(self, time: int) -> str:
        """The value in force just before ``time`` (what a flip-flop clocked at ``time`` samples)."""
        i = bisect.bisect_left(self._times, time)
        return self.changes[i - 1][1] if i else "x"

    def sample(self, times) -> list[str]:
        """:meth:`before` at each of ``times`` (sorted), in one pass."""
        out, i, n = [], 0, len(self.changes)
        value = "x"
        for t in times:
            while i < n and self.changes[i][0] < t:
                value = self.changes[i][1]
                i += 1
            out.append(value)
        return out


@dataclass
class Waveform:
    """All traces of one VCD file.

    Parameters
    ----------
    path : Path
        The file read.
    traces : dict of str to Trace
        By cleaned hierarchical name, in declaration order.
    unit_fs : int
        One VCD time unit in femtoseconds (from ``$timescale``).
    end_time : int
        The last timestamp of the file.
    """
    path: Path
    traces: dict
    unit_fs: int
    end_time: int

    def find(self, name: str, *, what: str = "signal") -> Trace:
        """The trace called ``name``: a full dotted name, or a leaf name (the shallowest match wins)."""
        if name in self.traces:
            return self.traces[name]
        matches = [t for t in self.traces.values() if t.leaf == name]
        if not matches:
            raise DisaggError(f"no {what} named {name!r} in {self.path}")
        return min(matches, key=lambda t: t.name.count("."))

    def find_optional(self, name: str) -> Trace | None:
        try:
            return self.find(name)
        except DisaggError:
            return None

    def rising_edges(self, clock: Trace) -> list[int]:
        """Times at which ``clock`` goes from 0 to 1."""
        if clock.width != 1:
            raise DisaggError(f"clock {clock.name} is {clock.width} bits wide, not 1")
        edges, prev = [], "x"
        for t, v in clock.changes:
            if prev == "0" and v == "1":
                edges.append(t)
            prev = v
        return edges

    def format_time(self, t: int) -> str:
        return format_time(t, self.unit_fs)

    def parse_time(self, text: str) -> int:
        return parse_time(text, self.unit_fs)


def format_time(t: int, unit_fs: int) -> str:
    """A VCD time as nanoseconds, e.g. ``"12.5 ns"``."""
    ns = Decimal(t * unit_fs) / Decimal(10**6)
    text = f"{ns:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ns"


def parse_time(text: str, unit_fs: int) -> int:
    """``"120"`` (file time units) or ``"120ns"`` / ``"1.5 us"`` into file time units."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|ms|us|ns|ps|fs)?\s*", str(text))
    if not m:
        raise DisaggError(f"bad time {text!r}: expected a number of file time units or e.g. '120ns'")
    number, unit = Decimal(m.group(1)), m.group(2)
    if unit is None:
        if number != number.to_integral_value():
            raise DisaggError(f"bad time {text!r}: file time units are whole numbers")
        return int(number)
    fs = number * _UNIT_FS[unit]
    return int((fs / unit_fs).to_integral_value())


def load_vcd(path) -> Waveform:
    """Read a VCD file; raise :class:`DisaggError` with one line if it is missing or not a VCD."""
    path = Path(path)
    if not path.exists():
        raise DisaggError(f"no such file: {path}")
    if path.is_dir():
        raise DisaggError(f"{path} is a folder, not a VCD file")
    raw = path.read_bytes()
    if raw.startswith(b"\x00") or path.suffix == ".fst":
        raise DisaggError(f"{path} is not a VCD file (FST or binary); read FST with emu.waves.load_waveform")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise DisaggError(f"{path} is not a VCD file (binary content)") from None
    if "$enddefinitions" not in text or "$var" not in text:
        raise DisaggError(f"{path} is not a VCD file (no $var/$enddefinitions header)")
    from vcdvcd import VCDVCD
    try:
        vcd = VCDVCD(vcd_string=text, store_tvs=True)
    except Exception as exc:  # vcdvcd raises bare Exceptions on malformed bodies
        raise DisaggError(f"{path} is not a readable VCD file: {exc}") from None
    ts = vcd.timescale
    unit_fs = int(ts["magnitude"] * _UNIT_FS[ts["unit"]]) if ts else 10**3  # VCD default: 1 ps
    traces = {}
    for reference in vcd.signals:
        ident = vcd.references_to_ids[reference]
        sig = vcd.data[ident]
        try:
            width = int(sig.size)
        except ValueError:
            raise DisaggError(f"{path}: bad width {sig.size!r} of {reference}") from None
        scope, leaf = _split(reference)
        trace = Trace(scope, leaf, width, ident, [(t, v.lower()) for t, v in sig.tv])
        traces.setdefault(trace.name, trace)
    return Waveform(path, traces, unit_fs, vcd.endtime)
