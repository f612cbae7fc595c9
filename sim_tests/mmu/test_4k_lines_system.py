"""4 KiB lines end to end: ``disagg run`` with whole-page lines in 16 sets, both miss paths.

Each line miss is a 4 KiB LINE_READ that the MMU's data mover serves as two 256-beat AXI bursts, and each
dirty eviction a 4 KiB LINE_WRITE (two bursts, two B responses). The uniform workload over 512 KiB (four
times the 128 KiB ExCache) makes both happen often; every access is checked against the whole-system golden
model by the run itself. Two ways and 1 MiB of DRAM keep the two Verilator builds (one per miss path, cached
under build/harness/) short.
"""

import json

import pytest

from emu.cli import main

pytestmark = pytest.mark.xdist_group("mmu-4k-system")

N = 600
SETTINGS = ["cache.line_bytes=4096", "cache.sets=16", "cache.ways=2", "cache.line_store=onchip",
            "memory.dram_bytes=1048576"]


# The software miss path with 4 KiB lines runs in the default suite with the local line store
# (sim_tests/excache/test_local_memory_harness.py); here it is -m slow (a model build of its own: the budget).
@pytest.mark.parametrize("miss_path", ["hardware", pytest.param("software", marks=pytest.mark.slow)])
def test_disagg_run_with_4k_lines(capsys, tmp_path, miss_path):
    argv = ["run", "--workload", "uniform", "-p", f"n={N}", "-p", "footprint=524288", "--quiet",
            "--json", str(tmp_path / "s.json"), "--set", f"system.miss_path={miss_path}"]
    for s in SETTINGS:
        argv += ["--set", s]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"all {N} accesses match the golden model" in out, out
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["miss_path"] == miss_path and s["check"] == {"enabled": True, "checked": N, "mismatches": 0}
    proc, mem = s["processor"], s["memory"]
    # Misses, evictions and write-backs all happened (4 KiB fetches and 4 KiB write-backs through the MMU).
    assert proc["misses"] > N // 2 and proc["evictions"] > 0 and proc["writebacks"] > 0, proc
    assert mem["requests"] == proc["misses"] + proc["writebacks"], (proc, mem)
    assert 0 < mem["faults"] <= 128, mem      # first touches of the 128 pages of the footprint (lazily mapped)
