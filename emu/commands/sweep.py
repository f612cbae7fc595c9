"""``disagg sweep``: run a workload over a grid of configurations on Dask; write CSV, JSON and a plot."""

from pathlib import Path

from ..errors import DisaggError

PRESETS = ("legoos",)
#: The default grid: ExCache sizes around the default workload's 74 MiB (docs/system.md, "Defaults").
DEFAULT_SIZES = "16M,32M,64M,128M"


def register(sub):
    p = sub.add_parser("sweep", help="run a workload over a grid of configurations; write sweep.csv/.json/.png",
                       description="Run one workload over a grid of configurations (--vary any setting, --sizes "
                                   "for ExCache sizes) on a local Dask cluster or an existing one (--cluster), "
                                   "and plot the slowdown against enough local memory, with swap-to-SSD/ramdisk/"
                                   "InfiniSwap baselines. Results are written as each point finishes; --resume "
                                   "skips the points already done. See docs/sweeps.md.")
    src = p.add_argument_group("workload")
    src.add_argument("--workload", "-w", default="default", metavar="NAME",
                     help="registered workload (see --list-workloads; default: default)")
    src.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="workload parameter (repeatable), e.g. -p footprint=64K")
    src.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    src.add_argument("--trace", type=Path, default=None, metavar="FILE",
                     help="run a .dtrace file or a valgrind lackey log instead of a generated workload")
    src.add_argument("--program", default=None, metavar="'CMD ARGS'",
                     help="run a program under valgrind lackey and sweep its accesses (no shell; the program's "
                          "exit status and output are printed)")
    src.add_argument("--save-lackey", type=Path, default=None, metavar="FILE",
                     help="with --program: keep its lackey trace in FILE (.gz, .xz or .zst: compressed)")
    src.add_argument("--cpu-cache", action="store_true",
                     help="filter the workload through a CPU L1 + LLC first (only LLC misses reach the ExCache)")
    src.add_argument("--l1", default="32K:8", metavar="SIZE:WAYS", help="CPU L1 with --cpu-cache (default 32K:8)")
    src.add_argument("--llc", default="1M:16", metavar="SIZE:WAYS", help="CPU LLC with --cpu-cache (default 1M:16)")
    src.add_argument("--save-trace", type=Path, default=None, metavar="FILE",
                     help="also save the workload the ExCache sees (after --cpu-cache) as a .dtrace file")
    g = p.add_argument_group("grid")
    g.add_argument("--vary", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                   help="sweep a setting of the configuration (repeatable; the grid is their cross product), "
                        "e.g. --vary link.latency=16,64,256 --vary cache.ways=2,4,8")
    g.add_argument("--sizes", default=None, metavar="LIST",
                   help="shorthand for --vary cache.size=LIST: ExCache sizes in bytes, K/M suffixes; sets = size / "
                        f"(ways * line) (default without --vary: {DEFAULT_SIZES})")
    g.add_argument("--ways", type=int, default=None, help="shorthand for --set cache.ways=N")
    g.add_argument("--line-sizes", default=None, metavar="LIST", help="shorthand for --vary cache.line_bytes=LIST")
    g.add_argument("--link-latencies", default=None, metavar="LIST", help="shorthand for --vary link.latency=LIST")
    g.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="system configuration TOML the sweep points modify (default: built-in)")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
                   help="configuration override for every point (repeatable), e.g. --set system.clock_mhz=1000")
    g.add_argument("--preset", choices=PRESETS, default=None,
                   help="legoos: the scaled LegoOS CIFAR-10 reproduction (docs/experiments/legoos-slowdown.md)")
    e = p.add_argument_group("engine")
    e.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler (its workers need disagg installed; default: a local cluster)")
    e.add_argument("--workers", "--jobs", "-j", dest="workers", type=int, default=None,
                   help="workers of the local cluster (default: one per core)")
    e.add_argument("--resume", action="store_true",
                   help="skip the points already done in the output folder (points.jsonl)")
    e.add_argument("--out", "-o", type=Path, default=None, help="output folder (default build/sweep/<workload>)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--local-access-cycles", type=int, default=None,
                   help="cost of a local-memory access in cycles (default: the runs' measured mean ExCache hit "
                        "latency; see docs/timing.md)")
    p.add_argument("--no-check", action="store_true", help="do not check read data against the golden model")
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


def options_of(args):
    """The :class:`~emu.sweeps.SweepOptions` of the command line."""
    from ..sweeps import SweepOptions
    overrides = list(args.overrides)
    if args.ways is not None:
        overrides.insert(0, f"cache.ways={args.ways}")
    return SweepOptions(config=args.config, overrides=tuple(overrides), local_access_cycles=args.local_access_cycles,
                        seed=args.seed, check=not args.no_check, out=args.out, cluster=args.cluster,
                        workers=args.workers, resume=args.resume, progress=not args.quiet)


def axes_of(args, *, default_sizes=True):
    """The grid of the command line: ``--sizes`` first, then ``--vary`` in order, then the other shorthands."""
    from ..sweeps import SIZE, Axis, parse_axis
    axes = []
    sizes = args.sizes if args.sizes is not None else (DEFAULT_SIZES if default_sizes and not args.vary else None)
    if sizes is not None:
        axes.append(Axis(SIZE, tuple(parse_size_list(sizes, "--sizes"))))
    axes += [parse_axis(text) for text in args.vary]
    if args.line_sizes is not None:
        axes.append(Axis("cache.line_bytes", tuple(parse_size_list(args.line_sizes, "--line-sizes"))))
    if args.link_latencies is not None:
        axes.append(Axis("link.latency", tuple(parse_size_list(args.link_latencies, "--link-latencies"))))
    return axes


def load_workload(args):
    """(name, workload, meta) of ``--trace`` or ``--workload``, after ``--cpu-cache``; saved with ``--save-trace``."""
    from ..workloads import generate, parse_params
    program = getattr(args, "program", None)
    if getattr(args, "save_lackey", None) is not None and program is None:
        raise DisaggError("--save-lackey applies to --program")
    if program is not None and args.trace is not None:
        raise DisaggError("--program and --trace are alternatives: give one")
    if program is not None and args.param:
        raise DisaggError("-p/--param applies to --workload, not to --program")
    if program is not None:
        from ..program import trace_program
        result = trace_program(program, save_trace=args.save_lackey, progress=not args.quiet)
        print(result.report())
        workload, name, params = result.workload, _program_folder_name(result.command), {}
    elif args.trace is not None:
        from ..traces import load_trace
        workload, name, params = load_trace(args.trace), args.trace.name, {}
    else:
        params = parse_params(args.workload, args.param)
        workload, name = generate(args.workload, seed=args.seed, **params), args.workload
    meta = {"workload": name, "params": params, "seed": args.seed, "accesses": int(len(workload))}
    if program is not None:
        meta["program"] = {"command": result.command, "status": result.status, "stopped": result.stopped,
                           "instructions": result.instructions,
                           "saved_lackey": str(result.saved_trace) if result.saved_trace else None}
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
    return name, workload, meta


def _program_folder_name(command):
    """A file-name-safe name for a program's sweep (its output folder): the program and its arguments."""
    import re
    text = "_".join([Path(command[0]).name, *command[1:]])
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text)[:80].strip("_") or "program"


def run(args):
    from ..workloads import describe, list_workloads
    if args.list_workloads:
        for name in list_workloads():
            print(describe(name))
        return 0
    options = options_of(args)
    if args.preset == "legoos":
        if args.vary or args.sizes or args.line_sizes or args.link_latencies:
            raise DisaggError("--preset legoos fixes its grid; drop --vary/--sizes/--line-sizes/--link-latencies")
        from ..experiments.legoos import run_preset
        return run_preset(options)
    from ..sweeps import config_and_timing, print_table, run_sweep, write_outputs
    axes = axes_of(args)
    base_config, timing = config_and_timing(options)
    name, workload, meta = load_workload(args)
    out = args.out or Path("build") / "sweep" / name
    result = run_sweep(workload, axes, base_config=base_config, out=out, timing=timing, log=print,
                       **options.engine_kwargs())
    meta.update(where=result.where, points=len(result), ran=result.ran, resumed=result.resumed, failed=result.failed)
    title = f"{name}: slowdown vs. {axes[0].key if axes else 'ExCache size'}"
    paths = write_outputs(result, out, meta=meta, timing=result.timing, axes=axes, title=title)
    print_table(result, result.timing, axes)
    for p in paths:
        print(f"wrote {p}")
    if result.failed:
        print(f"{result.failed} of {len(result)} points failed (see above); the others are in {out}")
        return 1
    return 0
