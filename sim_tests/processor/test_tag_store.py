"""TagStore: per-way writes, read then load, same-edge transparency, forwarding at the load edge, held
outputs, replacement state reset."""

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
        ctx.set(dut.rd.en, 0)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        seen["reset_repl"] = ctx.get(dut.repl)
        # Write way 1 of set 2 while reading set 2 at the same edge: the read shows the new entry.
        ctx.set(dut.rd.en, 1)
        ctx.set(dut.wr.set, 2)
        ctx.set(dut.wr.en, 0b0010)
        ctx.set(dut.wr.data, [entry(tag=0x55, pid=3, valid=1, dirty=0)] * 4)
        await ctx.tick()
        ctx.set(dut.wr.en, 0)
        ctx.set(dut.rd.en, 0)
        seen["before_load"] = ctx.get(dut.ways[1].valid)     # not loaded yet
        # The load edge: a dirty bit and a replacement state written to set 2 now are forwarded.
        ctx.set(dut.load, 1)
        ctx.set(dut.wr.en, 0b0010)
        ctx.set(dut.wr.data, [entry(tag=0x55, pid=3, valid=1, dirty=1)] * 4)
        ctx.set(dut.repl_wr.set, 2)
        ctx.set(dut.repl_wr.en, 1)
        ctx.set(dut.repl_wr.data, 0x5A)
        await ctx.tick()
        ctx.set(dut.load, 0)
        ctx.set(dut.wr.en, 0)
        ctx.set(dut.repl_wr.en, 0)
        seen["transparent"] = [ctx.get(dut.ways[i].valid) for i in range(4)], ctx.get(dut.ways[1].tag)
        seen["forwarded"] = ctx.get(dut.ways[1].dirty), ctx.get(dut.repl)
        # Without a load the outputs hold, even across a read of another set.
        ctx.set(dut.rd.en, 1)
        ctx.set(dut.rd.set, 0)
        await ctx.tick()
        ctx.set(dut.rd.en, 0)
        await ctx.tick()
        seen["held"] = ctx.get(dut.ways[1].pid)
        ctx.set(dut.repl_wr.set, 0)
        ctx.set(dut.repl_wr.en, 1)
        ctx.set(dut.repl_wr.data, 0b11_10_01_00 ^ 0xFF)
        await ctx.tick()
        ctx.set(dut.repl_wr.en, 0)
        ctx.set(dut.rd.en, 1)
        await ctx.tick()
        ctx.set(dut.rd.en, 0)
        ctx.set(dut.load, 1)
        await ctx.tick()
        seen["set0"] = ctx.get(dut.ways[1].valid), ctx.get(dut.repl)
        # A write to another set at the load edge is not forwarded.
        ctx.set(dut.rd.set, 2)
        ctx.set(dut.rd.en, 1)
        ctx.set(dut.load, 0)
        await ctx.tick()
        ctx.set(dut.rd.en, 0)
        ctx.set(dut.load, 1)
        ctx.set(dut.wr.set, 3)
        ctx.set(dut.wr.en, 0b0001)
        ctx.set(dut.wr.data, [entry(tag=1, pid=1, valid=1, dirty=1)] * 4)
        await ctx.tick()
        seen["other_set"] = ctx.get(dut.ways[0].dirty), ctx.get(dut.ways[1].dirty)

    simulate(dut, bench)
    assert seen["reset_repl"] == init_state(PARAMS)
    assert seen["before_load"] == 0
    assert seen["transparent"] == ([0, 1, 0, 0], 0x55)
    assert seen["forwarded"] == (1, 0x5A)
    assert seen["held"] == 3
    assert seen["set0"] == (0, 0b11_10_01_00 ^ 0xFF)
    assert seen["other_set"] == (0, 1)
