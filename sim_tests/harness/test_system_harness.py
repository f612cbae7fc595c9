"""End-to-end runs of the whole system through the fast harness, both miss-path modes.

A small configuration keeps the two Verilator builds (one per miss path) short; the compiled models are
cached under build/harness/, so a second run of this folder does not rebuild. Every access is checked
against the golden model of the whole system by ``run_workload`` itself (a mismatch raises CheckError);
the tests add what the golden model cannot see: counters, the stage breakdown, memory contents.
"""

import numpy as np
import pytest

from emu.config import SystemConfig
from emu.system.processes import Process
from emu.system.runner import SystemRunner, run_workload
from emu.workload_format import empty
from firmware.bus import run_sync
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("harness-system")

PAGE = 256
SMALL = {
    "cache": {"line_bytes": 64, "sets": 16, "ways": 2, "policy": "lru", "line_store": "onchip"},
    "tlb": {"entries": 16, "ways": 2},
    "memory": {"page_bytes": PAGE, "dram_bytes": 1 << 14, "dram_latency": 4},
    "link": {"latency": 8},
    "network": {"window": 4, "timeout": 1024},
    "system": {"pid_width": 3},
}
MODES = ("hardware", "software")


def small_config(miss_path):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = miss_path
    return SystemConfig(values, source=f"test config ({miss_path})")


def _workload(seed, n=3000):
    """Three processes on the same virtual pages (homonyms), 5% of accesses outside every region."""
    rng = np.random.default_rng(seed)
    w = empty(n)
    w["pid"] = rng.integers(1, 4, n)
    size = np.array([1, 2, 4, 8], dtype=np.uint8)[rng.integers(0, 4, n)]
    page = rng.integers(0, 6, n).astype(np.uint64)             # pages 0..5 of a 6-page region
    hot = rng.random(n) < 0.6                                   # reuse within a few lines
    offset = np.where(hot, rng.integers(0, 96, n), rng.integers(0, PAGE, n)).astype(np.uint64)
    vaddr = np.uint64(0x10000) + page * np.uint64(PAGE) + offset
    outside = rng.random(n) < 0.05                              # never mapped: refused page fault
    vaddr = np.where(outside, np.uint64(0x80000) + offset, vaddr)
    w["vaddr"] = vaddr - vaddr % size.astype(np.uint64)
    w["size"] = size
    w["op"] = rng.random(n) < 0.35
    mask = np.uint64(0xFFFF_FFFF_FFFF_FFFF) >> (np.uint64(64) - size.astype(np.uint64) * np.uint64(8))
    w["data"] = rng.integers(0, 2**64, n, dtype=np.uint64) & mask
    w["think"] = rng.integers(0, 4, n)
    return w


REGION = [(0x10000, 6 * PAGE, True)]


@pytest.mark.parametrize("miss_path", MODES)
def test_processes_faults_and_exit(miss_path):
    w = _workload(default_seed(f"harness-system-{miss_path}"))
    # Process 2 exits half-way and process 3 starts a quarter of the way in. Their accesses outside their
    # lifetimes are dropped: which fault a dead pid gets differs between the miss paths (the processor
    # monitor refuses it in software mode, the MMU in hardware mode) and the golden model does not guess.
    idx = np.arange(len(w))
    exit2, start3 = len(w) // 2, len(w) // 4
    keep = ~(((w["pid"] == 2) & (idx >= exit2)) | ((w["pid"] == 3) & (idx < start3)))
    w = w[keep]
    n = len(w)
    procs = [Process(1, REGION), Process(2, REGION, exit_at=int(keep[:exit2].sum())),
             Process(3, REGION, start_at=int(keep[:start3].sum()))]
    s = run_workload(small_config(miss_path), w, processes=procs, check=True)
    assert s["check"]["checked"] == n and s["accesses"] == n
    assert s["faults"].get("PAGE_FAULT", 0) == int(((w["vaddr"] >= 0x80000)).sum())
    p, m, net = s["processor"], s["memory"], s["network"]
    assert p["hits"] + p["misses"] >= n          # replays of a filled miss may count again
    assert p["misses"] > 100 and p["evictions"] > 0 and p["writebacks"] > 0
    assert m["faults"] > 0 and m["tlb_misses"] > 0 and m["walks"] >= m["tlb_misses"]
    assert net["messages"] >= p["misses"] and net["bytes"] > 0 and net["retransmissions"] == 0
    lat = s["latency"]
    stages = sum(v["cycles"] for v in lat["miss_stages"].values())
    assert stages == pytest.approx(lat["miss_cycles"])          # the stages partition every miss
    assert lat["miss_stages"]["link"]["cycles"] > 0 and lat["miss_stages"]["DRAM"]["cycles"] > 0
    assert 0 < lat["hit_cycles"] < lat["miss_cycles"]
    if miss_path == "software":
        assert lat["miss_stages"]["firmware"]["cycles"] > 0     # the processor monitor served every miss
    real = {p["pid"]: p["real_pid"] for p in s["processes"]}
    assert len(set(real.values())) == 3


def test_same_virtual_addresses_never_leak_between_processes():
    n = 400
    w = empty(2 * n)
    vaddr = np.uint64(0x20000) + (np.arange(n, dtype=np.uint64) % 40) * np.uint64(8)
    # pid 1 writes its pattern, pid 2 writes another at the same addresses, then both read back.
    for k, (pid, op) in enumerate(((1, 1), (2, 1), (1, 0), (2, 0))):
        rows = slice(k * n // 2, (k + 1) * n // 2)
        w["pid"][rows], w["op"][rows], w["size"][rows] = pid, op, 8
        w["vaddr"][rows] = vaddr[: n // 2]
        w["data"][rows] = (np.uint64(pid) << np.uint64(56)) + vaddr[: n // 2] if op else 0
    s = run_workload(small_config("hardware"), w, check=True)
    assert s["check"]["checked"] == 2 * n and not s["faults"]


def test_both_modes_leave_identical_memory():
    w = _workload(default_seed("harness-system-memory"), n=1500)
    w = w[w["vaddr"] < 0x80000]
    images = {}
    for mode in MODES:
        runner = SystemRunner(small_config(mode))
        try:
            s = runner.run(w, [Process(1, REGION), Process(2, REGION), Process(3, REGION)])
            fw = runner.firmware
            run_sync(fw.flush_all())
            images[mode] = {p["pid"]: runner._fw(fw.read_process_memory(p["real_pid"], 0x10000, 6 * PAGE))
                            for p in s["processes"]}
        finally:
            runner.close()
    assert images["hardware"] == images["software"]
    assert any(any(b) for b in images["hardware"].values())


@pytest.mark.slow
def test_bench_smoke(tmp_path):
    """``disagg bench`` end to end on the small configuration (slow: builds the cocotb model too)."""
    import json
    from emu.cli import main
    out = tmp_path / "bench.json"
    code = main(["bench", "--set", "cache.line_bytes=64", "--set", "cache.sets=16", "--set", "cache.ways=2",
                 "--set", "cache.line_store=onchip", "--set", "tlb.entries=16",
                 "--set", "tlb.ways=2", "--set", "memory.page_bytes=256", "--set", "memory.dram_bytes=131072",
                 "--set", "link.latency=8", "--set", "network.window=4", "--set", "network.timeout=1024",
                 "--set", "system.pid_width=3", "-p", "n=3000", "--cocotb-accesses", "300",
                 "--cocotb-config", "small", "--configs", "default,large", "--json", str(out)])
    assert code == 0
    r = json.loads(out.read_text())
    for key in ("harness_accesses_per_s", "raw_accesses_per_s", "cocotb_accesses_per_s", "harness_vs_raw",
                "harness_vs_cocotb", "harness_cycles_per_cpu_s", "cocotb_cycles_per_cpu_s", "harness_vs_cocotb_cpu"):
        assert r[key] > 0
    assert r["raw"]["mismatches"] == 0
    # cocotb ran on the small configuration, which is not a row here: the harness ran it once more for the ratio.
    assert r["cocotb"]["configuration"] == r["cocotb_harness"]["configuration"] == "small"
    assert r["cocotb_harness"]["accesses"] == 3000 and r["cocotb_harness"]["cpu_seconds"] > 0
    rows = {row["name"]: row for row in r["configurations"]}
    assert rows["default"]["raw_cycles"] == r["raw"]["cycles"] and rows["default"]["raw_cycles_per_cpu_s"] > 0
    # The large row's 4 KiB lines do not fit 256-byte pages: a row saying why, not an error.
    assert "line_bytes" in rows["large"]["unavailable"]


def test_disagg_run_smoke(capsys, tmp_path):
    """``disagg run`` on the small configuration (its model is the one the tests above built)."""
    import json
    from emu.cli import main
    sets = [f"{section}.{key}={json.dumps(value)}" for section, keys in small_config("hardware").to_dict().items()
            for key, value in keys.items() if (section, key) in {(s, k) for s, kk in SMALL.items() for k in kk}]
    argv = ["run", "--workload", "sequential", "-p", "n=600", "-p", "footprint=4096", "--quiet",
            "--json", str(tmp_path / "s.json")]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for text in ("processor (ExCache)", "no translation at the processor", "TLB hits", "retransmissions",
                 "average miss latency", "cache lookup", "translation", "DRAM", "return",
                 "all 600 accesses match the golden model"):
        assert text in out, text
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["accesses"] == 600 and s["build"]["cached"] and s["processor"]["misses"] > 0
