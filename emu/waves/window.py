"""Choose signals by pattern and a time window of cycles: what ``disagg waves show`` renders."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..errors import DisaggError
from .cycles import Cycles
from .reader import Waveform

__all__ = ["WaveWindow", "select_window"]


@dataclass
class WaveWindow:
    """Signals sampled over a run of cycles.

    Parameters
    ----------
    wave : Waveform
    clock : str
        Name of the clock whose rising edges make the cycles.
    times : list of int
        Edge times of the cycles shown.
    first_cycle : int
        Index of the first shown edge in the file.
    total_cycles : int
        Cycles in the requested time window (more than ``len(times)`` when cut to a maximum).
    rows : list of (str, Trace, list of str)
        Display name, trace and per-cycle values of each signal.
    """
    wave: Waveform
    clock: str
    times: list
    first_cycle: int
    total_cycles: int
    rows: list

    def header(self) -> str:
        w = self.wave
        cut = "" if self.total_cycles == len(self.times) else f" (first {len(self.times)} of {self.total_cycles})"
        return (f"{w.path.name}: {len(self.times)} cycles{cut} of {self.clock} from {w.format_time(self.times[0])} "
                f"to {w.format_time(self.times[-1])}; values sampled at each rising edge")


def _display_names(traces) -> list[str]:
    """Names without the scope all of them share."""
    scopes = [t.scope.split(".") if t.scope else [] for t in traces]
    common = 0
    while scopes and all(len(s) > common for s in scopes) and len({s[common] for s in scopes}) == 1:
        common += 1
    return [".".join(s[common:] + [t.leaf]) for s, t in zip(scopes, traces)]


def select_window(wave: Waveform, patterns: str, *, clock: str = "clk", start: int | None = None,
                  end: int | None = None, max_cycles: int | None = None) -> WaveWindow:
    """Signals matching ``patterns`` (comma-separated globs on full or leaf names) over [start, end]."""
    if not isinstance(patterns, str) or not patterns.replace(",", "").strip():
        raise DisaggError(f"bad signal pattern {patterns!r}: give one or more comma-separated globs")
    if max_cycles is not None and (not isinstance(max_cycles, int) or max_cycles < 1):
        raise DisaggError(f"the cycle limit must be a positive integer, not {max_cycles!r}")
    cycles = Cycles.of(wave, clock=clock, reset="")
    start = cycles.edges[0] if start is None else start
    end = cycles.edges[-1] if end is None else end
    if start > end:
        raise DisaggError(f"the window starts after it ends ({wave.format_time(start)} > {wave.format_time(end)})")
    globs = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen, seen = [], {cycles.clock.ident}
    copies = {(cycles.clock.leaf, tuple(cycles.clock.changes))}
    # Simulator-made scopes (Verilator's "$rootio") last, so a copy of a port there is dropped for the design's.
    traces = sorted(wave.traces.values(), key=lambda t: t.scope.startswith("$") or ".$" in t.scope)
    for g in globs:  # rows in the order of the patterns, then of declaration
        for trace in traces:
            copy = (trace.leaf, tuple(trace.changes))
            if trace.ident in seen or copy in copies:
                continue
            if fnmatch.fnmatchcase(trace.name, g) or fnmatch.fnmatchcase(trace.leaf, g):
                chosen.append(trace)
                seen.add(trace.ident)
                copies.add(copy)
    if not chosen:
        raise DisaggError(f"no signal matches {patterns!r} in {wave.path}")
    idx = [k for k, t in enumerate(cycles.edges) if start <= t <= end]
    if not idx:
        raise DisaggError(f"no rising edge of {cycles.clock.name} between {wave.format_time(start)} and "
                          f"{wave.format_time(end)} (its edges span {wave.format_time(cycles.edges[0])} to "
                          f"{wave.format_time(cycles.edges[-1])})")
    total = len(idx)
    if max_cycles is not None:
        idx = idx[:max_cycles]
    times = [cycles.edges[k] for k in idx]
    names = _display_names(chosen)
    rows = [(n, t, t.sample(times)) for n, t in zip(names, chosen)]
    return WaveWindow(wave, cycles.clock.name, times, idx[0], total, rows)
