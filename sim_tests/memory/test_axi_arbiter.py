"""hw.memory.axi_arbiter.AXIArbiter: same-cycle grant, priority, grant held while req stays high."""

import pytest

from hw.lib.axi import BURST_INCR
from hw.memory.axi_arbiter import AXIArbiter
from sim_tests.memory.helpers import run


def test_grant_priority_and_hold():
    dut = AXIArbiter(3, addr_width=16, data_width=64)
    trace = []

    def step(ctx):
        ctx.set(dut.axi.arready, 1)
        return (ctx.get(dut.axi.arvalid), ctx.get(dut.axi.araddr),
                tuple(ctx.get(getattr(dut, f"m{i}").arready) for i in range(3)))

    async def bench(ctx):
        assert (ctx.get(dut.axi.arburst), ctx.get(dut.axi.arsize), ctx.get(dut.axi.awcache)) == (BURST_INCR, 3, 3)
        for i in range(3):
            ctx.set(getattr(dut, f"m{i}").araddr, 0x100 * (i + 1))
        trace.append(step(ctx))                              # nobody asks
        ctx.set(dut.m2.req, 1)
        ctx.set(dut.m2.arvalid, 1)
        trace.append(step(ctx))                              # granted in the same cycle
        await ctx.tick()
        ctx.set(dut.m0.req, 1)
        ctx.set(dut.m0.arvalid, 1)
        trace.append(step(ctx))                              # m2 keeps it although m0 has priority
        await ctx.tick()
        ctx.set(dut.m2.req, 0)
        ctx.set(dut.m2.arvalid, 0)
        trace.append(step(ctx))                              # released: m0 at once
        ctx.set(dut.m1.req, 1)
        ctx.set(dut.m1.arvalid, 1)
        await ctx.tick()
        trace.append(step(ctx))                              # m0 still holds it against m1
        ctx.set(dut.m0.req, 0)
        ctx.set(dut.m0.arvalid, 0)
        trace.append(step(ctx))

    run(dut, bench)
    assert trace == [(0, 0, (0, 0, 0)), (1, 0x300, (0, 0, 1)), (1, 0x300, (0, 0, 1)), (1, 0x100, (1, 0, 0)),
                     (1, 0x100, (1, 0, 0)), (1, 0x200, (0, 1, 0))]


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_arguments():
    with pytest.raises(ValueError, match="AXIArbiter n"):
        AXIArbiter(0, addr_width=16, data_width=64)
