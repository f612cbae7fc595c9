"""hw.memory.owners.OwnerTable: bind, unbind, out-of-range pids, the two registered lookups."""

from hw.memory.owners import OwnerTable
from sim_tests.memory.helpers import run


def test_bind_unbind_and_range():
    dut = OwnerTable(pid_width=3)
    got = []

    async def write(ctx, pid, node, valid):
        ctx.set(dut.set.stb, 1)
        ctx.set(dut.set.pid, pid)
        ctx.set(dut.set.node, node)
        ctx.set(dut.set.valid, valid)
        await ctx.tick()
        ctx.set(dut.set.stb, 0)

    async def look(ctx, pid):
        ctx.set(dut.check_pid, pid)
        ctx.set(dut.check_en, 1)
        ctx.set(dut.get_pid, pid)
        await ctx.tick()
        ctx.set(dut.check_en, 0)
        ctx.set(dut.check_pid, 0)                                   # the answer holds the sampled pid's
        return (ctx.get(dut.check_valid), ctx.get(dut.check_node), ctx.get(dut.get_valid), ctx.get(dut.get_node))

    async def bench(ctx):
        await write(ctx, 5, 9, 1)
        await write(ctx, 8 + 5, 3, 1)        # pid 13 is out of range: ignored, pid 5 keeps node 9
        got.append(await look(ctx, 5))
        got.append(await look(ctx, 13))             # out of range: unbound, even though pid[:3] == 5
        await write(ctx, 5, 9, 0)
        got.append(await look(ctx, 5))              # unbound; the node field still shows
        got.append(await look(ctx, 2))
        # A bind in the lookup cycle is seen by both lookups (transparent reads).
        ctx.set(dut.set.stb, 1)
        ctx.set(dut.set.pid, 4)
        ctx.set(dut.set.node, 7)
        ctx.set(dut.set.valid, 1)
        ctx.set(dut.check_pid, 4)
        ctx.set(dut.check_en, 1)
        ctx.set(dut.get_pid, 4)
        await ctx.tick()
        ctx.set(dut.set.stb, 0)
        ctx.set(dut.check_en, 0)
        got.append((ctx.get(dut.check_valid), ctx.get(dut.check_node), ctx.get(dut.get_valid), ctx.get(dut.get_node)))

    run(dut, bench)
    assert got == [(1, 9, 1, 9), (0, 9, 0, 0), (0, 9, 0, 9), (0, 0, 0, 0), (1, 7, 1, 7)]
