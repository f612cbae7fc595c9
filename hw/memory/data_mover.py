"""Data mover: carries out one translated request on DRAM and moves its data beats, or drains them."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import BurstSignature
from hw.protocol import DataBeat, LENGTH_WIDTH

__all__ = ["DataMover"]


class DataMover(wiring.Component):
    """One request's DRAM transaction, between the message data streams and the AXI port.

    ``start`` (with ``paddr``, ``write``, ``line``, ``length``, sampled in that cycle) runs it: a line is one
    INCR burst of ``length / beat`` beats; a word is one beat, shifted to its byte lane and masked by
    ``wstrb`` (writes) or shifted down and masked (reads). A read first asks for the response header
    (``hdr_valid``/``hdr_ready``, after the AR handshake) and then streams the data beats; a write takes the
    beats from ``rx_data`` and ends with the B response. ``drain`` instead consumes the beats of a request
    that is not carried out, up to the one with ``last``. ``done`` is high in the last cycle of either.

    Today one AXI burst serves a request (``max_line_bytes``); serving longer lines as several bursts
    (issue 17) is this block's job alone.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    start, drain : In(1)
        Begin an access / a drain (only while idle).
    paddr : In(paddr_width)
    write, line : In(1)
    length : In(16)
        Bytes of the request.
    hdr_valid : Out(1), hdr_ready : In(1)
        Read response header handshake (the sequencer forms the header).
    done : Out(1)
    rx_data : In(stream.Signature(DataBeat(data_width)))
        Request data beats (writes, drains).
    tx_data : Out(stream.Signature(DataBeat(data_width)))
        Response data beats (reads).
    mem : Out(BurstSignature(paddr_width, data_width))
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"DataMover needs MMUParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "start": In(1), "drain": In(1),
            "paddr": In(p.paddr_width), "write": In(1), "line": In(1), "length": In(LENGTH_WIDTH),
            "hdr_valid": Out(1), "hdr_ready": In(1), "done": Out(1),
            "rx_data": In(stream.Signature(DataBeat(p.data_width))),
            "tx_data": Out(stream.Signature(DataBeat(p.data_width))),
            "mem": Out(BurstSignature(p.paddr_width, p.data_width)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        mem, rx, tx = self.mem, self.rx_data, self.tx_data
        dw, bb, lane_bits = p.data_width, p.beat_bytes, p.lane_bits
        paddr = Signal(p.paddr_width)
        write, line = Signal(), Signal()
        length = Signal(LENGTH_WIDTH)
        with m.If(self.start):
            m.d.sync += [paddr.eq(self.paddr), write.eq(self.write), line.eq(self.line), length.eq(self.length)]
        lane = paddr[:lane_bits]
        n_line_beats = (length >> lane_bits)[:9]
        beats = Signal(9)
        beat = Signal(9)
        word_mask = Signal(8)
        lane_mask = Signal(dw)        # the word's bytes, in the low lanes
        m.d.comb += [
            word_mask.eq(Mux(length == 8, 0xFF, Mux(length == 4, 0x0F, Mux(length == 2, 0x03, 0x01)))),
            lane_mask.eq(Cat(*[Mux(word_mask[i], 0xFF, 0) for i in range(8)])),
        ]
        last = beat == beats - 1
        burst_addr = paddr & ~(bb - 1)
        burst_len = Mux(line, n_line_beats - 1, 0)

        with m.FSM(name="mover_fsm"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "ISSUE"
                with m.Elif(self.drain):
                    m.next = "DRAIN"
            with m.State("ISSUE"):
                m.d.comb += mem.req.eq(1)
                m.d.sync += [beat.eq(0), beats.eq(Mux(line, n_line_beats, 1))]
                with m.If(write):
                    m.d.comb += [mem.awvalid.eq(1), mem.awaddr.eq(burst_addr), mem.awlen.eq(burst_len)]
                    with m.If(mem.awready):
                        m.next = "WRITE_W"
                with m.Else():
                    m.d.comb += [mem.arvalid.eq(1), mem.araddr.eq(burst_addr), mem.arlen.eq(burst_len)]
                    with m.If(mem.arready):
                        m.next = "READ_HDR"
            with m.State("WRITE_W"):
                m.d.comb += [mem.req.eq(1), mem.wvalid.eq(rx.valid), rx.ready.eq(mem.wready), mem.wlast.eq(last)]
                with m.If(line):
                    m.d.comb += [mem.wdata.eq(rx.payload.data), mem.wstrb.eq((1 << bb) - 1)]
                with m.Else():
                    m.d.comb += [mem.wdata.eq((rx.payload.data & lane_mask) << (lane * 8)),
                                 mem.wstrb.eq(word_mask << lane)]
                with m.If(rx.valid & mem.wready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(last):
                        m.next = "WRITE_B"
            with m.State("WRITE_B"):
                m.d.comb += [mem.req.eq(1), mem.bready.eq(1)]
                with m.If(mem.bvalid):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
            with m.State("READ_HDR"):
                m.d.comb += [mem.req.eq(1), self.hdr_valid.eq(1)]
                with m.If(self.hdr_ready):
                    m.next = "READ_DATA"
            with m.State("READ_DATA"):
                m.d.comb += [mem.req.eq(1), tx.valid.eq(mem.rvalid), mem.rready.eq(tx.ready), tx.payload.last.eq(last)]
                with m.If(line):
                    m.d.comb += tx.payload.data.eq(mem.rdata)
                with m.Else():
                    m.d.comb += tx.payload.data.eq((mem.rdata >> (lane * 8)) & lane_mask)
                with m.If(mem.rvalid & tx.ready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(last):
                        m.d.comb += self.done.eq(1)
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += rx.ready.eq(1)
                with m.If(rx.valid & rx.payload.last):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        return m
