"""The statistics dictionary of a run (``docs/harness.md`` defines every key), from what the run measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import SystemConfig

if TYPE_CHECKING:
    from ..harness import BuiltModel

__all__ = ["SUMMARY_STAGES", "RunMeasurements", "run_statistics"]

#: The miss-latency breakdown reported to users: name -> the probe strobes whose following interval
#: belongs to it ("start" is the cycle the missing access entered the CPU port). See hw/system/probe.py.
SUMMARY_STAGES = (
    ("cache lookup", ("start",)),                       # CPU port -> miss message accepted by the netif
    ("interface", ("miss_msg", "req_wire_in")),         # processor netif out + memory netif in
    ("link", ("req_wire_out",)),                        # request on the wire
    ("translation", ("mmu_req",)),                      # TLB lookup, page walk, page fault
    ("DRAM", ("dram_addr",)),                           # the data access in DRAM
    ("return", ("dram_last", "mmu_resp", "resp_wire_out", "resp_wire_in", "cache_resp")),  # back to the CPU
    ("firmware", ("firmware",)),                        # monitors serving a page fault or a software miss
)

#: Counters of the harness model (``emu.harness.STATS_DTYPE``) reported as differences over the run.
_MODEL_COUNTERS = ("cycles", "completed", "reads", "writes", "req_stall_cycles", "think_cycles", "latency_sum",
                   "hit_count", "hit_latency_sum", "miss_count", "miss_latency_sum", "idle_checks", "idle_skips",
                   "idle_skipped_cycles")


@dataclass(frozen=True)
class RunMeasurements:
    """What one run of :class:`emu.system.runner.SystemRunner` measured; :func:`run_statistics` reports it.

    Attributes
    ----------
    config : SystemConfig
    built : emu.harness.BuiltModel
        The compiled model (its cache key and build description are reported).
    build_seconds : float
        Wall time of getting the model (building it or finding it in the cache).
    accesses : int
        Accesses in the workload.
    processes : list of emu.system.processes.Process
        The processes of the run, with their real pids.
    unmapped_pids : list of int
        Workload pids no process stands for.
    model_before, model_after : numpy.void of emu.harness.STATS_DTYPE
        The harness model's counters before and after the run.
    counters : dict
        The hardware counters read by the firmware after the run (``SystemFirmware.statistics``).
    statuses : numpy.ndarray
        The status of every access.
    cycles : int
        Simulated cycles of the run.
    wall_seconds, firmware_seconds : float
        Wall time of the run, and the part of it spent in firmware.
    irq_returns : int
        Times the compiled loop returned to Python for the firmware.
    csr_reads, csr_writes : int
        Register accesses of the firmware since boot.
    check : bool
        Whether the results were compared with the golden model.
    checked : int
        Accesses compared (the first ``checked``).
    """
    config: SystemConfig
    built: BuiltModel
    build_seconds: float
    accesses: int
    processes: list
    unmapped_pids: list
    model_before: np.void
    model_after: np.void
    counters: dict
    statuses: np.ndarray
    cycles: int
    wall_seconds: float
    firmware_seconds: float
    irq_returns: int
    csr_reads: int
    csr_writes: int
    check: bool
    checked: int


def _latency(m: RunMeasurements, d: dict) -> dict:
    """The ``latency`` section: average access, hit and miss latencies and the miss-stage breakdown."""
    from hw.system.probe import PROBE_CHAIN
    ns = m.config.ns_per_cycle
    n = m.accesses
    miss_bins = (m.model_after["miss_stage_sum"].astype(np.int64) - m.model_before["miss_stage_sum"].astype(np.int64))
    chain = list(PROBE_CHAIN[:-1])
    bin_of = {"start": 0, **{name: i + 1 for i, name in enumerate(chain)}, "firmware": len(chain) + 1}
    misses = d["miss_count"]
    stages = {}
    for name, starts in SUMMARY_STAGES:
        c = sum(int(miss_bins[bin_of[s]]) for s in starts) / misses if misses else 0.0
        stages[name] = {"cycles": c, "ns": c * ns}
    detail = {name: (int(miss_bins[k]) / misses if misses else 0.0) for name, k in bin_of.items()}
    miss_lat = d["miss_latency_sum"] / misses if misses else 0.0
    hits = d["hit_count"]
    return {
        "access_cycles": d["latency_sum"] / n if n else 0.0,
        "hit_cycles": d["hit_latency_sum"] / hits if hits else 0.0,
        "miss_cycles": miss_lat,
        "miss_ns": miss_lat * ns,
        "misses_timed": misses,
        "miss_stages": stages,
        "miss_stages_detail_cycles": detail,
    }


def _network(pn: dict, mn: dict, pr: dict) -> dict:
    """The ``network`` section from the counters of both network interfaces and of the probe."""
    return {"messages": pn["tx_msgs"] + mn["tx_msgs"], "frames": pn["tx_frames"] + mn["tx_frames"],
            "bytes": pr.get("link_req_bytes_in", 0) + pr.get("link_resp_bytes_in", 0),
            "retransmissions": pn["tx_retransmits"] + mn["tx_retransmits"],
            "acks": pn["tx_acks"] + mn["tx_acks"],
            "lost": pr.get("link_req_lost", 0) + pr.get("link_resp_lost", 0),
            "corrupted": pr.get("link_req_corrupted", 0) + pr.get("link_resp_corrupted", 0)}


def _processes(procs) -> list:
    return [{"pid": p.pid, "real_pid": p.real_pid, "start_at": p.start_at, "exit_at": p.exit_at,
             "regions": [list(r) if isinstance(r, tuple) else [r.vaddr, r.length, r.writable] for r in p.regions]}
            for p in procs]


def run_statistics(m: RunMeasurements) -> dict:
    """The statistics dictionary of a run (the return value of :func:`emu.system.runner.run_workload`)."""
    cfg = m.config
    ns = cfg.ns_per_cycle
    n = m.accesses
    cycles, wall = m.cycles, m.wall_seconds
    d = {k: int(m.model_after[k]) - int(m.model_before[k]) for k in _MODEL_COUNTERS}
    ex, mmu = m.counters["excache"], m.counters["mmu"]
    names = m.built.ports.status_names
    faults = {names.get(int(s), str(int(s))): int((m.statuses == s).sum()) for s in np.unique(m.statuses) if s != 0}
    return {
        "config": cfg.to_dict(),
        "config_key": cfg.key(),
        "clock_mhz": cfg.system.clock_mhz,
        "miss_path": cfg.system.miss_path,
        "accesses": n,
        "reads": d["reads"],
        "writes": d["writes"],
        "processes": _processes(m.processes),
        "unmapped_pids": m.unmapped_pids,
        "cycles": cycles,
        "time_ns": cycles * ns,
        "cycles_per_access": cycles / n if n else 0.0,
        "cpu": {"think_cycles": d["think_cycles"], "stall_cycles": d["req_stall_cycles"],
                "max_outstanding": cfg.cpu.max_outstanding, "threads": cfg.cpu.threads},
        "latency": _latency(m, d),
        "processor": {"hits": ex["hits"], "misses": ex["misses"], "evictions": ex["evictions"],
                      "writebacks": ex["writebacks"], "translations": 0},
        "memory": {"tlb_hits": mmu["CNT_TLB_HIT"], "tlb_misses": mmu["CNT_TLB_MISS"], "walks": mmu["CNT_WALKS"],
                   "faults": mmu["CNT_FAULTS"], "bucket_reads": mmu["CNT_BUCKET_READS"],
                   "requests": mmu["CNT_REQUESTS"], "prot_faults": mmu["CNT_PROT_FAULTS"]},
        "network": _network(m.counters["proc_netif"], m.counters["mem_netif"], m.counters["probe"]),
        "faults": faults,
        "check": {"enabled": bool(m.check), "checked": m.checked if m.check else 0, "mismatches": 0},
        "firmware": {"irq_returns": m.irq_returns, "seconds": m.firmware_seconds, "csr_reads": m.csr_reads,
                     "csr_writes": m.csr_writes},
        "speed": {"wall_seconds": wall, "accesses_per_s": n / wall if wall > 0 else 0.0,
                  "cycles_per_s": cycles / wall if wall > 0 else 0.0,
                  # Idle-cycle skipping (docs/system.md): cycles advanced without evaluating the model.
                  "idle_skip": bool(cfg.harness.idle_skip), "idle_skipped_cycles": d["idle_skipped_cycles"],
                  "idle_skips": d["idle_skips"], "idle_checks": d["idle_checks"]},
        "build": {"key": m.built.key, "cached": m.built.cached, "seconds": m.build_seconds,
                  "summary": m.built.describe_build()},
        "counters": m.counters,
    }
