"""``disagg coverage``: Verilator line and toggle coverage of the cocotb tests, per block, with the uncovered lines."""

from pathlib import Path

from ..errors import DisaggError

DEFAULT_DIR = Path("build") / "coverage"


def register(sub):
    p = sub.add_parser("coverage", help="summarise Verilator line and toggle coverage of the cocotb tests per block",
                       description="Read the coverage.dat files a coverage run left (pytest --coverage-rtl writes "
                                   "build/coverage/<block>/*.dat), merge the runs of each block and print its line "
                                   "(statement and branch) and toggle coverage; --uncovered lists the line points "
                                   "never reached, with their Verilog source line.")
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR, metavar="DIR",
                   help=f"folder of the coverage runs (default {DEFAULT_DIR})")
    p.add_argument("--block", default=None, metavar="NAME", help="only this block (a folder under DIR)")
    p.add_argument("--uncovered", action="store_true", help="also list the uncovered line points of each block")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="list at most N uncovered points per block")
    p.set_defaults(func=run)


def run(args):
    from ..coverage import format_summary, format_uncovered, load_blocks
    if args.limit is not None and args.limit < 1:
        raise DisaggError(f"--limit must be at least 1, not {args.limit}")
    blocks = load_blocks(args.dir, args.block)
    print(format_summary(blocks))
    if args.uncovered:
        for name, cov in blocks.items():
            print(f"\nuncovered line points of {name}:")
            print(format_uncovered(cov, limit=args.limit))
    return 0
