"""cocotb tests of the VCD window recorder on the stream register (run by test_window_recorder.py).

Randomized traffic with idle and backpressure goes through the register; a scoreboard compares the
output with the input (the register's golden model is the identity on the beat sequence). A VCD window
of both streams is recorded and checked. With a fault injected, the checker must report it.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from sim_tests.lib.streams import StreamSink, StreamSource
from sim_tests.lib.vcd_window import VcdWindow

from .stream_reg import FAULT_MUTATE, FAULT_NONE, FAULT_RETRACT

CONFIG = json.loads(os.environ.get("DISAGG_CONFIG", '{"width": 8}'))
SEED = int(os.environ.get("DISAGG_SEED", "1"))
WINDOW = 400  # cycles recorded


async def _traffic(dut, name, *, fault=FAULT_NONE, fault_from=None, beats=150):
    rng = random.Random(SEED)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.fault.value = FAULT_NONE
    dut.rst.value = 1
    window = VcdWindow(dut, f"{name}.window.vcd", streams=["i", "o"], signals=["fault"], end=WINDOW)
    window.start()
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    src = StreamSource(dut, "i", dut.clk, idle_prob=0.3, rng=random.Random(rng.random()))
    sink = StreamSink(dut, "o", dut.clk, backpressure_prob=0.4, rng=random.Random(rng.random()))
    sent = [rng.randrange(1 << CONFIG["width"]) for _ in range(beats)]
    for v in sent:
        src.send_nowait(v)
    if fault_from is not None:
        await ClockCycles(dut.clk, fault_from)
        dut.fault.value = fault
    while window.samples and not window.done or not window.samples:
        await RisingEdge(dut.clk)
    received = list(sink.queue)
    return window, sent, received


@cocotb.test()
async def correct_register_passes_the_check(dut):
    window, sent, received = await _traffic(dut, "correct")
    assert received == sent[: len(received)], "register reordered or changed beats"
    assert len(received) > 100, f"only {len(received)} beats in {WINDOW} cycles"
    report = window.check()
    assert {s.short for s in report.streams} == {"i", "o"}
    # Reset is released after the third edge; the window's cycle 0 is the second edge.
    assert len(report.cycles) == WINDOW and report.cycles.active[:3] == [False, False, True]


@cocotb.test()
async def retracted_valid_is_caught(dut):
    window, _, _ = await _traffic(dut, "retract", fault=FAULT_RETRACT, fault_from=50)
    try:
        window.check()
    except AssertionError as exc:
        text = str(exc)
    else:
        raise AssertionError("the checker missed a valid dropped under backpressure")
    assert "valid-retracted" in text and "dut.o__valid" in text, text
    assert "payload-changed" not in text, text


@cocotb.test()
async def payload_change_under_backpressure_is_caught(dut):
    window, _, _ = await _traffic(dut, "mutate", fault=FAULT_MUTATE, fault_from=50)
    try:
        window.check()
    except AssertionError as exc:
        text = str(exc)
    else:
        raise AssertionError("the checker missed a payload changed under backpressure")
    assert "payload-changed" in text and "dut.o__payload" in text, text
    assert "valid-retracted" not in text, text
