"""The disagg command: help works, bad input is one error line and a non-zero exit."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "emu.cli", *args], capture_output=True, text=True)


def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "verilog" in result.stdout and "lint" in result.stdout


def test_bad_flag_is_one_line():
    result = run("--no-such-flag")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "error" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_block_is_one_line():
    result = run("verilog", "no_such_block", "-o", "/tmp/disagg-test-unused")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("disagg: error: unknown block 'no_such_block'")
    assert result.stderr.count("\n") == 1


def test_csr_register_map_rejects_duplicates():
    import pytest
    from hw.lib.csr import Register, RegisterMap
    with pytest.raises(ValueError, match="share address"):
        RegisterMap("x", [Register("a", 0, "r", ""), Register("b", 0, "r", "")])
