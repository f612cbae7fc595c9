"""``disagg run --topology PxM``: a workload on the compiled rack, every access checked by the rack golden model.

Each pid of the workload becomes one process of the rack (its touched pages as regions,
``emu.system.processes``) with ``topology.replication`` copies of each region, placed by the rack firmware's
GPM and GMM with the ``[topology]`` policies; its accesses go, in workload order (each after its think time), to
the CPU port of the processor component it was placed on, all ports at once. The fault plan
(``topology.kill_memory``, ``topology.kill_cycle``) kills a memory component mid-run: with replication 2 every
access must still return the model's answer; with replication 1 a process that lost a region with it may get
``NODE_DEAD`` answers (counted; an access outside the lost region too, when it evicts a dirty line of it): it is
checked up to its first one, not after (a failed write did not happen in the rack), every other process to the
end.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import SystemConfig
from ..errors import DisaggError

__all__ = ["run_rack_fast", "fault_plan", "pt_buckets_log2"]


def pt_buckets_log2(params, workload):
    """A page table sized for the pages the workload touches (x4, at least 4 buckets, at most a quarter of the
    DRAM), as the cocotb rack run sizes it."""
    pages = len(np.unique(workload["vaddr"] // params.mmu.page_bytes)) if len(workload) else 1
    buckets = max(4, 4 * pages // params.mmu.pt_bucket_entries)
    limit = (params.dram_bytes // 4) // params.mmu.bucket_bytes
    return max(2, min(buckets, limit).bit_length() - 1)


def fault_plan(config: SystemConfig):
    """``(replication, kill_memory or None, kill_cycle)`` of ``[topology]``, or one-line :class:`DisaggError`."""
    t = config.topology
    if t.replication not in (1, 2):
        raise DisaggError(f"{config.source}: topology.replication must be 1 or 2, not {t.replication!r}")
    if t.replication == 2 and t.memories < 2:
        raise DisaggError(f"{config.source}: topology.replication = 2 needs at least 2 memory components")
    if t.kill_memory == -1:
        return t.replication, None, 0
    if not 0 <= t.kill_memory < t.memories:
        raise DisaggError(f"{config.source}: topology.kill_memory must be -1 (none) or a memory component "
                          f"0..{t.memories - 1}, not {t.kill_memory!r}")
    if t.kill_cycle < 1 or t.kill_cycle >= 1 << 31:
        raise DisaggError(f"{config.source}: topology.kill_cycle must be a cycle from 1 to 2**31-1, "
                          f"not {t.kill_cycle!r}")
    if t.memories < 2:
        raise DisaggError(f"{config.source}: topology.kill_memory needs a rack of at least 2 memory components "
                          f"(the firmware must keep one)")
    return t.replication, t.kill_memory, t.kill_cycle


def run_rack_fast(config: SystemConfig, workload: np.ndarray, *, log=None) -> dict:
    """Run ``workload`` on the compiled rack of ``config`` (``[topology]``); return the figures (DisaggError on a
    process the rack cannot hold, a mismatch or a hang)."""
    from firmware.system_firmware import RackOutOfMemory

    from ..system.processes import default_processes
    from .bench import FastRackBench
    params = config.rack_params()
    replication, kill, kill_cycle = fault_plan(config)
    t = config.topology
    t0 = time.monotonic()
    bench = FastRackBench(params, think=True, max_outstanding=config.cpu.max_outstanding, log=log,
                          process_policy=t.process_policy, region_policy=t.region_policy, on_oom="refuse",
                          pt_buckets_log2=pt_buckets_log2(params, workload))
    build_seconds = time.monotonic() - t0
    try:
        bench.start()
        page = params.mmu.page_bytes
        w = np.ascontiguousarray(workload.copy())
        original = workload["pid"]
        processes = []
        for proc in default_processes(workload, page):
            try:
                pid = bench.create(proc.regions, replication=replication)
            except RackOutOfMemory as exc:
                raise DisaggError(str(exc)) from None
            w["pid"][original == proc.pid] = pid
            processes.append({"workload_pid": proc.pid, "pid": pid, "processor": bench.model.node_of(pid),
                              "regions": [[p.vaddr, p.length, p.node] + ([p.secondary] if replication == 2 else [])
                                          for p in bench.fw.placements_of(pid)]})
        nodes = np.array([bench.model.node_of(int(p)) for p in w["pid"]]) if len(w) else np.zeros(0)
        per_port = [w[nodes == node] for node in params.processor_nodes]
        if log:
            log(f"running {len(w):,} accesses on the {params.processors} x {params.memories} rack, every access "
                f"checked" + (f"; memory component {kill} dies {kill_cycle:,} cycles in" if kill is not None else ""))
        may_fail = None
        if kill is not None:
            # The cycle the switch counts: the accesses start one cycle after this read (FastRackBench.run).
            now = bench.fw_call(bench.bus.read_reg("switch", bench.fw._switch_regs.addr("cycles_LO")))
            bench.fw_call(bench.fw.kill_memory(kill, now + 1 + kill_cycle))
            if replication == 1:
                may_fail = _lost_region_filter(bench)
        from hw.protocol import Status
        wall0, cpu0 = time.monotonic(), time.process_time()
        bench.run(per_port, may_fail=may_fail, fail_status=Status.NODE_DEAD.value)
        seconds, cpu_seconds = time.monotonic() - wall0, time.process_time() - cpu0
        stats = bench.fw_call(bench.fw.statistics())
        driver = bench.rack.stats()
        dram = [bench.rack.dram_stats(j) for j in range(params.memories)]
    finally:
        bench.close()
    cycles = bench.last_cycles
    return {"accesses": int(len(w)), "checked": bench.checked, "cycles": cycles, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "irq_events": bench.irq_events, "processes": processes,
            "spills": bench.fw.gmm.spills, "statistics": stats, "failovers": stats["failovers"],
            "node_dead": bench.last_failed, "unchecked_after_failure": bench.unchecked, "replication": replication,
            "fault_plan": None if kill is None else {"memory": kill, "cycle": kill_cycle},
            "engine": "compiled", "build_seconds": build_seconds, "build": bench.built.describe_build(),
            "topology": f"{params.processors}x{params.memories}", "cpu": driver["cpus"], "dram": dram,
            "speed": {"cycles_per_s": cycles / seconds if seconds else 0.0,
                      "cycles_per_cpu_s": cycles / cpu_seconds if cpu_seconds else 0.0,
                      "firmware_seconds": bench.firmware_seconds}}


def _lost_region_filter(bench):
    """``may_fail(node, workload)``: the accesses of a process that lost a region (its only copy was on the failed
    memory component). Not only those inside the lost region: an access elsewhere may evict a dirty line of the
    lost region, whose write-back is then answered NODE_DEAD, and the ExCache gives the access that status."""
    fw = bench.fw

    def may_fail(node, workload):
        hurt = [pid for pid in np.unique(workload["pid"]).tolist() if fw.gmm.lost_regions(pid)]
        return np.isin(workload["pid"], hurt)
    return may_fail
