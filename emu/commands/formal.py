"""``disagg formal``: prove (or bound) the blocks' guarantees with SymbiYosys (``docs/verification.md``)."""

import json
from pathlib import Path

from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("formal", help="formal proofs of the blocks' guarantees (SymbiYosys: PDR, k-induction or BMC)")
    p.add_argument("--block", action="append", metavar="B", help="only this block (repeatable; default: all)")
    p.add_argument("--property", action="append", dest="props", metavar="P",
                   help="only this property (repeatable; e.g. handshake, pid_isolation)")
    p.add_argument("--depth", type=int, metavar="N", help="depth in cycles (default: each check's own)")
    p.add_argument("--quick", action="store_true",
                   help="what the default test suite runs: each check's quick method and depth")
    p.add_argument("--method", choices=("pdr", "induction", "bmc"), default=None,
                   help="prove every chosen check this way (default: each check's own, see --list)")
    p.add_argument("--mutants", action="store_true",
                   help="run each check against its deliberately broken variant: every one must fail")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    p.add_argument("--timeout", type=int, default=3600, metavar="S", help="seconds per check (default 3600)")
    p.set_defaults(func=run)


def run(args):
    from ..formal import find_checks, run_check
    checks = find_checks(args.block, args.props)
    if args.list:
        for c in checks:
            quick = (("pdr" if c.quick_mode == "pdr" else f"bmc {c.quick_depth}") if c.quick_depth else "-")
            print(f"{c.name:<28} {c.mode:<9} depth {c.depth:<3} (quick {quick:<6}) mutant {'+'.join(c.mutations):<28} "
                  f"{c.summary}")
        return 0
    if args.depth is not None and args.depth < 1:
        raise DisaggError(f"--depth must be a positive integer, not {args.depth}")
    results, bad = [], 0
    if args.timeout < 1:
        raise DisaggError(f"--timeout must be a positive number of seconds, not {args.timeout}")
    print(f"{'check':<40} {'result':<8} {'method':<36} {'depth':>5} {'time':>8} {'cpu':>8}")
    if args.quick:
        checks = [c for c in checks if c.quick_depth]
    for c in checks:
        if args.mutants and c.mutant_shown_by:
            print(f"{c.name + ' [' + c.mutation + ']':<40} shown by {c.block}.{c.mutant_shown_by} (its counterexample is "
                  f"deeper than this check's bound)")
            continue
        depth = args.depth or (c.quick_depth if args.quick else c.depth)
        mode = args.method or (c.quick_mode if args.quick else c.mode)
        skip = c.mutant_skip if args.mutants and mode == "bmc" and 0 < c.mutant_skip < depth else 0
        # --quick --mutants: the mutants the default suite runs (the others need the full run: slow_mutations).
        mutations = (c.quick_mutations if args.quick else c.mutations) if args.mutants else (None,)
        for mutation in mutations:
            r = run_check(c, depth=depth, mode=mode, mutation=mutation, timeout=args.timeout, skip=skip)
            results.append(r)
            label = c.name + (f" [{mutation}]" if mutation else "")
            depth_text = f"F{r.depth}" if r.status == "proved" and r.method == "PDR" else str(r.depth)
            print(f"{label:<40} {r.status:<8} {r.method:<36} {depth_text:>5} {r.seconds:>7.1f}s {r.cpu_seconds:>7.1f}s",
                  flush=True)
            if r.status == "failed":
                where = f" at step {r.step}" if r.step is not None else ""
                print(f"    counterexample{where}: {r.trace}" + ("" if args.mutants else f"  ({'; '.join(r.failed)})"))
            elif r.status == "error":
                print(f"    see {r.log}")
            ok = r.status == "failed" if args.mutants else r.status in ("proved", "bounded")
            bad += not ok
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in results], indent=2))
    if bad:
        what = "mutants not caught" if args.mutants else "checks failed"
        print(f"{bad} {what}")
    return 1 if bad else 0
