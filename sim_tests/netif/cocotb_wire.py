"""cocotb tests of one NetIf whose wire side is driven by cocotbext-axi's AXI-Stream models, unchanged.

The test plays the peers (nodes 1..n-1) with the golden transport model (emu/models/transport.py) and
the Python codec: it decodes every frame the interface sends, acknowledges like a real peer (and
sometimes "loses" frames to force retransmissions), and sends it good, duplicate, reordered, corrupted,
misrouted, truncated, oversize and malformed frames whose fate the model predicts. Idle insertion and
backpressure on every stream.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from emu.models.transport import ReceiverModel
from firmware import protocol_codec as codec
from hw.network.registers import NETIF_REGISTERS
from sim_tests.lib.streams import axis_sink
from sim_tests.netif.msgs import Msg, MsgDriver, Scoreboard, random_msg, read_counters, reset

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))
P = CFG.get("netif", {})
NODE = P.get("node_id", 0)
N_NODES = P.get("n_nodes", 4)
MAXP = P.get("max_payload", 64)
W = P.get("data_width", 64)
BB = W // 8


def pause_gen(rng, prob):
    while True:
        yield rng.random() < prob


async def setup(dut, rng, robust_sink=False):
    """cocotbext-axi source on ``s_axis`` (with idle cycles: its ``tready`` is constant, so sampling
    after the rising edge is right on Verilator too), and on ``m_axis`` either cocotbext-axi's sink
    without pauses, or (``robust_sink``) our falling-edge sink with backpressure: cocotbext-axi samples
    ``tvalid``/``tdata`` after the rising edge, which on Verilator are already the next beat's, so its
    pauses would drop or repeat beats of a port whose ``tvalid``/``tdata`` come from state."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_"), dut.clk, dut.rst)
    src.set_pause_generator(pause_gen(random.Random(rng.random()), CFG.get("idle", 0.3)))
    if robust_sink:
        sink = FrameSink(dut, "m_axis", dut.clk, backpressure_prob=CFG.get("backpressure", 0.3),
                         rng=random.Random(rng.random()))
    else:
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_"), dut.clk, dut.rst)
    await reset(dut, dut.clk)
    return src, sink


class FrameSink:
    """Collects whole frames (as bytes, by tkeep) from an AXI-Stream port with backpressure."""

    def __init__(self, dut, prefix, clk, **kw):
        self.frames = []
        self._beats = []
        self._event = Event()
        self.sink = axis_sink(dut, prefix, clk, callback=self._on_beat, **kw)

    def _on_beat(self, beat):
        self._beats.append(beat)
        if beat[2]:
            self.frames.append(codec.from_beats(self._beats, BB))
            self._beats = []
            self._event.set()

    def empty(self):
        return not self.frames

    def recv_nowait(self):
        return self.frames.pop(0)

    async def recv(self):
        while not self.frames:
            self._event.clear()
            await self._event.wait()
        return self.frames.pop(0)


@cocotb.test(timeout_time=CFG.get("timeout_us", 100_000), timeout_unit="us")
async def transmit(dut):
    """Messages from the component reach their peers as frames the codec decodes, in sequence order,
    exactly once after duplicate removal, retransmitted (identically) when the test drops frames."""
    rng = random.Random(SEED)
    src, sink = await setup(dut, rng, robust_sink=True)
    drv = MsgDriver(dut, "tx", dut.clk, W, random.Random(rng.random()), idle_prob=0.2)
    peers = [n for n in range(N_NODES) if n != NODE]
    n_msgs = CFG["n_msgs"]
    sent = {p: [] for p in peers}
    for _ in range(n_msgs):
        dst = rng.choice(peers)
        msg = random_msg(rng, dst, MAXP)
        sent[dst].append(msg)
        drv.send(msg)
    peer_rx = {p: ReceiverModel(node_id=p, n_nodes=N_NODES, max_payload=MAXP, beat_bytes=BB) for p in peers}
    loss = CFG.get("test_loss", 0.05)
    first_seen = {}        # (peer, seq) -> bytes of the frame without the ack field
    lost = retrans = acks_seen = 0
    while sum(len(peer_rx[p].delivered) for p in peers) < n_msgs:
        raw = await sink.recv()
        f = codec.decode(raw, BB, MAXP)          # raises if the interface sent a bad frame
        assert f.src == NODE and f.dst in peers, f
        if f.type == codec.TYPE_ACK:
            acks_seen += 1
            continue
        key = (f.dst, f.seq)
        body = (f.kind, f.status, f.tag, f.pid, f.vaddr, f.length, f.payload)
        if key in first_seen:
            retrans += 1
            # A retransmission carries the same message (seq numbers wrap only after 65536 frames).
            assert first_seen[key] == body, f"retransmitted frame {key} differs"
        else:
            first_seen[key] = body
        if rng.random() < loss:
            lost += 1
            continue
        peer_rx[f.dst].on_bytes(raw)
        # The peer acknowledges cumulatively with a standalone ACK frame.
        ack = codec.Frame(dst=NODE, src=f.dst, type=codec.TYPE_ACK, ack=peer_rx[f.dst].expected.get(NODE, 0))
        await src.send(codec.encode(ack, BB))
    for p in peers:
        got = peer_rx[p].delivered
        assert len(got) == len(sent[p])
        for i, (g, m) in enumerate(zip(got, sent[p])):
            assert (g.kind, g.status, g.tag, g.pid, g.vaddr, g.length, g.payload) == \
                   (m.kind, m.status, m.tag, m.pid, m.vaddr, m.length, m.payload), f"peer {p} message {i}"
    # Frames already on their way when the last ack arrived still count.
    for _ in range(CFG["netif"]["timeout"] + 200):
        await RisingEdge(dut.clk)
        while not sink.empty():
            f = codec.decode(sink.recv_nowait(), BB, MAXP)
            retrans += f.type == codec.TYPE_MSG
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert ctr["tx_msgs"] == n_msgs and ctr["tx_dropped"] == 0, ctr
    assert ctr["tx_retransmits"] == retrans, (ctr, retrans)
    if lost:
        assert ctr["tx_timeouts"] > 0 and retrans > 0, ctr
    dut._log.info("transmit: %d messages, %d frames dropped by the test, %d retransmissions, %d timeouts",
                  n_msgs, lost, retrans, ctr["tx_timeouts"])


def corrupt(rng, raw):
    b = bytearray(raw)
    i = rng.randrange(len(b))
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


@cocotb.test(timeout_time=CFG.get("timeout_us", 100_000), timeout_unit="us")
async def receive(dut):
    """Frames from cocotbext-axi: the RTL delivers exactly what the golden receiver model delivers, and
    its counters equal the model's."""
    rng = random.Random(SEED + 1)
    src, sink = await setup(dut, rng)
    board = Scoreboard(dut, "rx", dut.clk, W, random.Random(rng.random()), node_id=NODE, backpressure_prob=0.2)
    model = ReceiverModel(node_id=NODE, n_nodes=N_NODES, max_payload=MAXP, beat_bytes=BB)
    peers = [n for n in range(N_NODES) if n != NODE]
    next_seq = {p: 0 for p in peers}
    history = {p: [] for p in peers}
    n_frames = CFG["n_frames"]
    kinds = {}

    def good_frame(p):
        msg = random_msg(rng, NODE, MAXP)
        f = codec.Frame(dst=NODE, src=p, type=codec.TYPE_MSG, kind=msg.kind, status=msg.status, seq=next_seq[p],
                        ack=0, tag=msg.tag, pid=msg.pid, length=msg.length, vaddr=msg.vaddr,
                        payload=msg.payload)
        return msg, codec.encode(f, BB)

    for _ in range(n_frames):
        p = rng.choice(peers)
        what = rng.choices(["good", "dup", "ahead", "crc", "misrouted", "spoofed", "truncated", "oversize",
                            "toolong", "malformed", "keep", "ack"],
                           weights=[40, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3])[0]
        kinds[what] = kinds.get(what, 0) + 1
        tkeep = None
        if what == "good":
            msg, raw = good_frame(p)
        elif what == "dup" and history[p]:
            raw = rng.choice(history[p][-20:])
        elif what == "ahead":
            f = codec.Frame(dst=NODE, src=p, kind=0, length=64, seq=(next_seq[p] + rng.randrange(1, 8)) % 65536)
            raw = codec.encode(f, BB)
        elif what == "crc":
            raw = corrupt(rng, good_frame(p)[1])
        elif what == "misrouted":
            f = codec.Frame(dst=rng.choice([n for n in range(256) if n != NODE]), src=p, kind=0, seq=next_seq[p])
            raw = codec.encode(f, BB)
        elif what == "spoofed":
            f = codec.Frame(dst=NODE, src=rng.choice([NODE, N_NODES, 255]), kind=0, seq=0)
            raw = codec.encode(f, BB)
        elif what == "truncated":
            full = good_frame(p)[1]
            cut = rng.randrange(1, (len(full) - 4) // BB) * BB     # strictly shorter than the frame
            body = full[:cut]
            # with a recomputed CRC (short payload), or just cut (never empty: that is no frame)
            raw = body + codec.zlib.crc32(body).to_bytes(4, "little") if rng.random() < 0.5 \
                else full[:max(cut - 4, 1)]
        elif what == "oversize":
            f = codec.Frame(dst=NODE, src=p, kind=1, length=MAXP + 8 * rng.randrange(1, 4), seq=next_seq[p])
            f.payload = bytes(f.length)
            raw = codec.encode(f, BB)
        elif what == "toolong":
            body = good_frame(p)[1][:-4] + bytes(BB * rng.randrange(1, 3))
            raw = body + codec.zlib.crc32(body).to_bytes(4, "little")
        elif what == "malformed":
            body = bytearray(good_frame(p)[1][:-4])
            body[rng.choice([2, 9, 14])] ^= 0x40
            raw = bytes(body) + codec.zlib.crc32(bytes(body)).to_bytes(4, "little")
        elif what == "keep":
            raw = good_frame(p)[1]
            tkeep = [1] * len(raw)
            tkeep[rng.randrange(len(raw) - 4)] = 0
        else:
            raw = codec.encode(codec.Frame(dst=NODE, src=p, type=codec.TYPE_ACK, ack=0), BB)
        # Model first (beats as the wire carries them), then the wire.
        frame = AxiStreamFrame(raw, tkeep=tkeep)
        beats = []
        for i in range(0, len(raw), BB):
            chunk = raw[i:i + BB]
            keep = 0
            for j in range(len(chunk)):
                keep |= (tkeep[i + j] if tkeep else 1) << j
            beats.append((int.from_bytes(chunk, "little"), keep))
        verdict = model.on_beats(beats)
        if verdict == "deliver":
            history[p].append(raw)
            next_seq[p] = (next_seq[p] + 1) % 65536
            d = model.delivered[-1]     # what the model delivers is what the RTL must deliver
            board.expect_from(p, Msg(d.kind, d.status, d.dst, d.tag, d.pid, d.vaddr, d.length, d.payload))
        await src.send(frame)
    await src.wait()
    for _ in range(3000):
        await RisingEdge(dut.clk)
        if board.done():
            break
    assert board.done(), f"delivered {board.received} of {len(model.delivered)}"
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert ctr["rx_drop_nobuf"] == 0, ctr
    for name, value in model.counters.items():
        assert ctr[name] == value, f"counter {name}: RTL {ctr[name]}, model {value} ({ctr})"
    # The interface acknowledges what it delivered: the last ack sent to each peer is the model's.
    last_ack = {}
    while not sink.empty():
        f = codec.decode(bytes(sink.recv_nowait().tdata), BB, MAXP)
        last_ack[f.dst] = f.ack
    for p in peers:
        if model.expected.get(p, 0):
            assert last_ack.get(p) == model.expected[p], (p, last_ack, model.expected)
    dut._log.info("receive: %s; counters %s", kinds, model.counters)


@cocotb.test(timeout_time=CFG.get("timeout_us", 100_000), timeout_unit="us")
async def dead_peer(dut):
    """A peer stops answering (it drops every frame) in the middle of random traffic to all peers with
    loss on the others: after ``retry_limit`` consecutive timeouts the interface declares it dead (CSR bit,
    event, irq, counter), stops sending to it, and drops the component's messages for it while the other
    peers' traffic goes on; a peer reset discards exactly what the golden sender model says is left in its
    window and restarts it at sequence 0, after which the revived peer gets new messages exactly once."""
    from emu.cosim.csr_bus import CocotbCsrBus
    from emu.models.transport import SenderModel
    limit, timeout, window = P["retry_limit"], P["timeout"], P["window"]
    assert limit > 0, "the configuration must set retry_limit"
    rng = random.Random(SEED + 2)
    src, sink = await setup(dut, rng, robust_sink=True)
    bus = CocotbCsrBus(dut, dut.clk)
    R = NETIF_REGISTERS.addr
    drv = MsgDriver(dut, "tx", dut.clk, W, random.Random(rng.random()), idle_prob=0.2)
    peers = [n for n in range(N_NODES) if n != NODE]
    victim = rng.choice(peers)
    kill_after = rng.randrange(3, 12)       # messages the victim gets before it dies
    n_msgs = CFG["n_msgs"]
    sent = {p: [] for p in peers}
    for _ in range(n_msgs):
        dst = rng.choice(peers)
        msg = random_msg(rng, dst, MAXP)
        sent[dst].append(msg)
        drv.send(msg)
    peer_rx = {p: ReceiverModel(node_id=p, n_nodes=N_NODES, max_payload=MAXP, beat_bytes=BB) for p in peers}
    loss = CFG.get("test_loss", 0.05)
    killed_at = kill_seq = dead_at = None
    victim_sends = {}                       # seq -> transmissions after the kill
    after_dead = 0                          # victim frames that started after the irq was seen
    others_done = False

    def now():
        return int(get_sim_time(unit="ns")) // 10

    start = now()
    while not (others_done and dead_at is not None and drv.hdr.idle() and drv.data.idle()):
        if sink.empty():
            await RisingEdge(dut.clk)
            cycle = now()
            if dead_at is None and int(dut.irq.value):
                dead_at = cycle
            assert cycle - start < 300_000, ("no progress", dead_at,
                                             {p: len(r.delivered) for p, r in peer_rx.items()})
            continue
        cycle = now()
        raw = sink.recv_nowait()
        f = codec.decode(raw, BB, MAXP)
        assert f.src == NODE and f.dst in peers, f
        if f.dst == victim and killed_at is None and f.type == codec.TYPE_MSG \
                and len(peer_rx[victim].delivered) >= kill_after and f.seq == peer_rx[victim].expected.get(NODE, 0):
            killed_at, kill_seq = cycle, f.seq
        if f.dst == victim and killed_at is not None:
            if f.type == codec.TYPE_MSG:
                victim_sends[f.seq] = victim_sends.get(f.seq, 0) + 1
            # A frame whose first beat left within a frame's time of the irq was already going out.
            after_dead += dead_at is not None and cycle - dead_at > 2 * P.get("max_payload", 64) // BB + 8
            continue                        # the dead peer answers nothing
        if f.type == codec.TYPE_ACK:
            continue
        # Loss on the other peers only: the victim's timeouts then all come after the kill.
        if f.dst != victim and rng.random() < loss:
            continue
        peer_rx[f.dst].on_bytes(raw)
        ack = codec.Frame(dst=NODE, src=f.dst, type=codec.TYPE_ACK, ack=peer_rx[f.dst].expected.get(NODE, 0))
        await src.send(codec.encode(ack, BB))
        others_done = all(len(peer_rx[p].delivered) == len(sent[p]) for p in peers if p != victim)
    assert killed_at is not None, "the victim never got its messages"
    # Quiet period: nothing more goes to the dead peer.
    for _ in range(3 * timeout):
        await RisingEdge(dut.clk)
        while not sink.empty():
            f = codec.decode(sink.recv_nowait(), BB, MAXP)
            after_dead += f.dst == victim
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert after_dead == 0, f"{after_dead} frames sent to the dead peer {victim}"
    # The oldest unacknowledged frame went out once and was resent in each of the limit - 1 go-back rounds.
    assert victim_sends.get(kill_seq) == limit, (victim_sends, kill_seq, limit)
    # Detection within limit timeouts, each plus a window of frames (with the sink's backpressure).
    bound = limit * (timeout + 3 * window * P.get("max_payload", 64) // BB + 100)
    assert dead_at - killed_at <= bound, (dead_at - killed_at, bound)
    assert ctr[f"peer_dead_{victim // 32}"] == 1 << victim % 32, ctr
    assert (ctr["events"], ctr["peers_dead"], int(dut.irq.value)) == (1, 1, 1), ctr
    # The golden sender model: the victim's accepted messages, acked up to the kill, limit timeouts.
    accepted = len(sent[victim]) - ctr["tx_dead_dropped"]
    assert ctr["tx_msgs"] == n_msgs - ctr["tx_dead_dropped"] and ctr["tx_dropped"] == 0, ctr
    model = SenderModel(node_id=NODE, window=window, retry_limit=limit)
    acked = 0                               # the peer's acks, in order, as the window needed them
    for m in sent[victim][:accepted]:
        if not model.can_queue(victim):
            assert acked < kill_seq, f"the RTL took more than a window of unacknowledged messages for {victim}"
            acked += 1
            model.ack(victim, acked)
        assert model.queue(codec.Frame(dst=victim, src=NODE, kind=m.kind, length=m.length))
    model.ack(victim, kill_seq)
    verdicts = [model.timeout(victim) for _ in range(limit)]
    assert verdicts == ["go_back"] * (limit - 1) + ["dead"]
    assert not model.queue(codec.Frame(dst=victim, src=NODE, kind=0))
    # Firmware: reset the peer, clear the event.
    await bus.write_reg("netif", R("peer_reset"), victim)
    await bus.write_reg("netif", R("events"), 1)
    flushed = model.reset_peer(victim)
    for _ in range(4):
        await RisingEdge(dut.clk)
    after = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert after["tx_flushed"] == len(flushed) == accepted - kill_seq, (after, len(flushed), accepted, kill_seq)
    assert (after[f"peer_dead_{victim // 32}"], after["events"], int(dut.irq.value)) == (0, 0, 0), after
    # The revived peer (reset too) gets new messages from sequence 0, exactly once.
    revived = ReceiverModel(node_id=victim, n_nodes=N_NODES, max_payload=MAXP, beat_bytes=BB)
    fresh = [random_msg(rng, victim, MAXP) for _ in range(3 * window)]
    for m in fresh:
        drv.send(m)
    seqs = []
    while len(revived.delivered) < len(fresh):
        raw = await sink.recv()
        f = codec.decode(raw, BB, MAXP)
        if f.dst != victim or f.type != codec.TYPE_MSG:
            continue
        seqs.append(f.seq)
        if rng.random() < loss:
            continue
        revived.on_bytes(raw)
        ack = codec.Frame(dst=NODE, src=victim, type=codec.TYPE_ACK, ack=revived.expected.get(NODE, 0))
        await src.send(codec.encode(ack, BB))
    assert min(seqs) == 0
    for i, (g, m) in enumerate(zip(revived.delivered, fresh)):
        assert (g.kind, g.status, g.tag, g.pid, g.vaddr, g.length, g.payload) == \
               (m.kind, m.status, m.tag, m.pid, m.vaddr, m.length, m.payload), f"revived peer message {i}"
    dut._log.info("dead_peer: victim %d killed at cycle %d (seq %d), declared dead %d cycles later; %d messages "
                  "dropped, %d flushed", victim, killed_at, kill_seq, dead_at - killed_at, ctr["tx_dead_dropped"],
                  after["tx_flushed"])
