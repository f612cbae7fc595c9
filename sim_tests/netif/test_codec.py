"""The Python codec (firmware/protocol_codec.py) agrees bit for bit with the Amaranth frame layout and
CRC (hw/network/frame.py), and the golden receiver model classifies malformed frames as documented."""

import random
import zlib

import pytest
from amaranth import Const, Module, Signal
from amaranth.sim import Simulator

from firmware import protocol_codec as codec
from hw.network.frame import FrameHeader, HEADER_BYTES, crc32_step
from hw.network.netif import NetIfParams
from emu.models.transport import ReceiverModel, SenderModel


def random_frame(rng, beat_bytes=8):
    kind = rng.randrange(8)
    status = rng.randrange(4) if kind >= 4 else 0
    typ = rng.choice((codec.TYPE_MSG, codec.TYPE_ACK))
    length = rng.randrange(0, 65)
    data = typ == codec.TYPE_MSG and codec.carries_data(kind, status)
    return codec.Frame(dst=rng.randrange(256), src=rng.randrange(256), type=typ, kind=kind, status=status,
                       nak=rng.randrange(2), seq=rng.randrange(1 << 16), ack=rng.randrange(1 << 16),
                       tag=rng.randrange(256), pid=rng.randrange(1 << 16), length=length,
                       vaddr=rng.getrandbits(64), payload=rng.randbytes(length) if data else b"")


@pytest.mark.parametrize("seed", range(20))
def test_header_layout_matches_codec(seed):
    rng = random.Random(seed)
    f = random_frame(rng)
    const = FrameHeader().const({
        "dst": f.dst, "src": f.src, "type": f.type, "kind": f.kind, "status": f.status, "nak": f.nak,
        "seq": f.seq, "ack": f.ack, "tag": f.tag, "pid": f.pid, "length": f.length, "vaddr": f.vaddr,
    })
    value = Const.cast(const).value
    assert value.to_bytes(HEADER_BYTES, "little") == f.header_bytes()
    assert codec.encode(f)[:HEADER_BYTES] == f.header_bytes()


def test_roundtrip_and_padding():
    rng = random.Random(5)
    for _ in range(500):
        f = random_frame(rng)
        raw = codec.encode(f)
        assert (len(raw) - codec.CRC_BYTES) % 8 == 0
        assert len(raw) == codec.wire_bytes(f.kind, f.status, f.length, type=f.type)
        assert codec.from_beats(codec.to_beats(raw)) == raw
        assert len(codec.to_beats(raw)) == codec.frame_beats(f.kind, f.status, f.length, type=f.type)
        assert codec.decode(raw) == f


@pytest.mark.parametrize("n_bytes", [4, 8])
def test_rtl_crc_matches_zlib(n_bytes):
    """The parallel CRC of hw/network/frame.py, simulated in Amaranth, equals zlib.crc32."""
    rng = random.Random(n_bytes)
    words = [rng.getrandbits(8 * n_bytes) for _ in range(12)]
    m = Module()
    state = Signal(32, init=0xFFFFFFFF)
    word = Signal(8 * n_bytes)
    m.d.sync += state.eq(crc32_step(state, word, n_bytes))
    sim = Simulator(m)
    sim.add_clock(1e-6)
    result = {}

    async def bench(ctx):
        for w in words:
            ctx.set(word, w)
            await ctx.tick()
        result["crc"] = ctx.get(state) ^ 0xFFFFFFFF

    sim.add_testbench(bench)
    sim.run()
    raw = b"".join(w.to_bytes(n_bytes, "little") for w in words)
    assert result["crc"] == zlib.crc32(raw)


def test_decode_rejects_in_documented_order():
    f = codec.Frame(dst=1, src=0, kind=1, length=20, payload=bytes(range(20)), seq=0)
    raw = codec.encode(f)
    assert codec.decode(raw).payload == bytes(range(20))
    with pytest.raises(codec.FrameError) as e:
        codec.decode(raw[:20])
    assert e.value.reason == "truncated"
    bad = bytearray(raw)
    bad[30] ^= 4
    with pytest.raises(codec.FrameError) as e:
        codec.decode(bytes(bad))
    assert e.value.reason == "crc"
    with pytest.raises(codec.FrameError) as e:
        codec.decode(raw, max_payload=16)
    assert e.value.reason == "oversize"
    short = codec._HDR.pack(1, 0, 1, 1, 0, 0, 0, 0, 0, 40, 0, 0) + bytes(8)
    with pytest.raises(codec.FrameError) as e:
        codec.decode(short + zlib.crc32(short).to_bytes(4, "little"))
    assert e.value.reason == "truncated"
    odd = codec._HDR.pack(1, 0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(codec.FrameError) as e:
        codec.decode(odd + zlib.crc32(odd).to_bytes(4, "little"))
    assert e.value.reason == "malformed"


def test_receiver_model_sequence():
    rx = ReceiverModel(node_id=1, n_nodes=4)
    tx = SenderModel(node_id=0, window=4)
    for i in range(6):
        if tx.can_queue(1):
            tx.queue(codec.Frame(dst=1, src=0, kind=0, length=64, tag=i))
    frames = []
    while (f := tx.next_frame(1)) is not None:
        frames.append(f)
    assert [f.seq for f in frames] == [0, 1, 2, 3]
    verdicts = [rx.on_bytes(codec.encode(f)) for f in (frames[0], frames[2], frames[1], frames[1])]
    assert verdicts == ["deliver", "dup", "deliver", "dup"]
    assert tx.ack(1, 2) == 2 and tx.ack(1, 2) == 0
    tx.go_back(1)
    again = [tx.next_frame(1).seq for _ in range(2)]
    assert again == [2, 3] and tx.retransmits == 2
    assert rx.on_bytes(codec.encode(codec.Frame(dst=2, src=0, type=codec.TYPE_ACK))) == "misrouted"
    assert rx.on_bytes(codec.encode(codec.Frame(dst=1, src=1, type=codec.TYPE_ACK))) == "misrouted"


def test_params_validation():
    with pytest.raises(ValueError, match="window must be a power of two"):
        NetIfParams(window=12)
    with pytest.raises(ValueError, match="node_id"):
        NetIfParams(node_id=4, n_nodes=4)
    with pytest.raises(ValueError, match="data_width"):
        NetIfParams(data_width=128)
    with pytest.raises(TypeError, match="timeout"):
        NetIfParams(timeout=1.5)
