"""hw.memory.data_mover.DataMover on the DRAM model: line and word writes and reads, drain, backpressure."""

import random

from hw.memory.data_mover import DataMover
from sim_tests.memory.helpers import PARAMS, run, with_dram


async def access(ctx, dut, rng, *, paddr, write, line, length, beats=()):
    """Run one access with random idle/backpressure; return the data beats read (as (data, last))."""
    ctx.set(dut.start, 1)
    ctx.set(dut.paddr, paddr)
    ctx.set(dut.write, write)
    ctx.set(dut.line, line)
    ctx.set(dut.length, length)
    await ctx.tick()
    ctx.set(dut.start, 0)
    beats, out, hdr = list(beats), [], 0
    for _ in range(1000):
        ctx.set(dut.rx_data.valid, bool(beats) and rng.random() < 0.7)
        if beats:
            ctx.set(dut.rx_data.payload.data, beats[0])
            ctx.set(dut.rx_data.payload.last, len(beats) == 1)
        ctx.set(dut.tx_data.ready, rng.random() < 0.7)
        ctx.set(dut.hdr_ready, rng.random() < 0.7)
        done = ctx.get(dut.done)
        took = ctx.get(dut.rx_data.valid) and ctx.get(dut.rx_data.ready)
        if ctx.get(dut.tx_data.valid) and ctx.get(dut.tx_data.ready):
            out.append((ctx.get(dut.tx_data.payload.data), ctx.get(dut.tx_data.payload.last)))
        hdr += ctx.get(dut.hdr_valid) and ctx.get(dut.hdr_ready)
        await ctx.tick()
        if took:
            beats.pop(0)
        if done:
            ctx.set(dut.rx_data.valid, 0)
            assert not beats and hdr == (0 if write else 1)
            return out
    raise AssertionError("access did not finish")


def test_lines_words_and_drain():
    dut = DataMover(PARAMS)
    m, _ = with_dram(dut, "mem")
    rng = random.Random(7)
    line = [rng.getrandbits(64) for _ in range(8)]
    got = {}

    async def bench(ctx):
        await access(ctx, dut, rng, paddr=0x240, write=1, line=1, length=64, beats=line)
        got["line"] = await access(ctx, dut, rng, paddr=0x240, write=0, line=1, length=64)
        # A 2-byte word at byte 6 of the first beat: only those bytes change.
        await access(ctx, dut, rng, paddr=0x246, write=1, line=0, length=2, beats=[0xFFFF_FFFF_FFFF_BEEF])
        got["word"] = await access(ctx, dut, rng, paddr=0x246, write=0, line=0, length=2)
        got["beat0"] = await access(ctx, dut, rng, paddr=0x240, write=0, line=0, length=8)
        # Drain: consume beats up to the last one, no DRAM access.
        ctx.set(dut.drain, 1)
        await ctx.tick()
        ctx.set(dut.drain, 0)
        drained = 0
        for last in (0, 0, 1):
            ctx.set(dut.rx_data.valid, 1)
            ctx.set(dut.rx_data.payload.last, last)
            assert ctx.get(dut.rx_data.ready) and ctx.get(dut.mem.req) == 0
            drained += 1
            got["drain_done"] = ctx.get(dut.done)
            await ctx.tick()
        ctx.set(dut.rx_data.valid, 0)
        got["drained"] = drained

    run(m, bench)
    assert got["line"] == [(d, int(i == 7)) for i, d in enumerate(line)]
    assert got["word"] == [(0xBEEF, 1)]
    expect0 = (line[0] & ~(0xFFFF << 48)) | (0xBEEF << 48)
    assert got["beat0"] == [(expect0, 1)]
    assert got["drained"] == 3 and got["drain_done"] == 1
