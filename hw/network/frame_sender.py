"""Frame sender: chooses the next frame (round robin over peers, go-back-N) and puts it on the wire.

A frame is a MSG frame carrying the peer's next stored message (sequence number ``base + sent``) or,
when the peer has nothing unsent but is owed an ack or a nak, a standalone ACK frame. Every frame
carries the current cumulative ack for its peer and the nak flag. The sender FSM (``IDLE -> HEADER ->
PAYLOAD -> CRC -> HEADER ...``) sends the header beats (``hw/network/frame.py``), the payload beats read
from the message store, and the CRC-32 (computed on the fly, one beat per cycle) alone in the last
beat. The store's data memory reads synchronously: the sender addresses the payload beat it will send in
the next cycle (beat 0 during the header), so the payload follows the header without a gap. A beat of a
message still arriving on ``tx`` (cut-through) may not be in yet (``data_ok`` low): ``tvalid`` is then low
for that cycle and the beat is read again; the frame goes on when it arrives. A new frame starts in the
cycle after the CRC beat (no gap on the wire) unless a go-back is due; in ``IDLE`` one expired peer per
cycle goes back to its oldest unacknowledged frame. The round-robin choice of the next peer is
registered (for timing) and checked against the peer's current state before it is used. When no peer
was owed a frame in the cycle a message is stored (``stored``, from the message store), the register takes
that message's peer instead: a message to an idle sender leaves two cycles after its header was taken, as
if the choice were not registered (issue 13's line-miss latency).
"""

from amaranth import Module, Signal, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib.axis import AXIStreamSignature
from hw.network.frame import FrameHeader, FrameType, SEQ_WIDTH, crc32_step, layout_cat
from hw.network.message_store import StoreReadSignature
from hw.network.params import NetIfParams
from hw.protocol import carries_data

__all__ = ["FrameSender"]

#: ``tkeep`` of the CRC beat: the four CRC bytes.
CRC_KEEP = 0xF


class FrameSender(wiring.Component):
    """Frame choice and enframing (see the module docstring).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    m_axis : Out(AXIStreamSignature(data_width))
        Frames to the wire; all beats full except the last (CRC, ``tkeep`` = 0xF).
    store : Out(StoreReadSignature(params))
        Read port of the message store (header and payload of the frame being sent).
    unsent, owed, expired : In(n_nodes)
        From the peer state: peer ``i`` has unsent frames / wants any frame / must go back first. ``unsent``
        and ``owed`` may be stale in the cycle after the sender started a frame for ``i`` (the peer state's
        registered ``unsent_q``/``owed_q``): the sender does not look at them before that frame's header
        has gone out.
    stored : In(n_nodes)
        From the message store (the peer state's ``stored`` event, at most one bit set): a message for peer
        ``i`` may be sent from the next cycle on.
    stored_peer : In(node_bits)
        From the message store: the peer of that event, when there is one.
    peer : Out(node_bits)
        Query to the peer state: the peer the next frame would go to.
    seq, ack : In(SEQ_WIDTH)
        Answers: ``peer``'s next sequence number and its cumulative ack.
    nak, retransmit : In(1)
        Answers: a nak is owed to ``peer``; its next MSG frame is a retransmission.
    frame_started : Out(n_nodes)
        Event: a MSG frame to peer ``i`` was latched; its first beat goes out next cycle.
    ack_sent, nak_sent : Out(n_nodes)
        Events: that frame (MSG or ACK) carries peer ``i``'s ack / a nak.
    go_back : Out(n_nodes)
        Event: peer ``i`` goes back to its oldest unacknowledged frame.
    tx_frames, tx_retransmits, tx_acks, naks_sent : Out(1)
        Counter events: a frame's last beat went out; a frame latched is a retransmission / a
        standalone ACK / carries a nak.
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"FrameSender needs NetIfParams, not {params!r}")
        self.params = params
        n = params.n_nodes
        super().__init__({
            "m_axis": Out(AXIStreamSignature(params.data_width)),
            "store": Out(StoreReadSignature(params)),
            "unsent": In(n), "owed": In(n), "expired": In(n), "stored": In(n), "stored_peer": In(params.node_bits),
            "peer": Out(params.node_bits), "seq": In(SEQ_WIDTH), "ack": In(SEQ_WIDTH), "nak": In(1),
            "retransmit": In(1),
            "frame_started": Out(n), "ack_sent": Out(n), "nak_sent": Out(n), "go_back": Out(n),
            "tx_frames": Out(1), "tx_retransmits": Out(1), "tx_acks": Out(1), "naks_sent": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        w, B, HB = p.data_width, p.beat_bytes, p.hdr_beats
        # The choice registered in the cycle after a frame start comes from the peer's stale `owed` bit (the
        # peer state's registered copy); it is used at the earliest HB - 1 cycles later, after a newer one.
        assert HB >= 3, "a frame header of at least 3 beats"
        slot_w = p.slot_bits
        keep_all = (1 << B) - 1

        # The frame being sent, latched when it starts.
        cur_peer = Signal(p.node_bits)
        cur_slot = Signal(max(1, slot_w))
        cur_type = Signal(FrameType, init=FrameType.ACK)
        cur_seq = Signal(SEQ_WIDTH)
        cur_ack = Signal(SEQ_WIDTH)
        cur_nak = Signal()
        beat = Signal(range(HB + 1))              # header beat
        pbeat = Signal(p.beat_index_bits)          # payload beat on m_axis in PAYLOAD
        rd_beat = Signal(p.beat_index_bits)        # payload beat to read for the next cycle: pbeat's next value
        crc = Signal(32, init=0xFFFFFFFF)
        sending = Signal()                         # a frame is being sent (cur_* valid)

        is_msg = cur_type == FrameType.MSG
        stored = self.store.hdr
        m.d.comb += [self.store.peer.eq(cur_peer), self.store.slot.eq(cur_slot), self.store.beat.eq(rd_beat),
                     self.store.busy.eq(sending & is_msg)]
        m.d.sync += pbeat.eq(rd_beat)
        hdr_pay_beats = Mux(is_msg & carries_data(stored.kind, stored.status), p.payload_beats(stored.length), 0)
        # The payload length, registered during the header beats (timing: the header memory's combinational
        # read, the length arithmetic and the compare were one path into the data memory's read address).
        # The header takes at least 3 beats and its slot does not change during the frame, so it is ready
        # at the last header beat.
        cur_pay_beats = Signal(range(p.max_payload_beats + 1))
        cur_last_beat = Signal(p.beat_index_bits)
        hdr_out = Signal(FrameHeader())
        m.d.comb += hdr_out.eq(layout_cat(FrameHeader(), {
            "dst": cur_peer, "src": p.node_id, "type": cur_type, "seq": cur_seq, "ack": cur_ack, "nak": cur_nak,
            "kind": Mux(is_msg, stored.kind.as_value(), 0), "status": Mux(is_msg, stored.status.as_value(), 0),
            "tag": Mux(is_msg, stored.tag, 0), "pid": Mux(is_msg, stored.pid, 0),
            "length": Mux(is_msg, stored.length, 0), "vaddr": Mux(is_msg, stored.vaddr, 0),
        }))

        # The round robin over every peer's `owed` is a long path from the peer state's counters: its choice is
        # registered and used a cycle later, checked against that peer's current `owed` and `unsent` (one
        # bit each), so a stale choice costs an idle cycle, never a wrong frame.
        # When nobody is owed a frame now, the peer of a message stored in this cycle is the choice: it is
        # owed from the next cycle on (its `count` has grown), so the idle sender starts its frame then instead
        # of choosing it a cycle later. Only with nobody else owed, so the round robin's order is kept. Logic
        # added: one 2:1 multiplexer before the choice's register (selected by the round robin's `valid`),
        # with the store's `stored_peer` (the offered header's destination: not the late event itself) and an
        # OR of the event for the register's `valid`; nothing after the register changes.
        rr, rr_pick, rr_valid = self._round_robin(m)
        pick = Signal(p.node_bits)
        pick_q_valid = Signal()
        m.d.sync += [pick.eq(Mux(rr_valid, rr_pick, self.stored_peer)), pick_q_valid.eq(rr_valid | self.stored.any())]
        pick_valid = pick_q_valid & self.owed.bit_select(pick, 1)
        any_expired = Signal()
        m.d.comb += [any_expired.eq(self.expired.any()), self.peer.eq(pick)]

        def start_frame():
            """Latch the chosen frame (pick) so that its first beat goes out in the next cycle."""
            is_data = self.unsent.bit_select(pick, 1)
            m.d.sync += [
                cur_peer.eq(pick), cur_seq.eq(Mux(is_data, self.seq, 0)), cur_ack.eq(self.ack),
                cur_nak.eq(self.nak), cur_type.eq(Mux(is_data, FrameType.MSG, FrameType.ACK)),
                cur_slot.eq(self.seq[:max(1, slot_w)] if slot_w else 0), rr.eq(pick), beat.eq(0),
                crc.eq(0xFFFFFFFF), sending.eq(1),
            ]
            m.d.comb += [
                self.frame_started.bit_select(pick, 1).eq(is_data),
                self.ack_sent.bit_select(pick, 1).eq(1),
                self.nak_sent.bit_select(pick, 1).eq(self.nak),
                self.tx_retransmits.eq(is_data & self.retransmit),
                self.tx_acks.eq(~is_data),
                self.naks_sent.eq(self.nak),
            ]

        out = self.m_axis
        # The CRC absorbs each beat a cycle after it went out, from a register (timing: the payload beat
        # comes from the block RAM's output, whose clock-to-out left no time for the 64-bit XOR tree). The
        # CRC beat then includes the last beat still pending: ``crc_now``.
        beat_q = Signal(w)
        pending = Signal()
        m.d.sync += pending.eq(0)
        with m.If(out.tvalid & out.tready & ~out.tlast):
            m.d.sync += [beat_q.eq(out.tdata), pending.eq(1)]
        crc_now = Signal(32)
        m.d.comb += crc_now.eq(Mux(pending, crc32_step(crc, beat_q, B), crc))
        m.d.sync += crc.eq(crc_now)
        with m.FSM(name="sender"):
            with m.State("IDLE"):
                m.d.sync += sending.eq(0)
                with m.If(any_expired):
                    # Go back to the oldest unacknowledged frame of one expired peer per cycle.
                    for i in reversed(range(p.n_nodes)):
                        with m.If(self.expired[i]):
                            m.d.comb += self.go_back.eq(1 << i)
                with m.Elif(pick_valid):
                    start_frame()
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.sync += [cur_pay_beats.eq(hdr_pay_beats), cur_last_beat.eq(hdr_pay_beats - 1)]
                m.d.comb += [
                    out.tvalid.eq(1), out.tkeep.eq(keep_all),
                    out.tdata.eq(hdr_out.as_value().word_select(beat[:max(1, ceil_log2(HB))], w)
                                 if HB > 1 else hdr_out.as_value()),
                ]
                with m.If(out.tready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(beat == HB - 1):
                        m.d.sync += beat.eq(0)
                        with m.If(cur_pay_beats != 0):
                            m.next = "PAYLOAD"
                        with m.Else():
                            m.next = "CRC"
            with m.State("PAYLOAD"):
                m.d.comb += [out.tvalid.eq(self.store.data_ok), out.tkeep.eq(keep_all), out.tdata.eq(self.store.data),
                             rd_beat.eq(pbeat)]
                with m.If(out.tvalid & out.tready):
                    with m.If(pbeat == cur_last_beat):
                        m.d.comb += rd_beat.eq(0)
                        m.next = "CRC"
                    with m.Else():
                        m.d.comb += rd_beat.eq(pbeat + 1)
            with m.State("CRC"):
                m.d.comb += [out.tvalid.eq(1), out.tkeep.eq(CRC_KEEP), out.tlast.eq(1), out.tdata.eq(~crc_now)]
                with m.If(out.tready):
                    m.d.comb += self.tx_frames.eq(1)
                    # Chain the next frame without a gap unless a go-back is due.
                    with m.If(~any_expired & pick_valid):
                        start_frame()
                        m.next = "HEADER"
                    with m.Else():
                        m.d.sync += sending.eq(0)
                        m.next = "IDLE"
        return m

    def _round_robin(self, m):
        """The next peer to send to: the first after ``rr`` (the last one served) that wants a frame."""
        n = self.params.n_nodes
        rr = Signal(self.params.node_bits)
        pick = Signal(self.params.node_bits)
        pick_valid = Signal()
        with m.Switch(rr):
            for last in range(n):
                with m.Case(last):
                    order = [(last + 1 + k) % n for k in range(n)]
                    for cand in reversed(order):  # the first in order wins: assign it last
                        with m.If(self.owed[cand]):
                            m.d.comb += [pick.eq(cand), pick_valid.eq(1)]
        return rr, pick, pick_valid
