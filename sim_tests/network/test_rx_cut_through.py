"""Receive cut-through (``NetIfParams.rx_cut_through``) of a whole NetIf under the Amaranth simulator.

Random frames of every kind the receive checks know (good, duplicate, ahead, corrupt, truncated, too long,
bad tkeep, malformed, misrouted, acks) go into ``s_axis`` with idle cycles inside and between frames; ``rx``
is read with backpressure on both streams. What ``rx`` shows, header by header and beat by beat with the
``discard`` verdicts, must be exactly what the golden model (``ReceiverModel(cut_through=True).offered``)
predicts, and the receive counters the model's. A store-and-forward NetIf fed the same frames must deliver
exactly the model's committed messages. Seeded; the seed is in every failure message.
"""

import random
import struct
import zlib

import pytest

from emu.models.transport import ReceiverModel
from firmware import protocol_codec as codec
from hw.network.netif import NetIf
from hw.network.params import NetIfParams
from hw.network.registers import NETIF_REGISTERS
from sim_tests.network.bench import simulate

NODE, N_NODES, MAXP = 1, 3, 32
P = NetIfParams(node_id=NODE, n_nodes=N_NODES, window=4, timeout=1 << 20, max_payload=MAXP, rx_buffer_msgs=4,
                rx_cut_through=True)
BB = 8
COUNTERS = ("rx_frames", "rx_msgs", "rx_acks", "rx_dup", "rx_drop_crc", "rx_drop_misrouted", "rx_drop_truncated",
            "rx_drop_oversize", "rx_drop_malformed", "naks_received", "rx_drop_nobuf")


def _recrc(body):
    return body + struct.pack("<I", zlib.crc32(body))


def random_frames(rng, n):
    """``n`` frames as ``(tdata, tkeep)`` beat lists, and the model that predicts them (fed in order)."""
    next_seq = {p: 0 for p in (0, 2)}
    history = {p: [] for p in (0, 2)}
    out = []

    def good(p):
        kind = rng.choice([1, 1, 4, 4, 3, 6, 0, 5])
        status = rng.choice([0, 0, 0, 1]) if kind >= 4 else 0
        length = rng.randint(1, 8) if kind in (3, 6) else rng.choice([0, rng.randint(1, MAXP), MAXP])
        data = kind in (1, 3) or (kind in (4, 6) and status == 0)
        f = codec.Frame(dst=NODE, src=p, kind=kind, status=status, seq=next_seq[p], ack=rng.randrange(4),
                        tag=rng.randrange(256), pid=rng.randrange(1 << 16), length=length, vaddr=rng.getrandbits(64),
                        payload=rng.randbytes(length) if data else b"")
        return codec.encode(f, BB)

    model = ReceiverModel(node_id=NODE, n_nodes=N_NODES, max_payload=MAXP, beat_bytes=BB, cut_through=True)
    for _ in range(n):
        p = rng.choice((0, 2))
        what = rng.choices(["good", "dup", "ahead", "crc", "hdr_crc", "truncated", "toolong", "keep", "malformed",
                            "misrouted", "ack"], weights=[40, 5, 4, 6, 4, 5, 3, 3, 3, 2, 3])[0]
        keep_at = None
        if what == "good" or (what == "dup" and not history[p]):
            raw = good(p)
        elif what == "dup":
            raw = rng.choice(history[p][-6:])
        elif what == "ahead":
            seq, next_seq[p] = next_seq[p], (next_seq[p] + rng.randrange(1, 3)) % 65536
            raw = good(p)
            next_seq[p] = seq
        elif what in ("crc", "hdr_crc"):
            b = bytearray(good(p))
            # a bit flipped in the payload or CRC (the header looks right: offered, then discarded), or in
            # the header (anything may be shown, then discarded)
            i = rng.randrange(24) if what == "hdr_crc" else rng.randrange(24, len(b))
            b[i] ^= 1 << rng.randrange(8)
            raw = bytes(b)
        elif what == "truncated":
            full = good(p)
            cut = rng.randrange(1, (len(full) - 4) // BB) * BB
            raw = _recrc(full[:cut]) if rng.random() < 0.5 else full[:max(cut - 4, 1)]
        elif what == "toolong":
            raw = _recrc(good(p)[:-4] + bytes(BB * rng.randrange(1, 3)))
        elif what == "keep":
            raw = good(p)
            keep_at = rng.randrange((len(raw) - 4) // BB)
        elif what == "malformed":
            b = bytearray(good(p)[:-4])
            b[rng.choice([2, 9, 14])] ^= 0x40
            raw = _recrc(bytes(b))
        elif what == "misrouted":
            raw = codec.encode(codec.Frame(dst=2 if NODE != 2 else 0, src=p, kind=1, length=16, payload=bytes(16),
                                           seq=next_seq[p]), BB)
        else:
            raw = codec.encode(codec.Frame(dst=NODE, src=p, type=codec.TYPE_ACK, ack=rng.randrange(4)), BB)
        beats = [(d, k) for d, k, _ in codec.to_beats(raw)] if len(raw) > 4 else [(int.from_bytes(raw, "little"), 1)]
        if keep_at is not None:
            beats[keep_at] = (beats[keep_at][0], beats[keep_at][1] & ~(1 << rng.randrange(BB)))
        if model.on_beats(beats) == "deliver":
            history[p].append(raw)
            next_seq[p] = (next_seq[p] + 1) % 65536
        out.append(beats)
    return out, model


def run(params, frames, seed, idle=0.15, backpressure=0.3):
    """Feed ``frames`` into a NetIf with ``params``; return the headers and beats taken from ``rx``, and the
    receive counters read over the CSR bus."""
    dut = NetIf(params)
    rng = random.Random(seed ^ 0x5EED)
    stream = []
    for beats in frames:
        for i, (d, k) in enumerate(beats):
            while rng.random() < idle:
                stream.append(None)
            stream.append((d, k, int(i == len(beats) - 1)))
        stream.extend([None] * rng.randrange(3))

    async def bench(ctx):
        hdrs, beats = [], []
        ctx.set(dut.m_axis.tready, 1)
        verdict = params.rx_cut_through
        for item in stream + [None] * 400:
            if item is None:
                ctx.set(dut.s_axis.tvalid, 0)
            else:
                ctx.set(dut.s_axis.tdata, item[0])
                ctx.set(dut.s_axis.tkeep, item[1])
                ctx.set(dut.s_axis.tlast, item[2])
                ctx.set(dut.s_axis.tvalid, 1)
            h_ready, d_ready = rng.random() >= backpressure, rng.random() >= backpressure
            ctx.set(dut.rx.hdr.ready, h_ready)
            ctx.set(dut.rx.data.ready, d_ready)
            if h_ready and ctx.get(dut.rx.hdr.valid):
                h = ctx.get(dut.rx.hdr.payload)
                hdrs.append(dict(kind=h.kind.value, status=h.status.value, src=h.src, dst=h.dst, tag=h.tag,
                                 pid=h.pid, vaddr=h.vaddr, length=h.length))
            if d_ready and ctx.get(dut.rx.data.valid):
                b = ctx.get(dut.rx.data.payload)
                beats.append((b.data, b.last, b.discard if verdict else 0))
            await ctx.tick()
        ctx.set(dut.rx.hdr.ready, 0)
        ctx.set(dut.rx.data.ready, 0)
        counters = {}
        for name in COUNTERS:
            ctx.set(dut.csr.addr, NETIF_REGISTERS.addr(name))
            ctx.set(dut.csr.r_stb, 1)
            await ctx.tick()
            ctx.set(dut.csr.r_stb, 0)
            counters[name] = ctx.get(dut.csr.r_data)
        return hdrs, beats, counters

    return simulate(dut, bench)


def _group(hdrs, beats, seed):
    """Pair each header with its beats: beats follow a header with data up to the one with ``last``."""
    out, pos = [], 0
    for h in hdrs:
        n = []
        if (h["kind"] in (1, 3) or (h["kind"] in (4, 6) and h["status"] == 0)) and h["length"]:
            while True:
                assert pos < len(beats), f"seed {seed}: header {h} without its beats"
                n.append(beats[pos])
                pos += 1
                if beats[pos - 1][1]:
                    break
        out.append((h, n))
    assert pos == len(beats), f"seed {seed}: {len(beats) - pos} beats after the last message"
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rx_cut_through_matches_model(seed):
    rng = random.Random(seed)
    frames, model = random_frames(rng, 150)
    hdrs, beats, counters = run(P, frames, seed)
    got = _group(hdrs, beats, seed)
    want = [(o.header, o.beats) for o in model.offered]
    assert counters["rx_drop_nobuf"] == 0, f"seed {seed}: the test's buffer is too small: {counters}"
    for name, value in model.counters.items():
        assert counters[name] == value, f"seed {seed}: counter {name}: RTL {counters[name]}, model {value}"
    assert len(got) == len(want), f"seed {seed}: {len(got)} messages shown, model {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"seed {seed}: message {i} shown as {g}, model {w}"
    discarded = sum(not o.committed for o in model.offered)
    assert discarded > 5 and sum(o.committed for o in model.offered) > 40, (seed, discarded)


def test_store_and_forward_same_frames():
    """The same kind of stream into a store-and-forward NetIf: only the committed messages, unchanged."""
    seed = 4
    frames, model = random_frames(random.Random(seed), 120)
    hdrs, beats, counters = run(NetIfParams(**{**P.__dict__, "rx_cut_through": False}), frames, seed)
    got = _group(hdrs, beats, seed)
    want = [(o.header, o.beats) for o in model.offered if o.committed]
    assert got == want, f"seed {seed}"
    assert counters["rx_msgs"] == len(want) == model.counters["rx_msgs"]


def test_first_beat_before_crc():
    """Timing: a line's header and first beat are on ``rx`` 2 cycles after the wire beat that completes them;
    the last beat (with the verdict) 2 cycles after the CRC beat; a frame without idle cycles."""
    f = codec.Frame(dst=NODE, src=0, kind=4, seq=0, length=MAXP, payload=bytes(range(MAXP)))
    beats = [(d, k) for d, k, _ in codec.to_beats(codec.encode(f, BB))]
    dut = NetIf(P)

    async def bench(ctx):
        seen = {}
        ctx.set(dut.rx.hdr.ready, 1)
        ctx.set(dut.rx.data.ready, 1)
        for cycle in range(len(beats) + 6):
            if cycle < len(beats):
                d, k = beats[cycle]
                ctx.set(dut.s_axis.tdata, d)
                ctx.set(dut.s_axis.tkeep, k)
                ctx.set(dut.s_axis.tlast, cycle == len(beats) - 1)
                ctx.set(dut.s_axis.tvalid, 1)
            else:
                ctx.set(dut.s_axis.tvalid, 0)
            if ctx.get(dut.rx.hdr.valid):
                seen.setdefault("hdr", cycle)
            if ctx.get(dut.rx.data.valid):
                seen.setdefault("first", cycle)
                if ctx.get(dut.rx.data.payload.last):
                    seen["last"] = cycle
            await ctx.tick()
        return seen

    seen = simulate(dut, bench)
    hb = 24 // BB
    assert seen == {"hdr": hb + 2, "first": hb + 2, "last": len(beats) - 1 + 2}, seen
