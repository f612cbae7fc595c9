"""The run loop: a booted system (compiled model + firmware) running workloads.

:func:`run_workload` is the public entry point (``disagg run``, ``disagg sweep``); :class:`SystemRunner` keeps one
booted system for several runs. The package docstring (``emu/system/__init__.py``) describes the flow.
"""

from __future__ import annotations

import time

import numpy as np

from firmware.bus import run_sync

from ..config import SystemConfig
from ..errors import DisaggError
from ..workload_format import validate
from .firmware_bus import HarnessBus
from .cache_replay import ExCacheReplay
from .golden_check import check_against_golden
from .model_cache import build_system
from .processes import as_process, default_processes, touched_regions
from .statistics import RunMeasurements, run_statistics

__all__ = ["SystemRunner", "run_workload"]

#: Cycles the compiled loop runs before returning to Python (progress bar updates).
_BATCH_CYCLES = 1 << 18


class SystemRunner:
    """A booted system: compiled model + firmware, ready to run workloads.

    Parameters
    ----------
    config : SystemConfig
    waves : path, optional
        Write a waveform (FST, or VCD without liblz4) of the cycles in ``window``; a ``.gtkw`` is written
        next to it.
    window : (int, int), optional
        First and last cycle of the waveform (counted from reset).
    log : callable, optional
        Progress lines (build).
    """

    def __init__(self, config: SystemConfig, *, waves=None, window=None, log=None):
        from firmware.system_firmware import SystemFirmware
        from hw.system.address_map import SYSTEM_CSR_BASES
        from ..harness import HarnessModel
        if not isinstance(config, SystemConfig):
            raise TypeError(f"SystemRunner needs a SystemConfig, not {config!r}")
        self.config = config
        t0 = time.monotonic()
        self.built = build_system(config, trace="fst" if waves else None, log=log)
        self.build_seconds = time.monotonic() - t0
        self.waves, self.window = waves, window
        if waves is not None:
            from pathlib import Path
            Path(waves).parent.mkdir(parents=True, exist_ok=True)
        self.model = HarnessModel(self.built, waves=waves, window=window,
                                  dram=(config.params.dram_bytes, config.params.dram_latency,
                                        config.params.dram_read_slots),
                                  local_latency=config.params.local_latency,
                                  max_outstanding=config.cpu.max_outstanding,
                                  idle_skip=config.harness.idle_skip)
        self.model.reset()
        fill = config.memory.fill_bytes_per_cycle if config.memory.dram_model == "compiled" else 0
        self.bus = HarnessBus(self.model, SYSTEM_CSR_BASES, fill_bytes_per_cycle=fill)
        self.firmware = SystemFirmware(self.bus, config.params)
        self.firmware_seconds = 0.0
        self._fw(self.firmware.boot(), "booting the system firmware")
        self.boot_cycles = self.model.cycle
        # Which accesses the non-blocking ExCache counted as hits (per-thread statistics; cache_replay.py). The
        # blocking one answers one miss at a time, so the driver's timing of each access is its verdict.
        software = config.system.miss_path == "software"
        self.replay = (ExCacheReplay(config.params.excache, self.firmware.processor.misses if software else None)
                       if config.params.excache.mshrs > 1 else None)

    def _fw(self, coro, what="firmware"):
        """Run firmware to completion; its refusals (out of memory, no free pid, ...) become one DisaggError."""
        t0 = time.monotonic()
        try:
            return run_sync(coro)
        except _firmware_errors() as exc:
            raise DisaggError(f"{what}: {exc}") from None
        finally:
            self.firmware_seconds += time.monotonic() - t0

    def _check_refused_faults(self, seen):
        """Raise if a page fault inside a region was refused since fault ``seen`` (the memory ran out)."""
        faults = self.firmware.memory.faults
        for f in faults[seen:]:
            if f.reason:
                raise DisaggError(f"memory component: {f.reason}")
        return len(faults)

    def close(self):
        self.model.close()
        if self.waves:
            _write_gtkw(self.waves)

    # -------------------------------------------------------------------------------------------------

    def run(self, workload, processes=None, *, check=True, check_sample=None, progress=False):
        """Run ``workload`` (see :func:`run_workload`); return the statistics dictionary."""
        from ..harness import RunStatus, new_results
        from ..models.system import SystemModel
        params = self.config.params
        workload, bounds = _thread_streams(workload, self.config.cpu.threads)
        workload = validate(workload, vaddr_width=params.excache.vaddr_width)
        n = len(workload)
        page = params.mmu.page_bytes
        procs = _processes_of(workload, processes, page)
        if bounds is not None:
            for p in procs:
                if p.start_at != 0 or p.exit_at not in (None, n):
                    raise DisaggError(f"process {p.pid}: with {len(bounds) - 1} CPU threads every process lives "
                                      f"for the whole run (start_at 0, no exit before the end)")
        known = {p.pid for p in procs}
        stray = sorted(set(np.unique(workload["pid"]).tolist()) - known)
        # Accesses by a pid no process stands for keep that pid: they fault unless a process gets it.
        w = np.ascontiguousarray(workload.copy())
        results = new_results(n)
        # The ExCache counted a hit (cache_replay.py); None: as the driver timed them.
        hits = np.zeros(n, dtype=bool) if self.replay is not None else None
        golden = SystemModel(page_size=page, vaddr_width=params.excache.vaddr_width) if check else None
        check_upto = n if check_sample is None else min(n, int(check_sample))

        events = _process_events(procs)
        points = sorted(set(events) | {n})
        model, fw = self.model, self.firmware
        cycle0 = model.cycle
        stats0 = model.stats()
        wall0 = time.monotonic()
        fw0 = self.firmware_seconds
        irq_calls = 0
        bar = _progress_bar(n, progress)
        pos = 0
        model.set_threads(bounds)
        faults_seen = len(fw.memory.faults)
        try:
            for point in points:
                if point > pos:
                    done0 = int(model.stats()["completed"])
                    start = pos     # a new workload array starts at 0; later calls continue where it stopped
                    while True:
                        status = model.run(w, results, n=point, start=start, max_cycles=_BATCH_CYCLES)
                        start = model.position
                        if bar is not None:
                            done = int(model.stats()["completed"])
                            bar.update(done - done0)
                            done0 = done
                        if status == RunStatus.DONE:
                            break
                        if status == RunStatus.IRQ:
                            irq_calls += 1
                            self._fw(fw.service_irqs(irq_proc=model.irq_proc, irq_mem=model.irq_mem))
                            faults_seen = self._check_refused_faults(faults_seen)
                            # The CPU keeps issuing while firmware runs (a non-blocking ExCache takes accesses
                            # under an open miss): continue from where it is now.
                            start = model.position
                        elif status == RunStatus.HANG:
                            raise DisaggError(f"the system stopped answering at access {model.position} "
                                              f"(cycle {model.cycle}): no response for "
                                              f"{2_000_000} cycles with accesses in flight")
                    # Threads: the memory sees the accesses in the order the CPU port issued them.
                    order = None if bounds is None else np.argsort(results["t_issue"][:n], kind="stable")
                    if self.replay is not None:
                        rows = np.arange(pos, point) if order is None else order[pos:point]
                        hits[rows] = self.replay.run(w, results, rows)
                    if golden is not None and pos < check_upto:
                        check_against_golden(golden, w, results, pos, min(point, check_upto), order=order)
                    pos = point
                for kind, p in events.get(point, ()):
                    if kind == "create":
                        p.real_pid = self._fw(fw.create_process(p.regions),
                                              f"cannot start process {p.pid} of the workload")
                        rows = np.flatnonzero(workload["pid"][point:] == p.pid) + point
                        w["pid"][rows] = p.real_pid
                        if golden is not None:
                            golden.create_process(p.real_pid, p.regions)
                    else:
                        self._fw(fw.exit_process(p.real_pid))
                        if self.replay is not None:
                            self.replay.exit_process(p.real_pid)
                        if golden is not None:
                            golden.exit_process(p.real_pid)
        finally:
            if bar is not None:
                bar.close()
        wall = time.monotonic() - wall0
        cycles = model.cycle - cycle0
        stats1 = model.stats()
        counters = self._fw(fw.statistics())
        stats = run_statistics(RunMeasurements(
            config=self.config, built=self.built, build_seconds=self.build_seconds, accesses=n, processes=procs,
            unmapped_pids=stray, model_before=stats0, model_after=stats1, counters=counters,
            statuses=results["status"], cycles=cycles, wall_seconds=wall,
            firmware_seconds=self.firmware_seconds - fw0, irq_returns=irq_calls, csr_reads=self.bus.reads,
            csr_writes=self.bus.writes, check=check, checked=check_upto))
        # The compiled DRAM's counters since the model was created (bursts, beats, pages and bytes it holds).
        stats["dram"] = model.dram_stats()
        stats["threads"] = thread_statistics(w, results, bounds, cycle0, hits)
        #: (workload as run, with real pids; results of RESULT_DTYPE; thread bounds or None) of the last run.
        self.last_run = (w, results, bounds)
        return stats


def _thread_streams(workload, threads):
    """``(workload, bounds)`` for a CPU of ``threads`` threads: ``bounds`` None for one thread; a list of
    streams (one per thread) is combined; one array for several threads is split (``emu.workloads.threads``)."""
    from ..workloads.threads import combine, split_stream
    if isinstance(workload, (list, tuple)):
        if len(workload) != threads:
            raise DisaggError(f"{len(workload)} access streams for a CPU of {threads} threads (cpu.threads)")
        return combine(workload) if threads > 1 else (workload[0], None)
    if threads == 1:
        return workload, None
    return combine(split_stream(workload, threads))


def thread_statistics(w, results, bounds, cycle0=0, counted_hits=None):
    """Per thread (one entry without threads): accesses, reads, writes, think cycles, hits and misses, mean
    latencies (of all accesses, of the hits, of the misses), and the cycle of its last response counted from the
    start of the run. ``counted_hits`` (a bool per row): the accesses the ExCache counted as hits
    (:class:`emu.system.cache_replay.ExCacheReplay`, so the threads' figures add up to its counters); None: those
    the driver timed as hits (``results["missed"]`` clear; exact for the blocking ExCache only)."""
    n = len(w)
    bounds = [0, n] if bounds is None else [int(b) for b in bounds]
    out = []
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        r, rows = results[a:b], w[a:b]
        lat = (r["t_done"] - r["t_issue"]).astype(np.int64)
        missed = r["missed"].astype(bool) if counted_hits is None else ~counted_hits[a:b]
        hits, misses = int((~missed).sum()), int(missed.sum())
        out.append({
            "thread": k, "accesses": b - a, "reads": int((rows["op"] == 0).sum()), "writes": int((rows["op"] != 0).sum()),
            "think_cycles": int(rows["think"].astype(np.int64).sum()), "hits": hits, "misses": misses,
            "access_cycles": float(lat.mean()) if b > a else 0.0,
            "hit_cycles": float(lat[~missed].mean()) if hits else 0.0,
            "miss_cycles": float(lat[missed].mean()) if misses else 0.0,
            "finish_cycle": int(r["t_done"].max()) - int(cycle0) + 1 if b > a else 0,
        })
    return out


def _processes_of(workload, processes, page_bytes):
    """The processes of a run of ``workload``: ``processes`` (copied, regions filled in) or one per pid."""
    n = len(workload)
    procs = default_processes(workload, page_bytes) if processes is None else [as_process(p) for p in processes]
    for p in procs:
        if p.regions is None:
            p.regions = touched_regions(workload["vaddr"][workload["pid"] == p.pid], page_bytes)
        if not 0 <= p.start_at <= n or (p.exit_at is not None and not p.start_at <= p.exit_at <= n):
            raise DisaggError(f"process {p.pid}: start_at/exit_at outside the workload of {n} accesses")
    return procs


def _process_events(procs):
    """Access index -> the ("create" | "exit", process) events due once the accesses before it completed."""
    events = {}
    for p in procs:
        events.setdefault(p.start_at, []).append(("create", p))
        if p.exit_at is not None:
            events.setdefault(p.exit_at, []).append(("exit", p))
    return events


def _progress_bar(n, progress):
    if not progress:
        return None
    from tqdm import tqdm
    # Shown only if the run lasts more than two seconds.
    return tqdm(total=n, unit="acc", unit_scale=True, delay=2.0, leave=False, dynamic_ncols=True)


def _write_gtkw(waves):
    from pathlib import Path
    from ..gtkw import write_gtkw
    waves = Path(waves)
    signals = ["clk", "rst", "cpu_req__valid", "cpu_req__ready", "cpu_req__payload", "cpu_resp__valid",
               "cpu_resp__payload", "irq_proc", "irq_mem", "probe", "csr__addr", "csr__r_stb", "csr__w_stb"]
    write_gtkw(waves, waves.with_suffix(".gtkw"), signals, toplevel="top")


def run_workload(config: SystemConfig, workload: np.ndarray, *, processes=None, check=True, check_sample=None,
                 progress=False, waves=None, window=None, log=None) -> dict:
    """Run ``workload`` on the system of ``config``; return its statistics.

    Parameters
    ----------
    config : SystemConfig
        The system (its compiled model is cached per configuration under ``build/harness/``).
    workload : numpy.ndarray of WORKLOAD_DTYPE
        The accesses, in program order.
    processes : list of Process or dict, optional
        Process lifetimes and address spaces; default: one process per workload pid, created at the
        start, mapping exactly the pages that pid touches.
    check : bool
        Compare every access with the golden model (``emu/models/system.py``); a mismatch raises
        :class:`emu.system.golden_check.CheckError`.
    check_sample : int, optional
        Check only the first ``check_sample`` accesses (for very long runs).
    progress : bool
        Show a progress bar if the run lasts more than two seconds.
    waves, window : optional
        Waveform file and ``(first, last)`` cycle window.

    Returns
    -------
    dict
        Keys (``docs/harness.md`` defines each): ``accesses``, ``reads``, ``writes``, ``cycles`` (simulated
        cycles of the run, boot excluded), ``time_ns``, ``cycles_per_access``, ``latency`` (``access_cycles``,
        ``hit_cycles``, ``miss_cycles``, ``miss_ns``, ``miss_stages`` {stage: {cycles, ns}},
        ``miss_stages_detail_cycles``), ``processor`` (hits, misses, evictions, writebacks, translations),
        ``memory`` (tlb_hits, tlb_misses, walks, faults, ...), ``network`` (messages, frames, bytes,
        retransmissions, ...), ``faults`` {status: accesses}, ``check``, ``firmware``, ``speed``
        (wall_seconds, accesses_per_s, cycles_per_s), ``build``, ``processes``, ``config``, ``counters``.
    """
    runner = SystemRunner(config, waves=waves, window=window, log=log)
    try:
        return runner.run(workload, processes, check=check, check_sample=check_sample, progress=progress)
    finally:
        runner.close()


def _firmware_errors():
    """The exceptions firmware raises when it refuses something (each carries a one-line message)."""
    from firmware.csr_mem import MemoryWindowError
    from firmware.global_memory_manager import PlacementError
    from firmware.memory_monitor import MemoryMonitorError
    from firmware.page_table import PageTableFull
    from firmware.processor_monitor import ProcessorMonitorError
    return (ProcessorMonitorError, PlacementError, MemoryMonitorError, PageTableFull, MemoryWindowError)
