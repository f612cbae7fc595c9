"""Request sequencer: takes one request at a time through check, translation, access and response."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import FaultSignature
from hw.memory.registers import FAULT_REFUSE, FAULT_REPLAY
from hw.protocol import MsgHeader, NODE_ID_WIDTH, Status

__all__ = ["RequestSequencer"]


class RequestSequencer(wiring.Component):
    """The MMU's control: which sub-component works on the request, and when.

    States: ``IDLE`` (take a request header, or run a pending memory-window command; the TLB lookup of
    the header is presented as it is taken), ``LOOKUP`` (one cycle: checks, the TLB's answer and
    permission; the TLB hit latency), ``WALK`` (the walker runs), ``FAULT_WAIT``
    (no mapping: the memory monitor installs one and replays, or refuses; window commands may run
    meanwhile), ``ACCESS`` (the data mover runs), ``REJECT`` (count; drain announced data beats),
    ``DRAIN``, ``RESP`` (header without data), ``WINDOW`` (the memory window runs).

    Requests are served in arrival order; one waiting for the memory monitor holds the ones behind it.
    The sequencer holds the request (``req``, :class:`hw.protocol.MsgHeader`) that the checker, TLB,
    walker and data mover work on, the response status and the fault queue (depth 1).

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    rx_hdr : In(stream.Signature(MsgHeader()))
        Request headers. ``tx_hdr`` : Out(...) response headers (kind = response kind, ``dst`` = request
        ``src``, tag/pid/vaddr echoed, ``length`` = bytes of data that follow).
    req : Out(MsgHeader())
        The request being served.
    well_formed, owned, is_write, is_line, has_data : In(1)
        From the request checker.
    tlb_lookup : Out(1)
        Present the header being taken (``rx_hdr.payload``) to the TLB this cycle.
    tlb_hit, tlb_pfn, tlb_r, tlb_w : In
        The TLB's answer for ``req``, in ``LOOKUP`` (the cycle after ``tlb_lookup``).
    walk_start : Out(1); walk_done, walk_found, walk_pfn, walk_r, walk_w : In
        The walker.
    access_start, drain, paddr : Out; hdr_valid : In; hdr_ready : Out; mover_done : In
        The data mover (``paddr`` is sampled with ``access_start``).
    window_busy : In(1), window_go : Out(1), window_done : In(1)
        The memory window.
    fault : Out(FaultSignature())
        The fault queue head and FAULT_RESOLVE.
    node_id : In(8)
        ``src`` of responses, sampled when the request is accepted (a firmware write to NODE_ID while a
        response header waits for ready does not change it).
    irq : Out(1)
        A fault waits for the memory monitor.
    tlb_hit_event, tlb_miss_event, fault_event, response_event, prot_fault_event : Out(1)
        Counter pulses.
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"RequestSequencer needs MMUParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "rx_hdr": In(stream.Signature(MsgHeader())), "tx_hdr": Out(stream.Signature(MsgHeader())),
            "req": Out(MsgHeader()),
            "well_formed": In(1), "owned": In(1), "is_write": In(1), "is_line": In(1), "has_data": In(1),
            "tlb_lookup": Out(1), "tlb_hit": In(1), "tlb_pfn": In(p.pfn_width), "tlb_r": In(1), "tlb_w": In(1),
            "walk_start": Out(1), "walk_done": In(1), "walk_found": In(1), "walk_pfn": In(p.pfn_width),
            "walk_r": In(1), "walk_w": In(1),
            "access_start": Out(1), "drain": Out(1), "paddr": Out(p.paddr_width),
            "hdr_valid": In(1), "hdr_ready": Out(1), "mover_done": In(1),
            "window_busy": In(1), "window_go": Out(1), "window_done": In(1),
            "fault": Out(FaultSignature()), "node_id": In(NODE_ID_WIDTH), "irq": Out(1),
            "tlb_hit_event": Out(1), "tlb_miss_event": Out(1), "fault_event": Out(1),
            "response_event": Out(1), "prot_fault_event": Out(1),
        })

    def _respond(self, m, status):
        """Response header fields from the request and ``status``."""
        req, hdr = self.req, self.tx_hdr.payload
        m.d.comb += [
            hdr.src.eq(self._node_id), hdr.dst.eq(req.src), hdr.tag.eq(req.tag), hdr.pid.eq(req.pid),
            hdr.vaddr.eq(req.vaddr), hdr.kind.eq(Cat(req.kind.as_value()[:2], Const(1, 2))), hdr.status.eq(status),
            self.response_event.eq(self.tx_hdr.valid & self.tx_hdr.ready),
        ]

    def _translated(self, m, status, pfn, r, w):
        """Translation found: access with permission, else PROT_FAULT."""
        with m.If(Mux(self.is_write, w, r)):
            m.d.comb += [self.access_start.eq(1), self.paddr.eq(Cat(self.req.vaddr[:self.params.page_bits], pfn))]
            m.d.sync += status.eq(Status.OK)
            m.next = "ACCESS"
        with m.Else():
            m.d.sync += status.eq(Status.PROT_FAULT)
            m.next = "REJECT"

    def elaborate(self, platform):
        m = Module()
        req = Signal(MsgHeader())
        self._node_id = node_id = Signal(NODE_ID_WIDTH)    # NODE_ID when the request was accepted
        status = Signal(Status)
        pending = Signal()             # the fault queue (depth 1: requests are served one at a time)
        in_fault = Signal()            # the window command interrupted FAULT_WAIT and returns there
        resolve = self.fault.resolve
        m.d.comb += [
            self.req.eq(req), self.irq.eq(pending),
            self.fault.pending.eq(pending), self.fault.write.eq(self.is_write), self.fault.kind.eq(req.kind),
            self.fault.src.eq(req.src), self.fault.pid.eq(req.pid), self.fault.vaddr.eq(req.vaddr),
        ]
        self._respond(m, status)

        with m.FSM(name="sequencer_fsm"):
            with m.State("IDLE"):
                with m.If(self.window_busy):
                    m.d.comb += self.window_go.eq(1)
                    m.d.sync += in_fault.eq(0)
                    m.next = "WINDOW"
                with m.Else():
                    m.d.comb += self.rx_hdr.ready.eq(1)
                    with m.If(self.rx_hdr.valid):
                        m.d.comb += self.tlb_lookup.eq(1)
                        m.d.sync += [req.eq(self.rx_hdr.payload), node_id.eq(self.node_id)]
                        m.next = "LOOKUP"
            with m.State("LOOKUP"):
                with m.If(~self.well_formed):
                    m.d.sync += status.eq(Status.BAD_REQUEST)
                    m.next = "REJECT"
                with m.Elif(~self.owned):
                    m.d.sync += status.eq(Status.PROT_FAULT)
                    m.next = "REJECT"
                with m.Elif(self.tlb_hit):
                    m.d.comb += self.tlb_hit_event.eq(1)
                    self._translated(m, status, self.tlb_pfn, self.tlb_r, self.tlb_w)
                with m.Else():
                    m.d.comb += [self.tlb_miss_event.eq(1), self.walk_start.eq(1)]
                    m.next = "WALK"
            with m.State("WALK"):
                with m.If(self.walk_done & self.walk_found):
                    self._translated(m, status, self.walk_pfn, self.walk_r, self.walk_w)
                with m.Elif(self.walk_done):
                    m.d.comb += self.fault_event.eq(1)
                    m.d.sync += pending.eq(1)
                    m.next = "FAULT_WAIT"
            with m.State("FAULT_WAIT"):
                with m.If(resolve & (self.fault.resolve_cmd == FAULT_REPLAY)):
                    m.d.comb += self.walk_start.eq(1)
                    m.d.sync += pending.eq(0)
                    m.next = "WALK"
                with m.Elif(resolve & (self.fault.resolve_cmd == FAULT_REFUSE)):
                    m.d.sync += [pending.eq(0), status.eq(Status.PAGE_FAULT)]
                    m.next = "REJECT"
                with m.Elif(self.window_busy):
                    m.d.comb += self.window_go.eq(1)
                    m.d.sync += in_fault.eq(1)
                    m.next = "WINDOW"
            with m.State("ACCESS"):
                m.d.comb += [self.tx_hdr.valid.eq(self.hdr_valid), self.tx_hdr.payload.length.eq(req.length),
                             self.hdr_ready.eq(self.tx_hdr.ready)]
                with m.If(self.mover_done):
                    with m.If(self.is_write):
                        m.next = "RESP"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("REJECT"):
                with m.If(status == Status.PROT_FAULT):
                    m.d.comb += self.prot_fault_event.eq(1)
                with m.If(self.has_data):
                    m.d.comb += self.drain.eq(1)
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "RESP"
            with m.State("DRAIN"):
                with m.If(self.mover_done):
                    m.next = "RESP"
            with m.State("RESP"):
                m.d.comb += [self.tx_hdr.valid.eq(1), self.tx_hdr.payload.length.eq(0)]
                with m.If(self.tx_hdr.ready):
                    m.next = "IDLE"
            with m.State("WINDOW"):
                with m.If(self.window_done):
                    with m.If(in_fault):
                        m.next = "FAULT_WAIT"
                    with m.Else():
                        m.next = "IDLE"
        return m
