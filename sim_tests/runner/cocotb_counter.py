"""cocotb tests of the counter: one that passes, one that fails when ``DISAGG_RUNNER_FAIL`` says so (``1``: on
every simulator; ``icarus`` or ``verilator``: on that one only)."""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


async def _reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


@cocotb.test()
async def counts(dut):
    """The count goes up by one per cycle, modulo 2**width."""
    width = json.loads(os.environ["DISAGG_CONFIG"])["width"]
    await _reset(dut)
    start = int(dut.count.value)
    for i in range(1, 2 ** width + 3):
        await RisingEdge(dut.clk)
        assert int(dut.count.value) == (start + i) % 2 ** width


@cocotb.test()
async def fails_when_asked(dut):
    """Fails where ``DISAGG_RUNNER_FAIL`` asks: the runner must report it, with the simulator."""
    await _reset(dut)
    fail = os.environ.get("DISAGG_RUNNER_FAIL", "")
    here = "icarus" if "icarus" in cocotb.SIM_NAME.lower() else "verilator"
    assert fail not in ("1", here), f"failing as asked by DISAGG_RUNNER_FAIL={fail} on {here}"
