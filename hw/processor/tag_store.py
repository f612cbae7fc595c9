"""The ExCache's tag array and per-set replacement state, one block RAM each.

One read port serves both arrays: a read of a set shows, after the edge, the tag entries of all its
ways (``ways``) and its replacement state (``repl``); both hold until the next enabled read, so the
set under service stays visible while a miss or a maintenance step is served. Reads are transparent to
writes of the same edge: a set written at E1 and read at E1 shows the new value after E1, which lets the
hit pipeline accept an access to a set its predecessor is updating.

Timing (issue 18): the tag comparison follows the RAM output directly. To register that output, add
a stage here and split the hit pipeline's S1 into a read stage and a compare stage; the ports stay.
"""

from amaranth import Const, Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import ReplWriteSignature, TagReadSignature, TagSet, TagWriteSignature
from hw.processor.excache_params import ExCacheParams
from hw.processor.replacement import init_state, state_width

__all__ = ["TagStore"]


class TagStore(wiring.Component):
    """Tags and replacement state of every set.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    rd : In(TagReadSignature)
        Read request: the set whose state ``ways`` and ``repl`` show after the edge.
    ways : Out(TagSet)
        Tag entries of the last set read.
    repl : Out(max(1, state_width))
        Replacement state of the last set read (0 when the policy keeps none).
    wr : In(TagWriteSignature)
        Tag write, per way.
    repl_wr : In(ReplWriteSignature)
        Replacement state write (ignored when the policy keeps none).
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "rd":      In(TagReadSignature(p)),
            "ways":    Out(TagSet(p)),
            "repl":    Out(max(1, state_width(p))),
            "wr":      In(TagWriteSignature(p)),
            "repl_wr": In(ReplWriteSignature(p)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.tag_mem = tag_mem = Memory(shape=TagSet(p), depth=p.sets, init=[])
        tag_wp = tag_mem.write_port(granularity=1)
        tag_rp = tag_mem.read_port(transparent_for=(tag_wp,))
        # `en` of a read port defaults to 1; held data is what the rest of the controller relies on.
        m.d.comb += [
            tag_rp.addr.eq(self.rd.set), tag_rp.en.eq(self.rd.en), self.ways.eq(tag_rp.data),
            tag_wp.addr.eq(self.wr.set), tag_wp.en.eq(self.wr.en), tag_wp.data.eq(self.wr.data),
        ]

        repl_w = state_width(p)
        if repl_w:
            m.submodules.repl_mem = repl_mem = Memory(shape=repl_w, depth=p.sets, init=[init_state(p)] * p.sets)
            repl_wp = repl_mem.write_port()
            repl_rp = repl_mem.read_port(transparent_for=(repl_wp,))
            m.d.comb += [
                repl_rp.addr.eq(self.rd.set), repl_rp.en.eq(self.rd.en), self.repl.eq(repl_rp.data),
                repl_wp.addr.eq(self.repl_wr.set), repl_wp.en.eq(self.repl_wr.en),
                repl_wp.data.eq(self.repl_wr.data),
            ]
        else:
            m.d.comb += self.repl.eq(Const(0, 1))
        return m
