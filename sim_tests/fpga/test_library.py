"""``disagg synth --library``: the shared pieces measured with registered ports (wrapper behaviour only;
the tool runs are in the command)."""

import pytest
from amaranth.sim import Simulator

from emu.synth.library import LIBRARY, Registered
from hw.lib.counter import Counter


def test_registered_wrapper_puts_one_register_on_each_side():
    dut = Registered(Counter(8, registered=False))
    seen = []

    async def bench(ctx):
        ctx.set(dut.inc, 1)
        for _ in range(6):
            await ctx.tick()
            seen.append(ctx.get(dut.value))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # Bare, the counter shows 1 after the first edge; inc reaches it one edge late and its value leaves
    # one edge late, so the wrapper shows 1 after the third.
    assert seen == [0, 0, 1, 2, 3, 4]


def test_library_pieces_elaborate_with_registered_ports():
    from emu.synth.blocks import block_verilog
    for name, factory in LIBRARY:
        text = block_verilog(name.replace(".", "_"), Registered(factory()))
        assert f"module {name.replace('.', '_')}" in text


def test_registered_needs_a_component():
    with pytest.raises(TypeError, match="not 3"):
        Registered(3)
