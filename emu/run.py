"""Run a workload through the whole split system, fast, and report where the time goes.

The public entry point is :func:`run_workload`; ``disagg run`` (``emu/commands/run.py``) and
``disagg sweep`` call it. Flow:

1. the :class:`~hw.system.top.SystemTop` of the configuration is compiled (or taken from the cache) into a
   harness library (``emu/harness``), instantiated and reset;
2. the system firmware (``firmware/system_firmware.py``) boots over a :class:`HarnessBus`, whose register
   accesses step the compiled model (no suspension, run with ``firmware.bus.run_sync``);
3. processes are created (each workload pid becomes one process, or as given by ``processes``);
4. the compiled loop runs the accesses and returns to Python only to run firmware (page faults,
   software-managed misses, process start/exit points) and at batch boundaries (progress bar);
5. the results are checked access by access against the golden model of the whole system
   (``emu/models/system.py``), and the hardware counters are read through the same firmware.

See ``docs/harness.md`` for the statistics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from firmware.bus import Bus, run_sync

from .config import SystemConfig
from .errors import DisaggError
from .workload import OP_READ, validate

__all__ = ["Process", "HarnessBus", "SystemRunner", "run_workload", "default_processes", "CheckError",
           "SUMMARY_STAGES", "format_summary"]

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

_BATCH_CYCLES = 1 << 18


class CheckError(DisaggError):
    """The system returned something the golden model does not (a hardware or firmware bug)."""


@dataclass
class Process:
    """A process of a run.

    Parameters
    ----------
    pid : int
        The pid as written in the workload. The processor monitor allocates the real pid; the harness
        rewrites the workload's rows of this process to it (``stats["processes"]`` lists the mapping).
    regions : list of (vaddr, length[, writable]), optional
        Its address space; default: every page the workload touches with this pid, writable.
    start_at : int
        The process is created once accesses ``[0, start_at)`` completed (0: before the first access).
    exit_at : int, optional
        The process exits once accesses ``[0, exit_at)`` completed; later accesses with its pid fault.
    """
    pid: int
    regions: list = None
    start_at: int = 0
    exit_at: int = None
    real_pid: int = field(default=None, repr=False)


def _touched_regions(vaddrs, page_bytes):
    pages = np.unique(np.asarray(vaddrs, dtype=np.uint64) // np.uint64(page_bytes)).astype(np.int64)
    if pages.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(pages) != 1)
    starts = np.concatenate(([pages[0]], pages[breaks + 1]))
    ends = np.concatenate((pages[breaks], [pages[-1]])) + 1
    return [(int(s) * page_bytes, int(e - s) * page_bytes, True) for s, e in zip(starts, ends)]


def default_processes(workload, page_bytes) -> list:
    """One process per pid of ``workload``, created at the start, mapping the pages it touches."""
    out = []
    for pid in np.unique(workload["pid"]).tolist():
        rows = workload["pid"] == pid
        out.append(Process(pid, _touched_regions(workload["vaddr"][rows], page_bytes)))
    return out


class HarnessBus(Bus):
    """The firmware bus of a running harness model: register accesses step the compiled model.

    Block names and bases are those of ``hw.system.address_map.SYSTEM_CSR_BASES``. Memory is reached by the firmware
    through the MMU's memory window (``firmware.csr_mem``), so this bus has no memory back door.
    """

    def __init__(self, model, bases):
        self.model, self.bases = model, dict(bases)
        self.reads = self.writes = 0

    def _addr(self, block, addr):
        try:
            return self.bases[block] + addr
        except KeyError:
            raise DisaggError(f"firmware used unknown block {block!r} (known: {', '.join(self.bases)})") from None

    async def read_reg(self, block, addr):
        self.reads += 1
        return self.model.csr_read(self._addr(block, addr))

    async def write_reg(self, block, addr, value):
        self.writes += 1
        self.model.csr_write(self._addr(block, addr), value)

    async def read_mem(self, addr, length):
        raise DisaggError("the harness bus has no memory back door; firmware reads memory via the MMU window")

    async def write_mem(self, addr, data):
        raise DisaggError("the harness bus has no memory back door; firmware writes memory via the MMU window")


def _hw_digest():
    """Digest of every source the system top is elaborated from (every ``.py`` file under ``hw/``, sub-packages
    included) and of the Amaranth version."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path
    h = hashlib.sha256(version("amaranth").encode())
    root = Path(__file__).resolve().parents[1] / "hw"
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def system_verilog(config: SystemConfig, *, log=None):
    """Verilog and port description of ``config``'s system top, converted once per configuration.

    Amaranth's conversion of the whole system takes tens of seconds, so its result is cached under
    ``build/harness/verilog/`` keyed by the configuration and a digest of ``hw/*.py``.
    """
    import hashlib
    import json
    import os
    from hw.system.probe import PROBE_CHAIN
    from .harness import codegen
    from .harness.build import HARNESS_BUILD, convert
    # The chain the C++ times: every boundary of a miss but the final cpu_resp, which is the completion
    # of the access itself (and fires for hits too).
    chain = list(PROBE_CHAIN[:-1])
    key = hashlib.sha256(json.dumps([config.to_dict(), chain, _hw_digest()], sort_keys=True).encode()).hexdigest()[:20]
    folder = HARNESS_BUILD / "verilog"
    vpath, jpath = folder / f"{key}.v", folder / f"{key}.json"
    if vpath.exists() and jpath.exists():
        return vpath.read_text(), codegen.SystemPorts.from_json(json.loads(jpath.read_text()))
    from hw.system.top import SystemTop
    if log:
        log("converting the system top to Verilog ...")
    verilog, ports = convert(SystemTop(config.params), chain=chain)
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in ((vpath, verilog), (jpath, json.dumps(ports.to_json()))):
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    return verilog, ports


def build_system(config: SystemConfig, *, trace=None, log=None):
    """The compiled harness library of ``config``'s system top (built once, then cached)."""
    from .harness import build_model
    verilog, ports = system_verilog(config, log=log)
    return build_model(verilog=verilog, ports=ports, trace=trace, log=log)


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
        from .harness import HarnessModel
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
                                  max_outstanding=config.cpu.max_outstanding)
        self.model.reset()
        self.bus = HarnessBus(self.model, SYSTEM_CSR_BASES)
        self.firmware = SystemFirmware(self.bus, config.params)
        self.firmware_seconds = 0.0
        self._fw(self.firmware.boot())
        self.boot_cycles = self.model.cycle

    def _fw(self, coro):
        t0 = time.monotonic()
        try:
            return run_sync(coro)
        finally:
            self.firmware_seconds += time.monotonic() - t0

    def close(self):
        self.model.close()
        if self.waves:
            _write_gtkw(self.waves)

    # -------------------------------------------------------------------------------------------------

    def run(self, workload, processes=None, *, check=True, check_sample=None, progress=False,
            raw_cycles=False):
        """Run ``workload`` (see :func:`run_workload`); return the statistics dictionary."""
        from .models.system import ModelError, SystemModel
        from .harness import RunStatus, new_results
        params = self.config.params
        workload = validate(workload, vaddr_width=params.excache.vaddr_width)
        n = len(workload)
        page = params.mmu.page_bytes
        procs = default_processes(workload, page) if processes is None else [_as_process(p) for p in processes]
        for p in procs:
            if p.regions is None:
                p.regions = _touched_regions(workload["vaddr"][workload["pid"] == p.pid], page)
            if not 0 <= p.start_at <= n or (p.exit_at is not None and not p.start_at <= p.exit_at <= n):
                raise DisaggError(f"process {p.pid}: start_at/exit_at outside the workload of {n} accesses")
        known = {p.pid for p in procs}
        stray = sorted(set(np.unique(workload["pid"]).tolist()) - known)
        # Accesses by a pid no process stands for keep that pid: they fault unless a process gets it.
        w = np.ascontiguousarray(workload.copy())
        results = new_results(n)
        golden = SystemModel(page_size=page, vaddr_width=params.excache.vaddr_width) if check else None
        check_upto = n if check_sample is None else min(n, int(check_sample))

        events = {}
        for p in procs:
            events.setdefault(p.start_at, []).append(("create", p))
            if p.exit_at is not None:
                events.setdefault(p.exit_at, []).append(("exit", p))
        points = sorted(set(events) | {n})
        model, fw = self.model, self.firmware
        cycle0 = model.cycle
        stats0 = model.stats()
        wall0 = time.monotonic()
        fw0 = self.firmware_seconds
        irq_calls = 0
        bar = _progress_bar(n, progress)
        pos = 0
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
                        elif status == RunStatus.HANG:
                            raise DisaggError(f"the system stopped answering at access {model.position} "
                                              f"(cycle {model.cycle}): no response for "
                                              f"{2_000_000} cycles with accesses in flight")
                    if golden is not None and pos < check_upto:
                        _check(golden, w, results, pos, min(point, check_upto), ModelError, params)
                    pos = point
                for kind, p in events.get(point, ()):
                    if kind == "create":
                        p.real_pid = self._fw(fw.create_process(p.regions))
                        rows = np.flatnonzero(workload["pid"][point:] == p.pid) + point
                        w["pid"][rows] = p.real_pid
                        if golden is not None:
                            golden.create_process(p.real_pid, p.regions)
                    else:
                        self._fw(fw.exit_process(p.real_pid))
                        if golden is not None:
                            golden.exit_process(p.real_pid)
        finally:
            if bar is not None:
                bar.close()
        wall = time.monotonic() - wall0
        cycles = model.cycle - cycle0
        stats1 = model.stats()
        counters = self._fw(fw.statistics())
        return _statistics(self, workload, w, results, procs, stray, stats0, stats1, counters, cycles, wall,
                           self.firmware_seconds - fw0, irq_calls, check, check_upto)


def _as_process(p):
    if isinstance(p, Process):
        return Process(p.pid, None if p.regions is None else list(p.regions), p.start_at, p.exit_at)
    if isinstance(p, dict):
        return Process(**p)
    raise DisaggError(f"a process must be emu.run.Process or a dict of its fields, not {p!r}")


def _check(golden, w, results, a, b, model_error, params):
    try:
        status, rdata = golden.run(w[a:b])
    except model_error as exc:
        raise DisaggError(f"golden model: {exc}") from None
    got_status = results["status"][a:b]
    got_data = np.where(w["op"][a:b] == OP_READ, results["rdata"][a:b], 0)
    bad = np.flatnonzero((got_status != status) | (got_data != rdata))
    if bad.size:
        i = int(bad[0])
        row = w[a + i]
        raise CheckError(
            f"access {a + i} (pid {row['pid']}, {'write' if row['op'] else 'read'} {row['size']} bytes at "
            f"{int(row['vaddr']):#x}): the system answered status {int(got_status[i])} data {int(got_data[i]):#x}, "
            f"the golden model status {int(status[i])} data {int(rdata[i]):#x} ({bad.size} mismatches in "
            f"accesses {a}..{b - 1})")


def _progress_bar(n, progress):
    if not progress:
        return None
    from tqdm import tqdm
    # Shown only if the run lasts more than two seconds.
    return tqdm(total=n, unit="acc", unit_scale=True, delay=2.0, leave=False, dynamic_ncols=True)


def _write_gtkw(waves):
    from pathlib import Path
    from .gtkw import write_gtkw
    waves = Path(waves)
    signals = ["clk", "rst", "cpu_req__valid", "cpu_req__ready", "cpu_req__payload", "cpu_resp__valid",
               "cpu_resp__payload", "irq_proc", "irq_mem", "probe", "csr__addr", "csr__r_stb", "csr__w_stb"]
    write_gtkw(waves, waves.with_suffix(".gtkw"), signals, toplevel="top")


def _statistics(runner, workload, w, results, procs, stray, s0, s1, counters, cycles, wall, fw_seconds,
                irq_calls, check, check_upto):
    from hw.system.probe import PROBE_CHAIN
    cfg = runner.config
    ns = cfg.ns_per_cycle
    n = len(workload)
    d = {k: int(s1[k]) - int(s0[k]) for k in ("cycles", "completed", "reads", "writes", "req_stall_cycles",
                                                "think_cycles", "latency_sum", "hit_count", "hit_latency_sum",
                                                "miss_count", "miss_latency_sum")}
    miss_bins = (s1["miss_stage_sum"].astype(np.int64) - s0["miss_stage_sum"].astype(np.int64))
    chain = list(PROBE_CHAIN[:-1])
    bin_of = {"start": 0, **{name: i + 1 for i, name in enumerate(chain)}, "firmware": len(chain) + 1}
    misses = d["miss_count"]
    stages = {}
    for name, starts in SUMMARY_STAGES:
        c = sum(int(miss_bins[bin_of[s]]) for s in starts) / misses if misses else 0.0
        stages[name] = {"cycles": c, "ns": c * ns}
    detail = {name: (int(miss_bins[k]) / misses if misses else 0.0) for name, k in bin_of.items()}
    ex, mmu = counters["excache"], counters["mmu"]
    pn, mn, pr = counters["proc_netif"], counters["mem_netif"], counters["probe"]
    statuses = results["status"]
    names = runner.built.ports.status_names
    faults = {names.get(int(s), str(int(s))): int((statuses == s).sum()) for s in np.unique(statuses) if s != 0}
    miss_lat = d["miss_latency_sum"] / misses if misses else 0.0
    hits = d["hit_count"]
    return {
        "config": cfg.to_dict(),
        "config_key": cfg.key(),
        "clock_mhz": cfg.system.clock_mhz,
        "miss_path": cfg.system.miss_path,
        "accesses": n,
        "reads": d["reads"],
        "writes": d["writes"],
        "processes": [{"pid": p.pid, "real_pid": p.real_pid, "start_at": p.start_at, "exit_at": p.exit_at,
                       "regions": [list(r) if isinstance(r, tuple) else [r.vaddr, r.length, r.writable]
                                   for r in p.regions]} for p in procs],
        "unmapped_pids": stray,
        "cycles": cycles,
        "time_ns": cycles * ns,
        "cycles_per_access": cycles / n if n else 0.0,
        "cpu": {"think_cycles": d["think_cycles"], "stall_cycles": d["req_stall_cycles"],
                "max_outstanding": cfg.cpu.max_outstanding},
        "latency": {
            "access_cycles": d["latency_sum"] / n if n else 0.0,
            "hit_cycles": d["hit_latency_sum"] / hits if hits else 0.0,
            "miss_cycles": miss_lat,
            "miss_ns": miss_lat * ns,
            "misses_timed": misses,
            "miss_stages": stages,
            "miss_stages_detail_cycles": detail,
        },
        "processor": {"hits": ex["hits"], "misses": ex["misses"], "evictions": ex["evictions"],
                      "writebacks": ex["writebacks"], "translations": 0},
        "memory": {"tlb_hits": mmu["CNT_TLB_HIT"], "tlb_misses": mmu["CNT_TLB_MISS"], "walks": mmu["CNT_WALKS"],
                   "faults": mmu["CNT_FAULTS"], "bucket_reads": mmu["CNT_BUCKET_READS"],
                   "requests": mmu["CNT_REQUESTS"], "prot_faults": mmu["CNT_PROT_FAULTS"]},
        "network": {"messages": pn["tx_msgs"] + mn["tx_msgs"], "frames": pn["tx_frames"] + mn["tx_frames"],
                    "bytes": pr.get("link_req_bytes_in", 0) + pr.get("link_resp_bytes_in", 0),
                    "retransmissions": pn["tx_retransmits"] + mn["tx_retransmits"],
                    "acks": pn["tx_acks"] + mn["tx_acks"],
                    "lost": pr.get("link_req_lost", 0) + pr.get("link_resp_lost", 0),
                    "corrupted": pr.get("link_req_corrupted", 0) + pr.get("link_resp_corrupted", 0)},
        "faults": faults,
        "check": {"enabled": bool(check), "checked": check_upto if check else 0, "mismatches": 0},
        "firmware": {"irq_returns": irq_calls, "seconds": fw_seconds, "csr_reads": runner.bus.reads,
                     "csr_writes": runner.bus.writes},
        "speed": {"wall_seconds": wall, "accesses_per_s": n / wall if wall > 0 else 0.0,
                  "cycles_per_s": cycles / wall if wall > 0 else 0.0},
        "build": {"key": runner.built.key, "cached": runner.built.cached, "seconds": runner.build_seconds,
                  "summary": runner.built.describe_build()},
        "counters": counters,
    }


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
        :class:`CheckError`.
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


# ------------------------------------------------------------------------------------------------------
# The summary table printed by ``disagg run``.

def _fmt(v):
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) < 1e6 else f"{v:,.3g}"
    return f"{v:,}"


def format_summary(s: dict, *, workload_name: str = "", config_source: str = "") -> str:
    """The human-readable summary of a statistics dictionary of :func:`run_workload`."""
    ns = 1000.0 / s["clock_mhz"]
    lines = []
    head = f"disagg run: {s['accesses']:,} accesses ({s['reads']:,} reads, {s['writes']:,} writes)"
    if workload_name:
        head += f" of workload '{workload_name}'"
    lines.append(head)
    lines.append(f"  configuration {config_source or 'built-in default'} [{s['config_key']}], "
                 f"miss path {s['miss_path']}, {s['clock_mhz']:g} MHz; model {s['build']['summary']}")
    lines.append(f"  simulated {s['cycles']:,} cycles = {s['time_ns'] / 1000:,.1f} us, "
                 f"{s['cycles_per_access']:.2f} cycles/access")
    lines.append("")
    p, m, n = s["processor"], s["memory"], s["network"]
    hit_rate = p["hits"] / max(1, p["hits"] + p["misses"])
    rows = [
        ("processor (ExCache)", f"hits {p['hits']:,}  misses {p['misses']:,}  ({hit_rate:.1%} hits)  "
                                f"evictions {p['evictions']:,}  write-backs {p['writebacks']:,}"),
        ("", "no translation at the processor (virtual tags; the memory component translates)"),
        ("memory (MMU)", f"TLB hits {m['tlb_hits']:,}  misses {m['tlb_misses']:,}  walks {m['walks']:,}  "
                         f"page faults {m['faults']:,}"),
        ("network", f"messages {n['messages']:,}  frames {n['frames']:,}  bytes {n['bytes']:,}  "
                    f"retransmissions {n['retransmissions']:,}"),
    ]
    if s["faults"]:
        rows.append(("faulted accesses", "  ".join(f"{k} {v:,}" for k, v in s["faults"].items())))
    width = max(len(r[0]) for r in rows)
    lines += [f"  {a:<{width}}  {b}" for a, b in rows]
    lat = s["latency"]
    lines.append("")
    lines.append(f"  average miss latency ({lat['misses_timed']:,} misses): {lat['miss_cycles']:.1f} cycles = "
                 f"{lat['miss_ns']:.1f} ns   (hit {lat['hit_cycles']:.1f} cycles)")
    lines.append(f"    {'stage':<14}{'cycles':>10}{'ns':>10}{'share':>8}")
    total = lat["miss_cycles"] or 1.0
    for name, v in lat["miss_stages"].items():
        lines.append(f"    {name:<14}{v['cycles']:>10.1f}{v['cycles'] * ns:>10.1f}{v['cycles'] / total:>8.1%}")
    sp = s["speed"]
    lines.append("")
    chk = s["check"]
    checked = (f"all {chk['checked']:,} accesses match the golden model" if chk["enabled"] and
               chk["checked"] == s["accesses"] else
               f"first {chk['checked']:,} accesses match the golden model" if chk["enabled"] else "not checked")
    lines.append(f"  speed: {sp['accesses_per_s']:,.0f} accesses/s, {sp['cycles_per_s']:,.0f} simulated cycles/s "
                 f"({sp['wall_seconds']:.2f} s wall, firmware {s['firmware']['seconds']:.2f} s, "
                 f"{s['firmware']['irq_returns']:,} firmware events); check: {checked}")
    return "\n".join(lines)
