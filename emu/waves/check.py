"""Check a waveform: the handshake rules on every stream found, plus the given invariants."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import DisaggError
from .cycles import Cycles
from .handshake import Violation, check_stream, transfers
from .invariants import Invariant
from .files import load_waveform
from .reader import Waveform
from .streams import find_streams

__all__ = ["CheckReport", "check_waveform", "check_file"]


@dataclass
class CheckReport:
    """What :func:`check_waveform` found.

    Parameters
    ----------
    cycles : Cycles
    streams : list of Stream
    invariants : list of Invariant
    violations : list of Violation
        In time order.
    """
    cycles: Cycles
    streams: list
    invariants: list = field(default_factory=list)
    violations: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        """One line: what was checked and how many violations."""
        c = self.cycles
        n_active = sum(c.active)
        reset = f"reset {c.reset.name}" if c.reset is not None else "no reset signal (all cycles checked)"
        head = (f"{c.wave.path}: {_n(len(self.streams), 'stream')}, {_n(len(c), 'cycle')} of {c.clock.name} "
                f"({n_active} out of reset; {reset})")
        if self.ok:
            return head + ": no violations"
        counts = Counter(v.rule for v in self.violations)
        return head + f": {_n(len(self.violations), 'violation')} (" + ", ".join(
            f"{n} {rule}" for rule, n in sorted(counts.items())) + ")"

    def lines(self, limit: int | None = 50) -> list[str]:
        """Human-readable report: streams, invariants, violations (at most ``limit`` per rule), summary."""
        out = []
        for s in self.streams:
            beats = sum(transfers(self.cycles, s))
            payload = ", ".join(t.leaf for t in s.payload) or "no payload"
            out.append(f"  stream {s.name} ({s.convention}; {payload}): {beats} beats")
        for inv in self.invariants:
            out.append(f"  invariant {inv.name}: {inv.describe()}")
        shown = Counter()
        for v in self.violations:
            shown[v.rule] += 1
            if limit is None or shown[v.rule] <= limit:
                out.append("VIOLATION " + v.format(self.cycles))
        for rule, n in sorted(shown.items()):
            if limit is not None and n > limit:
                out.append(f"  ... {n - limit} more {rule} violations not shown")
        out.append(self.summary())
        return out


def _n(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def check_waveform(wave: Waveform, *, clock: str = "clk", reset: str | None = None,
                   reset_active_low: bool | None = None, invariants=()) -> CheckReport:
    """Check every stream of ``wave`` and the ``invariants``; raise DisaggError if nothing can be checked."""
    cycles = Cycles.of(wave, clock=clock, reset=reset, reset_active_low=reset_active_low)
    streams = find_streams(wave)
    if not streams:
        raise DisaggError(f"no valid/ready streams in {wave.path} (looked for <name>__valid/__ready, "
                          f"<prefix>tvalid/tready and AXI <prefix>{{aw,w,b,ar,r}}valid/ready)")
    for inv in invariants:
        if not isinstance(inv, Invariant):
            raise TypeError(f"invariants must be Invariant objects, not {inv!r}")
    violations: list[Violation] = []
    for s in streams:
        violations += check_stream(cycles, s)
    for inv in invariants:
        violations += inv.check(cycles, streams)
    violations.sort(key=lambda v: (v.cycle, v.signal, v.rule))
    return CheckReport(cycles, streams, list(invariants), violations)


def check_file(path, **kwargs) -> CheckReport:
    """:func:`check_waveform` on the VCD or FST file at ``path``."""
    return check_waveform(load_waveform(path), **kwargs)
