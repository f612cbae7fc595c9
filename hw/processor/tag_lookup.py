"""Hit detection: compare (pid, tag) of an access with every way of its set."""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import TagSet
from hw.processor.excache_params import ExCacheParams

__all__ = ["TagLookup"]


class TagLookup(wiring.Component):
    """Combinational tag match (a homonym of another pid is a miss: the cache is tagged by pid).

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    ways : In(TagSet)
        Entries of the set.
    pid : In(pid_width)
    tag : In(tag_bits)
        The access's pid and tag.
    hit : Out(1)
        A valid way holds (pid, tag).
    hit_way : Out(way_bits)
        The lowest such way (0 on a miss). A well-formed set holds a line at most once.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "ways":    In(TagSet(p)),
            "pid":     In(p.pid_width),
            "tag":     In(p.tag_bits),
            "hit":     Out(1),
            "hit_way": Out(p.way_bits),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        hit_vec = Signal(p.ways)
        for i in range(p.ways):
            e = self.ways[i]
            m.d.comb += hit_vec[i].eq(e.valid & (e.pid == self.pid) & (e.tag == self.tag))
        m.d.comb += self.hit.eq(hit_vec.any())
        for i in reversed(range(p.ways)):
            with m.If(hit_vec[i]):
                m.d.comb += self.hit_way.eq(i)
        return m
