"""TagStore: per-way writes, held reads, same-edge transparency, replacement state reset."""

from hw.processor.replacement import init_state
from hw.processor.tag_store import TagStore
from sim_tests.processor.helpers import PARAMS, entry, simulate


def test_tag_store_reads_writes_and_holds():
    dut = TagStore(PARAMS)
    seen = {}

    async def bench(ctx):
        ctx.set(dut.rd.set, 2)
        ctx.set(dut.rd.en, 1)
        await ctx.tick()
        seen["reset_repl"] = ctx.get(dut.repl)
        # Write way 1 of set 2 while reading set 2 at the same edge: the read shows the new entry.
        ctx.set(dut.wr.set, 2)
        ctx.set(dut.wr.en, 0b0010)
        ctx.set(dut.wr.data, [entry(tag=0x55, pid=3, valid=1, dirty=1)] * 4)
        await ctx.tick()
        ctx.set(dut.wr.en, 0)
        seen["transparent"] = [ctx.get(dut.ways[i].valid) for i in range(4)], ctx.get(dut.ways[1].tag)
        # A disabled read holds the set even when another set is addressed.
        ctx.set(dut.rd.en, 0)
        ctx.set(dut.rd.set, 0)
        await ctx.tick()
        seen["held"] = ctx.get(dut.ways[1].pid)
        ctx.set(dut.repl_wr.set, 0)
        ctx.set(dut.repl_wr.en, 1)
        ctx.set(dut.repl_wr.data, 0b11_10_01_00 ^ 0xFF)
        await ctx.tick()
        ctx.set(dut.repl_wr.en, 0)
        ctx.set(dut.rd.en, 1)
        await ctx.tick()
        seen["set0"] = ctx.get(dut.ways[1].valid), ctx.get(dut.repl)

    simulate(dut, bench)
    assert seen["reset_repl"] == init_state(PARAMS)
    assert seen["transparent"] == ([0, 1, 0, 0], 0x55)
    assert seen["held"] == 3
    assert seen["set0"] == (0, 0b11_10_01_00 ^ 0xFF)
