"""Frame receiver: frames from the wire, checked store-and-forward, with one verdict per frame.

Beats are taken every cycle (``tready`` is always high, like a MAC). The header beats go to a header
register, the CRC-32 is updated per beat, and the payload beats are written into the receive buffer
past its committed data if it had room for a full-size message at the frame's second beat. At the last
beat the checks of ``docs/protocol.md`` (receive checks, in order) give the verdict:

1. fewer beats than a header: truncated
2. a ``tkeep`` other than all ones (CRC beat: 0xF): malformed
3. CRC mismatch: crc
4. a bad type or reserved bits set: malformed
5. a data-carrying length over ``max_payload``: oversize
6. fewer / more payload beats than the header announces: truncated / oversize
7. addressed to another node, or from an unknown node or this node: misrouted

A frame that passes gives its ack (and nak) to the peer state, whatever its sequence number. An ACK
frame ends there. A MSG frame makes an ack owed; if it carries the expected sequence number and the
buffer has room it is committed (delivered), else it is dropped as ``nobuf``; a frame ahead of the
expected number reveals a gap (a nak is owed); one behind is a duplicate.

The verdict is registered: it is computed in the cycle of the last beat and its events (to the peer
state, the receive buffer's commit and the counters) are given in the next cycle, so the CRC compare
and the check chain end at flip-flops instead of running on into the peer state's ack arithmetic. The
header register still holds the frame in that cycle (the next frame's first beat is written at its
end), and the next verdict is at least four cycles later, so the peer state's ``expected`` and the
buffer's write pointer have moved on by then. The buffer's room is sampled at the second beat for the
same reason: the previous frame's commit may happen in the cycle of the first.

With ``rx_cut_through`` a frame is decided on twice. At its first payload beat, from the header alone:
an in-order MSG frame with data beats (right type, reserved bits, length, addresses, sequence number,
buffer and header FIFO room) is *offered* (registered: ``offer`` in the next cycle pushes its header to
``rx``), and its payload beats are shown to ``rx`` as they are written, all but the last. At the last
beat the full verdict above decides: a frame that would be delivered ends with ``end`` (commit: the last
beat shows, with ``discard`` = 0); any other offered frame ends with ``end`` + ``end_discard`` (the
consumer forgets it; the sender retransmits it). The events and counters are those of store and forward.
An in-order data frame that was not offered (no room) is dropped as ``nobuf``; frames without data beats
are committed at the verdict as in store and forward.
"""

from amaranth import Cat, Module, Signal, Mux
from amaranth.lib import wiring, data
from amaranth.lib.wiring import In, Out

from hw.lib.axis import AXIStreamSignature
from hw.network.frame import FrameHeader, FrameType, SEQ_WIDTH, crc32_step
from hw.network.frame_sender import CRC_KEEP
from hw.network.params import NetIfParams
from hw.network.receive_buffer import RxBufferSignature
from hw.protocol import carries_data

__all__ = ["FrameReceiver", "RX_COUNTERS"]

#: The counter events of the receiver, one ``Out(1)`` port each.
RX_COUNTERS = ("rx_frames", "rx_msgs", "rx_acks", "rx_dup", "rx_drop_crc", "rx_drop_misrouted",
               "rx_drop_truncated", "rx_drop_oversize", "rx_drop_malformed", "rx_drop_nobuf", "naks_received")
# The events of a verdict to the peer state.
_EVENTS = ("ack_in", "nak_in", "msg_in", "gap_in", "delivered")


class FrameReceiver(wiring.Component):
    """Deframer and frame verdict (see the module docstring).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    s_axis : In(AXIStreamSignature(data_width))
        Frames from the wire; ``tready`` is always 1.
    buffer : Out(RxBufferSignature(params))
        Payload beats and commits to the receive buffer.
    src : Out(node_bits)
        Query to the peer state: the source of the frame being received.
    expected : In(SEQ_WIDTH)
        Answer: the next sequence number expected from ``src``.
    ack_in, nak_in : Out(n_nodes)
        Events: a good frame from peer ``i`` carried the ack ``ack_value`` / a nak.
    ack_value : Out(SEQ_WIDTH)
        The ack field of the frame in the header register, combinationally: the ack of an ``ack_in`` event
        both in the cycle of the event and in the one before (the verdict's), so that the peer state can
        start its arithmetic on it a cycle early (timing, issue 18).
    msg_in : Out(n_nodes)
        Event: a good MSG frame from peer ``i`` (an ack is owed).
    gap_in : Out(n_nodes)
        Event: that MSG frame is ahead of the expected sequence number.
    delivered : Out(n_nodes)
        Event: that MSG frame was in order and committed to the receive buffer.
    rx_frames, rx_msgs, rx_acks, rx_dup, rx_drop_* , naks_received : Out(1)
        Counter events, one per frame (``RX_COUNTERS``; ``docs/netif.md``). Like every event and the
        buffer's ``commit``, given in the cycle after the frame's last beat (registered verdict).
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"FrameReceiver needs NetIfParams, not {params!r}")
        self.params = params
        n = params.n_nodes
        sig = {
            "s_axis": In(AXIStreamSignature(params.data_width)),
            "buffer": Out(RxBufferSignature(params)),
            "src": Out(params.node_bits), "expected": In(SEQ_WIDTH),
            "ack_in": Out(n), "ack_value": Out(SEQ_WIDTH), "nak_in": Out(n), "msg_in": Out(n), "gap_in": Out(n),
            "delivered": Out(n),
        }
        sig.update({name: Out(1) for name in RX_COUNTERS})
        super().__init__(sig)

    def elaborate(self, platform):
        p = self.params
        m = Module()
        w, B, HB, MPB = p.data_width, p.beat_bytes, p.hdr_beats, p.max_payload_beats
        s, buf = self.s_axis, self.buffer
        m.d.comb += s.tready.eq(1)

        rbeat = Signal(range(HB + MPB + 3))        # beats of the current frame, saturating
        rcrc = Signal(32, init=0xFFFFFFFF)
        rkeep_bad = Signal()
        rspace = Signal()                          # room for a full message at the frame's second beat
        hdr_reg = Signal(HB * w)
        rhdr = data.View(FrameHeader(), hdr_reg)
        r_carries = (rhdr.type == FrameType.MSG) & carries_data(rhdr.kind, rhdr.status)
        r_len_ok = rhdr.length <= p.max_payload
        # The payload beats the header announces, registered with the header's last beat (from the header
        # beats before it and that beat), so that the payload write's enable and address start at
        # flip-flops: the length decode feeding the receive ring's write address in the same cycle was
        # the memory component's critical path (issue 18). The header register does not change after
        # that beat until the next frame, so the register equals the decode of ``hdr_reg`` from the first
        # payload beat on, and in the cycle after the last beat (the commit's).
        r_pay = Signal(range(MPB + 1))
        hdr_now = data.View(FrameHeader(), Cat(hdr_reg[:(HB - 1) * w], s.tdata))
        now_carries = (hdr_now.type == FrameType.MSG) & carries_data(hdr_now.kind, hdr_now.status)
        with m.If(s.tvalid & (rbeat == HB - 1)):
            m.d.sync += r_pay.eq(Mux(now_carries & (hdr_now.length <= p.max_payload),
                                     p.payload_beats(hdr_now.length), 0))
        ct = p.rx_cut_through
        spec = Signal()                            # cut-through: this frame was offered
        nl_written = Signal(range(max(2, MPB)))    # its payload beats written, but for the last one

        # The payload beat's index (rbeat - hdr_beats from the first payload beat on, saturating with rbeat)
        # as a register of its own: the ring's write address adds it to the committed pointer.
        pay_idx = Signal(range(MPB + 3))
        # Whether the next beat, if it is a payload beat, is written into the ring (``rbeat >= hdr_beats``,
        # ``pay_idx < r_pay`` and ``rspace`` for it) and is the message's last, as registers loaded from the
        # next values of those (timing, issue 18: the compare and the room were a path into the ring's write
        # enable, which fans out to every cell of the ring). They change only when a beat arrives.
        wr_ok = Signal()
        wr_last = Signal()

        beat_in = s.tvalid  # tready is always 1
        with m.If(beat_in):
            with m.If(s.tlast | (rbeat < HB - 1)):
                m.d.sync += [wr_ok.eq(0), wr_last.eq(0)]
            with m.Elif(rbeat == HB - 1):        # the header's last beat: r_pay is being loaded from it
                pay_next = Mux(now_carries & (hdr_now.length <= p.max_payload), p.payload_beats(hdr_now.length), 0)
                m.d.sync += [wr_ok.eq((pay_next != 0) & rspace), wr_last.eq(pay_next == 1)]
            with m.Else():
                idx_next = Mux(pay_idx != MPB + 2, pay_idx + 1, pay_idx)
                m.d.sync += [wr_ok.eq((idx_next < r_pay) & rspace), wr_last.eq(idx_next == r_pay - 1)]
        with m.If(beat_in):
            # The previous frame's (registered) commit may be in the cycle of beat 0: sample at beat 1. The
            # payload starts at beat hdr_beats >= 3.
            with m.If(rbeat == 1):
                m.d.sync += rspace.eq(buf.room)
            with m.If(rbeat < HB):
                for i in range(HB):
                    with m.If(rbeat == i):
                        m.d.sync += hdr_reg[i * w:(i + 1) * w].eq(s.tdata)
            with m.If(~s.tlast):
                m.d.sync += rcrc.eq(crc32_step(rcrc, s.tdata, B))
                with m.If(s.tkeep != (1 << B) - 1):
                    m.d.sync += rkeep_bad.eq(1)
                with m.If(rbeat != HB + MPB + 2):
                    m.d.sync += rbeat.eq(rbeat + 1)
            # Payload beats go to the buffer past the committed data; they count only once committed.
            with m.If(~s.tlast & (rbeat >= HB) & (pay_idx != MPB + 2)):
                m.d.sync += pay_idx.eq(pay_idx + 1)
            with m.If(~s.tlast & wr_ok):
                m.d.comb += [buf.beat_en.eq(1), buf.beat_index.eq(pay_idx), buf.beat_data.eq(s.tdata),
                             buf.beat_last.eq(wr_last)]
                if ct:
                    with m.If(~wr_last):
                        m.d.sync += nl_written.eq(nl_written + 1)

        m.d.comb += [
            buf.commit_beats.eq(r_pay),
            buf.commit_hdr.kind.eq(rhdr.kind), buf.commit_hdr.status.eq(rhdr.status),
            buf.commit_hdr.src.eq(rhdr.src), buf.commit_hdr.dst.eq(rhdr.dst), buf.commit_hdr.tag.eq(rhdr.tag),
            buf.commit_hdr.pid.eq(rhdr.pid), buf.commit_hdr.vaddr.eq(rhdr.vaddr),
            buf.commit_hdr.length.eq(rhdr.length),
            self.ack_value.eq(rhdr.ack),
        ]
        # The sequence number against the peer state's expectation for the frame's source.
        seq_delta = Signal(SEQ_WIDTH)
        m.d.comb += [self.src.eq(rhdr.src[:p.node_bits]), seq_delta.eq(rhdr.seq - self.expected)]
        # The verdict's events: computed into ``v`` in the last beat's cycle, given out from registers.
        v = {name: Signal(len(getattr(self, name)), name=f"v_{name}") for name in _EVENTS + RX_COUNTERS}
        v["commit"] = Signal(name="v_commit")
        if ct:
            v["end"] = Signal(name="v_end")
            v["end_discard"] = Signal(name="v_end_discard")
            # The offer, from the header alone, at the first payload beat (registered: the header goes to
            # rx in the next cycle; that beat is written now and shown from the cycle after next).
            routed = (rhdr.dst == p.node_id) & (rhdr.src < p.n_nodes) & (rhdr.src != p.node_id)
            offer_ok = ((rhdr.type == FrameType.MSG) & (rhdr.rsv1 == 0) & (rhdr.rsv2 == 0) & (r_pay != 0) &
                        routed & (seq_delta == 0) & rspace & buf.hdr_room & ~rkeep_bad)
            offer_now = beat_in & ~s.tlast & (rbeat == HB) & offer_ok
            m.d.sync += buf.offer.eq(offer_now)
            with m.If(offer_now):
                m.d.sync += spec.eq(1)
            m.d.comb += buf.shown.eq(Mux(spec, nl_written, 0))
        with m.If(beat_in & s.tlast):
            m.d.sync += [rbeat.eq(0), rcrc.eq(0xFFFFFFFF), rkeep_bad.eq(0), pay_idx.eq(0)]
            self._verdict(m, v, rhdr, rbeat, rcrc, rkeep_bad, rspace, r_carries & ~r_len_ok, r_pay, seq_delta,
                          spec)
            if ct:
                # The offered frame's end: commit if the verdict delivers it, else discard after the beats
                # shown so far (all written before this cycle).
                m.d.comb += [v["end"].eq(spec), v["end_discard"].eq(spec & ~v["delivered"].any())]
                m.d.sync += [spec.eq(0), nl_written.eq(0), buf.end_shown.eq(nl_written)]
        m.d.sync += [getattr(self, name).eq(v[name]) for name in _EVENTS + RX_COUNTERS]
        m.d.sync += buf.commit.eq(v["commit"])
        if ct:
            m.d.sync += [buf.end.eq(v["end"]), buf.end_discard.eq(v["end_discard"])]
        return m

    def _verdict(self, m, v, rhdr, rbeat, rcrc, rkeep_bad, rspace, too_long, r_pay, seq_delta, spec):
        """The verdict on the frame whose last beat is on ``s_axis`` now, in the order of docs/protocol.md,
        as the values of the event signals ``v`` (registered by the caller)."""
        p, s = self.params, self.s_axis
        n_pay_beats = rbeat - p.hdr_beats
        src = self.src
        bad_type = (rhdr.type != FrameType.MSG) & (rhdr.type != FrameType.ACK)
        misrouted = (rhdr.dst != p.node_id) | ~((rhdr.src < p.n_nodes) & (rhdr.src != p.node_id))

        m.d.comb += v["rx_frames"].eq(1)
        with m.If(rbeat < p.hdr_beats):
            m.d.comb += v["rx_drop_truncated"].eq(1)
        with m.Elif(rkeep_bad | (s.tkeep != CRC_KEEP)):
            m.d.comb += v["rx_drop_malformed"].eq(1)
        with m.Elif(s.tdata[:32] != ~rcrc):
            m.d.comb += v["rx_drop_crc"].eq(1)
        with m.Elif(bad_type | (rhdr.rsv1 != 0) | (rhdr.rsv2 != 0)):
            m.d.comb += v["rx_drop_malformed"].eq(1)
        with m.Elif(too_long):
            m.d.comb += v["rx_drop_oversize"].eq(1)
        with m.Elif(n_pay_beats < r_pay):
            m.d.comb += v["rx_drop_truncated"].eq(1)
        with m.Elif(n_pay_beats > r_pay):
            m.d.comb += v["rx_drop_oversize"].eq(1)
        with m.Elif(misrouted):
            m.d.comb += v["rx_drop_misrouted"].eq(1)
        with m.Else():
            # A good frame: its ack (and nak) counts whatever its sequence number.
            m.d.comb += [v["ack_in"].bit_select(src, 1).eq(1),
                         v["nak_in"].bit_select(src, 1).eq(rhdr.nak), v["naks_received"].eq(rhdr.nak)]
            with m.If(rhdr.type == FrameType.ACK):
                m.d.comb += v["rx_acks"].eq(1)
            with m.Else():
                m.d.comb += v["msg_in"].bit_select(src, 1).eq(1)
                with m.If(seq_delta == 0):
                    if p.rx_cut_through:
                        # A frame with data beats is delivered only if it was offered (then its header
                        # is in the FIFO already and ``end`` commits it); one without is committed now.
                        room = Mux(r_pay != 0, spec, rspace & self.buffer.hdr_room)
                        commit = r_pay == 0
                    else:
                        room, commit = rspace & self.buffer.hdr_room, 1
                    with m.If(room):
                        m.d.comb += [v["delivered"].bit_select(src, 1).eq(1), v["rx_msgs"].eq(1),
                                     v["commit"].eq(commit)]
                    with m.Else():
                        m.d.comb += v["rx_drop_nobuf"].eq(1)
                with m.Else():
                    m.d.comb += v["rx_dup"].eq(1)
                    with m.If(~seq_delta[-1]):   # ahead of expected: a frame was lost
                        m.d.comb += v["gap_in"].bit_select(src, 1).eq(1)
