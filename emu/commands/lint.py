"""``disagg lint``: verilator --lint-only -Wall on the generated Verilog, with the named waivers."""

from pathlib import Path

from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("lint", help="lint rtl/*.v with verilator -Wall (waivers: rtl/lint_waivers.vlt)")
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="Verilog files (default: rtl/*.v)")
    p.set_defaults(func=run)


def run(args):
    from ..rtl_generation import RTL_DIR
    from ..verilog_lint import lint
    files = args.files or sorted(RTL_DIR.glob("*.v"))
    if not files:
        raise DisaggError("no Verilog files to lint; run 'disagg verilog' first")
    failed = 0
    for path in files:
        if not path.exists():
            raise DisaggError(f"no such file: {path}")
        ok, output = lint(path)
        print(f"{'ok  ' if ok else 'FAIL'} {path}")
        if not ok:
            failed += 1
            print(output)
    return 1 if failed else 0
