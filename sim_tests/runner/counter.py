"""The smallest design a cocotb run can check: a free-running counter (the runner tests' DUT)."""

from amaranth import Module, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import Out


class Counter(wiring.Component):
    """Counts clock cycles, wrapping at ``2**width``.

    Parameters
    ----------
    width : int
        Width of the count.
    """

    def __init__(self, width: int):
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise TypeError(f"width must be a positive integer, not {width!r}")
        super().__init__({"count": Out(unsigned(width))})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m
