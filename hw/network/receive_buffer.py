"""Receive buffer: a payload ring and a header FIFO between the frame receiver and the component.

The frame receiver writes the payload beats of the frame it is receiving into the ring past the
committed data (they are invisible until committed) and, when its verdict accepts the frame, commits
them and pushes the message header into the header FIFO. ``rx.hdr`` and ``rx.data`` are therefore two
FIFOs in the same message order; a header is offered only once its whole message is in. A rejected
frame is simply not committed: its beats are overwritten by the next one.

The ring holds ``rx_buffer_msgs`` full-size messages (rounded up to a power of two of beats) and has a
synchronous read port (block RAM on an FPGA) addressed with the read pointer's next value, so the beat
at the read pointer is on ``rx.data`` in every cycle without a prefetch stage: a committed beat was
written at least one cycle before its commit, and so before the read that shows it. The header FIFO
holds ``max(8, 2 * rx_buffer_msgs)`` headers in LUT RAM with a combinational read (first word fall
through): a committed header is on ``rx.hdr`` in the next cycle, one cycle earlier than a FIFO with
a registered output would offer it, and at 8 x 120 bits it is a few LUTs, not worth a block RAM.
"""

from amaranth import Module, Signal
from amaranth.lib import wiring, data
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.network.params import NetIfParams
from hw.protocol import MessagePort, MsgHeader

__all__ = ["RxBufferSignature", "ReceiveBuffer"]


class RxBufferSignature(wiring.Signature):
    """The frame receiver's write port of the receive buffer (writer side; flip it for the buffer).

    Members
    -------
    room : In(1)
        The ring has room for a message of ``max_payload`` bytes past the committed data.
    beat_en : Out(1)
        Write ``beat_data`` / ``beat_last`` as payload beat ``beat_index`` of the frame being received.
    beat_index : Out(range(max(2, max_payload_beats)))
        Index of that beat in the frame's payload.
    beat_data : Out(data_width)
    beat_last : Out(1)
        The beat is the message's last (``last`` of its ``rx.data`` beat).
    commit : Out(1)
        Accept the frame: its first ``commit_beats`` payload beats become visible and ``commit_hdr`` is
        pushed into the header FIFO. Only when ``hdr_room``.
    commit_beats : Out(range(max_payload_beats + 1))
    commit_hdr : Out(MsgHeader())
    hdr_room : In(1)
        The header FIFO can take a header.
    """

    def __init__(self, params):
        self.params = params
        mpb = params.max_payload_beats
        super().__init__({
            "room": In(1),
            "beat_en": Out(1), "beat_index": Out(range(max(2, mpb))), "beat_data": Out(params.data_width),
            "beat_last": Out(1),
            "commit": Out(1), "commit_beats": Out(range(mpb + 1)), "commit_hdr": Out(MsgHeader()),
            "hdr_room": In(1),
        })

    def __eq__(self, other):
        return type(other) is type(self) and other.params == self.params

    def __repr__(self):
        return f"RxBufferSignature({self.params!r})"


class ReceiveBuffer(wiring.Component):
    """Payload ring and header FIFO (see the module docstring).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    write : In(RxBufferSignature(params))
        From the frame receiver.
    rx : Out(MessagePort(data_width))
        Messages to the component, in the order they were committed.
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"ReceiveBuffer needs NetIfParams, not {params!r}")
        self.params = params
        super().__init__({
            "write": In(RxBufferSignature(params)),
            "rx": Out(MessagePort(params.data_width)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        MPB = p.max_payload_beats
        ring_depth = 1 << ceil_log2(p.rx_buffer_msgs * MPB)
        ring_w = ceil_log2(ring_depth)
        m.submodules.ring = ring = Memory(shape=data.StructLayout({"data": p.data_width, "last": 1}),
                                          depth=ring_depth, init=[])
        ring_wr = ring.write_port()
        ring_rd = ring.read_port(domain="sync")
        wr_commit = Signal(ring_w + 1)
        rd_ptr = Signal(ring_w + 1)
        m.submodules.hdr_fifo = hdr_fifo = SyncFIFO(width=MsgHeader().size,
                                                            depth=max(8, 2 * p.rx_buffer_msgs))

        wr = self.write
        free = ring_depth - (wr_commit - rd_ptr)[:ring_w + 1]
        m.d.comb += [
            wr.room.eq(free >= MPB), wr.hdr_room.eq(hdr_fifo.w_rdy),
            ring_wr.en.eq(wr.beat_en), ring_wr.addr.eq((wr_commit + wr.beat_index)[:ring_w]),
            ring_wr.data.data.eq(wr.beat_data), ring_wr.data.last.eq(wr.beat_last),
            hdr_fifo.w_en.eq(wr.commit), hdr_fifo.w_data.eq(wr.commit_hdr),
        ]
        with m.If(wr.commit):
            m.d.sync += wr_commit.eq(wr_commit + wr.commit_beats)

        rx = self.rx
        m.d.comb += [
            rx.hdr.valid.eq(hdr_fifo.r_rdy), rx.hdr.payload.eq(hdr_fifo.r_data), hdr_fifo.r_en.eq(rx.hdr.ready),
            rx.data.valid.eq(rd_ptr != wr_commit),
            rx.data.payload.data.eq(ring_rd.data.data), rx.data.payload.last.eq(ring_rd.data.last),
        ]
        rd_next = Signal.like(rd_ptr)
        m.d.comb += [rd_next.eq(rd_ptr + (rx.data.valid & rx.data.ready)), ring_rd.addr.eq(rd_next[:ring_w])]
        m.d.sync += rd_ptr.eq(rd_next)
        return m
