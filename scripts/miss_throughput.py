"""Miss throughput and link utilisation with independent misses (issue 13's MSHR target), side by side.

Each variant (a set of configuration overrides, by default the blocking ExCache ``cache.mshrs=1`` and
``cache.mshrs=8``) runs the same workload on a CPU of ``--threads`` threads: every thread reads one word of
each line of its interleaved share of a region (``stream``: lines t, t + threads, ...) or of random lines
of a shared footprint (``uniform``), far larger than the ExCache (by default the tops' on-chip 64 sets x 4 ways, ``BASE_SETS``), so nearly every access
misses and the misses are independent. A warm-up pass maps the
pages (page faults and firmware are then out of the way); the measured pass reads the same lines again. It
prints, per variant, the misses per 1000 cycles, the mean miss latency, the utilisation of the memory ->
processor link (its wire bytes, frame headers and CRCs included, over cycles x ``link.bandwidth``) and the
payload part of it, and the throughput relative to the first variant. Targets (issue 13): 8 MSHRs and 4
threads at least 90 % of the link and at least 4 x the blocking configuration's miss throughput.

Usage::

    PYTHONPATH=. python scripts/miss_throughput.py [--line-bytes 64] [--workload stream|uniform]
        [--threads 4] [--lines 512] [--variant NAME:KEY=VALUE[,KEY=VALUE...] ...] [--set KEY=VALUE ...]
        [--json FILE]

A variant whose configuration cannot be built (for example ``cache.mshrs`` before the non-blocking ExCache
exists) is reported with the configuration's error and skipped. Models are cached like ``disagg run``'s.
"""

import argparse
import json
import sys

import numpy as np

DEFAULT_VARIANTS = ("blocking:cache.mshrs=1", "mshr8:cache.mshrs=8")
#: The cache of the comparison unless ``--set`` says otherwise: the tops' on-chip ExCache (64 sets x 4 ways; the
#: non-blocking ExCache keeps its lines on chip), small beside the footprint so that nearly every access misses.
BASE_SETS = ("cache.line_store=onchip", "cache.sets=64", "cache.ways=4")
BASE = 0x10_0000
TARGET_UTILISATION = 0.90
TARGET_SPEEDUP = 4.0


def parse_variant(text):
    """``NAME:KEY=VALUE,KEY=VALUE`` -> (name, [overrides]); ``NAME:`` has none."""
    name, sep, rest = text.partition(":")
    if not sep or not name:
        raise ValueError(f"--variant must look like NAME:KEY=VALUE[,KEY=VALUE...], not {text!r}")
    sets = [s for s in rest.split(",") if s]
    for s in sets:
        if "=" not in s:
            raise ValueError(f"--variant {name}: {s!r} is not KEY=VALUE")
    return name, sets


def streams(kind, line_bytes, threads, lines, pid, seed=1):
    """One access stream per thread: ``lines`` one-word reads each, at line starts."""
    from emu.workload_format import OP_READ
    from emu.workloads._rows import assemble
    rng = np.random.default_rng(seed)
    out = []
    for t in range(threads):
        if kind == "stream":
            # Thread t streams lines t, t + threads, ...: the threads walk the sets side by side. (Regions of
            # ``lines`` lines each would put every thread in the same set at the same time when ``lines`` is a
            # multiple of the set count, and the ExCache keeps one miss per set open.)
            idx = t + threads * np.arange(lines, dtype=np.uint64)
        else:
            idx = rng.integers(0, threads * lines, size=lines, dtype=np.uint64)
        out.append(assemble(pid, OP_READ, BASE + idx * np.uint64(line_bytes), 8, 0, 0))
    return out


def measure(name, sets, args):
    from emu.config import load_config
    from emu.errors import DisaggError
    from emu.system.processes import Process
    from emu.system.runner import SystemRunner
    overrides = [*BASE_SETS, f"cache.line_bytes={args.line_bytes}", f"cpu.threads={args.threads}", *args.set, *sets]
    try:
        config = load_config(None, overrides)
    except DisaggError as exc:
        return None, str(exc)
    runner = SystemRunner(config, log=lambda line: print(f"  [{name}] {line}", file=sys.stderr))
    try:
        # The footprint is the union of the threads' lines: warm every one of them (uniform picks may miss some).
        warm = streams("stream", args.line_bytes, args.threads, args.lines, 1)
        first = runner.run(warm, [Process(1)], check=True)
        pid = first["processes"][0]["real_pid"]
        stats = runner.run(streams(args.workload, args.line_bytes, args.threads, args.lines, pid), [], check=False)
    except DisaggError as exc:
        return None, str(exc)
    finally:
        runner.close()
    if stats["faults"]:
        return None, f"accesses answered with faults {stats['faults']}"
    probe0, probe1 = first["counters"]["probe"], stats["counters"]["probe"]
    misses = stats["processor"]["misses"] - first["processor"]["misses"]
    cycles = stats["cycles"]
    wire = probe1["link_resp_bytes_in"] - probe0["link_resp_bytes_in"]
    bw = config.link.bandwidth
    return {"variant": name, "overrides": sets, "accesses": stats["accesses"], "misses": misses, "cycles": cycles,
            "misses_per_kcycle": 1000 * misses / cycles, "miss_cycles": stats["latency"]["miss_cycles"],
            "link_utilisation": wire / (cycles * bw), "payload_utilisation": misses * args.line_bytes / (cycles * bw),
            "retransmissions": stats["network"]["retransmissions"] - first["network"]["retransmissions"]}, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--line-bytes", type=int, default=64, help="ExCache line size (default %(default)s)")
    ap.add_argument("--workload", choices=("stream", "uniform"), default="stream")
    ap.add_argument("--threads", type=int, default=4, help="CPU threads (default %(default)s)")
    ap.add_argument("--lines", type=int, default=512, help="lines read per thread (default %(default)s)")
    ap.add_argument("--variant", action="append", default=None, metavar="NAME:KEY=VALUE,...",
                    help=f"a configuration to compare (repeatable; default {' and '.join(DEFAULT_VARIANTS)})")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override for every variant (repeatable)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    if args.lines < 1 or args.threads < 1:
        ap.error("--lines and --threads must be positive")
    try:
        variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    except ValueError as exc:
        ap.error(str(exc))

    print(f"{args.workload}, {args.threads} threads x {args.lines} lines of {args.line_bytes} B "
          f"(overrides {args.set or 'none'})")
    print(f"{'variant':>12} {'misses':>7} {'cycles':>9} {'miss/kcyc':>9} {'miss cyc':>8} {'link':>6} {'payload':>7} "
          f"{'x first':>7} {'retx':>5}")
    rows, base = [], None
    for name, sets in variants:
        row, reason = measure(name, sets, args)
        if row is None:
            print(f"{name:>12} skipped: {reason}")
            rows.append({"variant": name, "overrides": sets, "skipped": reason})
            continue
        base = base or row["misses_per_kcycle"]
        row["speedup"] = row["misses_per_kcycle"] / base
        rows.append(row)
        print(f"{name:>12} {row['misses']:>7} {row['cycles']:>9} {row['misses_per_kcycle']:>9.2f} "
              f"{row['miss_cycles']:>8.1f} {row['link_utilisation']:>6.1%} {row['payload_utilisation']:>7.1%} "
              f"{row['speedup']:>7.2f} {row['retransmissions']:>5}")
    print(f"targets: link >= {TARGET_UTILISATION:.0%} and >= {TARGET_SPEEDUP:.0f} x the blocking throughput "
          f"(8 MSHRs, 4 threads)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
