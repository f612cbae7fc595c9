"""The ExCache controller: the arrays, the hit pipeline, the miss path and maintenance, wired together.

Each job is one block (see ``docs/excache.md`` for the drawing):

* :class:`~hw.processor.tag_store.TagStore` and the line store (:class:`~hw.processor.line_data.LineData` on
  chip, or :class:`~hw.processor.line_store_axi.AxiLineStore` in local memory on the ``lmem`` port): the arrays;
* :class:`~hw.processor.hit_pipeline.HitPipeline`: CPU port, tag read, tag capture and compare, hits (``HIT_LATENCY`` = 4);
* :class:`~hw.processor.replacement_unit.ReplacementUnit`: victim choice and policy state;
* :class:`~hw.processor.line_writeback.LineWriteBack`, :class:`~hw.processor.line_fill.LineFill`: the
  data moves of the miss path (READ_LINE + MARK_CLEAN, FILL);
* :class:`~hw.processor.maintenance.MaintenanceWalker`: invalidate/flush by pid;
* :class:`~hw.processor.excache_sequencer.ExCacheSequencer`: which of them owns the arrays, and the
  miss handler's commands;

and the controller reports the counters' events (the counters are CSR registers of kind ``Counter`` in
:class:`~hw.processor.excache.ExCacheTop`).

Several blocks request the same array port; the sequencer enables at most one per cycle and
:func:`~hw.processor.array_ports.merge_requests` forwards it.
"""

from amaranth import Module, Mux
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import entry_of, merge_requests
from hw.processor.excache_layouts import CpuOp, CpuReq, CpuResp, MaintOp, MissCmd, MissEvent, MissKind, VictimState
from hw.processor.excache_params import ExCacheParams
from hw.processor.excache_sequencer import ExCacheSequencer
from hw.processor.hit_pipeline import HIT_LATENCY, HitPipeline
from hw.processor.line_data import LineData
from hw.processor.line_store_axi import AxiLineStore, local_signature
from hw.processor.line_fill import LineFill
from hw.processor.line_writeback import LineWriteBack
from hw.processor.maintenance import MaintenanceWalker
from hw.processor.replacement_unit import ReplacementUnit
from hw.processor.tag_store import TagStore
from hw.protocol import DataBeat

__all__ = ["ExCacheController", "HIT_LATENCY", "COUNTER_EVENTS"]

#: Members of the controller's ``count`` port (the names of the ExCache's counter registers).
COUNTER_EVENTS = ("hits", "misses", "evictions", "writebacks")


class ExCacheController(wiring.Component):
    """Cache arrays, hit path and miss/maintenance sequencing.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
        CPU accesses.
    cpu_resp : Out(stream of CpuResp)
        Answers, in request order.
    miss_event : Out(stream of MissEvent)
        Misses and dirty lines found by a flush, for the miss handler.
    miss_cmd : In(stream of MissCmd)
        The miss handler's commands for the open event.
    wb_data : Out(stream of DataBeat)
        Line words answering READ_LINE, word 0 first, ``last`` on the final one.
    fill_data : In(stream of DataBeat)
        Line words after a FILL command, word 0 first (``last`` is not checked: the count is). With
        ``rx_cut_through`` the beats carry ``discard`` and the fill ends at ``last``: a discarded line installs
        nothing and the event waits for the next command (:class:`~hw.processor.line_fill.LineFill`).
    query_way : In(way_bits)
        Way whose state ``query`` shows.
    query : Out(VictimState)
        State of ``query_way`` in the set of the open event (valid while an event is open).
    maint_start : In(1)
        Pulse: start maintenance ``maint_op`` for ``maint_pid`` (ignored while ``maint_busy``).
    maint_op : In(MaintOp)
    maint_pid : In(pid_width)
    maint_busy : Out(1)
        A maintenance command is waiting for the pipeline to drain or running.
    maint_done : Out(1)
        Pulse: the maintenance command finished.
    count : Out(Signature of hits, misses, evictions, writebacks)
        One-cycle event pulses for the performance counters: an access hit (replays excluded), a MISS
        event was taken, a fill replaced a valid line, a write-back was acknowledged (MARK_CLEAN).
    lmem : Out(AXI4Signature(local_addr_width, data_width, 1))
        Only with ``line_store="axi"``: the local memory holding the line data.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        ports = {
            "cpu_req":        In(stream.Signature(CpuReq(p))),
            "cpu_resp":       Out(stream.Signature(CpuResp(p))),
            "miss_event":     Out(stream.Signature(MissEvent(p))),
            "miss_cmd":       In(stream.Signature(MissCmd(p))),
            "wb_data":        Out(stream.Signature(DataBeat(p.data_width))),
            "fill_data":      In(stream.Signature(DataBeat(p.data_width, p.rx_cut_through))),
            "query_way":      In(p.way_bits),
            "query":          Out(VictimState(p)),
            "maint_start":    In(1),
            "maint_op":       In(MaintOp),
            "maint_pid":      In(p.pid_width),
            "maint_busy":     Out(1),
            "maint_done":     Out(1),
            "count":          Out(wiring.Signature({name: Out(1) for name in COUNTER_EVENTS})),
        }
        if p.line_store == "axi":
            ports["lmem"] = Out(local_signature(p))
        super().__init__(ports)

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.tags = tags = TagStore(p)
        m.submodules.data = line_data = LineData(p) if p.line_store == "onchip" else AxiLineStore(p)
        if p.line_store == "axi":
            wiring.connect(m, line_data.axi, wiring.flipped(self.lmem))
        m.submodules.pipe = pipe = HitPipeline(p)
        m.submodules.repl = repl = ReplacementUnit(p)
        m.submodules.writeback = wb = LineWriteBack(p)
        m.submodules.fill = fill = LineFill(p)
        m.submodules.maint = maint = MaintenanceWalker(p)
        m.submodules.seq = seq = ExCacheSequencer(p)

        # Array ports: one requester per cycle (the sequencer's state decides which). The hit pipeline uses
        # them only in `run` (and reads the tags at `replay`), the miss path and maintenance only outside it,
        # so the sequencer's registered state selects the hit pipeline's requests, and among the others the
        # last is the fallback: no requester's enable is a select on another's path to the arrays (issue 18).
        run = seq.run
        merge_requests(m, tags.rd, [maint.tag_rd, pipe.tag_rd], fallback=True, owner=run | seq.replay)
        merge_requests(m, tags.wr, [wb.tag_wr, fill.tag_wr, maint.tag_wr, pipe.tag_wr], fallback=True, owner=run)
        # The hit pipeline captures the RAMs' output (S0 -> ST) and loads the captured set into the loaded
        # registers: the ways with `ways_load` (from registers), the replacement state with `repl_load` (ST's
        # move). Maintenance loads straight from the RAMs.
        m.d.comb += [tags.load.eq(maint.tag_load), tags.capture.eq(pipe.tag_capture),
                     tags.load_ways.eq(pipe.ways_load), tags.load_repl.eq(pipe.repl_load)]
        wiring.connect(m, repl.repl_wr, tags.repl_wr)
        merge_requests(m, line_data.rd, [wb.data_rd, pipe.data_rd], fallback=True, owner=run)
        merge_requests(m, line_data.wr, [fill.data_wr, pipe.data_wr], fallback=True, owner=run)
        ways = tags.ways
        m.d.comb += [pipe.cap_ways.eq(tags.cap_ways), repl.ways.eq(ways), wb.ways.eq(ways), fill.ways.eq(ways),
                     maint.ways.eq(ways), repl.state.eq(tags.repl),
                     pipe.rdata.eq(line_data.rdata), wb.rdata.eq(line_data.rdata),
                     pipe.rvalid.eq(line_data.rvalid), wb.rvalid.eq(line_data.rvalid),
                     line_data.rready.eq(pipe.rready | wb.rready)]

        # CPU port and hit pipeline.
        wiring.connect(m, wiring.flipped(self.cpu_req), pipe.cpu_req)
        wiring.connect(m, pipe.cpu_resp, wiring.flipped(self.cpu_resp))
        wiring.connect(m, pipe.touch, repl.touch)
        m.d.comb += [
            pipe.run.eq(seq.run), pipe.hold.eq(maint.busy), pipe.replay.eq(seq.replay),
            pipe.abort.eq(seq.abort), pipe.abort_status.eq(seq.abort_status),
            seq.pipe_miss.eq(pipe.miss), seq.pipe_idle.eq(pipe.idle),
        ]

        # The MISS event of the access in S1, with the suggested victim.
        victim = entry_of(ways, repl.victim, p)
        info = seq.miss_info
        m.d.comb += [
            info.kind.eq(MissKind.MISS), info.write.eq(pipe.s1.op == CpuOp.WRITE), info.pid.eq(pipe.s1.pid),
            info.vaddr.eq(pipe.s1.vaddr), info.set.eq(pipe.s1_set), info.way.eq(repl.victim),
            info.victim_valid.eq(victim.valid), info.victim_dirty.eq(victim.dirty),
            info.victim_pid.eq(victim.pid), info.victim_tag.eq(victim.tag),
            repl.advance.eq(seq.miss_taken),
        ]

        # Miss handler side: events, commands and the two data streams.
        wiring.connect(m, seq.miss_event, wiring.flipped(self.miss_event))
        wiring.connect(m, wiring.flipped(self.miss_cmd), seq.miss_cmd)
        wiring.connect(m, wb.wb_data, wiring.flipped(self.wb_data))
        wiring.connect(m, wiring.flipped(self.fill_data), fill.fill_data)
        wiring.connect(m, fill.installed, repl.installed)
        m.d.comb += [
            wb.start.eq(seq.read_line), wb.clean.eq(seq.mark_clean), wb.way.eq(seq.cmd_way),
            wb.set.eq(seq.ev_set), seq.read_done.eq(wb.done),
            fill.start.eq(seq.fill), fill.way.eq(seq.cmd_way), fill.set.eq(seq.ev_set),
            fill.tag.eq(pipe.s1_tag), fill.pid.eq(pipe.s1.pid), seq.fill_done.eq(fill.done),
            *([seq.fill_dropped.eq(fill.dropped), fill.abort.eq(seq.abort)] if p.rx_cut_through else []),
            self.query.eq(Mux(self.query_way < p.ways, entry_of(ways, self.query_way, p), 0)
                          if p.ways > 1 else ways[0]),
        ]

        # Maintenance.
        wiring.connect(m, maint.flush, seq.flush)
        m.d.comb += [
            maint.start.eq(self.maint_start), maint.op.eq(self.maint_op), maint.pid.eq(self.maint_pid),
            self.maint_busy.eq(maint.busy), self.maint_done.eq(maint.done),
            seq.maint_busy.eq(maint.busy), maint.go.eq(seq.walk_go),
            maint.flush_closed.eq(seq.flush_closed), seq.walk_done.eq(maint.done),
        ]

        # Counter events.
        m.d.comb += [self.count.hits.eq(pipe.hit), self.count.misses.eq(seq.miss_taken),
                     self.count.evictions.eq(fill.evicted), self.count.writebacks.eq(wb.cleaned)]
        return m
