"""FrameSender (hw/network/frame_sender.py): frame choice, framing checked with the codec, back-to-back frames,
events and counters, go-back-N, backpressure."""

import random

from firmware import protocol_codec as codec
from hw.network.frame_sender import FrameSender
from hw.network.params import NetIfParams
from hw.protocol import MsgKind, Status
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=0, n_nodes=3, window=4, max_payload=16)
COUNTERS = ("tx_frames", "tx_retransmits", "tx_acks", "naks_sent")


def stored_message(peer, slot):
    """What the fake store holds in (peer, slot): a 12-byte line write for peer 2, a line read for peer 1."""
    kind, length = (MsgKind.LINE_WRITE, 12) if peer == 2 else (MsgKind.LINE_READ, 64)
    return {"kind": kind, "status": Status.OK, "tag": 16 * peer + slot, "pid": 0x77, "vaddr": 0x1000 * slot,
            "length": length}


def stored_beat(peer, slot, beat):
    return 0x0101_0101_0101_0101 * (16 * peer + 4 * slot + beat)


class PeerModel:
    """The peer state the sender sees, updated from its events (a few fields of PeerState)."""

    def __init__(self, unsent, acks, naks=(), retransmit=False):
        self.unsent = dict(unsent)            # peer -> frames still to send
        self.seq = {p: 10 * p for p in range(P.n_nodes)}
        self.acks = dict(acks)                # peer -> ack value owed (None: none owed)
        self.naks = set(naks)
        self.retransmit = retransmit
        self.expired = 0

    def drive(self, ctx, dut):
        ctx.set(dut.unsent, sum(1 << p for p, n in self.unsent.items() if n))
        owed = [p for p in range(P.n_nodes) if self.unsent.get(p) or self.acks.get(p) is not None or p in self.naks]
        ctx.set(dut.owed, sum(1 << p for p in owed))
        ctx.set(dut.expired, self.expired)
        peer = ctx.get(dut.peer)
        ctx.set(dut.seq, self.seq[peer])
        ctx.set(dut.ack, self.acks.get(peer) or 0)
        ctx.set(dut.nak, peer in self.naks)
        ctx.set(dut.retransmit, self.retransmit)

    def update(self, ctx, dut):
        started, ack_sent, nak_sent = ctx.get(dut.frame_started), ctx.get(dut.ack_sent), ctx.get(dut.nak_sent)
        for p in range(P.n_nodes):
            if started >> p & 1:
                self.unsent[p] -= 1
                self.seq[p] += 1
            if ack_sent >> p & 1:
                self.acks[p] = None
            if nak_sent >> p & 1:
                self.naks.discard(p)
        self.expired &= ~ctx.get(dut.go_back)


async def run_sender(ctx, dut, model, cycles, ready=lambda cycle: True, expire_at=None, data_ok=lambda cycle: True):
    """Drive the sender for ``cycles``; return the frames (raw bytes), per-cycle tvalid and event log.

    The fake store answers like the MessageStore: the header combinationally, the data beat addressed in
    the previous cycle (synchronous read), with ``data_ok(cycle)`` saying whether that beat was in yet.
    """
    frames, beats, valid, log = [], [], [], []
    read = None
    for cycle in range(cycles):
        if cycle == expire_at:
            model.expired = 1 << 2
        model.drive(ctx, dut)
        peer, slot = ctx.get(dut.store.peer), ctx.get(dut.store.slot)
        ctx.set(dut.store.hdr, stored_message(peer, slot))
        ok = read is not None and data_ok(cycle)
        ctx.set(dut.store.data, stored_beat(*read) if ok else 0xBAD0_BAD0_BAD0_BAD0)
        ctx.set(dut.store.data_ok, ok)
        read = (peer, slot, ctx.get(dut.store.beat))
        ctx.set(dut.m_axis.tready, ready(cycle))
        valid.append(ctx.get(dut.m_axis.tvalid))
        if ctx.get(dut.m_axis.tvalid) and ready(cycle):
            beats.append((ctx.get(dut.m_axis.tdata), ctx.get(dut.m_axis.tkeep)))
            if ctx.get(dut.m_axis.tlast):
                frames.append(codec.from_beats(beats))
                beats = []
        log.append({name: ctx.get(getattr(dut, name)) for name in COUNTERS + ("go_back",)})
        model.update(ctx, dut)
        await ctx.tick()
    return frames, valid, log


def test_frames_round_robin_back_to_back():
    dut = FrameSender(P)
    model = PeerModel(unsent={2: 2}, acks={1: 5}, naks={1})

    async def bench(ctx):
        return await run_sender(ctx, dut, model, 40)

    frames, valid, log = simulate(dut, bench)
    got = [codec.decode(raw, max_payload=64) for raw in frames]
    # Round robin from node 0: node 1 (an ACK frame with its nak), then node 2's two messages.
    assert [(f.type, f.dst, f.src, f.seq, f.ack, f.nak) for f in got] == [
        (codec.TYPE_ACK, 1, 0, 0, 5, 1), (codec.TYPE_MSG, 2, 0, 20, 0, 0), (codec.TYPE_MSG, 2, 0, 21, 0, 0)]
    assert got[1].kind == MsgKind.LINE_WRITE.value and got[1].length == 12 and got[1].tag == 32
    assert got[1].payload == b"".join(stored_beat(2, 0, b).to_bytes(8, "little") for b in (0, 1))[:12]
    assert got[2].tag == 33
    # 4 + 6 + 6 beats with no idle cycle between frames (the first starts one cycle after the choice, which
    # is registered: two cycles after the peers became owed).
    assert valid[:19] == [0, 0] + [1] * 16 + [0]
    assert sum(c["tx_frames"] for c in log) == 3 and sum(c["tx_acks"] for c in log) == 1
    assert sum(c["naks_sent"] for c in log) == 1 and sum(c["tx_retransmits"] for c in log) == 0


def test_go_back_waits_for_frame_end_and_backpressure():
    dut = FrameSender(P)
    model = PeerModel(unsent={2: 3}, acks={}, retransmit=True)
    rng = random.Random(5)
    stalls = [rng.random() < 0.3 for _ in range(200)]

    async def bench(ctx):
        return await run_sender(ctx, dut, model, 200, ready=lambda c: not stalls[c], expire_at=3)

    frames, valid, log = simulate(dut, bench)
    got = [codec.decode(raw, max_payload=64) for raw in frames]
    assert [f.seq for f in got] == [20, 21, 22]
    go_backs = [i for i, c in enumerate(log) if c["go_back"]]
    ends = [i for i, c in enumerate(log) if c["tx_frames"]]
    # Expired during the first frame: it is finished, then node 2 goes back (one cycle, in IDLE).
    assert len(go_backs) == 1 and log[go_backs[0]]["go_back"] == 1 << 2 and go_backs[0] == ends[0] + 1
    assert sum(c["tx_retransmits"] for c in log) == 3


def test_cut_through_waits_for_beats():
    """A payload beat not yet stored (data_ok low) holds tvalid low; the frame resumes with the right beat."""
    dut = FrameSender(P)
    model = PeerModel(unsent={2: 2}, acks={})
    rng = random.Random(11)
    missing = [rng.random() < 0.4 for _ in range(120)]
    stalls = [rng.random() < 0.2 for _ in range(120)]

    async def bench(ctx):
        return await run_sender(ctx, dut, model, 120, ready=lambda c: not stalls[c], data_ok=lambda c: not missing[c])

    frames, valid, log = simulate(dut, bench)
    got = [codec.decode(raw, max_payload=64) for raw in frames]
    assert [(f.seq, f.tag) for f in got] == [(20, 32), (21, 33)]
    for f, slot in zip(got, (0, 1)):
        assert f.payload == b"".join(stored_beat(2, slot, b).to_bytes(8, "little") for b in (0, 1))[:12]
    # The first frame starts one cycle after the choice; missing beats leave idle cycles inside the frames.
    last = len(valid) - 1 - valid[::-1].index(1)
    assert valid.index(1) == 2 and 0 in valid[2:last]   # (the choice is registered)
    assert sum(c["tx_frames"] for c in log) == 2


class StoringPeerModel(PeerModel):
    """PeerModel with messages arriving from the store: ``stores`` maps a cycle to the peer whose message is
    stored in it (the ``stored`` event, with ``stored_peer``); like PeerState, the peer has the frame unsent from the next cycle."""

    def __init__(self, stores, **kwargs):
        super().__init__(**kwargs)
        self.stores, self.cycle = dict(stores), 0

    def drive(self, ctx, dut):
        peer = self.stores.get(self.cycle)
        ctx.set(dut.stored, 0 if peer is None else 1 << peer)
        # The store gives the offered header's destination in every cycle, an event or not: one without
        # must not be taken.
        ctx.set(dut.stored_peer, self.cycle % P.n_nodes if peer is None else peer)
        super().drive(ctx, dut)

    def update(self, ctx, dut):
        super().update(ctx, dut)
        peer = self.stores.get(self.cycle)
        if peer is not None:
            self.unsent[peer] = self.unsent.get(peer, 0) + 1
        self.cycle += 1


def test_stored_message_to_an_idle_sender_leaves_two_cycles_later():
    """Nobody owed: the stored message's peer is the registered choice at once (first beat 2 cycles after the
    stored event, not 3), for every peer; the frame is the peer's next MSG frame."""
    for peer in (1, 2):
        dut = FrameSender(P)
        model = StoringPeerModel({5: peer}, unsent={}, acks={})

        async def bench(ctx, dut=dut, model=model):
            return await run_sender(ctx, dut, model, 30)

        frames, valid, log = simulate(dut, bench)
        assert valid.index(1) == 5 + 2, (peer, valid)
        got = [codec.decode(raw, max_payload=64) for raw in frames]
        assert [(f.type, f.dst, f.seq) for f in got] == [(codec.TYPE_MSG, peer, 10 * peer)]


def test_stored_message_keeps_the_round_robin_order():
    """A peer already owed a frame is chosen before the one whose message is stored in the same cycle (the
    round robin after node 0 would pick node 1 anyway; the stored message goes next), and a message stored
    while a frame is being sent goes right behind it."""
    dut = FrameSender(P)
    model = StoringPeerModel({0: 2, 3: 1}, unsent={}, acks={1: 7})

    async def bench(ctx):
        return await run_sender(ctx, dut, model, 40)

    frames, valid, log = simulate(dut, bench)
    got = [codec.decode(raw, max_payload=64) for raw in frames]
    # Node 1's ACK frame (owed at cycle 0: chosen at 0, out from 2), node 2's message, node 1's message.
    assert [(f.type, f.dst) for f in got] == [(codec.TYPE_ACK, 1), (codec.TYPE_MSG, 2), (codec.TYPE_MSG, 1)]
    assert valid[:2] == [0, 0] and valid[2:2 + 4 + 6 + 4] == [1] * 14
