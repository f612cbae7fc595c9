"""``disagg run --topology PxM``: bad input is one line; a rack run (slow: a cocotb build) checks every access
and prints per-component and per-port statistics."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "emu.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or REPO)


@pytest.mark.parametrize("args, message", [
    (["--topology", "2y2"], "--topology must look like PxM"),
    (["--topology", "0x2"], "needs at least 1 processor"),
    (["--topology", "2x2", "--set", "topology.region_policy=best"], "topology.region_policy must be one of"),
    (["--topology", "2x2", "--set", "topology.region_bytes=100"], "topology.region_bytes must be a power of two"),
    (["--topology", "2x2", "--no-check"], "--no-check is not available for a rack run"),
])
def test_bad_rack_run_is_one_line(args, message):
    result = run("run", *args)
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_rack_run_2x2(tmp_path):
    """A multi-process workload on a 2 x 2 rack, regions of 16 KiB spread over both memory components."""
    out = tmp_path / "rack.json"
    result = run("run", "--topology", "2x2", "--set", "topology.region_bytes=16384", "--set", "memory.dram_bytes=1048576",
                 "--workload", "mix", "-p", "processes=4", "-p", "n=2000", "-p", "footprint=65536", "--quiet",
                 "--json", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    stats = json.loads(out.read_text())
    assert stats["checked"] == stats["accesses"] == 2000
    procs = {p["processor"] for p in stats["processes"]}
    homes = {r[2] for p in stats["processes"] for r in p["regions"]}
    assert procs == {0, 1} and homes == {2, 3}
    assert "0 mismatches" in result.stdout and "switch:" in result.stdout
