"""hw.lib.counter: counting, amounts, priority of clear/load over inc, wrap-around (amaranth.sim)."""

import pytest
from amaranth.sim import Simulator

from hw.lib.counter import Counter, CounterBank


def test_counter_priority_and_wrap():
    dut = Counter(4, step_width=3)
    trace = []

    async def bench(ctx):
        for inc, clear, load, value in [(1, 0, 0, 0), (5, 0, 0, 0), (7, 0, 1, 9), (3, 1, 1, 2), (7, 0, 0, 0),
                                        (7, 0, 0, 0), (4, 0, 0, 0)]:
            ctx.set(dut.inc, inc)
            ctx.set(dut.clear, clear)
            ctx.set(dut.load, load)
            ctx.set(dut.load_value, value)
            await ctx.tick()
            trace.append(ctx.get(dut.value))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # 1, 6, load 9 (inc ignored), clear (load ignored), 7, 14, 18 wraps to 2
    assert trace == [1, 6, 9, 0, 7, 14, 2]


def test_bank_counts_each_name_and_clears_all():
    dut = CounterBank(["hits", "bytes"], width=16, step_widths={"bytes": 4})
    got = {}

    async def bench(ctx):
        for hit, nbytes in [(1, 8), (0, 8), (1, 3)]:
            ctx.set(dut.inc.hits, hit)
            ctx.set(dut.inc.bytes, nbytes)
            await ctx.tick()
        ctx.set(dut.inc.hits, 0)
        ctx.set(dut.inc.bytes, 0)
        got["counts"] = (ctx.get(dut.count.hits), ctx.get(dut.count.bytes))
        ctx.set(dut.clear, 1)
        await ctx.tick()
        got["cleared"] = (ctx.get(dut.count.hits), ctx.get(dut.count.bytes))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == {"counts": (2, 19), "cleared": (0, 0)}


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Counter(0), ValueError, "width"),
    (lambda: Counter(8, step_width=9), ValueError, "step_width"),
    (lambda: Counter(True), TypeError, "width must be an integer, not True"),
    (lambda: CounterBank([]), TypeError, "identifiers"),
    (lambda: CounterBank(["a", "a"]), ValueError, "unique"),
    (lambda: CounterBank(["a"], step_widths={"b": 2}), ValueError, "unknown"),
])
@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_arguments_are_checked(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
