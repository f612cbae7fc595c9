"""A small real sweep: the default workload (shortened) on the RTL system at two ExCache sizes.

Each geometry is one Verilator build of the whole system (cached under build/harness/ and shared with the
other tests that use the default configuration, 64 sets x 4 ways x 64 B).
"""

import json

import pytest

from emu.cli import main

try:
    import emu.run  # noqa: F401
    HAVE_RUN = True
except ImportError as exc:  # only while the full-system harness is absent from the checkout
    HAVE_RUN, WHY = False, f"emu.run (the full-system harness) is not importable: {exc}"


@pytest.mark.skipif(not HAVE_RUN, reason=WHY if not HAVE_RUN else "")
def test_small_rtl_sweep(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = main(["sweep", "--workload", "default", "-p", "n=1500", "--sizes", "8K,16K", "--jobs", "1",
               "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads((out / "sweep.json").read_text())
    rows = {r["size"]: r for r in doc["rows"]}
    assert set(rows) == {8192, 16384}
    small, big = rows[8192], rows[16384]
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
