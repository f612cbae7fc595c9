"""MessageStore (hw/network/message_store.py): storing, zero padding, drops, stalls, the sender's read port."""

from hw.network.message_store import MessageStore
from hw.network.params import NetIfParams
from hw.protocol import MsgKind, Status
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=1, n_nodes=3, window=2, max_payload=16)   # 2 payload beats of 8 bytes


def header(kind, dst, length, tag=0x5A):
    return {"kind": kind, "status": Status.OK, "src": 0xEE, "dst": dst, "tag": tag, "pid": 0x1234,
            "vaddr": 0xDEAD_BEEF_0000 + length, "length": length}


async def offer(ctx, dut, hdr, beats, slot=0, room=1):
    """Offer one message; return per-cycle (hdr.ready, tx_msgs, tx_dropped, stored) until its beats are in."""
    trace = []
    ctx.set(dut.slot, slot)
    ctx.set(dut.room, room)
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


def read(ctx, dut, peer, slot, beat=0):
    ctx.set(dut.read.peer, peer)
    ctx.set(dut.read.slot, slot)
    ctx.set(dut.read.beat, beat)
    h = ctx.get(dut.read.hdr)
    return {"kind": h.kind, "tag": h.tag, "length": h.length, "vaddr": h.vaddr}, ctx.get(dut.read.data)


def test_store_pads_and_reads_back():
    dut = MessageStore(P)

    async def bench(ctx):
        got = {}
        got["write"] = await offer(ctx, dut, header(MsgKind.LINE_WRITE, 2, 12), [0x1111_2222_3333_4444,
                                                                                0xFFFF_FFFF_FFFF_FFFF], slot=1)
        got["read"] = await offer(ctx, dut, header(MsgKind.LINE_READ, 0, 16, tag=7), [], slot=0)
        got["slot_2_1"] = [read(ctx, dut, 2, 1, beat) for beat in (0, 1)]
        got["slot_0_0"] = read(ctx, dut, 0, 0)[0]
        return got

    got = simulate(dut, bench)
    # The header is taken at once (one tx_msgs), the message counts as stored at its last beat.
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
        ctx.set(dut.slot, 1)
        ctx.set(dut.room, 0)
        got["no_room"] = ctx.get(dut.tx.hdr.ready)
        ctx.set(dut.room, 1)
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
