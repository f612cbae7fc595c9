"""Victim selection and replacement-state updates (the policies of :mod:`hw.processor.replacement`)."""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import LineEventSignature, ReplWriteSignature, TagSet
from hw.processor.excache_params import ExCacheParams
from hw.processor.replacement import LFSR_SEED, Replacement, lfsr_next, state_width

__all__ = ["ReplacementUnit"]


class ReplacementUnit(wiring.Component):
    """Chooses the way a miss fills and keeps the per-set policy state up to date.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    ways : In(TagSet)
        Entries of the set under service.
    state : In(max(1, state_width))
        Its replacement state (as read with the tags).
    victim : Out(way_bits)
        The lowest invalid way, else the policy's choice.
    advance : In(1)
        Pulse: a MISS event was taken; the random policy's LFSR steps (the victim is taken before).
    touch : In(LineEventSignature)
        A hit (or replayed miss) accessed a way: LRU and PLRU update the set's state.
    installed : In(LineEventSignature)
        A fill installed a line: FIFO advances the set's pointer.
    repl_wr : Out(ReplWriteSignature)
        Writes of the replacement state.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "ways":      In(TagSet(p)),
            "state":     In(max(1, state_width(p))),
            "victim":    Out(p.way_bits),
            "advance":   In(1),
            "touch":     In(LineEventSignature(p)),
            "installed": In(LineEventSignature(p)),
            "repl_wr":   Out(ReplWriteSignature(p)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        lfsr = Signal(16, init=LFSR_SEED)
        with m.If(self.advance):
            m.d.sync += lfsr.eq(lfsr_next(lfsr))
        repl = Replacement(m, p, self.state, lfsr)

        invalid_vec = Signal(p.ways)
        m.d.comb += invalid_vec.eq(Cat(~self.ways[i].valid for i in range(p.ways)))
        m.d.comb += self.victim.eq(repl.victim())
        for i in reversed(range(p.ways)):
            with m.If(invalid_vec[i]):
                m.d.comb += self.victim.eq(i)

        if state_width(p):
            if p.policy in ("lru", "plru"):
                with m.If(self.touch.en):
                    m.d.comb += [self.repl_wr.set.eq(self.touch.set), self.repl_wr.data.eq(repl.on_hit(self.touch.way)),
                                 self.repl_wr.en.eq(1)]
            if p.policy == "fifo":
                with m.If(self.installed.en):
                    m.d.comb += [self.repl_wr.set.eq(self.installed.set),
                                 self.repl_wr.data.eq(repl.on_fill(self.installed.way)), self.repl_wr.en.eq(1)]
        return m
