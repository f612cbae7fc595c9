"""MessageStore (hw/network/message_store.py): storing, zero padding, drops, stalls, the sender's read port
(header combinational, data synchronous, ``data_ok`` while a message is still arriving)."""

from dataclasses import replace

import pytest

from hw.network.message_store import MessageStore
from hw.network.params import NetIfParams
from hw.protocol import MsgKind, Status
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=1, n_nodes=3, window=2, max_payload=16)   # 2 payload beats of 8 bytes


def header(kind, dst, length, tag=0x5A):
    return {"kind": kind, "status": Status.OK, "src": 0xEE, "dst": dst, "tag": tag, "pid": 0x1234,
            "vaddr": 0xDEAD_BEEF_0000 + length, "length": length}


def peer_state(ctx, dut, peer, slot, room):
    """The peer state's per-peer answers: ``peer``'s next slot and room as given, every other peer's the
    opposite (so that only ``peer``'s may decide)."""
    ctx.set(dut.tail, [slot if i == peer else 1 - slot for i in range(P.n_nodes)])
    ctx.set(dut.room, sum((room if i == peer else 1 - room) << i for i in range(P.n_nodes)))


async def offer(ctx, dut, hdr, beats, slot=0, room=1):
    """Offer one message; return per-cycle (hdr.ready, tx_msgs, tx_dropped, stored) until its beats are in."""
    trace = []
    peer_state(ctx, dut, hdr["dst"], slot, room)
    ctx.set(dut.tx.hdr.payload, hdr)
    ctx.set(dut.tx.hdr.valid, 1)
    while True:
        ready = ctx.get(dut.tx.hdr.ready)
        trace.append((ready, ctx.get(dut.tx_msgs), ctx.get(dut.tx_dropped), ctx.get(dut.stored)))
        await ctx.tick()
        if ready:
            break
    ctx.set(dut.tx.hdr.valid, 0)
    for i, word in enumerate(beats):
        ctx.set(dut.tx.data.payload, {"data": word, "last": i == len(beats) - 1})
        ctx.set(dut.tx.data.valid, 1)
        assert ctx.get(dut.tx.data.ready)
        trace.append((0, 0, 0, ctx.get(dut.stored)))
        await ctx.tick()
    ctx.set(dut.tx.data.valid, 0)
    return trace


async def read(ctx, dut, peer, slot, beat=0):
    """The header (combinational) and data beat (one cycle later) of ``(peer, slot)``."""
    ctx.set(dut.read.peer, peer)
    ctx.set(dut.read.slot, slot)
    ctx.set(dut.read.beat, beat)
    h = ctx.get(dut.read.hdr)
    await ctx.tick()
    assert ctx.get(dut.read.data_ok)
    return {"kind": h.kind, "tag": h.tag, "length": h.length, "vaddr": h.vaddr}, ctx.get(dut.read.data)


@pytest.mark.parametrize("cut_through", [True, False])
def test_store_pads_and_reads_back(cut_through):
    dut = MessageStore(replace(P, cut_through=cut_through))

    async def bench(ctx):
        got = {}
        got["write"] = await offer(ctx, dut, header(MsgKind.LINE_WRITE, 2, 12), [0x1111_2222_3333_4444,
                                                                                0xFFFF_FFFF_FFFF_FFFF], slot=1)
        got["read"] = await offer(ctx, dut, header(MsgKind.LINE_READ, 0, 16, tag=7), [], slot=0)
        got["slot_2_1"] = [await read(ctx, dut, 2, 1, beat) for beat in (0, 1)]
        got["slot_0_0"] = (await read(ctx, dut, 0, 0))[0]
        return got

    got = simulate(dut, bench)
    # The header is taken at once (one tx_msgs); the message counts as stored (may be sent) with its header
    # (cut-through) or at its last beat (store and forward).
    if cut_through:
        assert got["write"] == [(1, 1, 0, 1 << 2), (0, 0, 0, 0), (0, 0, 0, 0)]
    else:
        assert got["write"] == [(1, 1, 0, 0), (0, 0, 0, 0), (0, 0, 0, 1 << 2)]
    # No data beats: stored in the header's cycle.
    assert got["read"] == [(1, 1, 0, 1 << 0)]
    (hdr, beat0), (_, beat1) = got["slot_2_1"]
    assert hdr == {"kind": MsgKind.LINE_WRITE, "tag": 0x5A, "length": 12, "vaddr": 0xDEAD_BEEF_000C}
    assert beat0 == 0x1111_2222_3333_4444 and beat1 == 0x0000_0000_FFFF_FFFF   # bytes past length are zero
    assert got["slot_0_0"]["kind"] == MsgKind.LINE_READ and got["slot_0_0"]["tag"] == 7


def test_drops_and_stalls():
    dut = MessageStore(P)

    async def bench(ctx):
        got = {}
        got["own"] = await offer(ctx, dut, header(MsgKind.LINE_WRITE, 1, 16), [1, 2])    # own node: drained
        got["unknown"] = await offer(ctx, dut, header(MsgKind.LINE_READ, 3, 8), [])      # no node 3
        got["long"] = await offer(ctx, dut, header(MsgKind.LINE_WRITE, 2, 17), [1, 2, 3])
        # A full window stalls; so does the slot the sender is reading; another slot does not.
        ctx.set(dut.tx.hdr.payload, header(MsgKind.LINE_READ, 2, 8))
        ctx.set(dut.tx.hdr.valid, 1)
        peer_state(ctx, dut, 2, 1, 0)
        got["no_room"] = ctx.get(dut.tx.hdr.ready)
        peer_state(ctx, dut, 2, 1, 1)
        ctx.set(dut.read.busy, 1)
        ctx.set(dut.read.peer, 2)
        ctx.set(dut.read.slot, 1)
        got["busy_slot"] = ctx.get(dut.tx.hdr.ready)
        ctx.set(dut.read.slot, 0)
        got["other_slot"] = ctx.get(dut.tx.hdr.ready)
        return got

    got = simulate(dut, bench)
    assert got["own"][0] == (1, 0, 1, 0) and len(got["own"]) == 3
    assert got["unknown"] == [(1, 0, 1, 0)]
    assert got["long"][0] == (1, 0, 1, 0) and all(t[3] == 0 for t in got["long"])
    assert (got["no_room"], got["busy_slot"], got["other_slot"]) == (0, 0, 1)


def test_data_ok_while_filling():
    """A beat of the message being stored reads as not in (data_ok low) until it is written (the read is
    transparent: a read in the write's cycle sees it); other slots read."""
    dut = MessageStore(replace(P, max_payload=32))     # 4 beats

    async def bench(ctx):
        peer_state(ctx, dut, 2, 1, 1)
        ctx.set(dut.tx.hdr.payload, header(MsgKind.LINE_WRITE, 2, 32))
        ctx.set(dut.tx.hdr.valid, 1)
        await ctx.tick()
        ctx.set(dut.tx.hdr.valid, 0)
        ctx.set(dut.read.peer, 2)
        ctx.set(dut.read.slot, 1)
        seen = []
        # Beats 0..3 arrive one every other cycle; the reader asks for beat 2 all the time.
        ctx.set(dut.read.beat, 2)
        for cycle in range(10):
            beat = cycle // 2
            on = cycle % 2 == 0 and beat < 4
            ctx.set(dut.tx.data.payload, {"data": 0x100 + beat, "last": beat == 3})
            ctx.set(dut.tx.data.valid, on)
            await ctx.tick()
            seen.append((ctx.get(dut.read.data_ok), ctx.get(dut.read.data)))
        # Another peer's slot is never waited for.
        ctx.set(dut.read.peer, 0)
        await ctx.tick()
        seen.append(ctx.get(dut.read.data_ok))
        return seen

    seen = simulate(dut, bench)
    # Beat 2 is written in cycle 4 and read in the same cycle, so data_ok rises in cycle 5's answer.
    assert [ok for ok, _ in seen[:10]] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert all(data == 0x102 for ok, data in seen[:10] if ok)
    assert seen[10] == 1
