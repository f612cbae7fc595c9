"""Benchmark for docs/harness.md ("Build time and model size"): resident memory of a run that writes one line
in each of FOOTPRINT / 4096 pages, on a model built by ``harness_build_size.py`` in BUILD_DIR. Prints one JSON
line: the compiled DRAM's counters (pages held), cycles, wall seconds and the process's peak RSS.

Usage: PYTHONPATH=. python scripts/harness_run_memory.py BUILD_DIR NAME FOOTPRINT [--set section.key=value ...]
"""

import json
import resource
import sys
import time
from pathlib import Path

import emu.harness.build as harness_build


def main(argv):
    harness_build.HARNESS_BUILD = Path(argv[0])
    name, footprint = argv[1], int(argv[2])
    sets = [a for a in argv[3:] if a != "--set"]
    from emu.config import load_config
    from emu.system.runner import run_workload
    from emu.workloads import generate
    cfg = load_config(None, sets)
    w = generate("strided", seed=1, n=footprint // 4096, footprint=footprint, stride=4096, write_frac=1.0, think=0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.monotonic()
    s = run_workload(cfg, w, check=False)
    print(json.dumps({
        "name": name, "accesses": len(w), "touched_MiB": footprint >> 20, "cached": s["build"]["cached"],
        "wall_s": round(time.monotonic() - t, 1), "dram": s["dram"], "cycles": s["cycles"],
        "maxrss_before_MiB": round(rss0), "maxrss_MiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main(sys.argv[1:])
