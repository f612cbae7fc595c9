"""Small recorded examples for the wave checker tests: amaranth.sim runs of the stream register, and
hand-written cycle tables turned into VCD with pyvcd (for 4-state values that 2-state simulators lack).
"""

from __future__ import annotations

import random
from pathlib import Path

from amaranth.sim import Simulator

from .stream_reg import StreamRegister

__all__ = ["simulate_register", "table_vcd", "PERIOD_PS"]

PERIOD_PS = 10_000


def simulate_register(path, *, fault=0, fault_from=None, cycles=40, seed=1, width=8) -> dict:
    """Run :class:`StreamRegister` in amaranth.sim with random idle and backpressure; write a VCD.

    ``fault`` is applied from cycle ``fault_from`` on (never if ``None``). Returns what the testbench
    sent and received (lists of payloads), so a test can also tell whether beats were lost.
    """
    dut = StreamRegister(width)
    rng = random.Random(seed)
    sent, received = [], []

    async def bench(ctx):
        pending, value = False, 0
        for cycle in range(cycles):
            ctx.set(dut.fault, fault if fault_from is not None and cycle >= fault_from else 0)
            if not pending and rng.random() < 0.7:
                value = (value + rng.randrange(1, 16)) % (1 << width)
                ctx.set(dut.i.payload, value)
                ctx.set(dut.i.valid, 1)
                pending = True
            ctx.set(dut.o.ready, int(rng.random() < 0.6))
            in_ready, out_valid, out_ready, out_payload = (
                ctx.get(dut.i.ready), ctx.get(dut.o.valid), ctx.get(dut.o.ready), ctx.get(dut.o.payload))
            await ctx.tick()
            if pending and in_ready:
                sent.append(value)
                pending = False
                ctx.set(dut.i.valid, 0)
            if out_valid and out_ready:
                received.append(out_payload)

    sim = Simulator(dut)
    sim.add_clock(PERIOD_PS * 1e-12)
    sim.add_testbench(bench)
    with sim.write_vcd(str(path)):
        sim.run()
    return {"sent": sent, "received": received}


def table_vcd(path, table: dict, *, widths: dict | None = None, scope: str = "top") -> Path:
    """Write a VCD from per-cycle values: ``{"rst": "1100", "s__valid": "0x11", "s__payload": [1, 2, "x", 2]}``.

    Strings give one character per cycle (1-bit signals); lists give one value per cycle (an int, or a
    string of 0/1/x/z bits). A value for cycle k is written at edge k-1, so it is what edge k samples,
    as in a simulator's dump. ``widths`` gives bus widths (default 8).
    """
    from vcd import VCDWriter
    widths = dict(widths or {})
    n = len(next(iter(table.values())))
    if any(len(v) != n for v in table.values()):
        raise ValueError("every row of the table needs the same number of cycles")
    path = Path(path)
    with open(path, "w") as f, VCDWriter(f, timescale="1 ps", date="") as w:
        clk = w.register_var(scope, "clk", "wire", size=1, init=0)
        vars_ = {}
        for name, values in table.items():
            size = 1 if isinstance(values, str) else widths.get(name, 8)
            vars_[name] = (w.register_var(scope, name, "wire", size=size), size)
        for k in range(n):
            t = k * PERIOD_PS
            for name, values in table.items():
                var, size = vars_[name]
                v = values[k]
                w.change(var, t, v if size == 1 or isinstance(v, int) else v.lower())
            w.change(clk, t + PERIOD_PS // 2, 0)
            w.change(clk, t + PERIOD_PS, 1)
            w.change(clk, t + PERIOD_PS + PERIOD_PS // 2, 0) if k == n - 1 else None
    return path
