"""The ExCache's performance counters."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["COUNTERS", "ExCacheCounters"]

#: Counter names, each with the event that increments it.
COUNTERS = (
    ("hits",       "an access hit (a replayed miss is not counted again)"),
    ("misses",     "a MISS event was taken by the miss handler"),
    ("evictions",  "a fill replaced a valid line"),
    ("writebacks", "a dirty line's write-back was acknowledged (MARK_CLEAN)"),
)


class ExCacheCounters(wiring.Component):
    """Four 32-bit event counters (wrap around).

    Attributes
    ----------
    count_<name> : In(1)
        Pulse: the event of counter ``name`` (:data:`COUNTERS`).
    <name> : Out(32)
        The counter.
    clear : In(1)
        Pulse: zero all counters (wins over a same-cycle event).
    """

    def __init__(self):
        members = {"clear": In(1)}
        for name, _ in COUNTERS:
            members[f"count_{name}"] = In(1)
            members[name] = Out(32)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        for name, _ in COUNTERS:
            ctr = getattr(self, name)
            with m.If(self.clear):
                m.d.sync += ctr.eq(0)
            with m.Elif(getattr(self, f"count_{name}")):
                m.d.sync += ctr.eq(ctr + 1)
        return m
