"""Message store: component messages into the retransmit buffer, read back by the frame sender.

Each peer has ``window`` slots; a message for peer ``p`` with sequence number ``s`` lives in slot
``s % window`` of ``p`` until the peer acknowledges it: its header in the header memory at
``(p, slot)``, its data beats in the data memory at ``(p, slot, beat)`` (``p`` packed without the
interface's own id, :meth:`NetIfParams.peer_index`). Bytes past ``length`` in the last beat are stored
(and so sent) as zeros. The store FSM (``IDLE -> DATA -> IDLE``, or ``IDLE -> DRAIN -> IDLE`` for a
dropped message) takes a header when the peer has a free slot that the sender is not reading right now.
With ``cut_through`` the message counts as stored (``stored`` event: it may be sent) when its header is
taken, and the read port tells the sender which of its beats are in (``data_ok``); without, after its
last beat. A message for an unknown peer, for this node, or longer than ``max_payload`` is consumed with
its data and counted as dropped; so is a message for a peer declared dead (``dead``, counted apart), so
that the other peers' traffic does not wait behind it.

The data memory has a synchronous read port (block RAM on an FPGA: ``window x max_payload`` bytes per
peer), transparent for the store's writes: the sender gives the address of the beat it wants in the next
cycle, and a beat written in that cycle is read already. The header memory
(``n_peers x window`` words of 111 bits) is read combinationally at the address of the frame being sent:
it is small and wide, so LUT RAM holds it in fewer cells than block RAM (an ECP5 DP16KD is at most 36
bits wide), and the sender builds the frame header from it without a prefetch cycle.
"""

from amaranth import Module, Signal, Cat, Const, Mux
from amaranth.lib import wiring, data
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.network.params import NetIfParams
from hw.protocol import MessagePort, MsgKind, Status, LENGTH_WIDTH, carries_data

__all__ = ["StoredHeader", "StoreReadSignature", "MessageStore"]


class StoredHeader(data.StructLayout):
    """The fields of a message header kept in the retransmit buffer (``src``/``dst`` are implied)."""

    def __init__(self):
        super().__init__({"kind": MsgKind, "status": Status, "tag": 8, "pid": 16, "vaddr": 64,
                          "length": LENGTH_WIDTH})


class StoreReadSignature(wiring.Signature):
    """The sender's read port of the retransmit buffer (reader side; flip it for the store).

    Members
    -------
    peer, slot : Out
        The slot being read.
    beat : Out(beat_index_bits)
        Payload beat index within the slot to read for the next cycle (synchronous read).
    busy : Out(1)
        A MSG frame is being sent from ``(peer, slot)``: the store must not overwrite that slot (it may
        have been acknowledged, and so freed, while its frame is still going out).
    hdr : In(StoredHeader)
        The stored header of ``(peer, slot)``, combinationally.
    data : In(data_width)
        Payload beat ``beat`` of ``(peer, slot)`` as given in the previous cycle.
    data_ok : In(1)
        ``data`` holds that beat: it had been written when it was read. Low only while the message
        in that slot is still arriving on ``tx`` (cut-through): the sender then reads it again.
    """

    def __init__(self, params):
        self.params = params
        super().__init__({
            "peer": Out(params.node_bits), "slot": Out(max(1, params.slot_bits)),
            "beat": Out(params.beat_index_bits), "busy": Out(1),
            "hdr": In(StoredHeader()), "data": In(params.data_width), "data_ok": In(1),
        })

    def __eq__(self, other):
        return type(other) is type(self) and other.params == self.params

    def __repr__(self):
        return f"StoreReadSignature({self.params!r})"


class MessageStore(wiring.Component):
    """Store FSM and retransmit buffer (see the module docstring).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    tx : In(MessagePort(data_width))
        Messages from the component (``hdr.dst`` chooses the peer, ``hdr.src`` is ignored); the data
        beats are counted from ``length``. Stalls while the peer has no free slot.
    read : In(StoreReadSignature(params))
        The frame sender's read port.
    tail : In(ArrayLayout(max(1, slot_bits), n_nodes))
        From the peer state, per peer: the slot its next message goes to.
    room : In(n_nodes)
        From the peer state: peer ``i`` has a free slot.
    stored : Out(n_nodes)
        Event: the message for peer ``i`` may be sent (one-cycle pulse): its header was taken
        (``cut_through``) or its last beat was (store and forward).
    stored_peer : Out(node_bits)
        The peer of the ``stored`` event, when there is one (the offered header's destination, or the
        message being stored's): for the sender's choice, without encoding the event vector.
    dead : In(n_nodes)
        From the peer state: peer ``i`` is declared dead (its messages are dropped).
    tx_msgs, tx_dropped, tx_dead_dropped : Out(1)
        Counter events: a message accepted into the buffer; a message dropped as bad; a message dropped
        because its peer is dead.
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"MessageStore needs NetIfParams, not {params!r}")
        self.params = params
        super().__init__({
            "tx": In(MessagePort(params.data_width)),
            "read": In(StoreReadSignature(params)),
            "tail": In(ArrayLayout(max(1, params.slot_bits), params.n_nodes)), "room": In(params.n_nodes),
            "stored": Out(params.n_nodes), "stored_peer": Out(params.node_bits), "dead": In(params.n_nodes),
            "tx_msgs": Out(1), "tx_dropped": Out(1), "tx_dead_dropped": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        w, B, N, W, MPB = p.data_width, p.beat_bytes, p.n_nodes, p.window, p.max_payload_beats
        node_w, slot_w, idx_w = p.node_bits, p.slot_bits, p.beat_index_bits

        def slot_addr(peer, slot):
            idx = p.peer_index(peer)
            return Cat(slot[:slot_w], idx) if slot_w else idx

        m.submodules.hdr_mem = hdr_mem = Memory(shape=StoredHeader(), depth=p.n_peers * W, init=[])
        m.submodules.dat_mem = dat_mem = Memory(shape=w, depth=p.n_peers * W * (1 << idx_w), init=[])
        hdr_wr = hdr_mem.write_port()
        dat_wr = dat_mem.write_port()
        hdr_rd = hdr_mem.read_port(domain="comb")
        # Transparent for the store's own writes: a beat being written is read in the same cycle, so with
        # cut-through it leaves one cycle after it came on `tx` instead of two (issue 13's line-miss latency:
        # the memory side's frames wait for the DRAM beats). On a block RAM without cross-port write-through
        # the synthesis tool adds the bypass: a register of the written beat and a multiplexer after the RAM
        # output (one logic level before the sender's `m_axis.tdata`, whose CRC is taken from a register).
        dat_rd = dat_mem.read_port(domain="sync", transparent_for=[dat_wr])

        rd = self.read
        m.d.comb += [
            hdr_rd.addr.eq(slot_addr(rd.peer, rd.slot)), rd.hdr.eq(hdr_rd.data),
            dat_rd.addr.eq(Cat(rd.beat[:idx_w], slot_addr(rd.peer, rd.slot))), rd.data.eq(dat_rd.data),
        ]

        tx = self.tx
        st_peer = Signal(node_w)
        st_slot = Signal(max(1, slot_w))
        st_beats = Signal(range(MPB + 1))
        st_beat = Signal(range(MPB + 1))           # beats of the message being stored written so far
        st_length = Signal(LENGTH_WIDTH)
        filling = Signal()                         # in DATA: (st_peer, st_slot) is still arriving
        # The beat the sender reads now is in the memory unless it is one of the filling message's beats
        # not written yet (a beat written in an earlier cycle, or in this one: the read is transparent, is
        # seen by this cycle's read).
        filling_read = filling & (rd.peer == st_peer) & (rd.slot[:max(1, slot_w)] == st_slot)
        writing = Signal()                         # the store writes beat st_beat of the filling message now
        m.d.sync += rd.data_ok.eq(~filling_read | (rd.beat < st_beat) | (writing & (rd.beat == st_beat)))
        in_hdr = tx.hdr.payload
        in_carries = carries_data(in_hdr.kind, in_hdr.status)
        in_bad = ~((in_hdr.dst < N) & (in_hdr.dst != p.node_id)) | (in_carries & (in_hdr.length > p.max_payload))
        in_peer = in_hdr.dst[:node_w]
        in_slot = self.tail[in_peer]
        # Whether a message for peer i could be taken now (a free slot that the sender is not reading), for
        # every peer from registers; the offered header's destination only selects (timing, issue 18: the
        # compare of the sender's slot with the tail selected by the destination was a path into the
        # handshake, the `stored` event and the peer state's registers).
        free = Signal(N)
        for i in range(N):
            if i != p.node_id:
                busy_i = rd.busy & (rd.peer == i) & (rd.slot == self.tail[i])
                m.d.comb += free[i].eq(self.room[i] & ~busy_i)
        in_free = free.bit_select(in_peer, 1)
        in_dead = self.dead.bit_select(in_peer, 1)
        nbeats = Mux(in_carries, p.payload_beats(in_hdr.length), 0)
        # The header is taken (one-cycle): in IDLE, offered, good, for a live peer with a free slot.
        take = Signal()
        # The write ports' address and data do not wait for the handshake (timing: the header memory is LUT
        # RAM, whose write address has a setup time; the decision to take the header, through the sender's
        # `busy` and the peer's `room`, was a path into it): only the enables do.
        m.d.comb += [
            hdr_wr.addr.eq(slot_addr(in_peer, in_slot)),
            hdr_wr.data.kind.eq(in_hdr.kind), hdr_wr.data.status.eq(in_hdr.status),
            hdr_wr.data.tag.eq(in_hdr.tag), hdr_wr.data.pid.eq(in_hdr.pid),
            hdr_wr.data.vaddr.eq(in_hdr.vaddr), hdr_wr.data.length.eq(in_hdr.length),
        ]
        keep_bytes = Cat(*[(st_beat * B + i) < st_length for i in range(B)])
        masked = Cat(*[Mux(keep_bytes[i], tx.data.payload.data[8 * i:8 * i + 8], 0) for i in range(B)])
        m.d.comb += [dat_wr.addr.eq(Cat(st_beat[:idx_w], slot_addr(st_peer, st_slot))), dat_wr.data.eq(masked)]
        # The event vector as one AND per peer (the destination's decode, the input's checks and that peer's
        # `free`), so that `free` is a gate or two from the registers it feeds.
        good = tx.hdr.valid & ~in_bad
        m.d.comb += self.stored_peer.eq(in_peer)
        with m.FSM(name="store") as fsm:
            idle = fsm.ongoing("IDLE")
            m.d.comb += take.eq(idle & good & in_free & ~in_dead)
            m.d.comb += self.stored.eq(Cat(*[
                Const(0, 1) if i == p.node_id else
                idle & good & (in_peer == i) & free[i] & ~self.dead[i] & ((nbeats == 0) | p.cut_through)
                for i in range(N)]))
            with m.State("IDLE"):
                # The offered header's fields are loaded whether or not it is taken (only `filling` and the
                # state say that a message is being stored): their enables do not wait for the handshake.
                m.d.sync += [st_peer.eq(in_peer), st_slot.eq(in_slot), st_beats.eq(nbeats), st_beat.eq(0),
                             st_length.eq(in_hdr.length)]
                with m.If(in_bad | in_dead):
                    m.d.comb += tx.hdr.ready.eq(1)
                    with m.If(tx.hdr.valid):
                        m.d.comb += [self.tx_dropped.eq(in_bad), self.tx_dead_dropped.eq(~in_bad)]
                        with m.If(in_carries & (in_hdr.length != 0)):
                            m.next = "DRAIN"
                with m.Else():
                    m.d.comb += tx.hdr.ready.eq(in_free)
                    with m.If(take):
                        m.d.comb += [hdr_wr.en.eq(1), self.tx_msgs.eq(1)]
                        with m.If(nbeats != 0):
                            m.d.sync += filling.eq(1)
                            m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += tx.data.ready.eq(1)
                with m.If(tx.data.valid):
                    m.d.comb += [dat_wr.en.eq(1), writing.eq(1)]
                    m.d.sync += st_beat.eq(st_beat + 1)
                    with m.If(st_beat == st_beats - 1):
                        if not p.cut_through:
                            m.d.comb += self.stored.bit_select(st_peer, 1).eq(1)
                            m.d.comb += self.stored_peer.eq(st_peer)
                        m.d.sync += filling.eq(0)
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += tx.data.ready.eq(1)
                with m.If(tx.data.valid & tx.data.payload.last):
                    m.next = "IDLE"
        return m
