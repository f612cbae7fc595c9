"""Lint generated Verilog with ``verilator --lint-only -Wall`` and the project's named waivers."""

import subprocess
from pathlib import Path

from .toolchain import verilator_env

__all__ = ["lint", "WAIVERS"]

WAIVERS = Path(__file__).resolve().parent.parent / "rtl" / "lint_waivers.vlt"


def lint(path, top=None):
    """Lint one Verilog file; return ``(ok, output)``."""
    path = Path(path)
    cmd = ["verilator", "--lint-only", "-Wall", str(WAIVERS), str(path),
           "--top-module", top or path.stem]
    result = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
    return result.returncode == 0, (result.stdout + result.stderr).strip()
