"""Baselines, scaling, and the sweep machinery (with an injected Python run function; the real-RTL sweep is
in test_sweep_rtl.py)."""

import csv
import json
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pytest

from emu.baselines import SWAP_DEVICES, SwapDevice, Timing, baseline_cycles, local_cycles, page_cache_misses
from emu.cli import main
from emu.errors import DisaggError
from emu.sweep import points_for, run_sweep, with_point, write_outputs
from emu.workload_format import OP_WRITE
from emu.workloads import generate
from emu.workloads.scale import sample_pages, scale_params, scale_size


# A stand-in configuration with the field names of hw.processor.excache_params / hw.network.link (matched by type name).
@dataclass(frozen=True)
class ExCacheParams:
    line_bytes: int = 64
    sets: int = 64
    ways: int = 4


@dataclass(frozen=True)
class LinkParams:
    latency: int = 16


@dataclass(frozen=True)
class FakeSystem:
    excache: ExCacheParams = field(default_factory=ExCacheParams)
    link: LinkParams = field(default_factory=LinkParams)


@dataclass(frozen=True)
class FakeConfig:
    system: FakeSystem = field(default_factory=FakeSystem)


def fake_run(config, workload, check=True):
    """A set-associative LRU write-back cache in Python: hit 4 cycles, miss 4 * link latency + 20."""
    ex, lat = config.system.excache, config.system.link.latency
    sets = [OrderedDict() for _ in range(ex.sets)]
    hits = misses = wbs = 0
    for pid, op, a in zip(workload["pid"].tolist(), workload["op"].tolist(), workload["vaddr"].tolist()):
        key = (pid << 48) | (a // ex.line_bytes)
        s = sets[key % ex.sets]
        if key in s:
            hits += 1
            s.move_to_end(key)
        else:
            misses += 1
            if len(s) == ex.ways:
                wbs += s.popitem(last=False)[1]
            s[key] = False
        if op == OP_WRITE:
            s[key] = True
    cycles = int(workload["think"].astype(np.int64).sum()) + 4 * hits + (4 * lat + 20) * (misses + wbs)
    return {"cycles": cycles, "hits": hits, "misses": misses, "writebacks": wbs,
            "hit_count": hits, "hit_latency_sum": 4 * hits}


def test_local_and_swap_baselines():
    w = generate("zipfian", n=20000, footprint=128 * 1024, seed=1)
    t = Timing(clock_hz=2e9, local_access_cycles=5)
    assert local_cycles(w, t) == int(w["think"].sum()) + 5 * len(w)
    caps = [4096 * k for k in (1, 2, 4, 8, 16, 32)]
    b = baseline_cycles(w, caps, t)
    faults = [b["faults"][c][0] for c in caps]
    assert faults == sorted(faults, reverse=True) and faults[0] > 0
    assert faults[-1] == 0 and b["faults"][caps[-1]][2] == 32        # 32 pages: only first touches
    for d in SWAP_DEVICES:
        cyc = [b[d.name][c] for c in caps]
        assert cyc == sorted(cyc, reverse=True)                 # monotonic in capacity
        assert cyc[0] == b["local"] + round(faults[0] * d.fault_us * 2000)
    # Ordering of the devices: SSD slower than InfiniSwap slower than ramdisk.
    assert b["linux-swap-ssd"][caps[0]] > b["infiniswap"][caps[0]] > b["linux-swap-ramdisk"][caps[0]]


def test_page_cache_counts_dirty_evictions():
    w = generate("sequential", n=3 * 512, footprint=3 * 4096, write_frac=1.0, think=0.0)
    assert page_cache_misses(w, 2 * 4096) == (0, 1, 3)               # 3 first touches, page 0 evicted dirty
    w2 = np.concatenate([w, w])
    assert page_cache_misses(w2, 2 * 4096) == (3, 4, 3)              # LRU on a cyclic scan: every page again
    with pytest.raises(DisaggError, match="at least one page|>= one page"):
        page_cache_misses(w, 100)
    with pytest.raises(DisaggError, match="fault_us"):
        SwapDevice("x", -1.0)
    with pytest.raises(DisaggError, match="clock_hz"):
        Timing(clock_hz=0)


def test_scaling():
    p = scale_params("mltrain", {"layer_bytes": 1 << 20, "layers": 4}, 64)
    assert p["layer_bytes"] == (1 << 20) // 64 and p["layers"] == 4
    assert scale_params("pagerank", {}, 4)["vertices"] == 1024
    assert scale_params("zipfian", {"n": 1000}, 8)["footprint"] == 256 * 1024 // 8
    assert scale_size(128 << 20, 1 << 12) == 32 << 10
    with pytest.raises(DisaggError, match="power of two"):
        scale_params("zipfian", {}, 3)
    w = generate("uniform", n=40000, footprint=256 * 1024, seed=3)
    s = sample_pages(w, 4, seed=1)
    pages = np.unique(s["vaddr"] >> np.uint64(12))
    assert 8 <= len(pages) <= 24                                    # about 64 / 4 pages, renumbered densely
    assert pages.tolist() == list(range(pages[0], pages[0] + len(pages)))
    assert 0.15 < len(s) / len(w) < 0.35
    assert np.array_equal(sample_pages(w, 4, seed=1), s)
    assert np.array_equal(sample_pages(w, 1), w)


def test_points_and_config_rewrite():
    pts = points_for([4096, 8192], ways=4, lines=(64,), link_latencies=(None, 32))
    assert len(pts) == 4 and pts[0].sets == 16
    cfg = with_point(FakeConfig(), pts[3])
    assert cfg.system.excache == ExCacheParams(64, 32, 4) and cfg.system.link.latency == 32
    for bad, message in (([5000], "power-of-two number of sets"), ([], "at least one"),
                         ([4096, 4096], "same point twice")):
        with pytest.raises(DisaggError, match=message):
            points_for(bad)
    with pytest.raises(DisaggError, match="no ExCacheParams"):
        with_point(LinkParams(), pts[0])


@pytest.mark.parametrize("jobs", [1, 2])
def test_sweep_with_injected_run(tmp_path, jobs):
    w = generate("default", n=6000)
    pts = points_for([4096, 16384, 65536], ways=4)
    rows = run_sweep(w, pts, run_fn=fake_run, base_config=FakeConfig(), jobs=jobs, progress=False)
    assert [r["size"] for r in rows] == [4096, 16384, 65536]
    slow = [r["slowdown"] for r in rows]
    assert slow == sorted(slow, reverse=True) and slow[-1] >= 1.0
    assert rows[0]["stat_misses"] > rows[-1]["stat_misses"]
    assert all(r["local_access_cycles"] == 4 for r in rows)          # measured from the runs' hits
    assert rows[0]["local_cycles"] == int(w["think"].sum()) + 4 * len(w)
    csv_p, json_p, png_p = write_outputs(rows, tmp_path, meta={"workload": "default"})
    with open(csv_p) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and float(table[0]["slowdown"]) == pytest.approx(slow[0])
    doc = json.loads(json_p.read_text())
    assert doc["meta"]["workload"] == "default" and len(doc["rows"]) == 3
    assert png_p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_cli_errors(capsys):
    assert main(["sweep", "--sizes", "4K,zz"]) == 2
    assert "comma-separated list of sizes" in capsys.readouterr().err
    assert main(["sweep", "--workload", "nope"]) == 2
    assert "unknown workload 'nope'" in capsys.readouterr().err
    assert main(["sweep", "--sizes", "5K"]) == 2
    assert "power-of-two number of sets" in capsys.readouterr().err
    assert main(["sweep", "--list-workloads"]) == 0
    assert "pointer_chase" in capsys.readouterr().out


def test_points_rewrite_a_system_config():
    from emu import config as config_mod
    pt = points_for([32768], ways=8, lines=(128,), link_latencies=(250,))[0]
    cfg = with_point(config_mod.SystemConfig(), pt)
    assert (cfg.cache.sets, cfg.cache.ways, cfg.cache.line_bytes, cfg.link.latency) == (32, 8, 128, 250)
    assert cfg.params.excache.sets == 32
    with pytest.raises(DisaggError):
        with_point(config_mod.SystemConfig(), points_for([1 << 30], ways=1)[0])


def test_sweep_saves_the_trace_it_would_run(tmp_path, capsys):
    from emu.traces import load, load_meta
    p = tmp_path / "w.dtrace"
    # --sizes 5K fails after the workload is prepared and saved: no RTL run is needed for this check.
    assert main(["sweep", "--workload", "zipfian", "-p", "n=2000", "--cpu-cache", "--l1", "1K:2", "--llc", "4K:4",
                 "--save-trace", str(p), "--sizes", "5K"]) == 2
    w = load(p)
    meta = load_meta(p)
    assert meta["workload"] == "zipfian" and meta["cpu_cache"]["fills"] == (w["op"] == 0).sum()
    assert 0 < len(w) < 2000 and ((w["vaddr"] % 64) == 0).all()
