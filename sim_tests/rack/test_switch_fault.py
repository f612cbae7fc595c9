"""The switch's failed-endpoint path (amaranth.sim): from the frame boundary after ``port_dead[k]`` rises,
frames from and to port k are dropped and counted in ``dropped_dead``; a frame already moving finishes; the
other ports route on unchanged. Random frames, seeded."""

import random

from amaranth.sim import Simulator

from hw.network.switch import Switch

SEED = 0xDEAD


def test_dead_port_drops_both_directions():
    rng = random.Random(SEED)
    n, dead_port = 3, 2
    dut = Switch(n, 64, node_ids=(0, 1, 2), node_id_width=2)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    plan = []      # (ingress, dst, beats, sent after the kill?)
    got = {o: [] for o in range(n)}

    def frame(src, dst, beats, ident):
        return [(dst | src << 8 | ident << 16 | k << 40, k == beats - 1) for k in range(beats)]

    async def sender(ctx):
        for ident in range(120):
            i = rng.randrange(n)
            dst = rng.choice([o for o in range(n) if o != i])
            beats = rng.randrange(1, 5)
            after = ident >= 60
            if ident == 60:
                ctx.set(dut.port_dead, 1 << dead_port)
            plan.append((i, dst, ident, after))
            s = dut.s_axis[i]
            for data, last in frame(i, dst, beats, ident):
                ctx.set(s.tdata, data)
                ctx.set(s.tlast, last)
                ctx.set(s.tkeep, 0xFF)
                ctx.set(s.tvalid, 1)
                await ctx.tick().until(s.tready)
            ctx.set(s.tvalid, 0)
        await ctx.tick().repeat(50)
        expect = {o: [] for o in range(n)}
        dropped = 0
        for i, dst, ident, after in plan:
            if after and dead_port in (i, dst):
                dropped += 1
            else:
                expect[dst].append(ident)
        assert got == expect, SEED
        assert ctx.get(dut.dropped_dead) == dropped and dropped > 10, (SEED, dropped)
        assert ctx.get(dut.frames_routed) == 120 - dropped and ctx.get(dut.dropped_spoofed) == 0, SEED

    async def receiver(ctx):
        while True:
            for o in range(n):
                ctx.set(dut.m_axis[o].tready, rng.random() < 0.7)
            await ctx.delay(1e-9)
            for o in range(n):
                m = dut.m_axis[o]
                if ctx.get(m.tvalid) and ctx.get(m.tready) and ctx.get(m.tlast):
                    got[o].append(ctx.get(m.tdata) >> 16 & 0xFF_FFFF)
            await ctx.tick()

    sim.add_testbench(sender)
    sim.add_testbench(receiver, background=True)
    sim.run()
