"""ExCacheCounters: one count per event pulse; clear wins over a same-cycle event."""

from hw.processor.excache_counters import COUNTERS, ExCacheCounters
from sim_tests.processor.helpers import simulate


def test_counters_count_and_clear():
    dut = ExCacheCounters()
    got = {}

    async def bench(ctx):
        for cycle in range(12):
            for i, (name, _) in enumerate(COUNTERS):
                ctx.set(getattr(dut, f"count_{name}"), cycle % (i + 1) == 0)
            await ctx.tick()
        got["counted"] = {name: ctx.get(getattr(dut, name)) for name, _ in COUNTERS}
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for name, _ in COUNTERS:
            ctx.set(getattr(dut, f"count_{name}"), 0)
        await ctx.tick()
        got["cleared"] = {name: ctx.get(getattr(dut, name)) for name, _ in COUNTERS}

    simulate(dut, bench)
    assert got["counted"] == {"hits": 12, "misses": 6, "evictions": 4, "writebacks": 3}
    assert got["cleared"] == {name: 0 for name, _ in COUNTERS}
