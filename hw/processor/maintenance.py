"""Maintenance by pid: invalidate a process's lines, or write back its (or every) dirty line.

A command waits (``busy``) until the sequencer has drained the hit pipeline and pulses ``go``; then the
walker reads every set once (two cycles per set, READ and LOAD) and looks at its ways (one cycle per way, SCAN):

* INVALIDATE_PID clears every matching way of the set in one write, then moves to the next set;
* FLUSH_PID / FLUSH_ALL offer a FLUSH event on ``flush`` for each matching dirty way, and continue with
  the next way when the sequencer reports the event closed (``flush_closed``: the miss handler marked
  the line clean, or aborted).

``done`` pulses with the last step; the tags are then as the command leaves them.
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import TagReadSignature, TagSet, TagWriteSignature, entry_of
from hw.processor.excache_layouts import MaintOp, MissEvent, MissKind
from hw.processor.excache_params import ExCacheParams

__all__ = ["MaintenanceWalker"]


class MaintenanceWalker(wiring.Component):
    """Walks every (set, way) for one maintenance command.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    start : In(1)
        Pulse: start ``op`` for ``pid`` (ignored while ``busy`` or for MaintOp.NONE).
    op : In(MaintOp)
    pid : In(pid_width)
    busy : Out(1)
        A command waits for ``go`` or runs.
    go : In(1)
        Pulse: the arrays are the walker's until ``done``.
    ways : In(TagSet)
        The tag store's output (the set being walked).
    tag_rd : Out(TagReadSignature)
    tag_load : Out(1)
    tag_wr : Out(TagWriteSignature)
        Set reads (read, then load: :class:`~hw.processor.tag_store.TagStore`) and invalidations.
    flush : Out(stream of MissEvent)
        FLUSH events (a dirty line of the command's scope).
    flush_closed : In(1)
        Pulse: the last FLUSH event is closed; walk on.
    done : Out(1)
        Pulse: the command finished.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "start":        In(1),
            "op":           In(MaintOp),
            "pid":          In(p.pid_width),
            "busy":         Out(1),
            "go":           In(1),
            "ways":         In(TagSet(p)),
            "tag_rd":       Out(TagReadSignature(p)),
            "tag_load":     Out(1),
            "tag_wr":       Out(TagWriteSignature(p)),
            "flush":        Out(stream.Signature(MissEvent(p))),
            "flush_closed": In(1),
            "done":         Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        op = Signal(MaintOp)
        pid = Signal(p.pid_width)
        with m.If(self.start & ~self.busy & (self.op != MaintOp.NONE)):
            m.d.sync += [self.busy.eq(1), op.eq(self.op), pid.eq(self.pid)]

        m_set = Signal(max(1, p.index_bits))
        m_way = Signal(p.way_bits)
        entry = entry_of(self.ways, m_way, p)
        match = Signal()
        m.d.comb += match.eq(entry.valid & ((op == MaintOp.FLUSH_ALL) | (entry.pid == pid)))

        def next_set():
            with m.If(m_set == p.sets - 1):
                m.d.sync += self.busy.eq(0)
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
            with m.Else():
                m.d.sync += [m_set.eq(m_set + 1), m_way.eq(0)]
                m.next = "READ"

        def next_way():
            with m.If(m_way == p.ways - 1):
                next_set()
            with m.Else():
                m.d.sync += m_way.eq(m_way + 1)
                m.next = "SCAN"

        with m.FSM(name="walk"):
            with m.State("IDLE"):
                with m.If(self.go):
                    m.d.sync += [m_set.eq(0), m_way.eq(0)]
                    m.next = "READ"

            with m.State("READ"):
                m.d.comb += [self.tag_rd.set.eq(m_set), self.tag_rd.en.eq(1)]
                m.next = "LOAD"

            with m.State("LOAD"):
                m.d.comb += self.tag_load.eq(1)
                m.next = "SCAN"

            with m.State("SCAN"):
                with m.If(op == MaintOp.INVALIDATE_PID):
                    m.d.comb += self.tag_wr.set.eq(m_set)
                    for i in range(p.ways):
                        m.d.comb += [self.tag_wr.en[i].eq(self.ways[i].valid & (self.ways[i].pid == pid)),
                                     self.tag_wr.data[i].eq(0)]
                    next_set()
                with m.Elif(match & entry.dirty):
                    m.next = "FLUSH"
                with m.Else():
                    next_way()

            with m.State("FLUSH"):
                ev = self.flush.payload
                m.d.comb += [
                    self.flush.valid.eq(1), ev.kind.eq(MissKind.FLUSH), ev.write.eq(0), ev.pid.eq(entry.pid),
                    ev.vaddr.eq(Cat(Const(0, p.offset_bits), m_set[:p.index_bits], entry.tag)),
                    ev.set.eq(m_set), ev.way.eq(m_way), ev.victim_valid.eq(1), ev.victim_dirty.eq(1),
                    ev.victim_pid.eq(entry.pid), ev.victim_tag.eq(entry.tag),
                ]
                with m.If(self.flush.ready):
                    m.next = "CLOSE"

            with m.State("CLOSE"):
                with m.If(self.flush_closed):
                    next_way()
        return m
