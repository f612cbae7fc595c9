"""Network interface: component messages <-> reliable, checked frames on an AXI-Stream wire.

Transmit: a message from the component (``tx``) is stored in the retransmit buffer of its destination
peer (slot ``seq % window``), then sent as a frame (``hw/network/frame.py``) with the next sequence number and
the current cumulative ack for that peer, and a CRC-32 computed on the fly. Frames stay in the buffer
until acknowledged; when a peer's retransmit timer expires, or the peer reports a gap (``nak``), the
interface goes back to the oldest unacknowledged frame and sends them all again (go-back-N).

Receive: frames from the wire (``s_axis``) are received store-and-forward. A frame is passed up
(``rx``) only if its CRC is right, it is well formed, addressed to this node from a known peer, and
carries exactly the next sequence number expected from that peer. Everything else is dropped and
counted. Acks (piggy-backed on every frame, or standalone ACK frames) are taken from every frame that
passes the checks.

See ``docs/netif.md`` for the state machines, timing and register map.
"""

from dataclasses import dataclass

from amaranth import Module, Signal, Cat, Mux, Array, C
from amaranth.lib import wiring, data
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib import checks
from hw.lib.axis import AXIStreamSignature
from hw.lib.csr import CSRBusSignature, CSRDecoder, Register, RegisterMap
from hw.network.frame import FrameHeader, FrameType, HEADER_BYTES, SEQ_WIDTH, crc32_step, layout_cat
from hw.protocol import MessagePort, MsgHeader, MsgKind, Status, LENGTH_WIDTH

__all__ = ["NetIfParams", "NetIf", "NETIF_REGISTERS", "default_netif"]

_COUNTERS = [
    ("tx_frames", "frames put on the wire (messages, retransmissions and standalone acks)"),
    ("tx_msgs", "messages accepted from the component and queued for their peer"),
    ("tx_retransmits", "message frames sent again after a timeout or nak (go-back-N)"),
    ("tx_timeouts", "retransmit timer expiries"),
    ("tx_acks", "standalone ACK frames sent"),
    ("tx_dropped", "component messages dropped: destination unknown or own node, or length > max payload"),
    ("rx_frames", "frames received from the wire (good or not)"),
    ("rx_msgs", "messages delivered to the component"),
    ("rx_acks", "standalone ACK frames received and accepted"),
    ("rx_dup", "message frames dropped as duplicate or out of order"),
    ("rx_drop_crc", "frames dropped: CRC mismatch"),
    ("rx_drop_misrouted", "frames dropped: destination is not this node, or source unknown or this node"),
    ("rx_drop_truncated", "frames dropped: fewer bytes than the header announces"),
    ("rx_drop_oversize", "frames dropped: more bytes than announced, or length > max payload"),
    ("rx_drop_malformed", "frames dropped: bad type, reserved bits set, or bad tkeep"),
    ("rx_drop_nobuf", "in-order message frames dropped: receive buffer full (sender retransmits)"),
    ("naks_sent", "frames sent carrying a nak (gap seen in a peer's sequence)"),
    ("naks_received", "naks received (each starts a go-back-N round)"),
]

#: The CSR register map of the network interface.
NETIF_REGISTERS = RegisterMap("netif", [
    Register("id", 0x00, "r", "identity of this interface", fields=(
        ("node_id", 0, 8, "this node's id"), ("n_nodes", 8, 9, "number of node ids (peers are 0..n_nodes-1)"))),
    Register("config", 0x01, "r", "transport parameters", fields=(
        ("window", 0, 16, "go-back-N window (frames per peer)"),
        ("max_payload", 16, 16, "largest message payload in bytes"))),
    Register("timeout", 0x02, "r", "retransmit timeout in cycles"),
    *[Register(name, 0x04 + i, "r", doc + " (32-bit, wraps)") for i, (name, doc) in enumerate(_COUNTERS)],
])


@dataclass(frozen=True)
class NetIfParams:
    """Parameters of a network interface.

    Parameters
    ----------
    node_id : int
        This node's id, ``0 <= node_id < n_nodes``; stamped as the source of every frame sent.
    n_nodes : int
        Node ids are ``0 .. n_nodes-1`` (2..256); one transport state per id other than ``node_id``.
    data_width : int
        Width of the message data beats and of the wire, 32 or 64 bits (24-byte header = whole beats).
    window : int
        Go-back-N window: frames in flight per peer (power of two, 1..4096). Also the number of
        retransmit buffer slots per peer.
    timeout : int
        Cycles without ack progress after which unacknowledged frames are sent again (16 .. 2**24).
        Must exceed the round trip plus the time to send a window of frames.
    max_payload : int
        Largest message payload in bytes (8 .. 4096); longer messages from the component are dropped and
        counted, longer frames from the wire are dropped as oversize.
    rx_buffer_msgs : int
        Receive buffer capacity in full-size messages (1..64); an in-order frame that does not fit is
        dropped (and retransmitted by its sender).
    """
    node_id: int = 0
    n_nodes: int = 4
    data_width: int = 64
    window: int = 16
    timeout: int = 2048
    max_payload: int = 64
    rx_buffer_msgs: int = 4

    def __post_init__(self):
        def check_int(name, lo, hi):
            checks.check_int(f"NetIfParams.{name}", getattr(self, name), lo, hi)
        check_int("n_nodes", 2, 256)
        check_int("node_id", 0, self.n_nodes - 1)
        if self.data_width not in (32, 64):
            raise ValueError(f"NetIfParams.data_width must be 32 or 64, not {self.data_width!r}")
        check_int("window", 1, 4096)
        if not checks.is_pow2(self.window):
            raise ValueError(f"NetIfParams.window must be a power of two, not {self.window!r}")
        check_int("timeout", 16, 1 << 24)
        check_int("max_payload", 8, 4096)
        check_int("rx_buffer_msgs", 1, 64)

    @property
    def beat_bytes(self):
        return self.data_width // 8

    @property
    def hdr_beats(self):
        return HEADER_BYTES // self.beat_bytes

    @property
    def max_payload_beats(self):
        return -(-self.max_payload // self.beat_bytes)

    @property
    def max_frame_beats(self):
        return self.hdr_beats + self.max_payload_beats + 1


def _carries_data(kind, status):
    """RTL version of ``hw.protocol.carries_data``."""
    return ((kind == MsgKind.LINE_WRITE) | (kind == MsgKind.WORD_WRITE) |
            (((kind == MsgKind.LINE_READ_RESP) | (kind == MsgKind.WORD_READ_RESP)) & (status == Status.OK)))


class NetIf(wiring.Component):
    """Reliable network interface (go-back-N over CRC-checked frames).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    tx : In(MessagePort(data_width))
        Messages from the component. ``hdr.dst`` chooses the peer; ``hdr.src`` is ignored (the
        interface stamps its own ``node_id``). Data beats follow as ``ceil(length / beat_bytes)`` beats
        (the count comes from ``length``; bytes past ``length`` are sent as zeros). Stalls while the
        peer's window is full (head-of-line for all peers).
    rx : Out(MessagePort(data_width))
        Messages received, in order and exactly once per peer. ``hdr.src`` is the frame's source,
        ``hdr.dst`` this node. The header is offered when the message (with all its data) has been
        received and checked; the header and data streams are independent FIFOs in the same order.
    m_axis : Out(AXIStreamSignature(data_width))
        Frames to the wire. All beats full except the last (CRC, ``tkeep`` = 0xF).
    s_axis : In(AXIStreamSignature(data_width))
        Frames from the wire. ``tready`` is always high (like a MAC); frames that cannot be stored are
        dropped.
    csr : In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        Identity, parameters and counters (``NETIF_REGISTERS``).
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"NetIf needs NetIfParams, not {params!r}")
        self.params = params
        w = params.data_width
        super().__init__({
            "tx": In(MessagePort(w)),
            "rx": Out(MessagePort(w)),
            "m_axis": Out(AXIStreamSignature(w)),
            "s_axis": In(AXIStreamSignature(w)),
            "csr": In(CSRBusSignature(NETIF_REGISTERS.addr_width)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        w, B = p.data_width, p.beat_bytes
        N, W, MPB = p.n_nodes, p.window, p.max_payload_beats
        HB = p.hdr_beats
        node_w = max(1, ceil_log2(N))
        slot_w = ceil_log2(W)
        idx_w = max(1, ceil_log2(MPB))
        off_w = slot_w + 1                       # offsets 0..W
        keep_all = (1 << B) - 1
        crc_keep = 0xF

        def peer_valid(node):
            return (node < N) & (node != p.node_id)

        # ---------------------------------------------------------------- per-peer transport state
        def per_peer(name, shape, init=0):
            return Array(Signal(shape, name=f"{name}_{i}", init=init) for i in range(N))
        base = per_peer("base", SEQ_WIDTH)        # oldest unacknowledged sequence number
        count = per_peer("count", off_w)           # frames stored (unacked), 0..W
        sent = per_peer("sent", off_w)             # frames of those already sent since the last go-back
        high = per_peer("high", off_w)             # frames of those ever sent (beyond: first transmission)
        timer = per_peer("timer", ceil_log2(p.timeout + 1))
        expired = per_peer("expired", 1)           # go back to base at the next frame boundary
        expected = per_peer("expected", SEQ_WIDTH)  # next sequence number expected from the peer
        ack_pending = per_peer("ack_pending", 1)
        nak_pending = per_peer("nak_pending", 1)
        nak_done = per_peer("nak_done", 1)         # a nak was sent for the current gap

        # Events, one-cycle pulses, combined below into the state update of each peer.
        store_commit = Signal(N)                   # a message was stored for peer i
        send_start = Signal(N)                     # a MSG frame for peer i starts (sent += 1)
        go_back = Signal(N)                        # sender handles an expiry of peer i
        ack_from = Signal(N)                       # a good frame from peer i carried an ack
        nak_from = Signal(N)
        rx_ack_value = Signal(SEQ_WIDTH)
        rx_event_ack = Signal(N)                   # peer i needs an ack (message frame received)
        rx_event_gap = Signal(N)                   # out-of-order frame from peer i
        rx_advance = Signal(N)                     # in-order message from peer i delivered
        tx_clear_ack = Signal(N)                   # sender put ack state of peer i in a frame
        tx_send_nak = Signal(N)

        # ---------------------------------------------------------------- counters
        ctr = {name: Signal(32, name=f"ctr_{name}") for name, _ in _COUNTERS}
        inc = {name: Signal(name=f"inc_{name}") for name, _ in _COUNTERS}
        for name in ctr:
            if name == "tx_timeouts":
                continue
            with m.If(inc[name]):
                m.d.sync += ctr[name].eq(ctr[name] + 1)

        # ---------------------------------------------------------------- retransmit buffer
        hdr_store = data.StructLayout({
            "kind": MsgKind, "status": Status, "tag": 8, "pid": 16, "vaddr": 64, "length": LENGTH_WIDTH})
        m.submodules.hdr_mem = hdr_mem = Memory(shape=hdr_store, depth=N * W, init=[])
        m.submodules.dat_mem = dat_mem = Memory(shape=w, depth=N * W * (1 << idx_w), init=[])
        hdr_wr = hdr_mem.write_port()
        dat_wr = dat_mem.write_port()
        hdr_rd = hdr_mem.read_port(domain="comb")
        dat_rd = dat_mem.read_port(domain="comb")

        # ---------------------------------------------------------------- sender (frames to the wire)
        cur_peer = Signal(node_w)
        cur_slot = Signal(max(1, slot_w))
        cur_type = Signal(FrameType, init=FrameType.ACK)
        cur_seq = Signal(SEQ_WIDTH)
        cur_ack = Signal(SEQ_WIDTH)
        cur_nak = Signal()
        beat = Signal(range(max(HB, MPB) + 1))
        crc = Signal(32, init=0xFFFFFFFF)
        sending = Signal()                         # a frame is being sent (cur_* valid)

        slot_addr = Cat(cur_slot[:slot_w], cur_peer) if slot_w else cur_peer
        m.d.comb += hdr_rd.addr.eq(slot_addr)
        stored = hdr_rd.data
        cur_carries = (cur_type == FrameType.MSG) & _carries_data(stored.kind, stored.status)
        cur_pay_beats = Mux(cur_carries, (stored.length + (B - 1)) >> ceil_log2(B), 0)

        is_msg = cur_type == FrameType.MSG
        hdr_out = Signal(FrameHeader())
        m.d.comb += hdr_out.eq(layout_cat(FrameHeader(), {
            "dst": cur_peer, "src": p.node_id, "type": cur_type, "seq": cur_seq, "ack": cur_ack, "nak": cur_nak,
            "kind": Mux(is_msg, stored.kind.as_value(), 0), "status": Mux(is_msg, stored.status.as_value(), 0),
            "tag": Mux(is_msg, stored.tag, 0), "pid": Mux(is_msg, stored.pid, 0),
            "length": Mux(is_msg, stored.length, 0), "vaddr": Mux(is_msg, stored.vaddr, 0),
        }))
        m.d.comb += dat_rd.addr.eq(Cat(beat[:idx_w], slot_addr))

        # Choice of the next frame: round robin over peers with data to send or an ack/nak owed.
        want_data = Signal(N)
        want_any = Signal(N)
        for i in range(N):
            if i == p.node_id:
                continue
            m.d.comb += [
                want_data[i].eq(sent[i] < count[i]),
                want_any[i].eq((sent[i] < count[i]) | ack_pending[i] | nak_pending[i]),
            ]
        any_expired = Signal()
        m.d.comb += any_expired.eq(Cat(*expired).any())
        rr = Signal(node_w)
        pick = Signal(node_w)
        pick_valid = Signal()
        with m.Switch(rr):
            for last in range(N):
                with m.Case(last):
                    order = [(last + 1 + k) % N for k in range(N)]
                    for cand in reversed(order):  # the first in order wins: assign it last
                        with m.If(want_any[cand]):
                            m.d.comb += [pick.eq(cand), pick_valid.eq(1)]

        def start_frame():
            """Latch the chosen frame (pick) so that its first beat goes out in the next cycle."""
            is_data = want_data.bit_select(pick, 1)
            slot_seq = base[pick] + sent[pick]
            m.d.sync += [
                cur_peer.eq(pick), cur_seq.eq(Mux(is_data, slot_seq, 0)), cur_ack.eq(expected[pick]),
                cur_nak.eq(nak_pending[pick]), cur_type.eq(Mux(is_data, FrameType.MSG, FrameType.ACK)),
                cur_slot.eq(slot_seq[:max(1, slot_w)] if slot_w else 0), rr.eq(pick), beat.eq(0),
                crc.eq(0xFFFFFFFF), sending.eq(1),
            ]
            m.d.comb += [
                send_start.bit_select(pick, 1).eq(is_data),
                tx_clear_ack.bit_select(pick, 1).eq(1),
                tx_send_nak.bit_select(pick, 1).eq(nak_pending[pick]),
                inc["tx_retransmits"].eq(is_data & (sent[pick] < high[pick])),
                inc["tx_acks"].eq(~is_data),
                inc["naks_sent"].eq(nak_pending[pick]),
            ]

        axis_out = self.m_axis
        with m.FSM(name="sender"):
            with m.State("IDLE"):
                m.d.sync += sending.eq(0)
                with m.If(any_expired):
                    # Go back to the oldest unacknowledged frame of one expired peer per cycle.
                    for i in reversed(range(N)):
                        with m.If(expired[i]):
                            m.d.comb += go_back.eq(1 << i)
                with m.Elif(pick_valid):
                    start_frame()
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.comb += [
                    axis_out.tvalid.eq(1), axis_out.tkeep.eq(keep_all),
                    axis_out.tdata.eq(hdr_out.as_value().word_select(beat[:max(1, ceil_log2(HB))], w)
                                      if HB > 1 else hdr_out.as_value()),
                ]
                with m.If(axis_out.tready):
                    m.d.sync += [crc.eq(crc32_step(crc, axis_out.tdata, B)), beat.eq(beat + 1)]
                    with m.If(beat == HB - 1):
                        m.d.sync += beat.eq(0)
                        with m.If(cur_pay_beats != 0):
                            m.next = "PAYLOAD"
                        with m.Else():
                            m.next = "CRC"
            with m.State("PAYLOAD"):
                m.d.comb += [axis_out.tvalid.eq(1), axis_out.tkeep.eq(keep_all), axis_out.tdata.eq(dat_rd.data)]
                with m.If(axis_out.tready):
                    m.d.sync += [crc.eq(crc32_step(crc, axis_out.tdata, B)), beat.eq(beat + 1)]
                    with m.If(beat == cur_pay_beats - 1):
                        m.next = "CRC"
            with m.State("CRC"):
                m.d.comb += [axis_out.tvalid.eq(1), axis_out.tkeep.eq(crc_keep), axis_out.tlast.eq(1),
                             axis_out.tdata.eq(~crc)]
                with m.If(axis_out.tready):
                    m.d.comb += inc["tx_frames"].eq(1)
                    # Chain the next frame without a gap unless a go-back is due.
                    with m.If(~any_expired & pick_valid):
                        start_frame()
                        m.next = "HEADER"
                    with m.Else():
                        m.d.sync += sending.eq(0)
                        m.next = "IDLE"

        # ---------------------------------------------------------------- store (component -> buffer)
        tx = self.tx
        st_peer = Signal(node_w)
        st_slot = Signal(max(1, slot_w))
        st_beats = Signal(range(MPB + 1))
        st_beat = Signal(range(MPB + 1))
        st_length = Signal(LENGTH_WIDTH)
        in_hdr = tx.hdr.payload
        in_carries = _carries_data(in_hdr.kind, in_hdr.status)
        in_bad = ~peer_valid(in_hdr.dst) | (in_carries & (in_hdr.length > p.max_payload))
        in_peer = in_hdr.dst[:node_w]
        in_slot_seq = base[in_peer] + count[in_peer]
        in_slot = in_slot_seq[:max(1, slot_w)] if slot_w else C(0, 1)
        slot_busy = sending & (cur_type == FrameType.MSG) & (cur_peer == in_peer) & (cur_slot == in_slot)
        with m.FSM(name="store"):
            with m.State("IDLE"):
                with m.If(in_bad):
                    m.d.comb += tx.hdr.ready.eq(1)
                    with m.If(tx.hdr.valid):
                        m.d.comb += inc["tx_dropped"].eq(1)
                        with m.If(in_carries & (in_hdr.length != 0)):
                            m.next = "DRAIN"
                with m.Elif((count[in_peer] < W) & ~slot_busy):
                    m.d.comb += tx.hdr.ready.eq(1)
                    with m.If(tx.hdr.valid):
                        nbeats = Mux(in_carries, (in_hdr.length + (B - 1)) >> ceil_log2(B), 0)
                        m.d.comb += [
                            hdr_wr.addr.eq(Cat(in_slot[:slot_w], in_peer) if slot_w else in_peer),
                            hdr_wr.en.eq(1),
                            hdr_wr.data.kind.eq(in_hdr.kind), hdr_wr.data.status.eq(in_hdr.status),
                            hdr_wr.data.tag.eq(in_hdr.tag), hdr_wr.data.pid.eq(in_hdr.pid),
                            hdr_wr.data.vaddr.eq(in_hdr.vaddr), hdr_wr.data.length.eq(in_hdr.length),
                            inc["tx_msgs"].eq(1),
                        ]
                        m.d.sync += [st_peer.eq(in_peer), st_slot.eq(in_slot), st_beats.eq(nbeats),
                                     st_beat.eq(0), st_length.eq(in_hdr.length)]
                        with m.If(nbeats == 0):
                            m.d.comb += store_commit.bit_select(in_peer, 1).eq(1)
                        with m.Else():
                            m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += tx.data.ready.eq(1)
                keep_bytes = Cat(*[(st_beat * B + i) < st_length for i in range(B)])
                masked = Cat(*[Mux(keep_bytes[i], tx.data.payload.data[8 * i:8 * i + 8], 0) for i in range(B)])
                with m.If(tx.data.valid):
                    m.d.comb += [
                        dat_wr.addr.eq(Cat(st_beat[:idx_w], st_slot[:slot_w], st_peer) if slot_w
                                       else Cat(st_beat[:idx_w], st_peer)),
                        dat_wr.data.eq(masked), dat_wr.en.eq(1),
                    ]
                    m.d.sync += st_beat.eq(st_beat + 1)
                    with m.If(st_beat == st_beats - 1):
                        m.d.comb += store_commit.bit_select(st_peer, 1).eq(1)
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += tx.data.ready.eq(1)
                with m.If(tx.data.valid & tx.data.payload.last):
                    m.next = "IDLE"

        # ---------------------------------------------------------------- receiver (wire -> component)
        s = self.s_axis
        m.d.comb += s.tready.eq(1)
        ring_depth = 1 << ceil_log2(p.rx_buffer_msgs * MPB)
        ring_w = ceil_log2(ring_depth)
        m.submodules.ring = ring = Memory(shape=data.StructLayout({"data": w, "last": 1}), depth=ring_depth, init=[])
        ring_wr = ring.write_port()
        ring_rd = ring.read_port(domain="comb")
        wr_commit = Signal(ring_w + 1)
        rd_ptr = Signal(ring_w + 1)
        m.submodules.hdr_fifo = hdr_fifo = SyncFIFOBuffered(width=MsgHeader().size, depth=max(8, 2 * p.rx_buffer_msgs))

        rbeat = Signal(range(HB + MPB + 3))        # beats of the current frame, saturating
        rcrc = Signal(32, init=0xFFFFFFFF)
        rkeep_bad = Signal()
        rspace = Signal()                          # room for a full message when the frame started
        hdr_reg = Signal(HB * w)
        rhdr = data.View(FrameHeader(), hdr_reg)
        r_carries = (rhdr.type == FrameType.MSG) & _carries_data(rhdr.kind, rhdr.status)
        r_len_ok = rhdr.length <= p.max_payload
        r_pay = Signal(range(MPB + 1))
        m.d.comb += r_pay.eq(Mux(r_carries & r_len_ok, (rhdr.length + (B - 1)) >> ceil_log2(B), 0))

        beat_in = s.tvalid  # tready is always 1
        first = rbeat == 0
        free = ring_depth - (wr_commit - rd_ptr)[:ring_w + 1]
        space_now = Mux(first, free >= MPB, rspace)
        with m.If(beat_in):
            with m.If(first):
                m.d.sync += rspace.eq(free >= MPB)
            with m.If(rbeat < HB):
                for i in range(HB):
                    with m.If(rbeat == i):
                        m.d.sync += hdr_reg[i * w:(i + 1) * w].eq(s.tdata)
            with m.If(~s.tlast):
                m.d.sync += rcrc.eq(crc32_step(rcrc, s.tdata, B))
                with m.If(s.tkeep != keep_all):
                    m.d.sync += rkeep_bad.eq(1)
                with m.If(rbeat != HB + MPB + 2):
                    m.d.sync += rbeat.eq(rbeat + 1)
            # Payload beats go to the ring past the committed data; they count only once committed.
            pay_idx = (rbeat - HB)[:ceil_log2(MPB + 3) + 1]
            with m.If(~s.tlast & (rbeat >= HB) & (pay_idx < r_pay) & space_now):
                m.d.comb += [
                    ring_wr.en.eq(1), ring_wr.addr.eq((wr_commit + pay_idx)[:ring_w]),
                    ring_wr.data.data.eq(s.tdata), ring_wr.data.last.eq(pay_idx == r_pay - 1),
                ]

        # Verdict at the last beat, in the order docs/protocol.md gives.
        n_pay_beats = rbeat - HB
        v_trunc0 = rbeat < HB
        v_keep = rkeep_bad | (s.tkeep != crc_keep)
        v_crc = s.tdata[:32] != ~rcrc
        v_malformed = ((rhdr.type != FrameType.MSG) & (rhdr.type != FrameType.ACK)) | (rhdr.rsv1 != 0) | \
                      (rhdr.rsv2 != 0)
        v_len = r_carries & ~r_len_ok
        v_short = n_pay_beats < r_pay
        v_long = n_pay_beats > r_pay
        v_misrouted = (rhdr.dst != p.node_id) | ~peer_valid(rhdr.src)
        src = rhdr.src[:node_w]
        seq_delta = Signal(SEQ_WIDTH)
        m.d.comb += seq_delta.eq(rhdr.seq - expected[src])

        with m.If(beat_in & s.tlast):
            m.d.sync += [rbeat.eq(0), rcrc.eq(0xFFFFFFFF), rkeep_bad.eq(0)]
            m.d.comb += inc["rx_frames"].eq(1)
            with m.If(v_trunc0):
                m.d.comb += inc["rx_drop_truncated"].eq(1)
            with m.Elif(v_keep):
                m.d.comb += inc["rx_drop_malformed"].eq(1)
            with m.Elif(v_crc):
                m.d.comb += inc["rx_drop_crc"].eq(1)
            with m.Elif(v_malformed):
                m.d.comb += inc["rx_drop_malformed"].eq(1)
            with m.Elif(v_len):
                m.d.comb += inc["rx_drop_oversize"].eq(1)
            with m.Elif(v_short):
                m.d.comb += inc["rx_drop_truncated"].eq(1)
            with m.Elif(v_long):
                m.d.comb += inc["rx_drop_oversize"].eq(1)
            with m.Elif(v_misrouted):
                m.d.comb += inc["rx_drop_misrouted"].eq(1)
            with m.Else():
                # A good frame: its ack (and nak) counts whatever its sequence number.
                m.d.comb += [ack_from.bit_select(src, 1).eq(1), rx_ack_value.eq(rhdr.ack),
                             nak_from.bit_select(src, 1).eq(rhdr.nak), inc["naks_received"].eq(rhdr.nak)]
                with m.If(rhdr.type == FrameType.ACK):
                    m.d.comb += inc["rx_acks"].eq(1)
                with m.Else():
                    m.d.comb += rx_event_ack.bit_select(src, 1).eq(1)
                    with m.If(seq_delta == 0):
                        with m.If(rspace & hdr_fifo.w_rdy):
                            m.d.comb += [
                                rx_advance.bit_select(src, 1).eq(1), inc["rx_msgs"].eq(1), hdr_fifo.w_en.eq(1),
                            ]
                            m.d.sync += wr_commit.eq(wr_commit + r_pay)
                        with m.Else():
                            m.d.comb += inc["rx_drop_nobuf"].eq(1)
                    with m.Else():
                        m.d.comb += inc["rx_dup"].eq(1)
                        with m.If(~seq_delta[-1]):   # ahead of expected: a frame was lost
                            m.d.comb += rx_event_gap.bit_select(src, 1).eq(1)

        out_hdr = Signal(MsgHeader())
        m.d.comb += [
            out_hdr.kind.eq(rhdr.kind), out_hdr.status.eq(rhdr.status), out_hdr.src.eq(rhdr.src),
            out_hdr.dst.eq(rhdr.dst), out_hdr.tag.eq(rhdr.tag), out_hdr.pid.eq(rhdr.pid),
            out_hdr.vaddr.eq(rhdr.vaddr), out_hdr.length.eq(rhdr.length),
            hdr_fifo.w_data.eq(out_hdr.as_value()),
            self.rx.hdr.valid.eq(hdr_fifo.r_rdy), self.rx.hdr.payload.eq(hdr_fifo.r_data),
            hdr_fifo.r_en.eq(self.rx.hdr.ready),
        ]
        m.d.comb += [
            ring_rd.addr.eq(rd_ptr[:ring_w]),
            self.rx.data.valid.eq(rd_ptr != wr_commit),
            self.rx.data.payload.data.eq(ring_rd.data.data), self.rx.data.payload.last.eq(ring_rd.data.last),
        ]
        with m.If(self.rx.data.valid & self.rx.data.ready):
            m.d.sync += rd_ptr.eq(rd_ptr + 1)

        # ---------------------------------------------------------------- per-peer state update
        fires = []
        for i in range(N):
            if i == p.node_id:
                continue
            d = Signal(SEQ_WIDTH, name=f"ack_delta_{i}")
            adv = Signal(off_w, name=f"ack_adv_{i}")
            m.d.comb += d.eq(rx_ack_value - base[i])
            with m.If(ack_from[i] & (d <= count[i])):
                m.d.comb += adv.eq(d[:off_w])
            s1 = sent[i] + send_start[i]
            h1 = Mux(send_start[i] & (high[i] <= sent[i]), sent[i] + 1, high[i])
            m.d.sync += [
                base[i].eq(base[i] + adv),
                count[i].eq(count[i] - adv + store_commit[i]),
                sent[i].eq(Mux(go_back[i], 0, Mux(s1 > adv, s1 - adv, 0))),
                high[i].eq(Mux(h1 > adv, h1 - adv, 0)),
            ]
            # Retransmit timer: runs while frames are in flight, restarts on ack progress and go-back.
            fire = Signal(name=f"timeout_fire_{i}")
            with m.If((sent[i] == 0) | (adv != 0) | go_back[i] | expired[i]):
                m.d.sync += timer[i].eq(0)
            with m.Elif(timer[i] == p.timeout - 1):
                m.d.sync += timer[i].eq(0)
                m.d.comb += fire.eq(1)
            with m.Else():
                m.d.sync += timer[i].eq(timer[i] + 1)
            fires.append(fire)
            with m.If(go_back[i]):
                m.d.sync += expired[i].eq(0)
            with m.Elif(fire | (nak_from[i] & (count[i] != adv))):
                m.d.sync += expired[i].eq(1)
            # Receive side of the peer.
            with m.If(rx_advance[i]):
                m.d.sync += [expected[i].eq(expected[i] + 1), nak_done[i].eq(0)]
            with m.If(rx_event_ack[i]):
                m.d.sync += ack_pending[i].eq(1)
            with m.Elif(tx_clear_ack[i]):
                m.d.sync += ack_pending[i].eq(0)
            with m.If(rx_event_gap[i] & ~nak_done[i] & ~tx_send_nak[i]):
                m.d.sync += nak_pending[i].eq(1)
            with m.Elif(tx_send_nak[i]):
                m.d.sync += [nak_pending[i].eq(0), nak_done[i].eq(1)]
        # Several peers may time out in the same cycle: count them all.
        n_fires = sum(fires[1:], fires[0])
        m.d.sync += ctr["tx_timeouts"].eq(ctr["tx_timeouts"] + n_fires)

        # ---------------------------------------------------------------- CSR
        m.submodules.csr_dec = dec = CSRDecoder(NETIF_REGISTERS)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        m.d.comb += [
            dec.regs["id"].r_data.eq(p.node_id | (N << 8)),
            dec.regs["config"].r_data.eq(W | (p.max_payload << 16)),
            dec.regs["timeout"].r_data.eq(p.timeout),
        ]
        for name in ctr:
            m.d.comb += dec.regs[name].r_data.eq(ctr[name])
        return m


def default_netif():
    """The catalogued configuration: node 0 of 4, 64-bit wire, window 16, 64-byte lines."""
    return NetIf(NetIfParams())
