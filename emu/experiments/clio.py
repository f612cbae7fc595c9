"""Remote access latency on a 10 Gb/s link, beside Clio's published figures (docs/experiments/clio.md).

Clio (Guo et al., ASPLOS'22) measured, on a 10 Gb/s link, reads of 2.03 us at 4 B to 10.1 us at 4 KiB and
writes of 1.87 us to 10.3 us. Here each access size is a line miss of the ExCache: an access of ``S`` bytes
fetches a line of ``max(64, S)`` bytes (64 B is the smallest line; the CPU port carries at most 8 bytes, so a
4 KiB access is the miss that brings the 4 KiB line). For each line size the system is built with a
direct-mapped ExCache of :data:`SETS` sets, a blocking CPU and the link at 10 Gb/s (``link.bandwidth`` =
10e9 / 8 / clock bytes per cycle), the rest the built-in default; then, on the same running system:

1. warm-up: one 8-byte read in each of lines ``0 .. 2 x SETS - 1`` (their pages fault in and get mapped;
   lines ``SETS ..`` stay in the cache, clean);
2. **read**: one read in each of lines ``0 .. SETS - 1``: each a miss with a clean victim on a mapped page
   (no firmware runs);
3. **write**: one 8-byte write in each of lines ``SETS .. 2 x SETS - 1``: each a write-allocate miss with a
   clean victim (the line comes in, then the write; the ExCache is write-back, so nothing goes to the memory
   component yet);
4. **read after write**: pass 2 again: each a miss whose victim is dirty (pass 3's lines): the blocking
   ExCache writes the victim back before it fetches. Pass 4 minus pass 2 is the write-back's cost on the
   miss path, the closest thing here to Clio's remote write (the line reaches remote memory).

Usage::

    PYTHONPATH=. python -m emu.experiments.clio [--sizes 4,64,256,1024,4096] [--json FILE] [--set k=v ...]

The ExCache is the one on main: blocking, one miss in flight (issue 13's MSHRs are not used here).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["CLIO", "SETS", "measure", "main"]

#: Clio's latencies on a 10 Gb/s link, microseconds: {operation: {bytes: us}}: the "expected output" of its
#: artifact's end-to-end latency test (paper Figures 9 and 10, ``scripts/test_rw_presetup.sh``), in
#: Documentation/asplos-ae.md of github.com/WukLab/Clio, rounded to 10 ns.
CLIO = {"read": {4: 2.03, 64: 2.21, 256: 2.71, 1024: 4.70, 4096: 10.10},
        "write": {4: 1.87, 64: 2.28, 256: 2.46, 1024: 3.19, 4096: 10.32}}
#: Link bit rate of the comparison.
LINK_GBPS = 10.0
SETS = 16
DEFAULT_SIZES = (4, 64, 256, 1024, 4096)
PID = 1
BASE = 0x10_0000


def _lines(line_bytes, first, n, pid, op):
    from ..workloads._rows import assemble
    vaddr = BASE + np.arange(first, first + n, dtype=np.uint64) * np.uint64(line_bytes)
    return assemble(pid, op, vaddr, 8, 0x5A if op else 0, 0)


def link_bandwidth(clock_mhz):
    """Bytes per cycle of a :data:`LINK_GBPS` link at ``clock_mhz`` (a multiple of 1/256, as the link needs)."""
    return round(LINK_GBPS * 1e9 / 8 / (clock_mhz * 1e6) * 256) / 256


def measure(access_bytes, extra_sets=(), log=None):
    """The four passes for one access size: ``{pass: stats}`` and the configuration."""
    from ..config import load_config
    from ..system.processes import Process
    from ..system.runner import SystemRunner
    from ..workload_format import OP_READ, OP_WRITE

    line = max(64, access_bytes)
    clock = load_config(None, extra_sets).system.clock_mhz
    config = load_config(None, [f"cache.line_bytes={line}", f"cache.sets={SETS}", "cache.ways=1",
                                "cpu.max_outstanding=1", f"link.bandwidth={link_bandwidth(clock)}", *extra_sets])
    runner = SystemRunner(config, log=log)
    try:
        warm = runner.run(_lines(line, 0, 2 * SETS, PID, OP_READ), [Process(PID)], check=True)
        pid = warm["processes"][0]["real_pid"]
        out = {"warm": warm}
        # The process stays alive between passes (its pages stay mapped; the golden model is per run, so
        # these passes are not compared: summarise() checks their statuses and that every access missed).
        for name, first, op in (("read", 0, OP_READ), ("write", SETS, OP_WRITE), ("read after write", 0, OP_READ)):
            out[name] = runner.run(_lines(line, first, SETS, pid, op), [], check=False)
    finally:
        runner.close()
    return out, config


#: The pass before each measured one (the processor's counters count since boot).
_BEFORE = {"read": "warm", "write": "read", "read after write": "write"}


def summarise(access_bytes, passes, config):
    """One row: latency per pass in cycles and us, stage breakdown of the read pass, the wire's share."""
    ns = config.ns_per_cycle
    line = config.cache.line_bytes
    row = {"access_bytes": access_bytes, "line_bytes": line, "link_bytes_per_cycle": config.link.bandwidth,
           "link_latency_cycles": config.link.latency, "clock_mhz": config.system.clock_mhz}
    for name in ("read", "write", "read after write"):
        s = passes[name]
        if s["faults"]:
            raise RuntimeError(f"{access_bytes} B {name}: accesses answered with faults {s['faults']}")
        lat = s["latency"]
        misses = s["processor"]["misses"] - (passes[_BEFORE[name]]["processor"]["misses"])
        if misses != s["accesses"]:
            raise RuntimeError(f"{access_bytes} B {name}: {misses} misses of {s['accesses']} accesses")
        row[name] = {"cycles": lat["miss_cycles"], "us": lat["miss_cycles"] * ns / 1000.0, "misses": misses,
                     "writebacks": s["processor"]["writebacks"] - passes[_BEFORE[name]]["processor"]["writebacks"],
                     "stages": {k: v["cycles"] for k, v in lat["miss_stages"].items()}}
    row["write-back cycles"] = row["read after write"]["cycles"] - row["read"]["cycles"]
    # The wire alone: both directions' latency, the line serialised once (the request is one small frame).
    row["wire cycles"] = 2 * config.link.latency + line / config.link.bandwidth
    row["dram_latency_cycles"] = config.memory.dram_latency
    return row


def print_table(rows, out=sys.stdout):
    ns = 1000.0 / rows[0]["clock_mhz"]
    print(f"link {LINK_GBPS:g} Gb/s = {rows[0]['link_bytes_per_cycle']:g} B/cycle at {rows[0]['clock_mhz']:g} MHz, "
          f"one-way latency {rows[0]['link_latency_cycles']} cycles ({rows[0]['link_latency_cycles'] * ns:.0f} ns)",
          file=out)
    print(f"{'access':>7} {'line':>5} {'read us':>8} {'Clio rd':>8} {'write us':>9} {'Clio wr':>8} {'wb us':>6} "
          f"{'wire us':>8}  read stages in cycles: lookup/iface/link/transl/DRAM/return", file=out)
    for r in rows:
        st = r["read"]["stages"]
        stages = "/".join(f"{st.get(k, 0):.0f}" for k in ("cache lookup", "interface", "link", "translation",
                                                           "DRAM", "return"))
        clio_r = CLIO["read"].get(r["access_bytes"])
        clio_w = CLIO["write"].get(r["access_bytes"])
        print(f"{r['access_bytes']:>7} {r['line_bytes']:>5} {r['read']['us']:>8.3f} "
              f"{'' if clio_r is None else f'{clio_r:.2f}':>8} {r['write']['us']:>9.3f} "
              f"{'' if clio_w is None else f'{clio_w:.2f}':>8} {r['write-back cycles'] * ns / 1000:>6.3f} "
              f"{r['wire cycles'] * ns / 1000:>8.3f}  {stages}", file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emu.experiments.clio", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                    help="comma-separated access sizes in bytes, 1..4096 (default %(default)s)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="further configuration override (repeatable; applied last)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        ap.error(f"--sizes must be comma-separated integers, not {args.sizes!r}")
    if not sizes or any(not 1 <= s <= 4096 or s & (s - 1) for s in sizes):
        ap.error(f"--sizes must be powers of two from 1 to 4096, not {args.sizes!r}")
    from ..errors import DisaggError
    rows, by_line = [], {}
    try:
        for size in sizes:
            line = max(64, size)
            if line not in by_line:      # accesses up to 64 B are all the 64-byte line's miss: measured once
                by_line[line] = measure(size, args.set,
                                        log=lambda text, line=line: print(f"  [{line} B line] {text}", file=sys.stderr))
            rows.append(summarise(size, *by_line[line]))
    except DisaggError as exc:
        print(f"clio: error: {exc}", file=sys.stderr)
        return 2
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
