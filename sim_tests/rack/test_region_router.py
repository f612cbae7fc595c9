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


def test_replicated_writes_and_absorbed_responses():
    """Replication: a write to a replicated region leaves twice (primary, then secondary, same tag and beats),
    reads and other writes once; the secondary's write response is absorbed, every other response passes."""
    from hw.protocol import MsgKind

    seed = 0xB0B
    rng = random.Random(seed)
    beats_per_line = 8
    dut = RegionRouter(64, entries=4, region_log2=LOG2, vaddr_width=48, pid_width=4, node_id_width=3,
                       replica_beats=beats_per_line, replica_outstanding=2)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    # pid 1 region 5 -> node 4, replicated on node 6; pid 1 region 7 -> node 5, not replicated.
    table = [(0, 1, 5, 4, 6), (1, 1, 7, 5, None)]
    sent, got_hdrs, got_beats = [], [], []
    responses_out = []

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

    async def producer(ctx):
        for index, p, reg, node, second in table:
            await write(ctx, "entry_pid", p)
            await write(ctx, "entry_region", reg)
            await write(ctx, "entry_node", node)
            await write(ctx, "entry_replica", 0 if second is None else second | 1 << 8)
            await write(ctx, "commit", 1 | index << 8)
        hdr, data = dut.s_tx.hdr, dut.s_tx.data
        for tag in range(60):
            kind = rng.choice((MsgKind.LINE_READ, MsgKind.LINE_WRITE, MsgKind.LINE_WRITE))
            reg = rng.choice((5, 7, 9))
            line = [rng.getrandbits(64) for _ in range(beats_per_line)]
            sent.append((tag, kind, reg, line))
            ctx.set(hdr.payload.kind, kind)
            ctx.set(hdr.payload.pid, 1)
            ctx.set(hdr.payload.vaddr, reg << LOG2 | 0x40)
            ctx.set(hdr.payload.dst, 3)
            ctx.set(hdr.payload.tag, tag)
            ctx.set(hdr.payload.length, 64)
            ctx.set(hdr.valid, 1)
            await ctx.tick().until(hdr.ready)
            ctx.set(hdr.valid, 0)
            if kind == MsgKind.LINE_WRITE:
                for k, word in enumerate(line):
                    while rng.random() < 0.3:
                        ctx.set(data.valid, 0)
                        await ctx.tick()
                    ctx.set(data.payload.data, word)
                    ctx.set(data.payload.last, k == beats_per_line - 1)
                    ctx.set(data.valid, 1)
                    await ctx.tick().until(data.ready)
                ctx.set(data.valid, 0)

    async def consumer(ctx):
        hdr, data = dut.m_tx.hdr, dut.m_tx.data
        while True:
            ctx.set(hdr.ready, rng.random() < 0.7)
            ctx.set(data.ready, rng.random() < 0.7)
            await ctx.delay(1e-9)
            if ctx.get(hdr.valid) and ctx.get(hdr.ready):
                got_hdrs.append((ctx.get(hdr.payload.tag), ctx.get(hdr.payload.kind), ctx.get(hdr.payload.dst)))
            if ctx.get(data.valid) and ctx.get(data.ready):
                got_beats.append(ctx.get(data.payload.data))
            await ctx.tick()

    async def responder(ctx):
        """Answers each write from every node it went to, in the order the requests left."""
        rs, ro = dut.s_rx.hdr, dut.m_rx.hdr
        answered = 0
        while True:
            ctx.set(ro.ready, rng.random() < 0.8)
            if answered < len(got_hdrs) and not ctx.get(rs.valid):
                tag, kind, dst = got_hdrs[answered]
                answered += 1
                if kind == MsgKind.LINE_WRITE:
                    ctx.set(rs.payload.kind, MsgKind.LINE_WRITE_RESP)
                    ctx.set(rs.payload.src, dst)
                    ctx.set(rs.payload.tag, tag)
                    ctx.set(rs.valid, 1)
            await ctx.delay(1e-9)
            if ctx.get(ro.valid) and ctx.get(ro.ready):
                responses_out.append((ctx.get(ro.payload.tag), ctx.get(ro.payload.src)))
            fired = ctx.get(rs.valid) and ctx.get(rs.ready)
            await ctx.tick()
            if fired:
                ctx.set(rs.valid, 0)

    async def checker(ctx):
        await ctx.tick().repeat(6000)
        routes = {5: (4, 6), 7: (5, None), 9: (3, None)}
        expect_hdrs, expect_beats, expect_resp = [], [], []
        for tag, kind, reg, line in sent:
            node, second = routes[reg]
            expect_hdrs.append((tag, kind, node))
            if kind == MsgKind.LINE_WRITE:
                expect_beats += line
                expect_resp.append((tag, node))
                if second is not None:
                    expect_hdrs.append((tag, kind, second))
                    expect_beats += line
        assert len(sent) == 60, seed
        assert got_hdrs == expect_hdrs, seed
        assert got_beats == expect_beats, seed
        assert responses_out == expect_resp, seed
        n_rep = sum(1 for _, k, reg, _ in sent if k == MsgKind.LINE_WRITE and reg == 5)
        assert n_rep > 5
        assert await read(ctx, "replicated") == n_rep and await read(ctx, "replica_acks") == n_rep
        assert await read(ctx, "replica_faults") == 0

    sim.add_testbench(producer)
    sim.add_testbench(consumer, background=True)
    sim.add_testbench(responder, background=True)
    sim.add_testbench(checker)
    sim.run()


def test_failover_replay_and_node_dead():
    """Failover: a request outstanding to a node that fails is re-sent, header and beats, to the new home the
    rewritten table gives; one whose region has no live home is answered NODE_DEAD by the router; a secondary
    write slot of a failed node is dropped (replica_lost); the response of the re-sent request frees its log
    slot. Random lines and kinds, seeded."""
    from hw.protocol import MsgKind, Status

    seed = 0xFA11
    rng = random.Random(seed)
    beats_per_line = 8
    dut = RegionRouter(64, entries=4, region_log2=LOG2, vaddr_width=48, pid_width=4, node_id_width=3,
                       replica_beats=beats_per_line, replica_outstanding=2, replay_slots=1)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    log = {"hdrs": [], "beats": [], "resp": []}

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

    async def entry(ctx, index, reg, node, second=None):
        await write(ctx, "entry_pid", 1)
        await write(ctx, "entry_region", reg)
        await write(ctx, "entry_node", node)
        await write(ctx, "entry_replica", 0 if second is None else second | 1 << 8)
        await write(ctx, "commit", 1 | index << 8)

    async def consumer(ctx):
        hdr, data = dut.m_tx.hdr, dut.m_tx.data
        while True:
            ctx.set(hdr.ready, rng.random() < 0.7)
            ctx.set(data.ready, rng.random() < 0.7)
            ctx.set(dut.m_rx.hdr.ready, rng.random() < 0.7)
            await ctx.delay(1e-9)
            if ctx.get(hdr.valid) and ctx.get(hdr.ready):
                log["hdrs"].append((ctx.get(hdr.payload.tag), ctx.get(hdr.payload.kind), ctx.get(hdr.payload.dst)))
            if ctx.get(data.valid) and ctx.get(data.ready):
                log["beats"].append(ctx.get(data.payload.data))
            ro = dut.m_rx.hdr
            if ctx.get(ro.valid) and ctx.get(ro.ready):
                log["resp"].append((ctx.get(ro.payload.tag), ctx.get(ro.payload.kind), ctx.get(ro.payload.status),
                                    ctx.get(ro.payload.src)))
            await ctx.tick()

    async def send(ctx, tag, kind, reg, line):
        hdr, data = dut.s_tx.hdr, dut.s_tx.data
        ctx.set(hdr.payload.kind, kind)
        ctx.set(hdr.payload.pid, 1)
        ctx.set(hdr.payload.vaddr, reg << LOG2 | 0x40)
        ctx.set(hdr.payload.dst, 3)
        ctx.set(hdr.payload.tag, tag)
        ctx.set(hdr.payload.length, 64)
        ctx.set(hdr.valid, 1)
        await ctx.tick().until(hdr.ready)
        ctx.set(hdr.valid, 0)
        if kind == MsgKind.LINE_WRITE:
            for k, word in enumerate(line):
                ctx.set(data.payload.data, word)
                ctx.set(data.payload.last, k == beats_per_line - 1)
                ctx.set(data.valid, 1)
                await ctx.tick().until(data.ready)
            ctx.set(data.valid, 0)

    async def respond(ctx, tag, kind, src):
        rs = dut.s_rx.hdr
        ctx.set(rs.payload.kind, kind)
        ctx.set(rs.payload.src, src)
        ctx.set(rs.payload.tag, tag)
        ctx.set(rs.payload.status, Status.OK)
        ctx.set(rs.valid, 1)
        await ctx.tick().until(rs.ready)
        ctx.set(rs.valid, 0)

    async def bench(ctx):
        await entry(ctx, 0, 5, 4, 6)      # region 5: primary 4, secondary 6
        await entry(ctx, 1, 7, 5)         # region 7: node 5 only
        assert await read(ctx, "replay_info") & 0xFF == 1
        # 1. A replicated write whose primary (4) fails before answering; the secondary (6) answered.
        line = [rng.getrandbits(64) for _ in range(beats_per_line)]
        await send(ctx, 10, MsgKind.LINE_WRITE, 5, line)
        await ctx.tick().repeat(60)
        assert log["hdrs"] == [(10, MsgKind.LINE_WRITE, 4), (10, MsgKind.LINE_WRITE, 6)], (seed, log["hdrs"])
        assert log["beats"] == line + line, seed
        await respond(ctx, 10, MsgKind.LINE_WRITE_RESP, 6)          # absorbed
        assert await read(ctx, "replay_info") >> 8 & 0xFF == 1     # still outstanding: the primary never answers
        await entry(ctx, 0, 5, 6)                                   # failover: 6 promoted, unreplicated
        await write(ctx, "fail_node", 4)
        await ctx.tick().repeat(60)
        assert log["hdrs"][2:] == [(10, MsgKind.LINE_WRITE, 6)], (seed, log["hdrs"])
        assert log["beats"][16:] == line, seed
        assert log["resp"] == [], seed
        await respond(ctx, 10, MsgKind.LINE_WRITE_RESP, 6)          # the re-sent write's answer passes
        await ctx.tick().repeat(20)
        assert log["resp"] == [(10, MsgKind.LINE_WRITE_RESP, Status.OK, 6)], (seed, log["resp"])
        assert await read(ctx, "replay_info") >> 8 & 0xFF == 0
        # 2. A read of region 7, whose only home (5) fails: answered NODE_DEAD by the router.
        await send(ctx, 11, MsgKind.LINE_READ, 7, None)
        await ctx.tick().repeat(20)
        assert log["hdrs"][3:] == [(11, MsgKind.LINE_READ, 5)], seed
        await write(ctx, "fail_node", 5)
        await ctx.tick().repeat(30)
        assert log["resp"][1:] == [(11, MsgKind.LINE_READ_RESP, Status.NODE_DEAD, 5)], (seed, log["resp"])
        # Later requests to the failed region leave, then fail at once (the netif drops them).
        await send(ctx, 12, MsgKind.LINE_READ, 7, None)
        await ctx.tick().repeat(30)
        assert log["resp"][2:] == [(12, MsgKind.LINE_READ_RESP, Status.NODE_DEAD, 5)], (seed, log["resp"])
        # 3. A replicated write whose secondary (2) fails: the primary answers, the slot is dropped.
        await entry(ctx, 2, 9, 1, 2)
        line = [rng.getrandbits(64) for _ in range(beats_per_line)]
        await send(ctx, 13, MsgKind.LINE_WRITE, 9, line)
        await ctx.tick().repeat(60)
        await respond(ctx, 13, MsgKind.LINE_WRITE_RESP, 1)
        await write(ctx, "fail_node", 2)
        await ctx.tick().repeat(10)
        assert log["resp"][3:] == [(13, MsgKind.LINE_WRITE_RESP, Status.OK, 1)], (seed, log["resp"])
        counts = {name: await read(ctx, name) for name in ("replayed", "failed", "replica_lost", "replicated",
                                                            "replica_acks")}
        assert counts == {"replayed": 1, "failed": 2, "replica_lost": 1, "replicated": 2, "replica_acks": 1}, \
            (seed, counts)
        assert await read(ctx, "failed_nodes") == 0b110100, seed
        await write(ctx, "fail_clear", 1)
        assert await read(ctx, "failed_nodes") == 0, seed
        # 4. Probe: a request unanswered for probe_after cycles leaves again, same node, same beats (so the
        # network interface has a frame to time out on if the node died after acknowledging the first); the
        # second answer matches no outstanding request and is dropped (stale).
        await entry(ctx, 3, 11, 3)
        await write(ctx, "probe_after", 120)
        n_hdrs, n_beats, n_resp = len(log["hdrs"]), len(log["beats"]), len(log["resp"])
        line = [rng.getrandbits(64) for _ in range(beats_per_line)]
        await send(ctx, 14, MsgKind.LINE_WRITE, 11, line)
        await ctx.tick().repeat(200)
        assert log["hdrs"][n_hdrs:] == [(14, MsgKind.LINE_WRITE, 3)] * 2, (seed, log["hdrs"][n_hdrs:])
        assert log["beats"][n_beats:] == line + line, seed
        await write(ctx, "probe_after", 0)
        await respond(ctx, 14, MsgKind.LINE_WRITE_RESP, 3)
        await respond(ctx, 14, MsgKind.LINE_WRITE_RESP, 3)
        await ctx.tick().repeat(20)
        assert log["resp"][n_resp:] == [(14, MsgKind.LINE_WRITE_RESP, Status.OK, 3)], (seed, log["resp"][n_resp:])
        assert await read(ctx, "probes") == 1 and await read(ctx, "stale") == 1, seed

    sim.add_testbench(consumer, background=True)
    sim.add_testbench(bench)
    sim.run()
