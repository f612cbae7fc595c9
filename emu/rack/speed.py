"""Speed of the compiled rack per topology: simulated cycles per second for 1 x 1, 2 x 2 and 4 x 4 (``disagg bench
--topologies``, docs/rack.md).

Each row runs the rack workload (``mix``: two processes per processor component, each over its own 64 KiB,
``RACK_ACCESSES`` accesses in all) on the rack of the base configuration with ``[topology]`` set to the row's
topology and 16 KiB regions on 1 MiB DRAMs, every access checked, as ``disagg run --topology PxM`` runs it.
Cycles per second of wall time and per CPU-second of the process (the machine is shared), and the share of the
wall time spent in firmware.
"""

from __future__ import annotations

import time

__all__ = ["RACK_TOPOLOGIES", "RACK_SETTINGS", "rack_speed", "format_rack_speed"]

#: Topologies of the speed table.
RACK_TOPOLOGIES = ("1x1", "2x2", "4x4")
#: Settings of every row (the docs' rack command).
RACK_SETTINGS = ("topology.region_bytes=16384", "memory.dram_bytes=1048576")
#: Accesses of each row.
RACK_ACCESSES = 4000


def rack_speed(config, topologies=RACK_TOPOLOGIES, *, accesses=RACK_ACCESSES, log=None):
    """One row per topology (``"PxM"``): accesses, cycles, wall and CPU seconds, cycles/s, cycles/CPU-s,
    firmware share, build (cached or seconds)."""
    from .. import workloads
    from ..config import parse_topology
    from .run import run_rack_fast
    rows = []
    for text in topologies:
        p, m = parse_topology(text)
        cfg = config.with_overrides([f"topology.processors={p}", f"topology.memories={m}", *RACK_SETTINGS])
        w = workloads.generate("mix", seed=1, processes=2 * p, n=accesses, footprint=65536)
        t0 = time.process_time()
        r = run_rack_fast(cfg, w, log=log)
        rows.append({"topology": text, "accesses": r["accesses"], "cycles": r["cycles"], "wall_seconds": r["seconds"],
                     "cpu_seconds": r["cpu_seconds"], "cycles_per_s": r["speed"]["cycles_per_s"],
                     "cycles_per_cpu_s": r["speed"]["cycles_per_cpu_s"],
                     "firmware_share": r["speed"]["firmware_seconds"] / r["seconds"] if r["seconds"] else 0.0,
                     "build": r["build"], "total_cpu_seconds": time.process_time() - t0})
    return rows


def format_rack_speed(rows):
    lines = ["compiled rack: simulated cycles/s per topology (workload mix, 2 processes per processor component, "
             "every access checked; cycles/CPU-s of this process; firmware = share of the run's wall time)",
             f"{'topology':<10}{'accesses':>10}{'cycles':>12}{'cycles/s':>12}{'cycles/CPU-s':>14}{'firmware':>10}  build"]
    for r in rows:
        lines.append(f"{r['topology']:<10}{r['accesses']:>10,}{r['cycles']:>12,}{r['cycles_per_s']:>12,.0f}"
                     f"{r['cycles_per_cpu_s']:>14,.0f}{r['firmware_share']:>10.0%}  {r['build']}")
    return "\n".join(lines)


def main(argv=None):
    """``python -m emu.rack.speed [PxM ...]``: the rows alone (``disagg bench --topologies`` prints them after the
    single system's table)."""
    import sys

    from ..config import load_config
    from ..errors import DisaggError
    args = sys.argv[1:] if argv is None else argv
    try:
        rows = rack_speed(load_config(), args or RACK_TOPOLOGIES, log=print)
    except DisaggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_rack_speed(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
