"""ExCacheTop's CSR registers (all implemented by hw.lib.csr kinds): info, mem_node storage, maintenance
command -> status.busy/done (write 1 to clear) and irq, counters counting one miss and two hits, and cleared."""

from hw.processor.excache import ExCacheTop
from hw.processor.registers import COUNTERS, POLICY_CODE, register_map
from hw.protocol import MsgKind, Status
from sim_tests.processor.helpers import PARAMS, simulate

REGS = register_map()


def test_registers():
    p = PARAMS
    dut = ExCacheTop(p)
    got = {}

    async def bench(ctx):
        bus = dut.csr

        async def read(name):
            ctx.set(bus.addr, REGS.addr(name))
            ctx.set(bus.r_stb, 1)
            await ctx.tick()
            ctx.set(bus.r_stb, 0)
            return ctx.get(bus.r_data)

        async def write(name, value):
            ctx.set(bus.addr, REGS.addr(name))
            ctx.set(bus.w_data, value)
            ctx.set(bus.w_stb, 1)
            await ctx.tick()
            ctx.set(bus.w_stb, 0)

        got["info"] = await read("info")
        await write("mem_node", 0x1A5)
        got["mem_node"] = await read("mem_node")
        got["maint_cmd_read"] = await read("maint_cmd")     # not readable: r_data keeps the last value
        got["irq_before"] = ctx.get(dut.irq)
        await write("maint_cmd", 1 | 3 << 16)               # invalidate pid 3
        got["busy"] = await read("status") & 1
        for _ in range(4 * PARAMS.sets):
            await ctx.tick()
        got["status_done"] = await read("status")
        got["irq_done"] = ctx.get(dut.irq)
        await write("status", 0b1)                          # writing 0 to done keeps it
        got["status_kept"] = await read("status")
        await write("status", 0b10)
        got["status_cleared"] = await read("status")
        got["irq_after"] = ctx.get(dut.irq)
        # One miss (served here as the memory would) and two hits.
        ctx.set(dut.net_tx.hdr.ready, 1)
        ctx.set(dut.cpu_resp.ready, 1)
        answered = 0
        for vaddr in (0x40, 0x48, 0x40):
            ctx.set(dut.cpu_req.valid, 1)
            ctx.set(dut.cpu_req.payload, {"op": 0, "pid": 1, "vaddr": vaddr})
            await ctx.tick().until(dut.cpu_req.ready)
            ctx.set(dut.cpu_req.valid, 0)
            for _ in range(100):
                if ctx.get(dut.net_tx.hdr.valid):
                    await ctx.tick()
                    ctx.set(dut.net_rx.hdr.valid, 1)
                    ctx.set(dut.net_rx.hdr.payload, {"kind": MsgKind.LINE_READ_RESP, "status": Status.OK})
                    await ctx.tick().until(dut.net_rx.hdr.ready)
                    ctx.set(dut.net_rx.hdr.valid, 0)
                    for i in range(p.words_per_line):
                        ctx.set(dut.net_rx.data.valid, 1)
                        ctx.set(dut.net_rx.data.payload, {"data": i, "last": i == p.words_per_line - 1})
                        await ctx.tick().until(dut.net_rx.data.ready)
                    ctx.set(dut.net_rx.data.valid, 0)
                answered += ctx.get(dut.cpu_resp.valid)
                await ctx.tick()
                if answered:
                    break
            answered = 0
        got["counters"] = [await read(name) for name, _ in COUNTERS]
        await write("counters_clear", 1)
        got["cleared"] = [await read(name) for name, _ in COUNTERS]

    simulate(dut, bench)
    assert got["info"] == p.ways | p.index_bits << 8 | p.offset_bits << 13 | POLICY_CODE[p.policy] << 17 | \
        p.byte_bits << 20
    assert got["mem_node"] == 0xA5 and got["maint_cmd_read"] == 0xA5
    assert got["irq_before"] == 0 and got["busy"] == 1
    assert got["status_done"] == 0b10 and got["irq_done"] == 1
    assert got["status_kept"] == 0b10
    assert got["status_cleared"] == 0 and got["irq_after"] == 0
    assert got["counters"] == [2, 1, 0, 0]           # hits, misses, evictions, writebacks
    assert got["cleared"] == [0, 0, 0, 0]
