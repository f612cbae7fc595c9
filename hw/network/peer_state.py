"""Go-back-N transport state of every peer of a network interface, updated by one-cycle event pulses.

One entry per node id (the entry of the interface's own id is never updated). Transmit side: ``base``
(oldest unacknowledged sequence number), ``count`` (messages stored for the peer and not yet acked,
``0..window``), ``sent`` (of those, frames sent since the last go-back), ``high`` (frames ever sent:
frames sent below it are retransmissions), the retransmit ``timer`` and ``expired`` (go back at the next
frame boundary). Receive side: ``expected`` (next sequence number expected from the peer),
``ack_pending``, ``nak_pending`` and ``nak_done`` (a nak was already sent for the current gap).
Dead-peer detection (``retry_limit`` > 0): ``retries`` (consecutive timeouts without ack progress) and
the sticky ``dead`` bit, cleared only by a ``flush`` (firmware's peer reset), which also restarts both
directions of the peer's transport at sequence number 0.

The other components never see the registers: they send events (one bit per peer) and read what they
need through query ports (a peer index in, that peer's values out), so the storage can later become a
memory for many peers without changing them. The exceptions are vectors with one entry per peer, for
timing (issue 18): the sender's ``unsent_q``/``owed_q`` and the store's ``store_room``/``store_tail``.
"""

from amaranth import Module, Signal, Mux, Array, Cat, Const
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.network.frame import SEQ_WIDTH
from hw.network.params import NetIfParams

__all__ = ["PeerState"]


class PeerState(wiring.Component):
    """Per-peer go-back-N state (see the module docstring).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    stored : In(n_nodes)
        Event: a message for peer ``i`` was completely stored in the retransmit buffer (``count += 1``).
    frame_started : In(n_nodes)
        Event: the first beat of a MSG frame for peer ``i`` is about to go out (``sent += 1``).
    go_back : In(n_nodes)
        Event: the sender went back to the oldest unacknowledged frame of peer ``i`` (``sent = 0``).
    ack_sent, nak_sent : In(n_nodes)
        Events: a frame to peer ``i`` starts carrying its ack (clears ``ack_pending``) / its nak.
    ack_in : In(n_nodes)
        Event: a good frame from peer ``i`` carried the cumulative ack ``ack_value``. Its effect (frames
        released, timer restart) shows two cycles later: evaluated in this cycle, applied in the next. Two
        ack events for a peer are at least three cycles apart (a frame has at least 4 beats).
    ack_value : In(SEQ_WIDTH)
        The ack of that frame, given in the cycle *before* its ``ack_in`` (the frame receiver's header
        register, whose verdict is registered): its distance from every peer's ``base`` is computed there,
        into registers (timing, issue 18).
    nak_in : In(n_nodes)
        Event: that good frame also carried a nak (peer ``i`` saw a gap: go back now); ``expired`` two
        cycles later, like the ack.
    msg_in : In(n_nodes)
        Event: a good MSG frame came from peer ``i`` (an ack is owed, whatever its sequence number).
    gap_in : In(n_nodes)
        Event: that MSG frame was ahead of ``expected`` (a frame was lost: a nak is owed).
    delivered : In(n_nodes)
        Event: the in-order message from peer ``i`` was taken into the receive buffer (``expected += 1``).
    flush : In(n_nodes)
        Event: reset peer ``i`` (firmware): its stored messages are discarded, its dead bit cleared, and
        both directions restart at sequence number 0 (``base``, ``expected`` and the rest zeroed).
    unsent : Out(n_nodes)
        Peer ``i`` has stored frames not sent since the last go-back.
    owed : Out(n_nodes)
        Peer ``i`` wants a frame: unsent data, an owed ack or an owed nak (never while dead).
    unsent_q, owed_q : Out(n_nodes)
        ``unsent`` and ``owed`` from flip-flops, for the sender (timing, issue 18): equal to them in every
        cycle but the one after a sender event of peer ``i`` (``frame_started``, ``ack_sent``,
        ``nak_sent``), when bit ``i`` still shows the state without that event. Each is loaded with the
        value the peer's next state gives, every event but those three counted; the sender looks at a
        peer's bits only to start a frame, never in the cycle after it started one (header beats follow).
    expired : Out(n_nodes)
        Peer ``i`` timed out or was nak'ed: the sender must go back before its next frame.
    timeouts : Out(n_nodes)
        Event: the retransmit timer of peer ``i`` expired in this cycle (including the expiry that
        declares it dead).
    dead : Out(n_nodes)
        Peer ``i`` has been declared dead (sticky until ``flush``): nothing is sent to it, its timer is
        stopped and ``stored`` events for it are ignored (the netif counts them as flushed).
    died : Out(n_nodes)
        Event: peer ``i`` is declared dead in this cycle (``dead`` rises in the next).
    flushed : Out(window_bits)
        The number of stored messages a ``flush`` in this cycle discards (one peer flushed at a time).
    store_tail : Out(ArrayLayout(max(1, slot_bits), n_nodes))
        For the message store, per peer: the retransmit-buffer slot its next message goes to
        (``(base + count) % window``), a register.
    store_room : Out(n_nodes)
        For the message store: peer ``i`` has a free slot (``count < window``), from registers. Both are
        vectors, not a query by the offered message's destination, so that the store decides on every
        peer from registers and the destination only selects (timing, issue 18).
    send_peer : In(node_bits)
        Query of the sender: the peer chosen for the next frame.
    send_seq : Out(SEQ_WIDTH)
        Sequence number of ``send_peer``'s next MSG frame (``base + sent``).
    send_ack : Out(SEQ_WIDTH)
        Cumulative ack for ``send_peer`` (``expected``).
    send_nak : Out(1)
        A nak is owed to ``send_peer``.
    send_retransmit : Out(1)
        ``send_peer``'s next MSG frame was sent before (a go-back-N retransmission).
    recv_peer : In(node_bits)
        Query of the receiver: the source of the frame being checked.
    recv_expected : Out(SEQ_WIDTH)
        Next sequence number expected from ``recv_peer``.
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"PeerState needs NetIfParams, not {params!r}")
        self.params = params
        n, node_w = params.n_nodes, params.node_bits
        super().__init__({
            "stored": In(n), "frame_started": In(n), "go_back": In(n), "ack_sent": In(n), "nak_sent": In(n),
            "ack_in": In(n), "ack_value": In(SEQ_WIDTH), "nak_in": In(n), "msg_in": In(n), "gap_in": In(n),
            "delivered": In(n), "flush": In(n),
            "unsent": Out(n), "owed": Out(n), "unsent_q": Out(n), "owed_q": Out(n), "expired": Out(n),
            "timeouts": Out(n), "dead": Out(n), "died": Out(n), "flushed": Out(params.window_bits),
            "store_tail": Out(ArrayLayout(max(1, params.slot_bits), n)), "store_room": Out(n),
            "send_peer": In(node_w), "send_seq": Out(SEQ_WIDTH), "send_ack": Out(SEQ_WIDTH), "send_nak": Out(1),
            "send_retransmit": Out(1),
            "recv_peer": In(node_w), "recv_expected": Out(SEQ_WIDTH),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        n, off_w, slot_w = p.n_nodes, p.window_bits, p.slot_bits

        def per_peer(name, shape):
            return Array(Signal(shape, name=f"{name}_{i}") for i in range(n))
        base = per_peer("base", SEQ_WIDTH)
        count = per_peer("count", off_w)
        sent = per_peer("sent", off_w)
        high = per_peer("high", off_w)
        timer = per_peer("timer", ceil_log2(p.timeout + 1))
        expired = per_peer("expired", 1)
        expected = per_peer("expected", SEQ_WIDTH)
        ack_pending = per_peer("ack_pending", 1)
        nak_pending = per_peer("nak_pending", 1)
        nak_done = per_peer("nak_done", 1)
        retries = per_peer("retries", range(max(2, p.retry_limit)))
        # (base + count) % window, the slot the next stored message goes to, kept as a counter of its own so
        # that the store's write address is a register and a multiplexer, not an adder (timing): it moves
        # only with `stored`, since an ack adds to `base` what it takes from `count`.
        tail = per_peer("tail", max(1, slot_w))
        dead = per_peer("dead", 1)

        for i in range(n):
            if i == p.node_id:
                continue
            m.d.comb += [
                self.unsent[i].eq(sent[i] < count[i]),
                self.owed[i].eq(((sent[i] < count[i]) | ack_pending[i] | nak_pending[i]) & ~dead[i]),
            ]
        m.d.comb += [self.expired.eq(Cat(*expired)), self.dead.eq(Cat(*dead))]

        # Query ports.
        send_seq = base[self.send_peer] + sent[self.send_peer]
        m.d.comb += [
            self.store_tail.eq(Cat(*tail)),
            self.store_room.eq(Cat(*[count[i] < p.window for i in range(n)])),
            self.send_seq.eq(send_seq), self.send_ack.eq(expected[self.send_peer]),
            self.send_nak.eq(nak_pending[self.send_peer]),
            self.send_retransmit.eq(sent[self.send_peer] < high[self.send_peer]),
            self.recv_expected.eq(expected[self.recv_peer]),
        ]

        # One expression for the whole vector (the own id's bit a constant): a bit assigned alone would
        # become an input-less `always` block in the Verilog.
        def event_vector(name):
            return [Const(0, 1) if i == p.node_id else Signal(name=f"{name}_{i}") for i in range(n)]
        fires, dies = event_vector("timeout_fire"), event_vector("die")
        unsent_q, owed_q = event_vector("unsent_q"), event_vector("owed_q")
        m.d.comb += [self.timeouts.eq(Cat(*fires)), self.died.eq(Cat(*dies)), self.unsent_q.eq(Cat(*unsent_q)),
                     self.owed_q.eq(Cat(*owed_q))]
        flushed = []                       # per peer: what a flush of it discards (only one is flushed at a time)
        for i in range(n):
            if i == p.node_id:
                continue
            flush = self.flush[i]
            # A message stored for a dead peer is not counted (the netif counts it as flushed).
            stored = self.stored[i] & ~dead[i]
            adv, nak_go = self._ack_stages(m, i, base[i], count[i])
            # `sent` and `high` less the frames the ack releases, clamped at 0 (the ack may cover frames sent
            # before a go-back and not yet again), computed from registers only; the sender's frame_started
            # (a long path through its choice of peer) then only adds one or selects, at the end.
            fs = self.frame_started[i]
            sent_left = Signal(off_w, name=f"sent_left_{i}")
            high_left = Signal(off_w, name=f"high_left_{i}")
            sent_kept = sent[i] >= adv
            m.d.comb += [sent_left.eq(Mux(sent_kept, sent[i] - adv, 0)),
                         high_left.eq(Mux(high[i] > adv, high[i] - adv, 0))]
            # A frame started at or beyond `high` raises it to sent + 1 (then less adv: sent_left + 1, or 0 if
            # the ack covers that frame too).
            sent_left_1 = Signal(off_w, name=f"sent_left_1_{i}")   # sent_left + 1, so `fs` only selects
            m.d.comb += sent_left_1.eq(sent_left + 1)
            high_new = Mux(sent_kept, sent_left_1, 0)
            flushed.append((flush, count[i] - adv + stored))
            with m.If(flush):
                m.d.sync += [base[i].eq(0), count[i].eq(0), sent[i].eq(0), high[i].eq(0), tail[i].eq(0)]
            with m.Else():
                if slot_w:
                    m.d.sync += tail[i].eq(tail[i] + stored)
                m.d.sync += [
                    base[i].eq(base[i] + adv),
                    count[i].eq(count[i] - adv + stored),
                    sent[i].eq(Mux(self.go_back[i] | ~sent_kept, 0, Mux(fs, sent_left_1, sent_left))),
                    high[i].eq(Mux(fs & (high[i] <= sent[i]), high_new, high_left)),
                ]
            # Retransmit timer: runs while frames are in flight, restarts on ack progress and go-back;
            # stopped while the peer is dead.
            with m.If((sent[i] == 0) | (adv != 0) | self.go_back[i] | expired[i] | dead[i] | flush):
                m.d.sync += timer[i].eq(0)
            with m.Elif(timer[i] == p.timeout - 1):
                m.d.sync += timer[i].eq(0)
                m.d.comb += fires[i].eq(1)
            with m.Else():
                m.d.sync += timer[i].eq(timer[i] + 1)
            # Dead-peer detection: the retry_limit-th consecutive timeout without ack progress declares the
            # peer dead instead of starting another go-back round.
            last_try = Const(1) if p.retry_limit == 1 else (retries[i] == p.retry_limit - 1)
            if p.retry_limit:
                m.d.comb += dies[i].eq(fires[i] & last_try)
                with m.If(flush | (adv != 0)):
                    m.d.sync += retries[i].eq(0)
                with m.Elif(fires[i] & ~last_try):
                    m.d.sync += retries[i].eq(retries[i] + 1)
                with m.If(flush):
                    m.d.sync += dead[i].eq(0)
                with m.Elif(dies[i]):
                    m.d.sync += dead[i].eq(1)
            with m.If(self.go_back[i] | flush):
                m.d.sync += expired[i].eq(0)
            with m.Elif((fires[i] & ~dies[i]) | nak_go):
                m.d.sync += expired[i].eq(1)
            # Receive side.
            with m.If(flush):
                m.d.sync += [expected[i].eq(0), nak_done[i].eq(0), ack_pending[i].eq(0), nak_pending[i].eq(0)]
            with m.Else():
                with m.If(self.delivered[i]):
                    m.d.sync += [expected[i].eq(expected[i] + 1), nak_done[i].eq(0)]
                with m.If(self.msg_in[i]):
                    m.d.sync += ack_pending[i].eq(1)
                with m.Elif(self.ack_sent[i]):
                    m.d.sync += ack_pending[i].eq(0)
                with m.If(self.gap_in[i] & ~nak_done[i] & ~self.nak_sent[i]):
                    m.d.sync += nak_pending[i].eq(1)
                with m.Elif(self.nak_sent[i]):
                    m.d.sync += [nak_pending[i].eq(0), nak_done[i].eq(1)]
            self._registered_owed(m, i, unsent_q[i], owed_q[i], sent[i], count[i], adv, stored, ack_pending[i],
                                  nak_pending[i], nak_done[i], dead[i], dies[i])
        for flush, value in flushed:
            with m.If(flush):
                m.d.comb += self.flushed.eq(value)
        return m

    def _ack_stages(self, m, i, base, count):
        """The ack of peer ``i`` evaluated: ``adv`` (frames it releases, applied this cycle: last cycle's ack)
        and ``nak_go`` (last cycle's nak, with frames left unacked), both registers."""
        p = self.params
        off_w, flush = p.window_bits, self.flush[i]
        # Transmit side: a cumulative ack within the window releases frames. Three steps, for timing: in
        # the cycle before the ack event the distance `ack_value - base` is registered (the receiver's
        # header register holds the ack then), in the ack's cycle the window compare gives how far it
        # advances into a register, the next cycle applies it. Correct because acks come at least a
        # frame (4 beats) apart, so `base` does not move between the subtraction and the ack (a flush
        # in between is taken into the subtraction: `base` becomes 0), no ack is evaluated against a
        # base the one before has not moved yet, and because in between `count` and `sent` only grow
        # (stored, frame_started) or fall to 0 (go_back, flush), which the applying stage handles as it
        # did before (a flush also drops the ack being evaluated).
        dist = Signal(SEQ_WIDTH, name=f"ack_dist_{i}")
        m.d.comb += dist.eq(self.ack_value - Mux(flush, 0, base))
        d_low = Signal(off_w, name=f"ack_delta_{i}")        # registered: dist's low bits ...
        d_near = Signal(name=f"ack_near_{i}")                # ... and dist < 2 ** off_w
        m.d.sync += [d_low.eq(dist[:off_w]), d_near.eq(dist[off_w:] == 0)]
        adv = Signal(off_w, name=f"ack_adv_{i}")          # applied this cycle: last cycle's ack
        adv_next = Signal(off_w, name=f"ack_adv_next_{i}")
        nak_go = Signal(name=f"nak_go_{i}")                 # last cycle's nak, with frames left unacked
        in_window = self.ack_in[i] & d_near & (d_low <= count) & ~flush
        m.d.comb += adv_next.eq(Mux(in_window, d_low, 0))
        m.d.sync += [adv.eq(adv_next),
                     nak_go.eq(self.nak_in[i] & Mux(in_window, d_low != count, count != 0) & ~flush)]
        return adv, nak_go

    def _registered_owed(self, m, i, unsent_q, owed_q, sent, count, adv, stored, ack_pending, nak_pending,
                         nak_done, dead, dies):
        """Load ``unsent_q``/``owed_q`` of peer ``i`` with what ``unsent``/``owed`` will be in the next cycle
        if the sender gives none of its frame events (``frame_started``, ``ack_sent``, ``nak_sent``) in this
        one: the sender's choice of a frame (a long path) then reaches no more than the events it gives.

        The next ``sent < count`` from compares of the registers alone, without the subtractions of the ack
        ``adv`` applied now (``adv <= count``): with ``sent`` kept (``adv <= sent``, no go-back) both lose
        ``adv``, so it is ``sent < count + stored``; with ``sent`` falling to 0 it is ``count - adv + stored
        != 0``. ``stored`` (a late bit from the message store's handshake) only selects at the end.
        """
        flush = self.flush[i]
        to_zero = self.go_back[i] | (sent < adv)
        unsent_next = Mux(to_zero, (count != adv) | stored, Mux(stored, sent <= count, sent < count))
        ack_next = self.msg_in[i] | ack_pending
        nak_next = nak_pending | (self.gap_in[i] & ~nak_done)
        dead_next = (dead | dies) if self.params.retry_limit else 0
        m.d.sync += [unsent_q.eq(unsent_next & ~flush),
                     owed_q.eq((unsent_next | ack_next | nak_next) & ~dead_next & ~flush)]
