"""The ExCache's line data in local memory (``cache.line_store=axi``) in the fast harness, both miss paths.

The small configurations of ``sim_tests/harness/test_system_harness.py`` run the same workload (three processes,
homonyms, refused faults) with the on-chip line store and with the line data in the harness's compiled local
memory (``emu/harness/local_memory.h``). The cache is the same cache, so every hardware counter of the
processor and memory sides and every access's answer (checked against the golden model) must be identical;
only time differs: hits take the local memory's latency longer.
"""

import pytest

from emu.config import SystemConfig
from emu.system.runner import SystemRunner
from sim_tests.harness.test_system_harness import MODES, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("harness-system")


def _config(miss_path, **cache):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = miss_path
    values["cache"].update(cache)
    return SystemConfig(values, source=f"test config ({miss_path}, {cache or 'onchip'})")


def _run(config, w):
    runner = SystemRunner(config)
    try:
        return runner.run(w), runner.model.local_memory_stats()
    finally:
        runner.close()


# The default suite's budget: one miss path per test here (each case is two model builds); -m slow runs both.
# Between them the hardware and software miss paths each run the local line store.
@pytest.mark.parametrize("miss_path", [m if m == "hardware" else pytest.param(m, marks=pytest.mark.slow)
                                       for m in MODES])
def test_local_memory_line_store_matches_onchip(miss_path):
    w = _workload(default_seed("harness-local-memory"), n=2000)
    # The blocking ExCache (disagg run's default is 8 MSHRs): with several misses on the wire the order in
    # which they reach the MMU depends on the line store's timing, and so do the memory side's counters (at
    # 8 MSHRs: the same processor counters, but 22 against 23 page faults and 507 against 508 TLB misses).
    # The non-blocking ExCache with its lines in local memory: test_excache_amaranth_sim.py, and disagg run.
    onchip, none = _run(_config(miss_path, mshrs=1), w)
    axi, local = _run(_config(miss_path, mshrs=1, line_store="axi", local_latency=3), w)
    assert none == {}
    assert onchip["check"]["checked"] == axi["check"]["checked"] == len(w)
    assert axi["processor"] == onchip["processor"] and axi["memory"] == onchip["memory"]
    assert axi["faults"] == onchip["faults"]
    p = onchip["processor"]
    assert p["misses"] > 100 and p["writebacks"] > 0
    # Every fill is one AW burst of a line (an eviction is a fill), every write-back one AR burst of a line.
    words = SMALL["cache"]["line_bytes"] // 8
    assert local["write_bursts"] >= p["evictions"] and local["write_beats"] >= p["evictions"] * words
    assert local["read_beats"] >= p["writebacks"] * words
    assert local["read_bursts"] >= p["writebacks"] and local["pages"] >= 1
    # A read hit is answered 3 cycles later than on chip (local_latency 3): the mean hit latency grows.
    assert axi["latency"]["hit_cycles"] > onchip["latency"]["hit_cycles"]


def test_idle_skipping_is_exact_with_the_local_memory():
    # Idle-cycle skipping waits for the local memory to be idle too (LocalMemory::idle): with think times
    # between accesses, runs with and without skipping are identical bit for bit.
    from emu.workloads import generate
    from sim_tests.system.test_idle_skip import _compare
    s = _compare(["cache.line_store=axi", "cache.local_latency=6"], generate("zipfian", seed=7, n=2500, think=20.0))
    assert s["processor"]["hits"] > 0 and s["processor"]["misses"] > 0


@pytest.mark.parametrize("miss_path", [m if m == "software" else pytest.param(m, marks=pytest.mark.slow)
                                       for m in MODES])
def test_4k_lines_in_local_memory(capsys, tmp_path, miss_path):
    # LegoOS's 4 KiB lines with the line data in local memory, both miss paths: each fill is two 256-beat AW
    # bursts on lmem and each write-back two AR bursts, while the MMU moves the page in two DRAM bursts.
    import json
    from emu.cli import main
    n = 600
    argv = ["run", "--workload", "uniform", "-p", f"n={n}", "-p", "footprint=524288", "--quiet",
            "--json", str(tmp_path / "s.json"), "--set", f"system.miss_path={miss_path}"]
    for s in ("cache.line_bytes=4096", "cache.sets=16", "cache.ways=2", "memory.dram_bytes=1048576",
              "cache.line_store=axi"):
        argv += ["--set", s]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"all {n} accesses match the golden model" in out, out
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["check"] == {"enabled": True, "checked": n, "mismatches": 0}
    proc = s["processor"]
    assert proc["misses"] > n // 2 and proc["evictions"] > 0 and proc["writebacks"] > 0, proc
