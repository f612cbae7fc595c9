"""ReceiveBuffer (hw/network/receive_buffer.py): only committed messages are visible, in order, headers after
their data; room for a full message; header FIFO space."""

from hw.network.params import NetIfParams
from hw.network.receive_buffer import ReceiveBuffer
from hw.protocol import MsgKind, Status
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=1, n_nodes=3, max_payload=16, rx_buffer_msgs=2)   # ring of 4 beats, FIFO of 8 headers


def hdr(tag, length):
    return {"kind": MsgKind.LINE_WRITE, "status": Status.OK, "src": 0, "dst": 1, "tag": tag, "pid": 0, "vaddr": 0,
            "length": length}


async def write_frame(ctx, dut, words, commit, tag=0):
    for i, word in enumerate(words):
        ctx.set(dut.write.beat_en, 1)
        ctx.set(dut.write.beat_index, i)
        ctx.set(dut.write.beat_data, word)
        ctx.set(dut.write.beat_last, i == len(words) - 1)
        await ctx.tick()
    ctx.set(dut.write.beat_en, 0)
    if commit:
        ctx.set(dut.write.commit, 1)
        ctx.set(dut.write.commit_beats, len(words))
        ctx.set(dut.write.commit_hdr, hdr(tag, 8 * len(words)))
    await ctx.tick()
    ctx.set(dut.write.commit, 0)


def test_commit_order_and_room():
    dut = ReceiveBuffer(P)

    async def bench(ctx):
        got = {"room0": ctx.get(dut.write.room)}
        await write_frame(ctx, dut, [0xBAD0, 0xBAD1], commit=False)        # rejected: never visible
        got["after_reject"] = (ctx.get(dut.rx.data.valid), ctx.get(dut.rx.hdr.valid))
        await write_frame(ctx, dut, [0xA0, 0xA1], commit=True, tag=1)
        # The cycle after the commit: the data (synchronous ring read) and the header (fall-through FIFO).
        got["data_first"] = (ctx.get(dut.rx.data.valid), ctx.get(dut.rx.data.payload.data))
        got["hdr_first"] = (ctx.get(dut.rx.hdr.valid), ctx.get(dut.rx.hdr.payload.tag))
        await write_frame(ctx, dut, [0xB0, 0xB1], commit=True, tag=2)
        got["full_room"] = ctx.get(dut.write.room)                         # 4 of 4 beats in use
        ctx.set(dut.rx.data.ready, 1)
        ctx.set(dut.rx.hdr.ready, 1)
        beats, tags = [], []
        for _ in range(8):
            if ctx.get(dut.rx.data.valid):
                beats.append((ctx.get(dut.rx.data.payload.data), ctx.get(dut.rx.data.payload.last)))
            if ctx.get(dut.rx.hdr.valid):
                tags.append(ctx.get(dut.rx.hdr.payload.tag))
            await ctx.tick()
        got["beats"], got["tags"], got["room_end"] = beats, tags, ctx.get(dut.write.room)
        return got

    got = simulate(dut, bench)
    assert got["room0"] == 1 and got["after_reject"] == (0, 0)
    assert got["data_first"] == (1, 0xA0)        # the rejected frame's beats were overwritten
    assert got["hdr_first"] == (1, 1)
    assert got["full_room"] == 0
    assert got["beats"] == [(0xA0, 0), (0xA1, 1), (0xB0, 0), (0xB1, 1)]
    assert got["tags"] == [1, 2] and got["room_end"] == 1


def test_header_fifo_space():
    dut = ReceiveBuffer(P)

    async def bench(ctx):
        rooms = []
        for tag in range(9):
            rooms.append(ctx.get(dut.write.hdr_room))
            await write_frame(ctx, dut, [], commit=True, tag=tag)        # messages without data
        return rooms

    assert simulate(dut, bench) == [1] * 8 + [0]
