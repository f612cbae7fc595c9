"""Responder: the MMU's back end. Carries out the translated requests in queue order and answers them."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import TranslatedRequest
from hw.protocol import LENGTH_WIDTH, MsgHeader, NODE_ID_WIDTH, Status

__all__ = ["Responder"]


class Responder(wiring.Component):
    """Takes one translated request at a time from the request queue: an ``OK`` one is carried out by the
    data mover (the response header goes out when the mover asks for it), a rejected one has its announced
    data beats drained and is answered with its status and no data.

    States: ``IDLE`` (take the next request; starts the data mover or the drain in the same cycle),
    ``ACCESS`` (the mover runs; a read's header goes out before its data), ``DRAIN``, ``RESP`` (a header
    without data).

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    queue : In(stream.Signature(TranslatedRequest(paddr_width)))
        The request queue's output.
    tx_hdr : Out(stream.Signature(MsgHeader()))
        Response headers: kind = response kind, ``dst`` = request ``src``, tag/pid/vaddr echoed, ``length`` =
        bytes of data that follow, ``src`` = ``node_id`` sampled as the request is taken from the queue.
    access_start, drain, paddr, write, line, length : Out; hdr_valid : In; hdr_ready : Out; mover_done : In
        The data mover (``paddr``/``write``/``line``/``length`` are valid with ``access_start``; they are the
        request queue's head at all times).
    next_read : Out(1)
        The queue's head is a read that will be carried out (status OK): while the current read streams, the
        mover may ask DRAM for it (issue 13's back-to-back line reads).
    node_id : In(8)
    idle : Out(1)
        No request is being carried out.
    response_event, prot_fault_event : Out(1)
        Counter pulses (a response header leaves; a request answered PROT_FAULT is taken).
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"Responder needs MMUParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "queue": In(stream.Signature(TranslatedRequest(p.paddr_width))),
            "tx_hdr": Out(stream.Signature(MsgHeader())),
            "access_start": Out(1), "drain": Out(1), "next_read": Out(1), "paddr": Out(p.paddr_width), "write": Out(1),
            "line": Out(1), "length": Out(LENGTH_WIDTH),
            "hdr_valid": In(1), "hdr_ready": Out(1), "mover_done": In(1),
            "node_id": In(NODE_ID_WIDTH), "idle": Out(1),
            "response_event": Out(1), "prot_fault_event": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        q = self.queue.payload
        cur = Signal(TranslatedRequest(self.params.paddr_width))
        node_id = Signal(NODE_ID_WIDTH)
        hdr = self.tx_hdr.payload
        m.d.comb += [
            hdr.src.eq(node_id), hdr.dst.eq(cur.src), hdr.tag.eq(cur.tag), hdr.pid.eq(cur.pid),
            hdr.vaddr.eq(cur.vaddr), hdr.kind.eq(Cat(cur.kind.as_value()[:2], Const(1, 2))),
            hdr.status.eq(cur.status),
            self.response_event.eq(self.tx_hdr.valid & self.tx_hdr.ready),
            self.paddr.eq(q.paddr), self.write.eq(q.is_write), self.line.eq(q.is_line), self.length.eq(q.length),
            self.next_read.eq(self.queue.valid & (q.status == Status.OK) & ~q.is_write),
        ]
        with m.FSM(name="responder_fsm"):
            with m.State("IDLE"):
                m.d.comb += [self.idle.eq(1), self.queue.ready.eq(1)]
                with m.If(self.queue.valid):
                    m.d.sync += [cur.eq(q), node_id.eq(self.node_id)]
                    m.d.comb += self.prot_fault_event.eq(q.status == Status.PROT_FAULT)
                    with m.If(q.status == Status.OK):
                        m.d.comb += self.access_start.eq(1)
                        m.next = "ACCESS"
                    with m.Elif(q.has_data):
                        m.d.comb += self.drain.eq(1)
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "RESP"
            with m.State("ACCESS"):
                m.d.comb += [self.tx_hdr.valid.eq(self.hdr_valid), hdr.length.eq(cur.length),
                             self.hdr_ready.eq(self.tx_hdr.ready)]
                with m.If(self.mover_done):
                    with m.If(cur.is_write):
                        m.next = "RESP"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("DRAIN"):
                with m.If(self.mover_done):
                    m.next = "RESP"
            with m.State("RESP"):
                m.d.comb += [self.tx_hdr.valid.eq(1), hdr.length.eq(0)]
                with m.If(self.tx_hdr.ready):
                    m.next = "IDLE"
        return m
