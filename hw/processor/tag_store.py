"""The ExCache's tag array and per-set replacement state, one block RAM each, with registered outputs.

The RAMs' output is registered twice (issue 18: nothing may follow a block RAM's 5.6 ns clock-to-out but a
flip-flop):

* at the edge with ``rd.en`` the RAMs latch the set (``rd.set``); the read is transparent to a write of the
  same set at that edge; the RAMs' output holds until the next read;
* at a later edge with ``capture`` the RAMs' output is captured into the *captured* registers (``cap_ways``,
  and the replacement state beside it): the hit pipeline compares those;
* at a later edge with ``load_ways`` / ``load_repl`` the captured set is copied into the *loaded* registers
  (``ways``, ``repl``), which hold the set under service (S1's) until the next load. ``load`` instead loads
  the loaded registers straight from the RAMs' output (maintenance, the non-blocking pipeline: read, then
  load). Between a read and the edge that takes its output the RAMs must not be read again.

A write landing at a ``capture`` or load edge on the set being taken is forwarded: the replacement state
written then replaces the taken one, and the dirty bits written then are ORed into the taken entries. Only
the dirty bits of a tag write are forwarded: the one tag write that can meet a capture or a load in the
controller is a write hit setting the dirty bit of the way it matched (tag, pid and valid unchanged), while
the accesses behind it in the hit pipeline move (``docs/excache.md``, "Timing"). Writes after a set was
taken are not seen until the next read: the set under service stays as it was loaded while a miss or a
maintenance step is served.
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import ReplWriteSignature, TagReadSignature, TagSet, TagWriteSignature
from hw.processor.excache_params import ExCacheParams
from hw.processor.replacement import init_state, state_width

__all__ = ["TagStore", "TAG_READ_EDGES"]

#: Edges from a tag read (``rd.en``) to its data on ``ways``/``repl`` with ``load``: the read edge, then the
#: ``load`` edge (through the captured registers, ``capture`` then ``load_ways``: one more).
TAG_READ_EDGES = 2


class TagStore(wiring.Component):
    """Tags and replacement state of every set.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    rd : In(TagReadSignature)
        Read request: the set latched by the RAMs at the edge.
    load : In(1)
        Load the set last read from the RAMs onto ``ways`` and ``repl`` at the edge (at least one edge after
        the read).
    capture : In(1)
        Capture the set last read from the RAMs into ``cap_ways`` (and the replacement state beside it) at the
        edge (at least one edge after the read).
    cap_ways : Out(TagSet)
        The captured set (dirty bits written at the capture edge included). The hit pipeline compares it.
    load_ways, load_repl : In(1)
        Load the captured set onto ``ways`` only, or its replacement state onto ``repl`` only (the hit
        pipeline loads the ways earlier than the replacement state: a waiting hit in S1 needs only the
        latter, so the ways' clock enable does not wait for S1's advance).
    ways : Out(TagSet)
        Tag entries of the last set loaded.
    repl : Out(max(1, state_width))
        Replacement state of the last set loaded (0 when the policy keeps none).
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
            "load":    In(1),
            "load_ways": In(1),
            "load_repl": In(1),
            "capture": In(1),
            "cap_ways": Out(TagSet(p)),
            "ways":    Out(TagSet(p)),
            "repl":    Out(max(1, state_width(p))),
            "wr":      In(TagWriteSignature(p)),
            "repl_wr": In(ReplWriteSignature(p)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        # The set the RAMs hold on their outputs (for the forwarding of writes at the capture and load edges).
        rd_set = Signal.like(self.rd.set)
        with m.If(self.rd.en):
            m.d.sync += rd_set.eq(self.rd.set)

        m.submodules.tag_mem = tag_mem = Memory(shape=TagSet(p), depth=p.sets, init=[])
        tag_wp = tag_mem.write_port(granularity=1)
        tag_rp = tag_mem.read_port(transparent_for=(tag_wp,))
        # `en` of a read port defaults to 1; the RAM output must hold from the read to the capture or load.
        m.d.comb += [
            tag_rp.addr.eq(self.rd.set), tag_rp.en.eq(self.rd.en),
            tag_wp.addr.eq(self.wr.set), tag_wp.en.eq(self.wr.en), tag_wp.data.eq(self.wr.data),
        ]
        wr_here = self.wr.set == rd_set
        dirty_written = Cat(self.wr.en[i] & wr_here & self.wr.data[i].dirty for i in range(p.ways))
        # The captured set: the RAM's output straight into flip-flops (the dirty bits written at the capture
        # edge beside them, ORed after the register).
        cap_set = Signal.like(rd_set)
        captured = Signal(TagSet(p))
        cap_fwd = Signal(p.ways)
        with m.If(self.capture):
            m.d.sync += [cap_set.eq(rd_set), captured.eq(tag_rp.data), cap_fwd.eq(dirty_written)]
        for i in range(p.ways):
            m.d.comb += [self.cap_ways[i].tag.eq(captured[i].tag), self.cap_ways[i].pid.eq(captured[i].pid),
                         self.cap_ways[i].valid.eq(captured[i].valid),
                         self.cap_ways[i].dirty.eq(captured[i].dirty | cap_fwd[i])]

        # The loaded set: from the RAM's output (`load`) or from the captured set (`load_ways`).
        loaded = Signal(TagSet(p))
        dirty_fwd = Signal(p.ways)       # dirty bits written at the load edge, ORed into `loaded`
        wr_cap = self.wr.set == cap_set
        with m.If(self.load):
            m.d.sync += [loaded.eq(tag_rp.data), dirty_fwd.eq(dirty_written)]
        with m.Elif(self.load_ways):
            m.d.sync += [loaded.eq(self.cap_ways),
                         dirty_fwd.eq(Cat(self.wr.en[i] & wr_cap & self.wr.data[i].dirty for i in range(p.ways)))]
        for i in range(p.ways):
            m.d.comb += [self.ways[i].tag.eq(loaded[i].tag), self.ways[i].pid.eq(loaded[i].pid),
                         self.ways[i].valid.eq(loaded[i].valid),
                         self.ways[i].dirty.eq(loaded[i].dirty | dirty_fwd[i])]

        repl_w = state_width(p)
        if repl_w:
            m.submodules.repl_mem = repl_mem = Memory(shape=repl_w, depth=p.sets, init=[init_state(p)] * p.sets)
            repl_wp = repl_mem.write_port()
            repl_rp = repl_mem.read_port(transparent_for=(repl_wp,))
            m.d.comb += [
                repl_rp.addr.eq(self.rd.set), repl_rp.en.eq(self.rd.en),
                repl_wp.addr.eq(self.repl_wr.set), repl_wp.en.eq(self.repl_wr.en),
                repl_wp.data.eq(self.repl_wr.data),
            ]
            def fwd(set_, state):
                return Mux(self.repl_wr.en & (self.repl_wr.set == set_), self.repl_wr.data, state)
            repl_cap = Signal(repl_w, init=init_state(p))
            with m.If(self.capture):
                m.d.sync += repl_cap.eq(fwd(rd_set, repl_rp.data))
            repl_loaded = Signal(repl_w, init=init_state(p))
            with m.If(self.load):
                m.d.sync += repl_loaded.eq(fwd(rd_set, repl_rp.data))
            with m.Elif(self.load_repl):
                m.d.sync += repl_loaded.eq(fwd(cap_set, repl_cap))
            m.d.comb += self.repl.eq(repl_loaded)
        else:
            m.d.comb += self.repl.eq(Const(0, 1))
        return m
