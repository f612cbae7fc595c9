"""The region router (amaranth.sim): destination rewriting by (pid, region) against a model of the table,
random seeded table writes and headers, backpressure, a table rewrite while a header waits, counters."""

import random

from amaranth.sim import Simulator

from hw.system.rack_registers import router_register_map
from hw.system.region_router import RegionRouter

REGS = router_register_map()
LOG2 = 12
ENTRIES = 8


class TableModel:
    """The table as firmware wrote it: entry -> (pid, region, node); lowest matching index wins."""

    def __init__(self):
        self.entries = {}

    def route(self, pid, vaddr, default):
        for i in sorted(self.entries):
            p, r, n = self.entries[i]
            if p == pid and r == vaddr >> LOG2:
                return n, True
        return default, False


def test_router_against_model():
    seed = 0x5EED
    rng = random.Random(seed)
    dut = RegionRouter(64, entries=ENTRIES, region_log2=LOG2, vaddr_width=48, pid_width=4, node_id_width=3)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    model = TableModel()
    stats = {"routed": 0, "unrouted": 0, "held": 0}

    async def write(ctx, name, value):
        ctx.set(dut.csr.addr, REGS.addr(name))
        ctx.set(dut.csr.w_data, value)
        ctx.set(dut.csr.w_stb, 1)
        await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)

    async def read(ctx, name):
        ctx.set(dut.csr.addr, REGS.addr(name))
        ctx.set(dut.csr.r_stb, 1)
        await ctx.tick()
        ctx.set(dut.csr.r_stb, 0)
        return ctx.get(dut.csr.r_data)

    async def commit(ctx, index, pid, region, node, valid=1):
        await write(ctx, "entry_pid", pid)
        await write(ctx, "entry_region", region & 0xFFFF_FFFF)
        await write(ctx, "entry_region_hi", region >> 32)
        await write(ctx, "entry_node", node)
        await write(ctx, "commit", valid | index << 8)
        if valid:
            model.entries[index] = (pid, region, node)
        else:
            model.entries.pop(index, None)

    async def bench(ctx):
        hdr_in, hdr_out = dut.s_tx.hdr, dut.m_tx.hdr
        regions = [rng.getrandbits(36) for _ in range(6)]
        for step in range(300):
            if rng.random() < 0.3:
                await commit(ctx, rng.randrange(ENTRIES), rng.randrange(1, 4), rng.choice(regions),
                             rng.randrange(8), valid=int(rng.random() < 0.85))
            pid = rng.randrange(1, 4)
            vaddr = rng.choice(regions) << LOG2 | rng.getrandbits(LOG2)
            default = rng.randrange(8)
            want, hit = model.route(pid, vaddr, default)
            ctx.set(hdr_in.payload.pid, pid)
            ctx.set(hdr_in.payload.vaddr, vaddr)
            ctx.set(hdr_in.payload.dst, default)
            ctx.set(hdr_in.payload.tag, step & 0xFF)
            ctx.set(hdr_in.valid, 1)
            waits = rng.choice((0, 0, 1, 3))
            for w in range(waits):
                ctx.set(hdr_out.ready, 0)
                await ctx.delay(1e-9)
                assert ctx.get(hdr_out.valid) and ctx.get(hdr_out.payload.dst) == want, (seed, step, w)
                await ctx.tick()
                if w == 0:
                    # A table rewrite while the header waits must not change it (written through the bus:
                    # the header stays offered meanwhile, nothing moves with ready low).
                    await commit(ctx, rng.randrange(ENTRIES), pid, vaddr >> LOG2, (want + 1) % 8)
                    stats["held"] += 1
            ctx.set(hdr_out.ready, 1)
            await ctx.delay(1e-9)
            assert ctx.get(hdr_out.payload.dst) == want, (seed, step, "at transfer")
            assert ctx.get(hdr_out.payload.tag) == step & 0xFF and ctx.get(hdr_out.payload.pid) == pid
            assert ctx.get(hdr_in.ready)
            await ctx.tick()
            ctx.set(hdr_in.valid, 0)
            stats["routed" if hit else "unrouted"] += 1
        assert await read(ctx, "routed") == stats["routed"]
        assert await read(ctx, "unrouted") == stats["unrouted"]
        assert stats["routed"] > 50 and stats["unrouted"] > 20 and stats["held"] > 20, stats
        # Read back an entry; invalidate_all empties the table.
        index = min(model.entries)
        await write(ctx, "view_index", index)
        info = await read(ctx, "view_info")
        p, r, n = model.entries[index]
        assert (info & 1, info >> 8 & 0xFF, info >> 16) == (1, n, p)
        assert await read(ctx, "view_region") | await read(ctx, "view_region_hi") << 32 == r
        await write(ctx, "invalidate_all", 1)
        assert await read(ctx, "view_info") & 1 == 0
        await write(ctx, "counters_clear", 1)
        assert await read(ctx, "routed") == 0
    sim.add_testbench(bench)
    sim.run()
