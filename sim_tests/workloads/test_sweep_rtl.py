"""A small real sweep: a zipfian workload on the RTL system at two ExCache sizes.

Each geometry is one Verilator build of a small whole system (cached under build/harness/).
"""

import json

from emu.cli import main


# A small system (16-32 KiB DRAM, 256 B pages) builds in about a minute; the default system's 1 MiB DRAM
# model takes several. The footprint (16 KiB) exceeds both cache sizes and both swap page caches.
SMALL_SYSTEM = [f"--set={kv}" for kv in (
    "cache.line_bytes=64", "cache.ways=4", "cache.line_store=onchip", "tlb.entries=16", "tlb.ways=2", "memory.page_bytes=256", "memory.dram_bytes=32768",
    "memory.dram_latency=4", "link.latency=8", "network.window=4", "network.timeout=1024", "system.pid_width=3")]


def test_small_rtl_sweep(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = main(["sweep", "--workload", "zipfian", "-p", "n=1500", "-p", "footprint=16384", "--sizes", "4K,8K",
               "--jobs", "1", "--out", str(out), *SMALL_SYSTEM])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads((out / "sweep.json").read_text())
    rows = {r["size"]: r for r in doc["rows"]}
    assert set(rows) == {4096, 8192}
    small, big = rows[4096], rows[8192]
    # The same trace: a smaller ExCache misses at least as often and is never faster.
    assert small["stat_processor_misses"] >= big["stat_processor_misses"] > 0
    assert small["stat_processor_hits"] > 0
    assert small["cycles"] >= big["cycles"]
    for r in (small, big):
        assert r["slowdown"] > 1.0
        assert r["stat_accesses"] == 1500
        assert r["local_access_cycles"] >= 1
        # Swap baselines of a 2-4 page memory fault far more often than the ExCache misses cost.
        assert r["linux-swap-ssd_slowdown"] > r["infiniswap_slowdown"] > r["linux-swap-ramdisk_slowdown"]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "slowdown" in captured.out
