"""The cycle view of a waveform: values sampled at each rising clock edge, and which cycles are out of reset.

A signal's value *in cycle k* is the value in force just before the k-th rising edge, i.e. what a
flip-flop clocked by that edge samples. That is the right reading of a VCD where registers and test
drivers change at the edge's timestamp (Verilator, amaranth.sim, and the cocotb window recorder all
write that way).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DisaggError
from .reader import Trace, Waveform

__all__ = ["Cycles", "RESET_NAMES", "ACTIVE_LOW_RESET_NAMES"]

#: Reset names looked for when none is given, active high then active low.
RESET_NAMES = ("rst", "reset", "areset")
ACTIVE_LOW_RESET_NAMES = ("rst_n", "rstn", "reset_n", "resetn", "aresetn")


@dataclass
class Cycles:
    """Clock edges of a waveform and the samples taken at them.

    Parameters
    ----------
    wave : Waveform
    clock : Trace
    reset : Trace or None
        ``None`` when the waveform has no reset: every cycle is then checked.
    reset_active_low : bool
    """
    wave: Waveform
    clock: Trace
    reset: Trace | None = None
    reset_active_low: bool = False
    edges: list = field(default_factory=list)
    active: list = field(default_factory=list)
    _samples: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, wave: Waveform, *, clock: str = "clk", reset: str | None = None,
           reset_active_low: bool | None = None) -> Cycles:
        """Build the cycle view; ``reset=None`` looks for a conventional reset name, ``""`` means none."""
        clk = wave.find(clock, what="clock")
        rst, low = None, bool(reset_active_low)
        if reset is None:
            for name in RESET_NAMES + ACTIVE_LOW_RESET_NAMES:
                rst = wave.find_optional(name)
                if rst is not None:
                    low = name in ACTIVE_LOW_RESET_NAMES if reset_active_low is None else reset_active_low
                    break
        elif reset:
            rst = wave.find(reset, what="reset")
            if reset_active_low is None:
                low = rst.leaf in ACTIVE_LOW_RESET_NAMES
        if rst is not None and rst.width != 1:
            raise DisaggError(f"reset {rst.name} is {rst.width} bits wide, not 1")
        edges = wave.rising_edges(clk)
        if not edges:
            raise DisaggError(f"clock {clk.name} has no rising edge in {wave.path}")
        self = cls(wave, clk, rst, low, edges)
        if rst is None:
            self.active = [True] * len(edges)
        else:
            idle = "1" if low else "0"
            self.active = [v == idle for v in self.sample(rst)]
        return self

    def sample(self, trace: Trace) -> list[str]:
        """Values of ``trace`` in every cycle (cached)."""
        s = self._samples.get(trace.ident)
        if s is None:
            s = self._samples[trace.ident] = trace.sample(self.edges)
        return s

    def __len__(self):
        return len(self.edges)

    def first_active(self) -> int | None:
        """Index of the first cycle out of reset, or ``None``."""
        return next((k for k, a in enumerate(self.active) if a), None)
