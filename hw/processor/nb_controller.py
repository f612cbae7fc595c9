"""The non-blocking ExCache controller (``mshrs`` > 1): MSHRs, hit-under-miss, miss-under-miss, merging.

The arrays, the replacement unit, the line moves and maintenance are the blocking controller's blocks
(:mod:`hw.processor.excache_controller`); what changes is who decides and who talks to the network::

   cpu_req --> NonBlockingPipeline (S0, S1: hit / merge / allocate) --> AnswerQueue --> cpu_resp
                   |  lookup, alloc, merge            ^ head waits on k: completes when k is done
                   v                                  |
                MshrFile (k: line, way, victim, wb_open, done, status, waiters)
                   ^  alloc k                         ^ wb_ack / fill_done / read_fail
                   |                                  |
   net_tx <-- RequestSender (LINE_WRITE k + victim words, LINE_READ k)   ResponseReceiver <-- net_rx
                   '--> LineWriteBack (victim words)          LineFill (beats into k's way) <--'

   maintenance: ExCacheSequencer + MaintenanceWalker + MissHandler (FLUSH events only) own the arrays and
   the network once the cache is drained (no access in flight, every MSHR released).

Who uses the arrays in a cycle, first first: a fill's beat (the line store's write port only) and its tag
write, a victim's words (LineWriteBack busy: the read port), a refused write-back's re-validation, a completion
at the queue's head, then the pipeline (``stall`` tells it it cannot move, ``wr_busy`` that a write must wait;
``stale`` that a tag entry changed under it). A response header taken also stalls the pipeline for that cycle,
so no two events of one counter meet in a cycle.

Line store: on chip (:class:`~hw.processor.line_data.LineData`), or in local memory on the ``lmem`` AXI4 port
(:class:`~hw.processor.line_store_axi.AxiLineStore`, ``line_store="axi"``). With the local memory, every read
goes through :class:`~hw.processor.local_read_port.LocalReadPort` (requests held for AR, R beats routed in
request order to the answer queue's entries or to the victim's write-back stream), a hit or a completion
leaves only when the store takes its request, and a fill's beats go at the store's pace (the store orders a
read after the writes it took: a read hit waits while a fill's burst has not had its B response; and a held
read before the writes that would open a burst, since the next miss of a set may refill the way a completion's
read, held, is of).
"""

from amaranth import Module, Mux
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.answer_queue import AnswerQueue
from hw.processor.array_ports import entry_of, merge_requests
from hw.processor.excache_layouts import CpuReq, CpuResp, MaintOp, MissEvent
from hw.processor.excache_params import ExCacheParams
from hw.processor.excache_sequencer import ExCacheSequencer
from hw.processor.line_data import LineData
from hw.processor.line_store_axi import AxiLineStore, local_signature
from hw.processor.line_fill import LineFill
from hw.processor.line_writeback import LineWriteBack
from hw.processor.local_read_port import LocalReadPort
from hw.processor.maintenance import MaintenanceWalker
from hw.processor.miss_decisions import FirmwareMissPort
from hw.processor.miss_handler import MissHandler
from hw.processor.mshr_file import MshrFile
from hw.processor.mshr_requests import RequestSender
from hw.processor.mshr_responses import ResponseReceiver
from hw.processor.nb_pipeline import NonBlockingPipeline
from hw.processor.replacement_unit import ReplacementUnit
from hw.processor.tag_store import TagStore
from hw.protocol import NODE_ID_WIDTH, MessagePort, Status

__all__ = ["NonBlockingController", "NB_COUNTER_EVENTS"]

#: Members of the ``count`` port (the ExCache's counter registers).
NB_COUNTER_EVENTS = ("hits", "misses", "evictions", "writebacks")


class NonBlockingController(wiring.Component):
    """The non-blocking ExCache without its CSRs.

    Parameters
    ----------
    params : ExCacheParams
        With ``mshrs`` > 1.
    software : bool
        Software-managed miss path: misses wait for firmware's decision (``fw_*``).

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
    cpu_resp : Out(stream of CpuResp)
        The CPU port; answers in request order.
    net_tx : Out(MessagePort)
        LINE_READ / LINE_WRITE requests (``tag`` = MSHR number; maintenance's flushes: a counter).
    net_rx : In(MessagePort)
        Their responses (a verdict port with ``rx_cut_through``: :mod:`hw.processor.mshr_responses`).
    mem_node : In(NODE_ID_WIDTH)
        ``dst`` of the requests.
    maint_start : In(1)
    maint_op : In(MaintOp)
    maint_pid : In(pid_width)
    maint_busy : Out(1)
    maint_done : Out(1)
        Maintenance, as in :class:`~hw.processor.excache_controller.ExCacheController`.
    count : Out(Signature of hits, misses, evictions, writebacks)
        Counter pulses.
    event : Out(MissEvent)
        Software mode: the last miss event (``ev_*`` registers); hardware mode: 0.
    pending : Out(1)
        Software mode: a miss event waits for firmware.
    fw_stb, fw_action, fw_way, fw_status : In
        Software mode: firmware's ``miss_cmd`` write (ignored in hardware mode).
    lmem : Out(AXI4Signature(local_addr_width, data_width, 1))
        Only with ``line_store="axi"``: the local memory holding the line data.
    """

    def __init__(self, params, *, software=False):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        if params.mshrs < 2:
            raise ValueError(f"the non-blocking controller needs mshrs >= 2, not {params.mshrs!r}")
        if not isinstance(software, bool):
            raise TypeError(f"software must be a bool, not {software!r}")
        self.params = p = params
        self.software = software
        ports = {
            "cpu_req":     In(stream.Signature(CpuReq(p))),
            "cpu_resp":    Out(stream.Signature(CpuResp(p))),
            "net_tx":      Out(MessagePort(p.data_width)),
            "net_rx":      In(MessagePort(p.data_width, verdict=p.rx_cut_through)),
            "mem_node":    In(NODE_ID_WIDTH),
            "maint_start": In(1),
            "maint_op":    In(MaintOp),
            "maint_pid":   In(p.pid_width),
            "maint_busy":  Out(1),
            "maint_done":  Out(1),
            "count":       Out(wiring.Signature({name: Out(1) for name in NB_COUNTER_EVENTS})),
            "event":       Out(MissEvent(p)),
            "pending":     Out(1),
            "fw_stb":      In(1),
            "fw_action":   In(1),
            "fw_way":      In(8),
            "fw_status":   In(Status),
        }
        if p.line_store == "axi":
            ports["lmem"] = Out(local_signature(p))
        super().__init__(ports)

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.tags = tags = TagStore(p)
        onchip = p.line_store == "onchip"
        m.submodules.data = line_data = LineData(p) if onchip else AxiLineStore(p)
        m.submodules.pipe = pipe = NonBlockingPipeline(p, software=self.software)
        m.submodules.queue = queue = AnswerQueue(p)
        m.submodules.mshr = mshr = MshrFile(p)
        m.submodules.sender = sender = RequestSender(p)
        m.submodules.receiver = receiver = ResponseReceiver(p)
        m.submodules.repl = repl = ReplacementUnit(p)
        m.submodules.writeback = wb = LineWriteBack(p)
        m.submodules.fill = fill = LineFill(p)
        m.submodules.maint = maint = MaintenanceWalker(p)
        m.submodules.seq = seq = ExCacheSequencer(p)
        m.submodules.flusher = flusher = MissHandler(p, software=False)

        # Arrays: the first enabled requester of each port wins (see the module docstring for the order).
        merge_requests(m, tags.rd, [maint.tag_rd, pipe.tag_rd], fallback=True)
        merge_requests(m, tags.wr, [receiver.reval, fill.tag_wr, queue.tag_wr, wb.tag_wr, maint.tag_wr, pipe.tag_wr],
                       fallback=True)
        m.d.comb += tags.load.eq(pipe.tag_load | maint.tag_load)
        wiring.connect(m, repl.repl_wr, tags.repl_wr)
        if onchip:
            merge_requests(m, line_data.rd, [wb.data_rd, queue.data_rd, pipe.data_rd], fallback=True)
        else:
            m.submodules.reads = reads = LocalReadPort(p)
            merge_requests(m, reads.req, [wb.data_rd, queue.data_rd, pipe.data_rd], fallback=True)
            wiring.connect(m, reads.store, line_data.rd)
            wiring.connect(m, line_data.axi, wiring.flipped(self.lmem))
        merge_requests(m, line_data.wr, [fill.data_wr, queue.data_wr, pipe.data_wr], fallback=True)
        ways = tags.ways
        m.d.comb += [pipe.ways.eq(ways), repl.ways.eq(ways), wb.ways.eq(ways), fill.ways.eq(ways),
                     maint.ways.eq(ways), repl.state.eq(tags.repl), pipe.victim.eq(repl.victim)]
        if onchip:
            m.d.comb += [queue.rdata.eq(line_data.rdata), wb.rdata.eq(line_data.rdata),
                         wb.rvalid.eq(line_data.rvalid), line_data.rready.eq(1)]
        else:
            # R beats: the answer queue's words and the victim's line, in request order (the read port's routes).
            # Word writes wait while a read is held before them, and while a fill's AXI burst is open.
            wr_ok = line_data.wr.ready & ~reads.pending & ~line_data.line_open
            m.d.comb += [
                reads.slot.eq(queue.rd_slot), reads.rdata.eq(line_data.rdata), reads.rvalid.eq(line_data.rvalid),
                line_data.rready.eq(reads.rready),
                queue.word_valid.eq(reads.word_valid), queue.word_slot.eq(reads.word_slot),
                queue.word_data.eq(reads.word_data), queue.wr_ok.eq(wr_ok), pipe.wr_ok.eq(wr_ok),
                wb.rdata.eq(line_data.rdata), wb.rvalid.eq(reads.line_valid), reads.line_ready.eq(wb.rready),
            ]

        # A victim's words own the read port (the store's held output is the beat on offer); a fill's beats own
        # the write port only; tag writes of the fill and of a re-validation stop everything for a cycle.
        reval = receiver.reval.en.any()
        fill_tag = fill.tag_wr.en.any()
        arrays_taken = wb.busy | reval | fill_tag
        fill_wr = fill.data_wr.en.any()
        m.d.comb += [
            queue.grant.eq(seq.run & ~arrays_taken), queue.wr_busy.eq(fill_wr),
            pipe.stall.eq(arrays_taken | queue.busy | receiver.took_hdr), pipe.wr_busy.eq(fill_wr),
            pipe.stale.eq(fill_tag | reval | queue.stale),
            pipe.run.eq(seq.run), pipe.hold.eq(maint.busy),
        ]

        # CPU side: pipeline, answer queue.
        wiring.connect(m, wiring.flipped(self.cpu_req), pipe.cpu_req)
        wiring.connect(m, queue.cpu_resp, wiring.flipped(self.cpu_resp))
        wiring.connect(m, pipe.touch, repl.touch)
        wiring.connect(m, pipe.installed, repl.installed)
        m.d.comb += [
            repl.advance.eq(pipe.advance),
            queue.push.eq(pipe.q_push), queue.push_read.eq(pipe.q_read), queue.push_wait.eq(pipe.q_wait),
            queue.push_first.eq(pipe.q_first), queue.push_cap.eq(pipe.q_cap), queue.push_idx.eq(pipe.q_idx),
            queue.push_status.eq(pipe.q_status), queue.push_word.eq(pipe.q_word), queue.push_strb.eq(pipe.q_strb),
            queue.push_wdata.eq(pipe.q_wdata), pipe.q_space.eq(queue.space),
        ]

        # MSHRs.
        m.d.comb += [
            mshr.lk_pid.eq(pipe.lk_pid), mshr.lk_set.eq(pipe.lk_set), mshr.lk_tag.eq(pipe.lk_tag),
            pipe.lk_match.eq(mshr.lk_match), pipe.lk_idx.eq(mshr.lk_idx), pipe.lk_way.eq(mshr.lk_way),
            pipe.lk_busy.eq(mshr.lk_busy), pipe.lk_block.eq(mshr.lk_block),
            pipe.free.eq(mshr.free), pipe.free_idx.eq(mshr.free_idx),
            mshr.alloc.eq(pipe.alloc), mshr.alloc_way.eq(pipe.alloc_way), mshr.alloc_victim.eq(pipe.alloc_victim),
            mshr.merge.eq(pipe.merge),
            mshr.complete.eq(queue.complete), mshr.complete_idx.eq(queue.hd_idx), mshr.hd_idx.eq(queue.hd_idx),
            queue.hd.eq(mshr.hd),
            sender.push.eq(pipe.alloc), sender.push_idx.eq(mshr.free_idx),
            mshr.tx_idx.eq(sender.tx_idx), sender.tx.eq(mshr.tx), sender.mem_node.eq(self.mem_node),
            mshr.rx_idx.eq(receiver.rx_idx), receiver.rx.eq(mshr.rx), receiver.rx_valid.eq(mshr.rx_valid),
            mshr.wb_ack.eq(receiver.wb_ack), mshr.fill_done.eq(receiver.fill_done),
            mshr.read_fail.eq(receiver.read_fail), mshr.rx_status.eq(receiver.rx_status),
        ]

        # Line moves: the fill is the receiver's; the write-back stream is the sender's, or maintenance's.
        wiring.connect(m, receiver.fill_data, fill.fill_data)
        m.d.comb += [
            fill.start.eq(receiver.fill_start), fill.way.eq(mshr.rx.way), fill.set.eq(mshr.rx.set),
            fill.tag.eq(mshr.rx.tag), fill.pid.eq(mshr.rx.pid), receiver.fill_end.eq(fill.done),
            # Cut-through: a dropped fill leaves its way invalid (the victim left at allocation): no abort guard.
            *([receiver.fill_dropped.eq(fill.dropped), fill.abort.eq(0), seq.fill_dropped.eq(0)]
              if p.rx_cut_through else []),
            wb.start.eq(Mux(seq.run, sender.wb_start, seq.read_line)), wb.clean.eq(seq.mark_clean),
            wb.way.eq(Mux(seq.run, sender.wb_way, seq.cmd_way)), wb.set.eq(Mux(seq.run, sender.wb_set, seq.ev_set)),
            seq.read_done.eq(wb.done), seq.fill_done.eq(0), seq.pipe_miss.eq(0),
            sender.wb_data.valid.eq(wb.wb_data.valid & seq.run), sender.wb_data.payload.eq(wb.wb_data.payload),
            flusher.wb_data.valid.eq(wb.wb_data.valid & ~seq.run), flusher.wb_data.payload.eq(wb.wb_data.payload),
            wb.wb_data.ready.eq(Mux(seq.run, sender.wb_data.ready, flusher.wb_data.ready)),
        ]

        # The network: the MSHRs' while the pipeline runs, the flusher's during maintenance (drained first).
        with m.If(seq.run):
            wiring.connect(m, sender.net_tx, wiring.flipped(self.net_tx))
            wiring.connect(m, wiring.flipped(self.net_rx), receiver.net_rx)
        with m.Else():
            wiring.connect(m, flusher.net_tx, wiring.flipped(self.net_tx))
            wiring.connect(m, wiring.flipped(self.net_rx), flusher.net_rx)

        # Maintenance: the blocking controller's sequencer, walker and (for FLUSH events) miss handler.
        drained = (pipe.idle & queue.empty & mshr.idle & ~sender.busy & ~receiver.busy)
        wiring.connect(m, maint.flush, seq.flush)
        wiring.connect(m, seq.miss_event, flusher.miss_event)
        wiring.connect(m, flusher.miss_cmd, seq.miss_cmd)
        m.d.comb += [
            seq.pipe_idle.eq(drained), seq.maint_busy.eq(maint.busy),
            maint.start.eq(self.maint_start), maint.op.eq(self.maint_op), maint.pid.eq(self.maint_pid),
            self.maint_busy.eq(maint.busy), self.maint_done.eq(maint.done),
            maint.go.eq(seq.walk_go), maint.flush_closed.eq(seq.flush_closed), seq.walk_done.eq(maint.done),
            flusher.mem_node.eq(self.mem_node),
            flusher.query.eq(Mux(flusher.query_way < p.ways, entry_of(ways, flusher.query_way, p), 0)
                             if p.ways > 1 else ways[0]),
        ]

        # Software miss path.
        if self.software:
            m.submodules.fw_port = fw_port = FirmwareMissPort(p)
            wiring.connect(m, pipe.miss_event, fw_port.miss_event)
            wiring.connect(m, fw_port.decision, pipe.decision)
            m.d.comb += [self.event.eq(fw_port.event), self.pending.eq(fw_port.pending),
                         fw_port.fw_stb.eq(self.fw_stb), fw_port.fw_action.eq(self.fw_action),
                         fw_port.fw_way.eq(self.fw_way), fw_port.fw_status.eq(self.fw_status)]

        # Counters: at most one event of each per cycle (see the module docstring).
        victim = pipe.alloc_victim
        m.d.comb += [
            self.count.hits.eq(pipe.hit | queue.count_hit),
            self.count.misses.eq(pipe.miss | queue.count_miss),
            self.count.evictions.eq((pipe.alloc & victim.valid & ~victim.dirty) | receiver.wb_ok),
            self.count.writebacks.eq(receiver.wb_ok | wb.cleaned),
        ]
        return m
