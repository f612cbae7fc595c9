"""``disagg run --topology PxM``: bad input is one line; a rack run (slow: a rack build) checks every access and
prints per-component and per-port statistics; the 4 x 4 run with replication 2 and a memory failure mid-run."""

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
    (["--topology", "2x2", "--set", "topology.replication=3"], "topology.replication must be 1 or 2"),
    (["--topology", "2x1", "--set", "topology.replication=2"], "topology.replication = 2 needs at least 2 memory"),
    (["--topology", "2x2", "--set", "topology.kill_memory=2", "--set", "topology.kill_cycle=100"],
     "topology.kill_memory must be -1 (none) or a memory component 0..1"),
    (["--topology", "2x2", "--set", "topology.kill_memory=1"], "topology.kill_cycle must be a cycle from 1"),
    (["--topology", "2x2", "--set", "cache.rx_cut_through=true"], "cache.rx_cut_through is for one processor"),
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


@pytest.mark.slow
def test_rack_run_4x4_failover(tmp_path):
    """The issue's target: a 4 x 4 rack with replication 2 and memory component 1 killed mid-run, every access
    checked, the failover recorded."""
    out = tmp_path / "rack.json"
    result = run("run", "--topology", "4x4", "--set", "topology.region_bytes=16384", "--set", "memory.dram_bytes=1048576",
                 "--workload", "mix", "-p", "processes=8", "-p", "n=4000", "-p", "footprint=65536",
                 "--set", "topology.replication=2", "--set", "topology.kill_memory=1", "--set",
                 "topology.kill_cycle=20000", "--quiet", "--json", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    stats = json.loads(out.read_text())
    assert stats["checked"] == stats["accesses"] == 4000 and stats["node_dead"] == 0
    [rec] = stats["failovers"]
    assert rec["node"] == 5 and rec["failed_at"] < rec["detected_at"] < rec["recovered_at"]
    assert rec["regions_lost"] == 0 and "failover: memory node 5" in result.stdout
