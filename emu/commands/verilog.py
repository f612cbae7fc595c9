"""``disagg verilog``: write the Verilog of the default configurations into rtl/."""

from pathlib import Path

from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("verilog", help="generate rtl/<block>.v for the default configurations")
    p.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks to generate (default: all)")
    p.add_argument("-o", "--out-dir", type=Path, default=None, help="output folder (default: rtl/ of the checkout)")
    p.set_defaults(func=run)


def run(args):
    from hw.catalog import BLOCKS
    from ..rtl_generation import RTL_DIR, generate_all
    unknown = [b for b in args.blocks if b not in BLOCKS]
    if unknown:
        raise DisaggError(f"unknown block {unknown[0]!r}; known blocks: {', '.join(sorted(BLOCKS))}")
    for path in generate_all(args.out_dir or RTL_DIR, args.blocks or None):
        print(f"wrote {path}")
