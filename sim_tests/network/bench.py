"""Helpers of the network component tests (Amaranth simulator, no Verilator)."""

from amaranth.sim import Simulator

__all__ = ["simulate", "pulsed"]


def simulate(dut, bench):
    """Run the async testbench ``bench(ctx)`` on ``dut`` with a clock; return what ``bench`` returned."""
    result = {}
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def wrapper(ctx):
        result["value"] = await bench(ctx)

    sim.add_testbench(wrapper)
    sim.run()
    return result.get("value")


def pulsed(ctx, dut, names):
    """The names of the 1-bit ports of ``dut`` among ``names`` that are high now."""
    return {name for name in names if ctx.get(getattr(dut, name))}
