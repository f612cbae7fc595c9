"""hw.memory.register_bank.MMURegisterBank: configuration ports, saturation, TLB_INV, counters, fault view."""

from hw.memory.register_bank import MMURegisterBank
from hw.memory.registers import MMU_REGS
from sim_tests.memory.helpers import PARAMS, run

A = MMU_REGS.addr


class Csr:
    def __init__(self, bus):
        self.bus = bus

    async def write(self, ctx, name, value):
        ctx.set(self.bus.addr, A(name))
        ctx.set(self.bus.w_data, value)
        ctx.set(self.bus.w_stb, 1)
        await ctx.tick()
        ctx.set(self.bus.w_stb, 0)

    async def read(self, ctx, name):
        ctx.set(self.bus.addr, A(name))
        ctx.set(self.bus.r_stb, 1)
        await ctx.tick()
        ctx.set(self.bus.r_stb, 0)
        return ctx.get(self.bus.r_data)


def test_bank():
    dut = MMURegisterBank(PARAMS)
    csr = Csr(dut.csr)
    got = {}

    async def bench(ctx):
        got["reset"] = (ctx.get(dut.pt_buckets_log2), ctx.get(dut.pt_max_probes))
        got["info0"] = await csr.read(ctx, "INFO0")
        await csr.write(ctx, "PT_BASE_LO", 0x4000)
        await csr.write(ctx, "PT_BASE_HI", 0x1)
        await csr.write(ctx, "PT_BUCKETS_LOG2", 99)
        await csr.write(ctx, "NODE_ID", 0x1FF)
        got["config"] = (ctx.get(dut.pt_base), ctx.get(dut.pt_buckets_log2), ctx.get(dut.node_id))
        # TLB_INV acts in the write cycle; a pid out of range only for mode 2 (all).
        await csr.write(ctx, "TLB_INV_VPN_LO", 0x33)
        ctx.set(dut.csr.addr, A("TLB_INV"))
        ctx.set(dut.csr.w_stb, 1)
        invs = []
        for value in (5 | 1 << 16, 9, 9 | 2 << 16):
            ctx.set(dut.csr.w_data, value)
            invs.append((ctx.get(dut.inv), ctx.get(dut.inv_mode), ctx.get(dut.inv_pid), ctx.get(dut.inv_vpn)))
        ctx.set(dut.csr.w_stb, 0)
        got["inv"] = invs
        # Counters: events count, a write sets.
        ctx.set(dut.events.walk, 1)
        for _ in range(3):
            await ctx.tick()
        ctx.set(dut.events.walk, 0)
        await ctx.tick()                      # counter increments are registered (hw/lib/counter, issue 18)
        got["walks"] = await csr.read(ctx, "CNT_WALKS")
        await csr.write(ctx, "CNT_WALKS", 40)
        got["walks_set"] = await csr.read(ctx, "CNT_WALKS")
        # Fault head: the address shows only while a fault is pending.
        ctx.set(dut.fault.vaddr, 0xAB_CDEF0123)
        got["vaddr_idle"] = await csr.read(ctx, "FAULT_VADDR_HI")
        ctx.set(dut.fault.pending, 1)
        got["vaddr_pending"] = await csr.read(ctx, "FAULT_VADDR_HI")
        ctx.set(dut.csr.addr, A("FAULT_RESOLVE"))
        ctx.set(dut.csr.w_data, 2)
        ctx.set(dut.csr.w_stb, 1)
        got["resolve"] = (ctx.get(dut.fault.resolve), ctx.get(dut.fault.resolve_cmd))
        await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)
        # Owner table writes and readback.
        ctx.set(dut.csr.addr, A("OWNER_SET"))
        ctx.set(dut.csr.w_data, 6 | 3 << 16 | 1 << 31)
        ctx.set(dut.csr.w_stb, 1)
        got["owner_set"] = tuple(ctx.get(getattr(dut.owner_set, f)) for f in ("stb", "pid", "node", "valid"))
        await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)
        ctx.set(dut.owner_get_valid, 1)
        ctx.set(dut.owner_get_node, 3)
        got["owner_get"] = await csr.read(ctx, "OWNER_GET")

    run(dut, bench)
    p = PARAMS
    assert got == {
        "reset": (p.pt_buckets_log2, p.pt_max_probes),
        "info0": p.page_bits | p.pid_width << 8 | p.vaddr_width << 16 | p.paddr_width << 24,
        "config": (0x1_00004000, 24, 0xFF),          # PT_BUCKETS_LOG2 = 99 saturates at 24
        "inv": [(1, 1, 5, 0x33), (0, 0, 1, 0x33), (1, 2, 1, 0x33)],
        "walks": 3, "walks_set": 40, "vaddr_idle": 0, "vaddr_pending": 0xAB,
        "resolve": (1, 2), "owner_set": (1, 6, 3, 1), "owner_get": 3 | 1 << 31,
    }
