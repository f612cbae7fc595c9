"""Benchmark for docs/harness.md ("Build time and model size"): convert and compile one configuration's
harness model in a build folder of its own (the Verilator run-time library is copied in, so it is not
counted) and print one JSON line: conversion and compile seconds, Verilog size, library size, peak RSS.

Usage: PYTHONPATH=. python scripts/harness_build_size.py BUILD_DIR NAME [--set section.key=value ...]
"""

import json
import resource
import shutil
import sys
import time
from pathlib import Path

import emu.harness.build as harness_build


def main(argv):
    build_dir, name = Path(argv[0]), argv[1]
    sets = [a for a in argv[2:] if a != "--set"]
    build_dir.mkdir(parents=True, exist_ok=True)
    for runtime in harness_build.HARNESS_BUILD.glob("runtime-*"):
        if runtime.is_dir() and not (build_dir / runtime.name).exists():
            shutil.copytree(runtime, build_dir / runtime.name)
    harness_build.HARNESS_BUILD = build_dir   # read at call time by system_verilog and build_model
    from emu.config import load_config
    from emu.harness import build_model
    from emu.system.model_cache import system_verilog
    cfg = load_config(None, sets)
    t = time.monotonic()
    verilog, ports = system_verilog(cfg)
    convert_s = time.monotonic() - t
    t = time.monotonic()
    built = build_model(verilog=verilog, ports=ports)
    compile_s = time.monotonic() - t
    print(json.dumps({
        "name": name, "sets": sets, "dram_bytes": cfg.params.dram_bytes, "paddr_width": cfg.params.mmu.paddr_width,
        "convert_s": round(convert_s, 1), "compile_s": round(compile_s, 1), "compile_cached": built.cached,
        "key": built.key, "verilog_bytes": len(verilog), "verilog_lines": verilog.count("\n"),
        "so_bytes": built.library.stat().st_size,
        "maxrss_MiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main(sys.argv[1:])
