"""Benchmark for docs/harness.md ("Build time and model size"): convert and compile one configuration's
harness model in a build folder of its own (the Verilator run-time library is copied in, so it is not
counted) and print one JSON line: conversion and compile seconds (wall, and CPU = user + sys of this process
for the conversion and of the child processes, Verilator, make and g++, for the compile), Verilog size, library
size, peak RSS. On a shared machine the CPU seconds are the comparable figure.

Usage: PYTHONPATH=. python scripts/harness_build_size.py BUILD_DIR NAME [--raw-initialisers] [--set section.key=value ...]

``--raw-initialisers`` builds the Verilog as Amaranth writes it (``emu.harness.build.COMPACT_INITIALISERS``
off), to measure what the initialiser loops save.
"""

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import emu.harness.build as harness_build


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main(argv):
    build_dir, name = Path(argv[0]), argv[1]
    raw = "--raw-initialisers" in argv[2:]
    sets = [a for a in argv[2:] if a not in ("--set", "--raw-initialisers")]
    harness_build.COMPACT_INITIALISERS = not raw
    build_dir.mkdir(parents=True, exist_ok=True)
    for runtime in harness_build.HARNESS_BUILD.glob("runtime-*"):
        if runtime.is_dir() and not (build_dir / runtime.name).exists():
            shutil.copytree(runtime, build_dir / runtime.name)
    harness_build.HARNESS_BUILD = build_dir   # read at call time by system_verilog and build_model
    from emu.config import load_config
    from emu.harness import build_model
    from emu.system.model_cache import system_verilog
    cfg = load_config(None, sets)
    t, c = time.monotonic(), _cpu(resource.RUSAGE_SELF)
    verilog, ports = system_verilog(cfg)
    convert_s, convert_cpu = time.monotonic() - t, _cpu(resource.RUSAGE_SELF) - c
    t, c, k = time.monotonic(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    built = build_model(verilog=verilog, ports=ports)
    compile_s = time.monotonic() - t
    compile_cpu = _cpu(resource.RUSAGE_SELF) - c + _cpu(resource.RUSAGE_CHILDREN) - k
    print(json.dumps({
        "name": name, "sets": sets, "dram_bytes": cfg.params.dram_bytes, "paddr_width": cfg.params.mmu.paddr_width,
        "convert_s": round(convert_s, 1), "compile_s": round(compile_s, 1), "compile_cached": built.cached,
        "convert_cpu_s": round(convert_cpu, 1), "compile_cpu_s": round(compile_cpu, 1),
        "initialisers": "raw" if raw else "loops", "load": round(os.getloadavg()[0], 2),
        "key": built.key, "verilog_bytes": len(verilog), "verilog_lines": verilog.count("\n"),
        "so_bytes": built.library.stat().st_size,
        "maxrss_MiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main(sys.argv[1:])
