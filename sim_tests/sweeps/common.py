"""A small sweep for the engine tests: four points of a small system, one model build per link latency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A small system (32 KiB DRAM, 256 B pages, 4 KiB ExCache) builds in well under a minute.
SMALL_SYSTEM = [f"--set={kv}" for kv in (
    "cache.line_bytes=64", "cache.sets=16", "cache.ways=4", "cache.line_store=onchip", "tlb.entries=16", "tlb.ways=2", "memory.page_bytes=256",
    "memory.dram_bytes=32768", "memory.dram_latency=4", "network.window=4", "network.timeout=1024",
    "system.pid_width=3")]
# Four points: the CPU's outstanding accesses (the same model) x the link latency (two models).
GRID = ["--vary", "cpu.max_outstanding=1,2", "--vary", "link.latency=8,16"]


def sweep_args(out, n=12000, extra=()):
    return ["sweep", "--workload", "zipfian", "-p", f"n={n}", "-p", "footprint=16384", *SMALL_SYSTEM, *GRID,
            "--out", str(out), "--quiet", *extra]


def disagg(args, **kwargs):
    """``disagg ARGS`` as a process running this checkout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # pytest-xdist's workers ignore SIGINT, and a child inherits that: Python then installs no KeyboardInterrupt
    # handler and a Ctrl-C (test_resume) is lost. The child gets the default disposition, as from a shell.
    kwargs.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.Popen([sys.executable, "-m", "emu.cli", *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def finish(proc, timeout=600):
    """Wait for a ``disagg`` process (killing it on timeout); return (status, output)."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"disagg did not finish in {timeout} s:\n{out[-3000:]}") from None
    return proc.returncode, out


def deterministic(rows):
    """The rows without the wall-clock parts of the statistics (speed, build time)."""
    return [{k: v for k, v in r.items() if not k.startswith(("stat_speed_", "stat_build_"))} for r in rows]


def rows_of(out):
    return json.loads((Path(out) / "sweep.json").read_text())["rows"]


def records_of(out):
    return [json.loads(line) for line in (Path(out) / "points.jsonl").read_text().splitlines()]
