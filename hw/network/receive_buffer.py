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
holds ``max(8, 2 * rx_buffer_msgs)`` headers in LUT RAM (at 8 x 120 bits a few LUTs, not worth a block
RAM), first word fall through: a committed header is on ``rx.hdr`` in the next cycle. Its head is a register
(:class:`~hw.network.header_fifo.HeaderFIFO`: a header pushed into an empty FIFO goes straight into it), so
``rx.hdr`` comes from flip-flops at the same latency as the RAM's combinational read (timing, issue 18: the
consumer's logic on the header no longer adds to a path through the read pointer and the RAM).

With ``rx_cut_through`` (``docs/netif.md``, "Cut-through") the receiver also *offers* the message it is
receiving (``offer``: its header goes into the header FIFO at once) and shows its payload beats as they
are written (``shown``: that many beats past the committed data, never its last beat, may be read); the
verdict comes with ``end``. A good frame's ``end`` commits its ``commit_beats`` beats (the last beat, as
written, has ``last`` and ``discard`` = 0). A bad one's (``end_discard``) writes one more entry after the
shown beats, ``last`` = ``discard`` = 1, and commits the shown beats and that entry: the message ends
there, possibly short, and the consumer forgets it. The read limit (``vis``) is a register that follows
the written beats a cycle late, so a beat is read (synchronous, non-transparent port) only after the
cycle it was written in. Frames the receiver does not offer are written past the committed data as in
store and forward and never shown.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring, data
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.network.header_fifo import HeaderFIFO
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
    offer : Out(1)
        ``rx_cut_through`` only: push ``commit_hdr`` into the header FIFO now, for the frame being received.
    shown : Out(range(max_payload_beats))
        ``rx_cut_through`` only: beats of the offered frame that may be read (written, not its last).
    end : Out(1)
        ``rx_cut_through`` only: the offered frame's verdict: commit its ``commit_beats`` beats, or with
        ``end_discard`` end the message after ``end_shown`` beats with a discard entry.
    end_discard : Out(1)
    end_shown : Out(range(max_payload_beats))
    """

    def __init__(self, params):
        self.params = params
        mpb = params.max_payload_beats
        members = {
            "room": In(1),
            "beat_en": Out(1), "beat_index": Out(range(max(2, mpb))), "beat_data": Out(params.data_width),
            "beat_last": Out(1),
            "commit": Out(1), "commit_beats": Out(range(mpb + 1)), "commit_hdr": Out(MsgHeader()),
            "hdr_room": In(1),
        }
        if params.rx_cut_through:
            members.update({"offer": Out(1), "shown": Out(range(max(2, mpb))), "end": Out(1),
                            "end_discard": Out(1), "end_shown": Out(range(max(2, mpb)))})
        super().__init__(members)

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
    rx : Out(MessagePort(data_width, verdict=rx_cut_through))
        Messages to the component, in the order they were committed (offered, with ``rx_cut_through``).
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"ReceiveBuffer needs NetIfParams, not {params!r}")
        self.params = params
        super().__init__({
            "write": In(RxBufferSignature(params)),
            "rx": Out(MessagePort(params.data_width, verdict=params.rx_cut_through)),
        })

    def elaborate(self, platform):
        p = self.params
        ct = p.rx_cut_through
        m = Module()
        MPB = p.max_payload_beats
        ring_depth = 1 << ceil_log2(p.rx_buffer_msgs * MPB)
        ring_w = ceil_log2(ring_depth)
        entry = {"data": p.data_width, "last": 1}
        if ct:
            entry["discard"] = 1
        m.submodules.ring = ring = Memory(shape=data.StructLayout(entry), depth=ring_depth, init=[])
        ring_wr = ring.write_port()
        ring_rd = ring.read_port(domain="sync")
        wr_commit = Signal(ring_w + 1)
        rd_ptr = Signal(ring_w + 1)
        m.submodules.hdr_fifo = hdr_fifo = HeaderFIFO(MsgHeader().size, max(8, 2 * p.rx_buffer_msgs))

        wr = self.write
        limit_next = Signal(ring_w + 1)            # the read limit's value in the next cycle
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
            rx.data.payload.data.eq(ring_rd.data.data), rx.data.payload.last.eq(ring_rd.data.last),
        ]
        if ct:
            # The read limit: the committed data plus the offered frame's shown beats, a cycle after they
            # were written (the read port is not transparent). A commit shows the whole message at once (its
            # last beat was written at least two cycles before); a discard first holds the limit at the
            # shown beats while the discard entry is written after them, and shows that entry a cycle later.
            vis = Signal(ring_w + 1)
            m.d.comb += [rx.data.payload.discard.eq(ring_rd.data.discard), hdr_fifo.w_en.eq(wr.commit | wr.offer)]
            disc_at = Signal(ring_w + 1)
            m.d.comb += disc_at.eq(wr_commit + wr.end_shown)
            with m.If(wr.end & ~wr.end_discard):
                m.d.sync += wr_commit.eq(wr_commit + wr.commit_beats)
                m.d.comb += limit_next.eq(wr_commit + wr.commit_beats)
            with m.Elif(wr.end):
                m.d.comb += [ring_wr.en.eq(1), ring_wr.addr.eq(disc_at[:ring_w]), ring_wr.data.data.eq(0),
                             ring_wr.data.last.eq(1), ring_wr.data.discard.eq(1)]
                m.d.sync += wr_commit.eq(disc_at + 1)
                m.d.comb += limit_next.eq(disc_at)
            with m.Else():
                m.d.comb += limit_next.eq(wr_commit + wr.shown)
            m.d.sync += vis.eq(limit_next)
        else:
            m.d.comb += limit_next.eq(Mux(wr.commit, wr_commit + wr.commit_beats, wr_commit))
        # The read side from registers (timing, issue 18: the compare of the pointers, the handshake and the
        # increment were one path into the ring's read address): `avail` is `rd_ptr != limit` (wr_commit, or
        # vis), loaded with the next values of both; `rd_inc` is `rd_ptr + 1`; the handshake only selects.
        avail = Signal()
        rd_inc = Signal.like(rd_ptr, init=1)
        take = avail & rx.data.ready
        rd_next = Signal.like(rd_ptr)
        m.d.comb += [rx.data.valid.eq(avail), rd_next.eq(Mux(take, rd_inc, rd_ptr)),
                     ring_rd.addr.eq(rd_next[:ring_w])]
        m.d.sync += [rd_ptr.eq(rd_next), rd_inc.eq(Mux(take, rd_inc + 1, rd_inc)),
                     avail.eq(Mux(take, rd_inc != limit_next, rd_ptr != limit_next))]
        return m
