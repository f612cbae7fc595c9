"""``disagg sweep``: run a workload over several ExCache sizes; write CSV, JSON and a slowdown plot."""

from pathlib import Path

from ..errors import DisaggError

PRESETS = ("legoos",)


def register(sub):
    p = sub.add_parser("sweep", help="run a workload over ExCache sizes; write sweep.csv/.json/.png",
                       description="Run one workload over a list of ExCache sizes (and optionally line sizes and "
                                   "link latencies) in parallel, and plot the slowdown against enough local "
                                   "memory, with swap-to-SSD/ramdisk/InfiniSwap baselines.")
    p.add_argument("--workload", "-w", default="default", metavar="NAME",
                   help="registered workload (see --list-workloads; default: default)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="workload parameter (repeatable), e.g. -p footprint=64K")
    p.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    p.add_argument("--trace", type=Path, default=None, metavar="FILE",
                   help="run a .dtrace file or a valgrind lackey log instead of a generated workload")
    p.add_argument("--sizes", default="4K,8K,16K,32K,64K", metavar="LIST",
                   help="ExCache sizes in bytes, comma separated, K/M suffixes (default 4K,8K,16K,32K,64K)")
    p.add_argument("--ways", type=int, default=4, help="ExCache ways (default 4); sets = size / (ways * line)")
    p.add_argument("--line-sizes", default="64", metavar="LIST", help="ExCache line sizes in bytes (default 64)")
    p.add_argument("--link-latencies", default=None, metavar="LIST",
                   help="link latencies in cycles to sweep as well (default: the configuration's)")
    p.add_argument("--cpu-cache", action="store_true",
                   help="filter the workload through a CPU L1 + LLC first (only LLC misses reach the ExCache)")
    p.add_argument("--l1", default="32K:8", metavar="SIZE:WAYS", help="CPU L1 with --cpu-cache (default 32K:8)")
    p.add_argument("--llc", default="1M:16", metavar="SIZE:WAYS", help="CPU LLC with --cpu-cache (default 1M:16)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="system configuration TOML the sweep points modify (default: built-in)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
                   help="configuration override (repeatable), e.g. --set system.clock_mhz=1000")
    p.add_argument("--local-access-cycles", type=int, default=None,
                   help="cost of a local-memory access in cycles (default: the runs' measured mean ExCache hit "
                        "latency; see docs/timing.md)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel runs (default: one per core)")
    p.add_argument("--out", "-o", type=Path, default=None, help="output folder (default build/sweep/<workload>)")
    p.add_argument("--save-trace", type=Path, default=None, metavar="FILE",
                   help="also save the workload the ExCache sees (after --cpu-cache) as a .dtrace file")
    p.add_argument("--no-check", action="store_true", help="do not check read data against the golden model")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="legoos: the scaled LegoOS CIFAR-10 reproduction (docs/experiments/legoos-slowdown.md)")
    p.add_argument("--list-workloads", action="store_true", help="list the registered workloads and exit")
    p.set_defaults(func=run)


def parse_size_list(text, what):
    """``"4K,8K,1M"`` -> [4096, 8192, 1048576]; one-line DisaggError on anything else."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        scale = 1
        if item[-1:].upper() in "KMG" and item[-1:]:
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[item[-1].upper()]
            item = item[:-1]
        try:
            v = int(item, 0) * scale
        except ValueError:
            raise DisaggError(f"{what}: expected a comma-separated list of sizes like 4K,16K, not {text!r}") from None
        if v <= 0:
            raise DisaggError(f"{what}: sizes must be positive, not {v!r}")
        out.append(v)
    return out


def _level(text, what):
    size, sep, ways = text.partition(":")
    if not sep:
        raise DisaggError(f"{what} must look like SIZE:WAYS (e.g. 32K:8), not {text!r}")
    try:
        w = int(ways)
    except ValueError:
        raise DisaggError(f"{what} must look like SIZE:WAYS (e.g. 32K:8), not {text!r}") from None
    return parse_size_list(size, what)[0], w


def run(args):
    from ..workloads import describe, generate, list_workloads, parse_params
    if args.list_workloads:
        for name in list_workloads():
            print(describe(name))
        return 0
    if args.preset == "legoos":
        from ..experiments.legoos import run_preset
        return run_preset(args)
    from ..sweep import points_for, run_sweep, write_outputs
    base_config, timing = config_and_timing(args)
    if args.trace is not None:
        from ..traces import load_trace
        workload, name, params = load_trace(args.trace), args.trace.name, {}
    else:
        params = parse_params(args.workload, args.param)
        workload, name = generate(args.workload, seed=args.seed, **params), args.workload
    meta = {"workload": name, "params": params, "seed": args.seed, "accesses": int(len(workload))}
    if args.cpu_cache:
        from ..workloads.cpu_cache import CacheLevel, CpuCaches, filter_workload
        (l1s, l1w), (llcs, llcw) = _level(args.l1, "--l1"), _level(args.llc, "--llc")
        workload, cstats = filter_workload(workload, CpuCaches(CacheLevel(l1s, l1w), CacheLevel(llcs, llcw)))
        meta["cpu_cache"] = {"l1": args.l1, "llc": args.llc, **cstats}
        if len(workload) == 0:
            raise DisaggError("after the CPU caches no access reaches the ExCache; use a larger workload")
    if args.save_trace is not None:
        from ..traces import save
        print(f"wrote {save(args.save_trace, workload, meta)}")
    lats = [None] if args.link_latencies is None else parse_size_list(args.link_latencies, "--link-latencies")
    points = points_for(parse_size_list(args.sizes, "--sizes"), ways=args.ways,
                        lines=parse_size_list(args.line_sizes, "--line-sizes"), link_latencies=lats)
    rows = run_sweep(workload, points, jobs=args.jobs, timing=timing, check=not args.no_check,
                     base_config=base_config)
    out = args.out or Path("build") / "sweep" / name
    paths = write_outputs(rows, out, meta=meta, timing=timing, title=f"{name}: slowdown vs. ExCache size")
    print_table(rows, timing)
    for p in paths:
        print(f"wrote {p}")
    return 0


#: Overrides every sweep starts from (before --set): a blocking CPU, one access at a time, which is what the
#: baselines assume (each access costs its think time plus its latency), so the slowdown compares like with like.
SWEEP_OVERRIDES = ("cpu.max_outstanding=1",)


def config_and_timing(args, extra_overrides=()):
    """The base SystemConfig (``--config``, :data:`SWEEP_OVERRIDES`, ``--set``) and the baselines' Timing."""
    from ..baselines import Timing
    from ..config import load_config
    from ..sweep import clock_hz_of
    config = load_config(args.config, [*SWEEP_OVERRIDES, *extra_overrides, *args.overrides])
    kw = {"clock_hz": clock_hz_of(config)}
    if args.local_access_cycles is not None:
        kw["local_access_cycles"] = args.local_access_cycles
    return config, Timing(**kw)


def print_table(rows, timing):
    """The sweep as a fixed-width table on stdout."""
    devs = [d.name for d in timing.devices]
    head = ["size", "sets x ways x line", "link", "cycles", "slowdown"] + devs
    lines = [head]
    for r in rows:
        lines.append([str(r["size"]), f"{r['sets']}x{r['ways']}x{r['line']}", str(r["link_latency"] or "-"),
                      str(r["cycles"]), f"{r['slowdown']:.3f}"] + [f"{r[d + '_slowdown']:.2f}" for d in devs])
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    for l in lines:
        print("  ".join(c.rjust(w) for c, w in zip(l, widths)))
