"""``disagg bench``: the same workload on the same system, three ways.

1. **harness**: :func:`emu.system.runner.run_workload` as users run it: firmware boots the system, pages are faulted
   in on first touch by the memory monitor, every access is checked against the golden model;
2. **raw**: the same compiled model, every touched page mapped before the clock starts, the whole
   workload in one call of the compiled loop (no Python until it is done): the limit of the harness;
3. **cocotb**: the same system top under cocotb's Verilator runner (``--public-flat-rw``), Python awaiting
   every clock edge, firmware on a cocotb bus (``emu/cosim/cocotb_bench.py``); a shorter prefix
   of the workload, reported as a rate. It runs on one configuration of :data:`CONFIGURATIONS`
   (``cocotb_configuration``, ``small`` from the command line: cocotbext-axi's memories serving every 4 KiB
   line of the default in Python do not finish a useful run), and the harness/cocotb ratio compares it with
   the harness on that same configuration.

Then, per configuration of :data:`CONFIGURATIONS` (the base configuration with a few settings changed),
the system's simulated cycles per second in the harness and raw ways, both also per CPU-second of the
thread that runs the model (a shared machine disturbs it far less than wall-clock time; the cocotb run's
is the CPU time of its simulator process during the run, and the harness/cocotb ratio is given both ways). A
configuration the hardware does not support yet is a row saying why, not an error.

Figures are measured rates; nothing here asserts them.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from firmware.bus import run_sync

from .config import SystemConfig
from .errors import DisaggError

__all__ = ["bench", "format_table", "CONFIGURATIONS"]

#: The per-configuration speed rows: name -> (what it is, overrides applied on top of the base configuration).
CONFIGURATIONS = {
    "default": ("the base configuration", ()),
    "small": ("the small on-chip ExCache of configs/small.toml (64 sets x 4 ways x 64 B)",
              ("cache.line_bytes=64", "cache.sets=64", "cache.ways=4", "cache.line_store=onchip")),
    "large": ("16 GiB memory component and 128 MiB ExCache (4096 sets x 8 ways x 4 KiB, local memory)",
              ("memory.dram_bytes=17179869184", "cache.line_bytes=4096", "cache.sets=4096", "cache.ways=8",
               "cache.line_store=axi")),
}


def _raw(config: SystemConfig, workload: np.ndarray, log=None) -> dict:
    """The compiled loop alone: all pages pre-mapped, one call for the whole workload."""
    from .harness import RunStatus, new_results
    from .models.system import SystemModel
    from .system.processes import default_processes
    from .system.runner import SystemRunner
    runner = SystemRunner(config, log=log)
    try:
        page = config.params.mmu.page_bytes
        w = np.ascontiguousarray(workload.copy())
        golden = SystemModel(page_size=page, vaddr_width=config.params.excache.vaddr_width)
        fw = runner.firmware
        for proc in default_processes(workload, page):
            pid = run_sync(fw.create_process(proc.regions))
            golden.create_process(pid, proc.regions)
            w["pid"][workload["pid"] == proc.pid] = pid
            for vaddr, length, _ in proc.regions:
                run_sync(fw.memory.populate(pid, vaddr, length))   # map now: no fault later
        results = new_results(len(w))
        model = runner.model
        c0 = model.cycle
        t0, cpu0 = time.monotonic(), time.thread_time()
        status = model.run(w, results)
        seconds, cpu_seconds = time.monotonic() - t0, time.thread_time() - cpu0
        cycles = model.cycle - c0
        irqs = 0
        while status == RunStatus.IRQ:      # not expected with every page mapped; counted if it happens
            irqs += 1
            run_sync(fw.service_irqs(irq_proc=model.irq_proc, irq_mem=model.irq_mem))
            status = model.run(w, results, start=model.position)
        if status != RunStatus.DONE:
            raise DisaggError(f"raw run stopped with status {RunStatus.NAMES.get(status, status)}")
        status_exp, data_exp = golden.run(w)
        reads = w["op"] == 0
        mismatches = int(((results["status"] != status_exp) | (reads & (results["rdata"] != data_exp))).sum())
        return {"accesses": len(w), "cycles": cycles, "seconds": seconds, "cpu_seconds": cpu_seconds,
                "irq_returns": irqs, "mismatches": mismatches}
    finally:
        runner.close()


def _cocotb(config: SystemConfig, workload: np.ndarray, n: int, log=None) -> dict:
    """The cocotb flow on the same system (built by cocotb's runner, with --public-flat-rw).

    The top is the plain :class:`hw.system.top.SystemTop`, as a user's cocotb bench would drive it: the
    harness's ``HarnessTop`` registers its inputs on clocks of its own that only the compiled driver raises
    (under cocotb its register reads answered 0 and the firmware's boot failed, sessions 7-8)."""
    from hw.system.top import SystemTop

    from .cosim.runner import CocotbRun
    from .harness.build import HARNESS_BUILD, convert
    from .system.model_cache import source_digest

    params = {"system": config.params.as_dict()}
    external_dram = config.memory.dram_model == "compiled"
    # One folder per configuration and version of hw/ (the Verilog is cached in it, as the harness's is).
    key = _config_id({**params, "external_dram": external_dram, "hw": source_digest()})
    build_root = HARNESS_BUILD.parent / "sim" / "harness-bench" / key
    source = build_root / "top.v"          # converted once per key; the runner's build is cached beside it
    if not source.exists():
        if log:
            log("converting the plain system top to Verilog for cocotb ...")
        verilog, _ = convert(SystemTop(config.params, external_dram=external_dram))
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(verilog)
    sim = CocotbRun(build_root=build_root, test_module="emu.cosim.cocotb_bench", toplevel="top")
    with tempfile.TemporaryDirectory() as tmp:
        wpath, out = Path(tmp) / "workload.npy", Path(tmp) / "out.json"
        np.save(wpath, workload[:n])
        t0 = time.monotonic()
        sim.build([source])   # cached by cocotb's runner between bench runs
        build_seconds = time.monotonic() - t0
        if log:
            log(f"cocotb model ready ({build_seconds:.1f} s)")
        try:
            outcome = sim.test(seed=1, env={"DISAGG_CONFIG": json.dumps(params, sort_keys=True),
                                            "DISAGG_BENCH_WORKLOAD": str(wpath), "DISAGG_BENCH_N": str(n),
                                            "DISAGG_BENCH_OUT": str(out)})
        except RuntimeError as exc:     # cocotb's runner: the simulator exited abnormally (e.g. killed)
            raise DisaggError(f"the cocotb run failed: {exc} (log in {sim.build_root})") from None
        if not outcome.passed:
            raise DisaggError(f"the cocotb run failed: {outcome.reason} (log in {outcome.test_dir})")
        result = json.loads(out.read_text())
    result["build_seconds"] = build_seconds
    return result


def _harness_run(config: SystemConfig, workload: np.ndarray):
    """``run_workload(config, workload, check=True)`` and the CPU seconds of the run itself (this thread runs
    the model, the firmware and the check; the boot and the model's loading are not counted, as in the
    statistics' wall seconds)."""
    from .system.runner import SystemRunner
    runner = SystemRunner(config)
    try:
        cpu0 = time.thread_time()
        s = runner.run(workload, check=True)
        return s, time.thread_time() - cpu0
    finally:
        runner.close()


def _config_id(params: dict) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]


def _configuration_row(name: str, config: SystemConfig, workload: np.ndarray, log=None) -> dict:
    """Harness and raw simulated cycles/s of ``workload`` on ``config`` with the overrides of ``name``."""
    what, overrides = CONFIGURATIONS[name]
    row = {"name": name, "what": what, "overrides": list(overrides)}
    try:
        cfg = config.with_overrides(list(overrides)) if overrides else config
    except DisaggError as exc:
        row["unavailable"] = str(exc).split("impossible configuration: ", 1)[-1]
        return row
    if log:
        log(f"configuration {name} ({what}): harness, then raw ...")
    s, harness_cpu = _harness_run(cfg, workload)
    raw = _raw(cfg, workload)
    row.update(accesses=s["accesses"], harness_cycles=s["cycles"], harness_seconds=s["speed"]["wall_seconds"],
               harness_firmware_seconds=s["firmware"]["seconds"], harness_cpu_seconds=harness_cpu,
               raw_cycles=raw["cycles"], raw_seconds=raw["seconds"], raw_cpu_seconds=raw["cpu_seconds"],
               raw_mismatches=raw["mismatches"])
    return row


def cocotb_config(config: SystemConfig, name: str) -> SystemConfig:
    """``config`` with the overrides of the :data:`CONFIGURATIONS` entry ``name``, for the cocotb way.

    Raises :class:`DisaggError` (one line) for an unknown name or a configuration ``config`` cannot take.
    """
    if name not in CONFIGURATIONS:
        raise DisaggError(f"unknown configuration {name!r} (known: {', '.join(CONFIGURATIONS)})")
    overrides = CONFIGURATIONS[name][1]
    try:
        return config.with_overrides(list(overrides)) if overrides else config
    except DisaggError as exc:
        raise DisaggError(f"configuration {name!r}: {exc}") from None


def bench(config: SystemConfig, workload: np.ndarray, *, cocotb_accesses=2000, log=None, skip_cocotb=False,
          configurations=tuple(CONFIGURATIONS), cocotb_configuration="default") -> dict:
    """Measure the three ways, then the rates per configuration; return the figures (see ``format_table``).

    ``configurations``: names of :data:`CONFIGURATIONS` to measure (``default`` reuses the three-way
    measurement of ``config``). ``cocotb_configuration``: the one the cocotb way runs (a name of
    :data:`CONFIGURATIONS`); the harness/cocotb ratios compare it with the harness on the same configuration
    (its row when it is measured, else one more harness run).
    """
    unknown = [c for c in configurations if c not in CONFIGURATIONS]
    if unknown:
        raise DisaggError(f"unknown bench configuration {unknown[0]!r} (known: {', '.join(CONFIGURATIONS)})")
    # Checked before anything is built: a bad name or an impossible configuration is one line, at once.
    ccfg = None if skip_cocotb else cocotb_config(config, cocotb_configuration)
    from .system.runner import SystemRunner
    if log:
        log("harness: building or loading the model ...")
    t0 = time.monotonic()
    built = SystemRunner(config, log=log)
    build_seconds = built.built.first_build_seconds
    built.close()
    setup = time.monotonic() - t0
    if log:
        log(f"harness: running {len(workload):,} accesses with firmware and golden-model check ...")
    s, harness_cpu = _harness_run(config, workload)
    harness = {"accesses": s["accesses"], "cycles": s["cycles"], "seconds": s["speed"]["wall_seconds"],
               "cpu_seconds": harness_cpu,
               "firmware_seconds": s["firmware"]["seconds"], "irq_returns": s["firmware"]["irq_returns"]}
    if log:
        log("raw: the compiled loop alone, every page mapped first ...")
    raw = _raw(config, workload)
    if log:
        for name, r in (("harness", harness), ("raw", raw)):
            log(f"{name}: {r['accesses'] / r['seconds']:,.0f} accesses/s, {r['cycles'] / r['seconds']:,.0f} cycles/s")
    out = {"workload_accesses": len(workload), "harness": harness, "raw": raw,
           "harness_build_seconds": build_seconds, "harness_setup_seconds": setup}
    if ccfg is not None:
        if log:
            log(f"cocotb: building with cocotb's runner and running {cocotb_accesses:,} accesses on configuration "
                f"{cocotb_configuration} ...")
        out["cocotb"] = _cocotb(ccfg, workload, min(cocotb_accesses, len(workload)), log=log)
        out["cocotb"]["configuration"] = cocotb_configuration
    for name in ("harness", "raw", "cocotb"):
        if name in out:
            r = out[name]
            out[f"{name}_accesses_per_s"] = r["accesses"] / r["seconds"] if r["seconds"] else 0.0
            out[f"{name}_cycles_per_s"] = r["cycles"] / r["seconds"] if r["seconds"] else 0.0
            if r.get("cpu_seconds"):      # a shared machine disturbs CPU time far less than wall time
                out[f"{name}_cycles_per_cpu_s"] = r["cycles"] / r["cpu_seconds"]
                out[f"{name}_accesses_per_cpu_s"] = r["accesses"] / r["cpu_seconds"]
    out["harness_vs_raw"] = out["harness_accesses_per_s"] / out["raw_accesses_per_s"]
    rows = []
    for name in configurations:
        if name == "default":
            what, _ = CONFIGURATIONS[name]
            rows.append({"name": name, "what": what, "overrides": [], "accesses": harness["accesses"],
                         "harness_cycles": harness["cycles"], "harness_seconds": harness["seconds"],
                         "harness_firmware_seconds": harness["firmware_seconds"],
                         "harness_cpu_seconds": harness["cpu_seconds"],
                         "raw_cycles": raw["cycles"], "raw_seconds": raw["seconds"],
                         "raw_cpu_seconds": raw["cpu_seconds"], "raw_mismatches": raw["mismatches"]})
        else:
            rows.append(_configuration_row(name, config, workload, log=log))
    for row in rows:
        if "unavailable" not in row:
            row["harness_cycles_per_s"] = row["harness_cycles"] / row["harness_seconds"] if row["harness_seconds"] else 0.0
            row["raw_cycles_per_s"] = row["raw_cycles"] / row["raw_seconds"] if row["raw_seconds"] else 0.0
            row["raw_cycles_per_cpu_s"] = (row["raw_cycles"] / row["raw_cpu_seconds"]
                                           if row["raw_cpu_seconds"] else 0.0)
            row["harness_cycles_per_cpu_s"] = (row["harness_cycles"] / row["harness_cpu_seconds"]
                                               if row.get("harness_cpu_seconds") else 0.0)
            row["harness_firmware_share"] = (row["harness_firmware_seconds"] / row["harness_seconds"]
                                             if row["harness_seconds"] else 0.0)
    out["configurations"] = rows
    if "cocotb" in out:
        _cocotb_ratios(out, ccfg, workload, cocotb_configuration, rows)
    return out


def _cocotb_ratios(out: dict, ccfg: SystemConfig, workload: np.ndarray, name: str, rows: list) -> None:
    """(1)/(3): the harness on the cocotb way's configuration against cocotb, per wall- and per CPU-second."""
    row = next((r for r in rows if r["name"] == name and "unavailable" not in r), None)
    if name == "default":
        ref = out["harness"]
    elif row is not None:
        ref = {"accesses": row["accesses"], "seconds": row["harness_seconds"], "cpu_seconds": row["harness_cpu_seconds"]}
    else:
        s, cpu = _harness_run(ccfg, workload)
        ref = {"accesses": s["accesses"], "seconds": s["speed"]["wall_seconds"], "cpu_seconds": cpu}
    out["cocotb_harness"] = dict(ref, configuration=name)
    harness_rate = ref["accesses"] / ref["seconds"] if ref["seconds"] else 0.0
    out["harness_vs_cocotb"] = harness_rate / out["cocotb_accesses_per_s"] if out["cocotb_accesses_per_s"] else 0.0
    if ref.get("cpu_seconds") and out.get("cocotb_accesses_per_cpu_s"):
        out["harness_vs_cocotb_cpu"] = ref["accesses"] / ref["cpu_seconds"] / out["cocotb_accesses_per_cpu_s"]


def format_table(r: dict) -> str:
    rows = [("harness (firmware, checked)", "harness", r["harness_build_seconds"]),
            ("raw compiled loop (pre-mapped)", "raw", r["harness_build_seconds"])]
    if "cocotb" in r:
        where = r["cocotb"].get("configuration", "default")
        rows.append((f"cocotb, every edge ({where})" if where != "default" else "cocotb, every clock edge", "cocotb",
                     r["cocotb"]["build_seconds"]))
    lines = [f"{'way':<32}{'accesses':>10}{'accesses/s':>14}{'sim cycles/s':>15}{'cycles/CPU-s':>15}{'build s':>10}"]
    for label, key, build in rows:
        cpu = r.get(f"{key}_cycles_per_cpu_s")
        lines.append(f"{label:<32}{r[key]['accesses']:>10,}{r[f'{key}_accesses_per_s']:>14,.0f}"
                     f"{r[f'{key}_cycles_per_s']:>15,.0f}{f'{cpu:,.0f}' if cpu else '-':>15}{build:>10.1f}")
    lines.append("")
    lines.append(f"(1)/(2) harness vs raw:    {r['harness_vs_raw']:.2f}   (target >= 0.5)")
    if "harness_vs_cocotb" in r:
        per_cpu = f", per CPU-second {r['harness_vs_cocotb_cpu']:.1f}" if "harness_vs_cocotb_cpu" in r else ""
        where = r.get("cocotb_harness", {}).get("configuration", "default")
        on = f"; both on configuration {where}" if where != "default" else ""
        lines.append(f"(1)/(3) harness vs cocotb: {r['harness_vs_cocotb']:.1f}{per_cpu}   (target >= 100; "
                     f"accesses/s{on})")
    if r.get("configurations"):
        lines.append("")
        lines.append("simulated cycles/s per configuration (system model; also per CPU-second of the thread running "
                     "it; firmware = share of the harness run's wall time spent in firmware)")
        lines.append(f"{'configuration':<14}{'accesses':>10}{'harness cyc/s':>15}{'cyc/CPU-s':>12}{'firmware':>10}"
                     f"{'raw cyc/s':>13}{'raw cyc/CPU-s':>15}  what")
        for row in r["configurations"]:
            if "unavailable" in row:
                lines.append(f"{row['name']:<14}{'':>10}{'-':>15}{'-':>12}{'-':>10}{'-':>13}{'-':>15}  {row['what']}: "
                             f"not available ({row['unavailable']})")
            else:
                lines.append(f"{row['name']:<14}{row['accesses']:>10,}{row['harness_cycles_per_s']:>15,.0f}"
                             f"{row['harness_cycles_per_cpu_s']:>12,.0f}{row['harness_firmware_share']:>10.0%}"
                             f"{row['raw_cycles_per_s']:>13,.0f}{row['raw_cycles_per_cpu_s']:>15,.0f}  {row['what']}")
    return "\n".join(lines)
