"""The ``disagg`` command.

Each subcommand lives in its own module ``emu/commands/<name>.py`` with ``register(subparsers)``;
this file only wires them together and turns :class:`DisaggError` into one error line.
"""

import argparse
import importlib
import os
import sys

from .errors import DisaggError

__all__ = ["main", "COMMANDS"]

#: Subcommand modules, in the order ``disagg --help`` lists them.
COMMANDS = [
    "emu.commands.run",
    "emu.commands.bench",
    "emu.commands.verilog",
    "emu.commands.lint",
    "emu.commands.waves",
    "emu.commands.sweep",
    "emu.commands.synth",
    "emu.commands.coverage",
    "emu.commands.formal",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit status 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(prog="disagg", description="LegoOS-style memory disaggregation, emulated at register-transfer level.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except DisaggError as exc:
        print(f"disagg: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        # The host (not the modelled memory, whose exhaustion is a DisaggError) ran out: one line, no traceback.
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"disagg: error: this machine ran out of memory ({peak:,} MiB resident at the peak); "
              f"use a shorter workload or trace, or a machine with more memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("disagg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`disagg coverage | head`): stop quietly, as other command-line tools do.
        # stdout is pointed at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
