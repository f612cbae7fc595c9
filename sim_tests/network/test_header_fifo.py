"""HeaderFIFO (hw/network/header_fifo.py): cycle for cycle the ports of a fall-through SyncFIFO of the same
depth, with random writes and reads, and its output from registers."""

import random

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In

from hw.network.header_fifo import HeaderFIFO
from sim_tests.network.bench import simulate

WIDTH = 12


class SideBySide(wiring.Component):
    """A HeaderFIFO and a SyncFIFO given the same writes and reads."""

    w_data: In(WIDTH)
    w_en: In(1)
    r_en: In(1)

    def __init__(self, depth):
        self.depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut = HeaderFIFO(WIDTH, self.depth)
        m.submodules.ref = self.ref = SyncFIFO(width=WIDTH, depth=self.depth)
        for fifo in (self.dut, self.ref):
            m.d.comb += [fifo.w_data.eq(self.w_data), fifo.w_en.eq(self.w_en), fifo.r_en.eq(self.r_en)]
        return m


@pytest.mark.parametrize("depth,seed", [(2, 1), (8, 2), (8, 3), (9, 4)])
def test_same_ports_as_a_fall_through_fifo(depth, seed):
    rng = random.Random(seed)
    top = SideBySide(depth)

    async def bench(ctx):
        mismatches, taken, full_seen = [], 0, 0
        for cycle in range(2000):
            # Phases of mostly writing and mostly reading, so that the FIFO fills and empties.
            p_write, p_read = (0.8, 0.3) if cycle // 100 % 2 == 0 else (0.3, 0.8)
            ref, dut = top.ref, top.dut
            w_en = ctx.get(ref.w_rdy) and rng.random() < p_write
            r_en = rng.random() < p_read
            ctx.set(top.w_data, rng.randrange(1 << WIDTH))
            ctx.set(top.w_en, w_en)
            ctx.set(top.r_en, r_en)
            got = (ctx.get(dut.w_rdy), ctx.get(dut.r_rdy), ctx.get(dut.r_data) if ctx.get(dut.r_rdy) else None)
            want = (ctx.get(ref.w_rdy), ctx.get(ref.r_rdy), ctx.get(ref.r_data) if ctx.get(ref.r_rdy) else None)
            if got != want:
                mismatches.append((cycle, got, want))
            taken += bool(r_en and want[1])
            full_seen += not want[0]
            await ctx.tick()
        return mismatches, taken, full_seen

    mismatches, taken, full_seen = simulate(top, bench)
    assert mismatches == [], f"seed {seed}: {mismatches[:5]}"
    assert taken > 500 and full_seen > 20, (taken, full_seen)     # the traffic filled and drained it


def test_parameters_are_checked():
    with pytest.raises(TypeError, match="depth must be an integer of at least 2, not 1"):
        HeaderFIFO(8, 1)
    with pytest.raises(TypeError, match="width must be a positive integer, not 0"):
        HeaderFIFO(0, 8)
