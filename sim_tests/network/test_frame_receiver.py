"""FrameReceiver (hw/network/frame_receiver.py): one verdict per frame, in the documented order, with the events
to the peer state and the writes and commits to the receive buffer."""

import struct
import zlib

import pytest

from firmware import protocol_codec as codec
from hw.network.frame_receiver import FrameReceiver, RX_COUNTERS
from hw.network.params import NetIfParams
from sim_tests.network.bench import pulsed, simulate

P = NetIfParams(node_id=1, n_nodes=3, window=4, max_payload=16)
EVENTS = ("ack_in", "nak_in", "msg_in", "gap_in", "delivered")   # shown as "name:bits", bit i = peer i


def msg(**kw):
    fields = dict(dst=1, src=0, kind=1, seq=0, ack=3, tag=9, pid=5, vaddr=0x40, length=12, payload=bytes(range(12)))
    fields.update(kw)
    if fields["kind"] not in (1, 3, 4, 6):
        fields["payload"] = b""
    return codec.Frame(**fields)


def beats_of(raw):
    return [(d, k) for d, k, _ in codec.to_beats(raw)]


def recrc(body):
    return body + struct.pack("<I", zlib.crc32(body))


def corrupt_crc(raw):
    return raw[:-1] + bytes([raw[-1] ^ 1])


async def feed(ctx, dut, beats, expected=0, room=1, hdr_room=1):
    """Send one frame; return (counters and events at its last beat, the buffer writes, the commit)."""
    writes = []
    ctx.set(dut.buffer.room, room)
    ctx.set(dut.buffer.hdr_room, hdr_room)
    for i, (word, keep) in enumerate(beats):
        ctx.set(dut.s_axis.tdata, word)
        ctx.set(dut.s_axis.tkeep, keep)
        ctx.set(dut.s_axis.tlast, i == len(beats) - 1)
        ctx.set(dut.s_axis.tvalid, 1)
        ctx.set(dut.expected, expected)
        if ctx.get(dut.buffer.beat_en):
            writes.append((ctx.get(dut.buffer.beat_index), ctx.get(dut.buffer.beat_data), ctx.get(dut.buffer.beat_last)))
        # The verdict is registered: no event during the frame.
        assert not pulsed(ctx, dut, RX_COUNTERS) and not ctx.get(dut.buffer.commit)
        assert ctx.get(dut.s_axis.tready)
        await ctx.tick()
    ctx.set(dut.s_axis.tvalid, 0)
    # The verdict's events and the commit come in the cycle after the last beat, with the header still held.
    verdict = pulsed(ctx, dut, RX_COUNTERS) | {f"{e}:{ctx.get(getattr(dut, e))}" for e in EVENTS
                                               if ctx.get(getattr(dut, e))}
    commit = (ctx.get(dut.buffer.commit_beats), ctx.get(dut.buffer.commit_hdr.src),
              ctx.get(dut.buffer.commit_hdr.length)) if ctx.get(dut.buffer.commit) else None
    await ctx.tick()                      # an idle cycle between frames changes nothing
    return verdict, writes, commit


GOOD = {"rx_frames", "rx_msgs", "ack_in:1", "msg_in:1", "delivered:1"}
CASES = {
    "in_order": (beats_of(codec.encode(msg())), {}, GOOD),
    "duplicate": (beats_of(codec.encode(msg())), dict(expected=1), {"rx_frames", "rx_dup", "ack_in:1", "msg_in:1"}),
    "ahead": (beats_of(codec.encode(msg(seq=3))), dict(expected=1),
              {"rx_frames", "rx_dup", "ack_in:1", "msg_in:1", "gap_in:1"}),
    "ack_with_nak": (beats_of(codec.encode(codec.Frame(dst=1, src=2, type=codec.TYPE_ACK, ack=4, nak=1))), {},
                     {"rx_frames", "rx_acks", "naks_received", "ack_in:4", "nak_in:4"}),
    "truncated_header": (beats_of(codec.encode(msg()))[:2], {}, {"rx_frames", "rx_drop_truncated"}),
    "bad_tkeep": ([(d, 0x7F if i == 1 else k) for i, (d, k) in enumerate(beats_of(codec.encode(msg())))], {},
                  {"rx_frames", "rx_drop_malformed"}),
    "crc": (beats_of(corrupt_crc(codec.encode(msg()))), {}, {"rx_frames", "rx_drop_crc"}),
    "bad_type": (beats_of(codec.encode(codec.Frame(dst=1, src=0, type=3))), {}, {"rx_frames", "rx_drop_malformed"}),
    "too_long": (beats_of(codec.encode(msg(length=24, payload=bytes(24)))), {}, {"rx_frames", "rx_drop_oversize"}),
    "short": (beats_of(recrc(codec.encode(msg(length=16, payload=bytes(16)))[:-4 - 8])), {},
              {"rx_frames", "rx_drop_truncated"}),
    "long": (beats_of(recrc(codec.encode(msg())[:-4] + bytes(8))), {}, {"rx_frames", "rx_drop_oversize"}),
    "other_dst": (beats_of(codec.encode(msg(dst=2))), {}, {"rx_frames", "rx_drop_misrouted"}),
    "own_src": (beats_of(codec.encode(msg(src=1))), {}, {"rx_frames", "rx_drop_misrouted"}),
    "unknown_src": (beats_of(codec.encode(msg(src=3))), {}, {"rx_frames", "rx_drop_misrouted"}),
    "no_room": (beats_of(codec.encode(msg())), dict(room=0), {"rx_frames", "rx_drop_nobuf", "ack_in:1", "msg_in:1"}),
    "no_hdr_room": (beats_of(codec.encode(msg())), dict(hdr_room=0),
                    {"rx_frames", "rx_drop_nobuf", "ack_in:1", "msg_in:1"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_verdict(case):
    beats, kw, want = CASES[case]
    dut = FrameReceiver(P)

    async def bench(ctx):
        return await feed(ctx, dut, beats, **kw)

    verdict, writes, commit = simulate(dut, bench)
    assert verdict == want
    if case == "in_order":
        payload = bytes(range(12)) + bytes(4)
        assert writes == [(0, int.from_bytes(payload[:8], "little"), 0), (1, int.from_bytes(payload[8:], "little"), 1)]
        assert commit == (2, 0, 12)
    else:
        assert commit is None
    if case in ("no_room",):
        assert writes == []


def test_frames_back_to_back():
    """Verdicts of consecutive frames without idle cycles are independent (state resets at the last beat); the
    registered verdict and commit come while the next frame's first beat is taken, with the frame's own header."""
    dut = FrameReceiver(P)
    frames = [corrupt_crc(codec.encode(msg())), codec.encode(msg(length=8, payload=bytes(8))),
              codec.encode(msg(seq=1))]

    async def bench(ctx):
        got = []
        ctx.set(dut.buffer.room, 1)
        ctx.set(dut.buffer.hdr_room, 1)
        after_last = False

        def sample():
            commit = ctx.get(dut.buffer.commit_hdr.length) if ctx.get(dut.buffer.commit) else None
            got.append((pulsed(ctx, dut, RX_COUNTERS), commit))
        for n, raw in enumerate(frames):
            for i, (word, keep) in enumerate(beats_of(raw)):
                ctx.set(dut.s_axis.tdata, word)
                ctx.set(dut.s_axis.tkeep, keep)
                last = i == len(beats_of(raw)) - 1
                ctx.set(dut.s_axis.tlast, last)
                ctx.set(dut.s_axis.tvalid, 1)
                ctx.set(dut.expected, 0 if n < 2 else 1)
                if after_last:
                    sample()
                after_last = last
                await ctx.tick()
        ctx.set(dut.s_axis.tvalid, 0)
        sample()
        return got

    assert simulate(dut, bench) == [({"rx_frames", "rx_drop_crc"}, None), ({"rx_frames", "rx_msgs"}, 8),
                                    ({"rx_frames", "rx_msgs"}, 12)]
