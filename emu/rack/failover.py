"""A memory-component failure on the compiled rack, every access checked, and the failure campaign.

:func:`failover_run` is the compiled counterpart of the cocotb test ``sim_tests/rack/cocotb_failover.py:
rack_failover``: two processes per processor component (at most as many as the rack has pids) with replication 2, random accesses on every CPU port
at once, and the fault plan killing memory component ``kill`` ``kill_after`` cycles after the accesses start.
The processor side detects the dead peer, the firmware promotes the secondaries and the routers re-send the
outstanding misses: every access must complete and match the rack golden model, and after a flush every page a
process wrote must hold the model's bytes on every live copy (no lost write). It returns the failover record.

:func:`campaign` repeats it for every memory component with seeded failure cycles::

    PYTHONPATH=. python -m emu.rack.failover --topology 4x4 --runs 20
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from ..errors import DisaggError
from .bench import FastRackBench
from .scenarios import layout_of, per_processor, random_accesses

__all__ = ["rack_params", "failover_params", "failover_run", "campaign", "summary", "KILL_WINDOW", "LOSS_1PCT"]

#: 1% of frames lost on every switch port (the link model's rates are in 1/65536).
LOSS_1PCT = 655
#: The failure comes 500..6000 cycles after the accesses start (drawn per run).
KILL_WINDOW = (500, 6000)
#: Accesses per processor component before the failure's run ends, and after it (on the promoted copies).
ACCESSES, ACCESSES_AFTER = 160, 40
#: A page table of 32 buckets per memory component (the firmware's default, 1/16 of the DRAM, overflows a bucket
#: with replicated processes on these small DRAMs).
PT_BUCKETS_LOG2 = 5


def rack_params(processors=2, memories=2):
    """The rack tests' small components (``sim_tests/rack/test_rack.py``: 16 KiB DRAMs of 256-byte pages,
    1 KiB regions, 16 router entries), switch ports without loss."""
    from hw.memory.mmu import MMUParams
    from hw.network.link import LinkParams
    from hw.network.netif import NetIfParams
    from hw.processor.excache_params import ExCacheParams
    from hw.system.rack_params import RackParams
    return RackParams(
        processors=processors, memories=memories,
        excache=ExCacheParams(line_bytes=64, sets=16, ways=2, data_width=64, vaddr_width=48, pid_width=3,
                              policy="lru"),
        mmu=MMUParams(tlb_entries=16, tlb_ways=2, page_bytes=256, pid_width=3, vaddr_width=48, paddr_width=14,
                      data_width=64, pt_bucket_entries=4),
        netif=NetIfParams(node_id=0, n_nodes=2, data_width=64, window=4, timeout=1024, max_payload=64,
                          rx_buffer_msgs=2),
        port=LinkParams(data_width=64, latency=8, bandwidth=8.0),
        dram_bytes=1 << 14, dram_latency=4, router_entries=16, region_log2=10)


def failover_params(processors=4, memories=4):
    """The failure campaign's rack: :func:`rack_params` with 1% loss on every switch port and a retransmission
    limit of 4."""
    from dataclasses import replace

    from hw.network.link import LinkParams
    return replace(rack_params(processors, memories),
                   port=LinkParams(data_width=64, latency=8, bandwidth=8.0, loss=LOSS_1PCT, seed=7), retry_limit=4)


def kill_after_of(seed, kill):
    """The failure cycle (after the accesses start) of run ``seed`` on memory component ``kill``."""
    return random.Random(seed * 31 + kill).randrange(*KILL_WINDOW)


def check_memory(bench):
    """Flush every ExCache; every page a process touched holds the model's bytes on every live copy of its region
    (primary, and secondary if it still has one). Raises AssertionError on a lost write. Returns pages checked."""
    fw, page = bench.fw, bench.params.mmu.page_bytes
    bench.fw_call(fw.flush_all())
    checked = 0
    for pid in bench.model.running():
        lost = {(p.vaddr, p.length) for p in fw.gmm.lost_regions(pid)}
        touched = bench.model.touched_pages(pid)
        for p in fw.placements_of(pid):
            if (p.vaddr, p.length) in lost:
                continue
            for va in range(p.vaddr, p.vaddr + p.length, page):
                if va not in touched:
                    continue
                want = bench.model.read_bytes(pid, va, page)
                for node in (p.node, p.secondary):
                    if node is None:
                        continue
                    assert node not in fw.gmm.failed, (pid, hex(va), node)
                    monitor = fw.memories[node]
                    hit = monitor.translate(pid, va)
                    assert hit is not None, f"pid {pid} page {va:#x} written but not resident on node {node}"
                    got = bench.fw_call(monitor.bus.read_mem(hit[0], page))
                    assert got == want, f"pid {pid} page {va:#x} on node {node} differs from the model (lost write)"
                    checked += 1
    return checked


def arm(bench, kill, kill_after):
    """The fault plan: memory component ``kill`` dies ``kill_after`` cycles from now; returns that cycle as the
    switch counts it (since reset)."""
    fw = bench.fw
    now = bench.fw_call(bench.bus.read_reg("switch", fw._switch_regs.addr("cycles_LO")))
    cycle = now + kill_after
    bench.fw_call(fw.kill_memory(kill, cycle))
    return cycle


def failover_run(params, kill, seed, *, built=None, accesses=ACCESSES, kill_after=None):
    """One failure run (see the module docstring); returns its record: the firmware's failover record plus
    ``seed``, ``kill``, ``kill_cycle``, ``detection`` and ``recovery`` (cycles), requests re-sent and answered
    NODE_DEAD, accesses checked and pages compared. Raises AssertionError (or a :class:`DisaggError` subclass)
    when anything is wrong."""
    kill_after = kill_after_of(seed, kill) if kill_after is None else kill_after
    rng = random.Random(seed)
    with FastRackBench(params, built=built, pt_buckets_log2=PT_BUCKETS_LOG2) as bench:
        bench.start()
        fw, page = bench.fw, params.mmu.page_bytes
        layout = layout_of(page)
        layouts = {}
        for _ in range(min(2 * params.processors, params.max_pid)):
            layouts[bench.create(layout, replication=2)] = layout
        assert all(p.secondary is not None for pid in layouts for p in fw.placements_of(pid))
        victim = params.memory_nodes[kill]
        was_primary = any(p.node == victim for pid in layouts for p in fw.placements_of(pid))
        workloads = per_processor(rng, bench.model.node_of, list(layouts), layouts, accesses // 2,
                                  params.processor_nodes)
        kill_cycle = arm(bench, kill, kill_after)
        bench.run(workloads)
        # Everything after the failover runs on the promoted copies, too.
        after = []
        for node in params.processor_nodes:
            pid = next(p for p in layouts if bench.model.node_of(p) == node)
            after.append(random_accesses(rng, pid, ACCESSES_AFTER, layouts[pid]))
        bench.run(after)
        pages = check_memory(bench)
        stats = bench.fw_call(fw.statistics())
        assert [r["node"] for r in fw.failovers] == [victim], fw.failovers
        rec = dict(fw.failovers[0])
        assert rec["failed_at"] in (kill_cycle - 1, kill_cycle), (rec, kill_cycle)
        assert rec["failed_at"] < rec["detected_at"] < rec["recovered_at"], rec
        assert stats["memories"][victim]["failed"] and stats["switch"]["dropped_dead"] > 0, stats["switch"]
        assert (fw.gmm.promotions > 0) == was_primary
        assert not any(fw.gmm.lost_regions(pid) for pid in layouts)
        routers = [s["router"] for s in stats["processors"].values()]
        assert sum(r["failed"] for r in routers) == 0, routers
        lost = sum(s["link_lost"] for s in stats["switch"]["ports"].values())
        assert lost > 0 or not params.port.loss
        rec.update(seed=seed, kill=kill, kill_cycle=kill_cycle, detection=rec["detected_at"] - rec["failed_at"],
                   recovery=rec["recovered_at"] - rec["detected_at"], replayed=sum(r["replayed"] for r in routers),
                   probes=sum(r["probes"] for r in routers), checked=bench.checked, pages_checked=pages,
                   frames_lost_on_links=lost, cycles=bench.rack.cycle)
        return rec


def campaign(params, runs, first_seed=1, *, log=print, built=None, kills=None):
    """:func:`failover_run` for every memory component (or those of ``kills``), ``runs`` seeds each; returns the
    records (raises on the first failing run, naming its seed)."""
    from ..harness.rack_build import build_rack
    built = built or build_rack(params, log=log)
    records = []
    for kill in range(params.memories) if kills is None else kills:
        for k in range(runs):
            seed = first_seed + k
            t0 = time.process_time()
            try:
                rec = failover_run(params, kill, seed, built=built)
            except (AssertionError, DisaggError) as exc:
                raise AssertionError(f"m{kill} seed {seed} (failure {kill_after_of(seed, kill)} cycles after the "
                                     f"start): {exc}") from None
            records.append(rec)
            if log:
                log(f"m{kill} seed {seed}: failed at {rec['failed_at']}, detected +{rec['detection']}, recovered "
                    f"+{rec['recovery']}, {rec['replayed']} re-sent, {rec['checked']} accesses checked, "
                    f"{rec['pages_checked']} page copies compared ({time.process_time() - t0:.1f} CPU-s)")
    return records


def summary(records):
    """One line: runs, checks, detection and recovery median and max."""
    det = [r["detection"] for r in records]
    rec = [r["recovery"] for r in records]
    return (f"{len(records)} runs, {sum(r['checked'] for r in records):,} accesses checked, 0 mismatches, 0 lost "
            f"writes ({sum(r['pages_checked'] for r in records):,} page copies compared); detection median "
            f"{statistics.median(det):.0f} max {max(det)} cycles; recovery median {statistics.median(rec):.0f} max "
            f"{max(rec)} cycles; requests re-sent {sum(r['replayed'] for r in records)}, frames lost on the links "
            f"{sum(r['frames_lost_on_links'] for r in records)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="the failure campaign on the compiled rack (emu/rack/failover.py)")
    ap.add_argument("--topology", default="4x4")
    ap.add_argument("--runs", type=int, default=20, help="seeded runs per memory component (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    ap.add_argument("--kill", default="", metavar="J,...", help="only these memory components (default: all)")
    ap.add_argument("--json", help="also write the records as JSON lines to this file")
    args = ap.parse_args(argv)
    try:
        from ..config import parse_topology
        p, m = parse_topology(args.topology)
        t0 = time.process_time()
        kills = [int(k) for k in args.kill.split(",") if k.strip()] or None
        records = campaign(failover_params(p, m), args.runs, args.seed, kills=kills)
    except DisaggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AssertionError as exc:
        print(f"campaign failed: {exc}", file=sys.stderr)
        return 1
    print(summary(records))
    print(f"{time.process_time() - t0:.0f} CPU-s for the campaign")
    if args.json:
        import json
        with open(args.json, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
