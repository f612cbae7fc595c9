"""``disagg run``: run a workload through the whole split system and print where the time goes."""

import json
from pathlib import Path

from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("run", help="run a workload on the whole system (default: the built-in default workload)",
                       description="Run a workload through the processor component, the network and the memory "
                                   "component, check every access against the golden model, and print the "
                                   "statistics. With no arguments: the built-in default workload on the default "
                                   "configuration.")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration (see configs/default.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set cache.ways=8 (repeatable)")
    p.add_argument("--miss-path", choices=("hardware", "software"), help="shorthand for --set system.miss_path=...")
    p.add_argument("--topology", metavar="PxM",
                   help="a rack of P processor and M memory components on a switch (shorthand for --set "
                        "topology.processors=P --set topology.memories=M; the compiled rack, see docs/rack.md)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--workload", default=None, metavar="NAME", help="a generator of emu.workloads (default: default)")
    src.add_argument("--trace", type=Path, metavar="FILE",
                     help="replay a trace: .dtrace (disagg's format) or a valgrind lackey log, either plain or compressed (.gz, .xz, .zst), or .npy of WORKLOAD_DTYPE")
    src.add_argument("--program", metavar="'CMD ARGS'",
                     help="run a program under valgrind lackey and stream its accesses into the run "
                          "(no shell: the command is split like a shell would, without pipes or redirections)")
    p.add_argument("--save-trace", type=Path, metavar="FILE",
                   help="with --program: keep the lackey trace in FILE (.gz, .xz or .zst: compressed)")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
                   help="workload parameter, e.g. -p n=50000 (repeatable)")
    p.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the statistics as JSON")
    p.add_argument("--no-check", action="store_true", help="do not compare with the golden model")
    p.add_argument("--check-sample", type=int, metavar="N", help="check only the first N accesses (long runs)")
    p.add_argument("--waves", type=Path, metavar="FILE", help="record a waveform (FST, with a .gtkw next to it)")
    p.add_argument("--window", metavar="START:END", help="cycles to record with --waves (default 0:10000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--print-config", action="store_true",
                   help="print the effective configuration as TOML and exit (no run)")
    p.set_defaults(func=run)


def _window(text, waves):
    if text is None:
        return (0, 10_000) if waves else None
    if waves is None:
        raise DisaggError("--window needs --waves FILE")
    try:
        start, end = (int(x.replace("_", ""), 0) for x in text.split(":"))
    except ValueError:
        raise DisaggError(f"--window must look like START:END (cycles), not {text!r}") from None
    if not 0 <= start <= end:
        raise DisaggError(f"--window START:END needs 0 <= START <= END, not {text!r}")
    return start, end


def load_workload(args, threads=1):
    """The workload selected by ``--trace``, ``--program`` or ``--workload``/``-p``/``--seed``; returns (name, array).

    With ``threads`` > 1 a generator gives one stream per thread (seed ``--seed + k``; returned as a list), and
    a trace or program is one array, which the run splits into consecutive parts (``emu.workloads.threads``).

    With ``--program`` the program's exit status and output are printed, and ``args.program_run`` holds the
    :class:`emu.program.ProgramRun`.
    """
    from .. import workloads
    from ..workload_format import WORKLOAD_DTYPE, validate
    if getattr(args, "save_trace", None) is not None and getattr(args, "program", None) is None:
        raise DisaggError("--save-trace applies to --program")
    if getattr(args, "program", None) is not None:
        from ..program import trace_program
        if args.params:
            raise DisaggError("-p/--param applies to --workload, not to --program")
        result = trace_program(args.program, save_trace=args.save_trace, progress=not args.quiet)
        print(result.report())
        args.program_run = result
        return result.name, result.workload
    if args.trace is not None:
        if not args.trace.exists():
            raise DisaggError(f"trace {args.trace} does not exist")
        if args.params:
            raise DisaggError("-p/--param applies to --workload, not to --trace")
        if args.trace.suffix == ".npy":
            import numpy as np
            try:
                w = np.load(args.trace, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise DisaggError(f"{args.trace}: not a readable .npy file ({exc})") from None
            if w.dtype != WORKLOAD_DTYPE:
                raise DisaggError(f"{args.trace}: expected an array of WORKLOAD_DTYPE, not {w.dtype}")
            return str(args.trace), validate(w, what=str(args.trace))
        from ..traces import load_trace
        try:
            w = load_trace(args.trace, progress=not args.quiet)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise DisaggError(f"{args.trace}: cannot read trace: {exc}") from None
        return str(args.trace), validate(w, what=str(args.trace))
    name = args.workload or workloads.DEFAULT
    params = workloads.parse_params(name, args.params)
    if threads > 1:
        from ..workloads.threads import generate_streams
        return name, generate_streams(name, threads, seed=args.seed, **params)
    return name, workloads.generate(name, seed=args.seed, **params)


def run(args):
    from ..config import load_config
    from ..system.runner import run_workload
    from ..system.summary import format_summary
    overrides = list(args.overrides)
    if args.miss_path:
        overrides.append(f"system.miss_path={args.miss_path}")
    if args.topology:
        from ..config import parse_topology
        procs, mems = parse_topology(args.topology)
        overrides += [f"topology.processors={procs}", f"topology.memories={mems}"]
    config = load_config(args.config, overrides)
    if args.print_config:
        print(config.toml())
        return 0
    if config.is_rack:
        return _run_rack(args, config)
    window = _window(args.window, args.waves)
    name, workload = load_workload(args, threads=config.cpu.threads)
    total = sum(len(x) for x in workload) if isinstance(workload, list) else len(workload)
    if total == 0:
        raise DisaggError(f"{name}: the workload has no accesses")
    if args.check_sample is not None and args.check_sample < 0:
        raise DisaggError(f"--check-sample must be non-negative, not {args.check_sample}")
    stats = run_workload(config, workload, check=not args.no_check, check_sample=args.check_sample,
                         progress=not args.quiet, waves=args.waves, window=window, log=print)
    print(format_summary(stats, workload_name=name, config_source=config.source))
    if args.waves:
        print(f"waveform of cycles {window[0]}..{window[1]}: {args.waves} (GTKWave: {args.waves.with_suffix('.gtkw')})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        stats = dict(stats, workload=name)
        run_of_program = getattr(args, "program_run", None)
        if run_of_program is not None:
            stats["program"] = {"command": run_of_program.command, "status": run_of_program.status,
                                "stopped": run_of_program.stopped, "instructions": run_of_program.instructions,
                                "stdout_bytes": run_of_program.stdout_bytes,
                                "stderr_bytes": run_of_program.stderr_bytes,
                                "saved_trace": str(run_of_program.saved_trace or "") or None}
        args.json.write_text(json.dumps(stats, indent=2, default=_json_default) + "\n")
        print(f"statistics written to {args.json}")
    return 0


def _run_rack(args, config):
    """A rack run (``[topology]`` beyond 1 x 1): the compiled rack, every access checked (``emu/rack/run.py``)."""
    from ..cosim.rack_run import format_rack_summary
    from ..rack.run import fault_plan, run_rack_fast
    for flag, value in (("--waves", args.waves), ("--no-check", args.no_check), ("--check-sample", args.check_sample)):
        if value:
            raise DisaggError(f"{flag} is not available for a rack run (--topology): every access of a rack is checked "
                              f"and no waveform is recorded")
    config.rack_params()      # bad [topology] settings: one line before the workload is loaded
    fault_plan(config)
    name, workload = load_workload(args)
    if len(workload) == 0:
        raise DisaggError(f"{name}: the workload has no accesses")
    result = run_rack_fast(config, workload, log=None if args.quiet else print)
    print(format_rack_summary(result, workload_name=name, config_source=config.source))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(result, workload=name), indent=2, default=_json_default) + "\n")
        print(f"statistics written to {args.json}")
    return 0


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {obj!r}")
