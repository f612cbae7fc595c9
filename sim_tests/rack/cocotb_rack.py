"""cocotb tests of a small rack (RackTop, 2 processor x 2 memory components) with the rack firmware,
irq-driven, every access of both CPU ports checked against the rack golden model."""

from __future__ import annotations

import numpy as np

import cocotb

from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from firmware.system_firmware import RackOutOfMemory
from sim_tests.rack.bench import RackBench, config, seed


def pages(bench, layout):
    page = bench.params.mmu.page_bytes
    return [(first * page, n * page) for first, n in layout]


def random_accesses(bench, node, n, regions_of):
    """``n`` accesses of processor ``node``: mostly its own processes inside their regions, some outside
    every region (PAGE_FAULT), some with a pid that runs on another processor component (PROT_FAULT)."""
    rng = bench.rng
    own = [pid for pid in regions_of if bench.model.node_of(pid) == node]
    foreign = [pid for pid in regions_of if bench.model.node_of(pid) != node]
    w = np.zeros(n, dtype=WORKLOAD_DTYPE)
    for k in range(n):
        size = rng.choice((1, 2, 4, 8))
        r = rng.random()
        pid = rng.choice(foreign) if (r < 0.05 and foreign) else rng.choice(own)
        if 0.05 <= r < 0.08:
            vaddr = 0x7F_0000 + rng.randrange(0, 4096, size)     # in no region
        else:
            base, length = rng.choice(regions_of[pid])
            # A few hot lines per region so there are hits, write-backs and evictions.
            vaddr = base + rng.randrange(0, min(length, 2048) // size) * size
        op = OP_WRITE if rng.random() < 0.4 else OP_READ
        w[k] = (pid, op, vaddr, size, rng.getrandbits(8 * size) if op == OP_WRITE else 0, 0)
    return w


async def check_memory(bench):
    """Flush every ExCache, then check that each page is resident exactly on the memory components its region
    was placed on (its home, and its secondary if replicated: a written page must be on both), and that its
    bytes (read through each component's MMU window) match the model."""
    fw, page = bench.fw, bench.params.mmu.page_bytes
    async with bench.fw_lock:
        await fw.flush_all()
        for pid in bench.model.running():
            homes = {}
            for p in fw.placements_of(pid):
                for va in range(p.vaddr, p.vaddr + p.length, page):
                    homes[va] = {p.node} | ({p.secondary} if p.secondary is not None else set())
            resident = {}
            for node, monitor in fw.memories.items():
                space = monitor.spaces.get(pid)
                for vpn in (space.pages if space is not None else ()):
                    resident.setdefault(vpn * page, set()).add(node)
            for va, nodes in resident.items():
                assert nodes <= homes[va], f"pid {pid} page {va:#x} faulted in on nodes {nodes}, homes {homes[va]}"
            for va in bench.model.touched_pages(pid):
                refused = [(n, hex(f.vaddr), f.write, f.src, f.kind, f.resolved, f.reason)
                           for n, m in fw.memories.items() for f in m.faults
                           if f.pid == pid and f.vaddr // page == va // page]
                assert resident.get(va) == homes[va], \
                    f"pid {pid}: page {va:#x} written, resident on {resident.get(va)}, homes {homes[va]}; " \
                    f"faults of the page: {refused}; router: " \
                    f"{[await fw._router_rd(n, c) for n in fw.processors for c in ('replicated', 'replica_acks', 'replica_faults')]}"
                want = bench.model.read_bytes(pid, va, page)
                for node in homes[va]:
                    monitor = fw.memories[node]
                    got = await monitor.bus.read_mem(monitor.translate(pid, va)[0], page)
                    assert got == want, f"pid {pid} page {va:#x} on node {node} differs from the model"


@cocotb.test()
async def test_rack_routing_managers_and_oom(dut):
    cfg = config()
    bench = RackBench(dut, cfg, seed(), pt_buckets_log2=cfg["pt_buckets_log2"])
    await bench.start()
    fw, params = bench.fw, bench.params
    layout = pages(bench, [(16, 16), (1024, 4)])
    regions_of = {}
    for vnode in ("a", "a", "b", "b"):
        pid = await bench.create(layout, vnode=vnode)
        regions_of[pid] = layout
    # GPM least-loaded: two processes per processor component; vNode "a" spans both.
    assert sorted(fw.gpm.load(n) for n in params.processor_nodes) == [2, 2]
    assert fw.gpm.vnode_nodes("a") == list(params.processor_nodes)
    # GMM least-loaded: both memory components hold regions, within one region of each other.
    reserved = [c.reserved_frames for c in fw.gmm.components.values()]
    assert min(reserved) > 0 and max(reserved) - min(reserved) <= params.region_bytes // params.mmu.page_bytes

    for batch in range(cfg["batches"]):
        await bench.run([random_accesses(bench, node, cfg["accesses"], regions_of)
                         for node in params.processor_nodes])
        if batch == 1:
            oldest = min(regions_of)
            await bench.exit(oldest)
            del regions_of[oldest]
            # Replication factor 2: every write of this process reaches two memory components.
            pid = await bench.create(layout, replication=2)
            regions_of[pid] = layout
            replicated_node = bench.model.node_of(pid)
            assert all(p.secondary not in (None, p.node) for p in fw.placements_of(pid))
    await check_memory(bench)

    # The rack out of memory: one clear line, nothing reserved.
    free = sum(c.free_frames for c in fw.gmm.components.values())
    rb_pages = params.region_bytes // params.mmu.page_bytes
    big = -(-(free + 1) // rb_pages) * rb_pages
    before = [c.reserved_frames for c in fw.gmm.components.values()]
    try:
        await bench.create(pages(bench, [(4096, big)]))
        raise AssertionError("a process larger than the free memory of the rack was created")
    except RackOutOfMemory as exc:
        msg = str(exc)
        dut._log.info("refused: %s", msg)
        assert "\n" not in msg and "out of memory" in msg and f"needs {big} frames" in msg, msg
    assert [c.reserved_frames for c in fw.gmm.components.values()] == before
    # Suspend instead: the process waits until exits free enough memory, then starts and runs.
    fw.on_oom = "suspend"
    need = -(-(free + 8) // rb_pages) * rb_pages
    assert need // rb_pages <= params.router_entries
    big_layout = pages(bench, [(4096, need)])
    assert await bench.create(big_layout) is None and len(fw.suspended) == 1
    # It fits only when one processor component has room in its region table too: end both of its processes.
    victim_node = bench.model.node_of(min(regions_of))
    started = []
    for pid in [p for p in sorted(regions_of) if bench.model.node_of(p) == victim_node]:
        started += await bench.exit(pid)
        del regions_of[pid]
    assert len(started) == 1 and not fw.suspended, (started, fw.suspended)
    bench._adopt(started[0], big_layout)
    regions_of[started[0]] = big_layout
    await bench.run([random_accesses(bench, node, cfg["accesses"] // 2, regions_of)
                     if any(bench.model.node_of(p) == node for p in regions_of) else
                     np.zeros(0, dtype=WORKLOAD_DTYPE) for node in params.processor_nodes])
    await check_memory(bench)

    async with bench.fw_lock:
        stats = await fw.statistics()
    dut._log.info("checked %d accesses, irq events %d, stats %s", bench.checked, bench.irq_events, stats)
    for node, s in stats["processors"].items():
        assert s["router"]["routed"] > 0 and s["excache"]["misses"] > 0, (node, s)
        assert s["router"]["replica_acks"] == s["router"]["replicated"] and s["router"]["replica_faults"] == 0, s
    assert stats["processors"][replicated_node]["router"]["replicated"] > 0, stats
    for node, s in stats["memories"].items():
        assert s["mmu"]["CNT_REQUESTS"] > 0 and s["mmu"]["CNT_FAULTS"] > 0, (node, s)
        assert s["mmu"]["CNT_PROT_FAULTS"] > 0 or node != params.memory_nodes[0], (node, s)
    sw = stats["switch"]
    assert sw["dropped_spoofed"] == 0 and sw["dropped_unroutable"] == 0, sw
    assert sw["frames_routed"] == sum(p["port_frames"] for p in sw["ports"].values()), sw
    assert all(p["port_frames"] > 0 and p["port_busy"] > 0 for p in sw["ports"].values()), sw
    assert sw["cycles"] > 0
