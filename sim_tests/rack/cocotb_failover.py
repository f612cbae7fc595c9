"""cocotb tests of a memory-component failure in a rack (RackTop with the rack firmware), every access checked.

``rack_failover``: processes with replication 2; the fault plan kills memory component ``kill`` at cycle
``kill_cycle`` while every processor component runs random accesses, with loss on every switch port. The
processor side detects the dead peer (retransmission limit), the firmware promotes the secondaries, rewrites
the region tables and the routers re-send the outstanding misses: every access completes and matches the
rack golden model, and after a flush every page holds the model's bytes on its (new) home: no write lost.

``rack_failover_unreplicated``: one process with replication 1 whose regions partly live on the component
that dies (it only reads: its accesses there fail NODE_DEAD or, on an ExCache hit, still return the
model's data), and one replicated process on the other processor component that writes and runs on exactly.
"""

from __future__ import annotations

import json
import os

import numpy as np

import cocotb

from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from hw.protocol import Status
from sim_tests.rack.bench import RackBench, config, seed


def accesses(bench, pid, n, layout, *, writes=0.4, outside=0.03):
    """``n`` random accesses of ``pid`` inside ``layout`` (a few hot lines per region so lines are evicted and
    written back) and a few outside every region (PAGE_FAULT)."""
    rng = bench.rng
    w = np.zeros(n, dtype=WORKLOAD_DTYPE)
    for k in range(n):
        size = rng.choice((1, 2, 4, 8))
        if rng.random() < outside:
            vaddr = 0x7F_0000 + rng.randrange(0, 4096, size)
        else:
            base, length = rng.choice(layout)
            vaddr = base + rng.randrange(0, min(length, 2048) // size) * size
        op = OP_WRITE if rng.random() < writes else OP_READ
        w[k] = (pid, op, vaddr, size, rng.getrandbits(8 * size) if op == OP_WRITE else 0, 0)
    return w


async def check_memory(bench):
    """Flush every ExCache; every page a process touched holds the model's bytes on every live home of its region
    (its primary, and its secondary if it still has one): no write was lost."""
    fw, page = bench.fw, bench.params.mmu.page_bytes
    async with bench.fw_lock:
        await fw.flush_all()
        for pid in bench.model.running():
            lost = {(p.vaddr, p.length) for p in fw.gmm.lost_regions(pid)}
            for p in fw.placements_of(pid):
                if (p.vaddr, p.length) in lost:
                    continue
                for va in range(p.vaddr, p.vaddr + p.length, page):
                    if va not in bench.model.touched_pages(pid):
                        continue
                    want = bench.model.read_bytes(pid, va, page)
                    for node in (p.node, p.secondary):
                        if node is None:
                            continue
                        assert node not in fw.gmm.failed, (pid, hex(va), node)
                        monitor = fw.memories[node]
                        hit = monitor.translate(pid, va)
                        assert hit is not None, f"pid {pid} page {va:#x} written but not resident on node {node}"
                        got = await monitor.bus.read_mem(hit[0], page)
                        assert got == want, f"pid {pid} page {va:#x} on node {node} differs from the model (lost write)"


def check_record(bench, cfg, stats):
    """The failover record: failure at the planned cycle, detection after it, recovery after detection."""
    fw = bench.fw
    victim = bench.params.memory_nodes[cfg["kill"]]
    assert [r["node"] for r in fw.failovers] == [victim], fw.failovers
    rec = fw.failovers[0]
    assert rec["failed_at"] in (cfg["kill_cycle"] - 1, cfg["kill_cycle"]), rec
    assert rec["failed_at"] < rec["detected_at"] < rec["recovered_at"], rec
    assert stats["memories"][victim]["failed"] and stats["switch"]["dropped_dead"] > 0, stats["switch"]
    line = json.dumps({"seed": seed(), "kill": cfg["kill"], **rec, "detection": rec["detected_at"] - rec["failed_at"],
                       "recovery": rec["recovered_at"] - rec["detected_at"],
                       "replayed": sum(s["router"]["replayed"] for s in stats["processors"].values()),
                       "failed": sum(s["router"]["failed"] for s in stats["processors"].values())})
    bench.dut._log.info("FAILOVER %s", line)
    if os.environ.get("DISAGG_RACK_RECORD"):
        with open(os.environ["DISAGG_RACK_RECORD"], "a") as f:
            f.write(line + "\n")
    return rec


async def checked_run(bench, workloads, **kw):
    """:meth:`RackBench.run` with a tight hang limit; a hang reports the failover state (records, routers,
    network interfaces' dead peers)."""
    try:
        return await bench.run(workloads, max_cycles_per_access=400, **kw)
    except AssertionError as exc:
        if "hang" not in str(exc):
            raise
        fw = bench.fw
        from hw.network.registers import NETIF_REGISTERS
        state = {"failovers": fw.failovers, "irq_net": int(bench.dut.irq_net.value)}
        for node in fw.params.processor_nodes:
            state[f"p{node}"] = {name: await fw._router_rd(node, name) for name in
                                 ("replayed", "failed", "replica_lost", "replicated", "replica_acks", "replay_info",
                                  "failed_nodes")}
            for name in ("peer_dead_0", "retry_limit", "tx_retransmits", "tx_dead_dropped", "events"):
                state[f"p{node}"][name] = await bench.bus.read_reg(f"p{node}.netif", NETIF_REGISTERS.addr(name))
        regs = fw._switch_regs
        for name in ("failed_at", "detected_at", "dropped_dead", "cycles_LO"):
            state[name] = await bench.bus.read_reg("switch", regs.addr(name))
        raise AssertionError(f"{exc}; failover state {state}") from None


async def arm(bench, cfg):
    """The fault plan: memory component ``kill`` dies ``kill_after`` cycles from now (``cfg["kill_cycle"]``: that
    cycle as the switch counts it, since reset)."""
    async with bench.fw_lock:
        now = await bench.bus.read_reg("switch", bench.fw._switch_regs.addr("cycles_LO"))
        cfg["kill_cycle"] = now + cfg["kill_after"]
        await bench.fw.kill_memory(cfg["kill"], cfg["kill_cycle"])


@cocotb.test()
async def rack_failover(dut):
    cfg = config()
    bench = RackBench(dut, cfg, seed(), pt_buckets_log2=cfg["pt_buckets_log2"])
    await bench.start()
    fw, params = bench.fw, bench.params
    page = params.mmu.page_bytes
    # 3 regions of 4 pages per process, 2 copies: 4 processes take 96 of the rack's 112 frames.
    layout = [(16 * page, 8 * page), (1024 * page, 4 * page)]
    layouts = {}
    for _ in range(2 * params.processors):
        pid = await bench.create(layout, replication=2)
        layouts[pid] = layout
    assert all(p.secondary is not None for pid in layouts for p in fw.placements_of(pid))
    workloads = []
    for node in params.processor_nodes:
        own = [pid for pid in layouts if bench.model.node_of(pid) == node]
        parts = [accesses(bench, pid, cfg["accesses"] // len(own), layouts[pid]) for pid in own]
        w = np.concatenate(parts)
        bench.rng.shuffle(w)
        workloads.append(w)
    victim = params.memory_nodes[cfg["kill"]]
    was_primary = any(p.node == victim for pid in layouts for p in fw.placements_of(pid))
    await arm(bench, cfg)
    await checked_run(bench, workloads)
    # Everything after the failover runs on the promoted copies, too.
    await checked_run(bench, [accesses(bench, pid, 40, layouts[pid]) for pid in
                     [next(p for p in layouts if bench.model.node_of(p) == n) for n in params.processor_nodes]])
    await check_memory(bench)
    async with bench.fw_lock:
        stats = await fw.statistics()
    check_record(bench, cfg, stats)
    assert (fw.gmm.promotions > 0) == was_primary and not any(fw.gmm.lost_regions(pid) for pid in layouts)
    assert sum(s["router"]["failed"] for s in stats["processors"].values()) == 0, stats["processors"]
    assert sum(s["link_lost"] for s in stats["switch"]["ports"].values()) > 0 or not params.port.loss


@cocotb.test()
async def rack_failover_unreplicated(dut):
    cfg = config()
    bench = RackBench(dut, cfg, seed(), pt_buckets_log2=cfg["pt_buckets_log2"])
    await bench.start()
    fw, params = bench.fw, bench.params
    page = params.mmu.page_bytes
    layout = [(16 * page, 16 * page), (1024 * page, 8 * page)]
    single = await bench.create(layout, pin=params.processor_nodes[0])
    safe = await bench.create(layout, pin=params.processor_nodes[1], replication=2)
    victim = params.memory_nodes[cfg["kill"]]
    doomed = [(p.vaddr, p.length) for p in fw.placements_of(single) if p.node == victim]
    assert doomed, "the unreplicated process has no region on the component that fails"
    # The single-copy process reads only (a dirty line of a lost region could never be written back).
    w_single = accesses(bench, single, cfg["accesses"], layout, writes=0.0)
    w_safe = accesses(bench, safe, cfg["accesses"], layout)

    def in_doomed(vaddr):
        return any(b <= vaddr < b + n for b, n in doomed)

    await arm(bench, cfg)
    failed = await checked_run(bench, [w_single, w_safe], may_fail=lambda node, row: node == params.processor_nodes[0]
                             and in_doomed(int(row["vaddr"])), fail_status=Status.NODE_DEAD.value)
    async with bench.fw_lock:
        stats = await fw.statistics()
    check_record(bench, cfg, stats)
    assert fw.gmm.lost_regions(single) and not fw.gmm.lost_regions(safe)
    router = stats["processors"][params.processor_nodes[0]]["router"]
    assert failed > 0 and router["failed"] > 0, (failed, router)
    # After the failover: the lost regions fail at once, the rest of the rack runs on.
    w_after = accesses(bench, single, 60, layout, writes=0.0, outside=0.0)
    failed = await checked_run(bench, [w_after, accesses(bench, safe, 60, layout)],
                             may_fail=lambda node, row: node == params.processor_nodes[0]
                             and in_doomed(int(row["vaddr"])), fail_status=Status.NODE_DEAD.value)
    assert failed > 0
    await check_memory(bench)
