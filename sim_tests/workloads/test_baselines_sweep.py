"""Baselines, scaling, and the sweep machinery (with an injected Python run function; the real-RTL sweep is
in test_sweep_rtl.py)."""

import csv
import json
from collections import OrderedDict

import numpy as np
import pytest

from emu.baselines import SWAP_DEVICES, SwapDevice, Timing, baseline_cycles, local_cycles, page_cache_misses
from emu.cli import main
from emu.errors import DisaggError
from emu.config import SystemConfig, small_config
from emu.sweeps import SIZE, Axis, grid, parse_axis, point_config, run_sweep, write_outputs
from emu.workload_format import OP_WRITE
from emu.workloads import generate
from emu.workloads.scale import sample_pages, scale_params, scale_size


def fake_run(config, workload, check=True):
    """A set-associative LRU write-back cache in Python: hit 4 cycles, miss 4 * link latency + 20."""
    ex, lat = config.cache, config.link.latency
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
    axes = [Axis("link.latency", (16, 32)), Axis(SIZE, (4096, 8192))]
    pts = grid(axes)
    assert len(pts) == 4 and pts[3].values == (("link.latency", 32), (SIZE, 8192))
    cfg = point_config(SystemConfig().with_overrides(["cache.ways=4", "cache.line_bytes=64"]), pts[3])
    assert (cfg.cache.sets, cfg.cache.ways, cfg.cache.line_bytes, cfg.link.latency) == (32, 4, 64, 32)
    with pytest.raises(DisaggError, match="power-of-two number of sets"):
        point_config(SystemConfig(), grid([Axis(SIZE, (5000,))])[0])
    for bad, message in (((), "at least one"), ((4096, 4096), "same point twice")):
        with pytest.raises(DisaggError, match=message):
            Axis(SIZE, bad)
    with pytest.raises(DisaggError, match="swept twice"):
        grid([Axis("cache.ways", (2,)), Axis("cache.ways", (4,))])


def test_vary_parses_any_setting_of_the_schema():
    assert parse_axis("link.latency=16,64,256") == Axis("link.latency", (16, 64, 256))
    assert parse_axis("link.bandwidth=4,0.5").values == (4.0, 0.5)
    assert parse_axis("cache.policy=lru,fifo").values == ("lru", "fifo")
    assert parse_axis("cache.size=4K,1M").values == (4096, 1 << 20)
    assert parse_axis("memory.dram_bytes=64K").values == (65536,)
    for bad, message in (("nope.x=1", "unknown section [nope]"), ("cache.wayz=1", "unknown setting"),
                         ("cache.ways=a", "'a' is not an integer"), ("cache.policy=1", "not a string"),
                         ("cache.ways=", "comma-separated"), ("cache.ways", "must look like"),
                         ("ways=2", "section.key")):
        with pytest.raises(DisaggError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_axis(bad)


@pytest.mark.parametrize("jobs", [1, 2])
def test_sweep_with_injected_run(tmp_path, jobs):
    w = generate("default", n=6000, footprint=1 << 20, hot=64 << 10)
    axes = [Axis(SIZE, (4096, 16384, 65536))]
    rows = run_sweep(w, axes, base_config=small_config(), run_fn=fake_run, workers=jobs, processes=False,
                     progress=False)
    assert [r["size"] for r in rows] == [4096, 16384, 65536]
    slow = [r["slowdown"] for r in rows]
    assert slow == sorted(slow, reverse=True) and slow[-1] >= 1.0
    assert rows[0]["stat_misses"] > rows[-1]["stat_misses"]
    assert all(r["local_access_cycles"] == 4 for r in rows)          # measured from the runs' hits
    assert rows[0]["local_cycles"] == int(w["think"].sum()) + 4 * len(w)
    csv_p, json_p, png_p = write_outputs(rows, tmp_path, meta={"workload": "default"}, axes=axes)
    with open(csv_p) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and float(table[0]["slowdown"]) == pytest.approx(slow[0])
    doc = json.loads(json_p.read_text())
    assert doc["meta"]["workload"] == "default" and len(doc["rows"]) == 3
    assert png_p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def failing_run(config, workload, check=True):
    """fake_run, but the 128-set points fail the way a golden-model mismatch does."""
    if config.cache.sets == 128:
        raise DisaggError("access 17: read 0x1 but the golden model has 0x2")
    return fake_run(config, workload, check)


def test_a_failing_point_is_reported_and_the_others_kept(tmp_path):
    w = generate("default", n=3000, footprint=1 << 20, hot=64 << 10)
    axes = [Axis("link.latency", (16, 64)), Axis("cache.sets", (48, 64, 128))]
    rows = run_sweep(w, axes, base_config=small_config(), run_fn=failing_run, workers=2, processes=False,
                     progress=False, out=tmp_path)
    assert len(rows) == 6 and rows.failed == 4
    by = {(r["link.latency"], r["cache.sets"]): r for r in rows}
    assert by[(64, 64)]["status"] == "ok" and by[(64, 64)]["cycles"] > by[(16, 64)]["cycles"]
    assert "golden model" in by[(16, 128)]["error"]
    assert "impossible configuration" in by[(16, 48)]["error"]     # never run
    # Faceted plot over the second setting, the failed points left out.
    write_outputs(rows, tmp_path, meta={}, axes=axes)
    # Results were written as the points finished: the two that ran and the two mismatches.
    lines = [json.loads(t) for t in (tmp_path / "points.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in lines) == ["error", "error", "ok", "ok"]


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
    pt = grid([Axis(SIZE, (32768,)), Axis("cache.ways", (8,)), Axis("cache.line_bytes", (128,)),
               Axis("link.latency", (250,))])[0]
    cfg = point_config(SystemConfig(), pt)
    assert (cfg.cache.sets, cfg.cache.ways, cfg.cache.line_bytes, cfg.link.latency) == (32, 8, 128, 250)
    assert cfg.params.excache.sets == 32
    with pytest.raises(DisaggError):
        point_config(SystemConfig(), grid([Axis(SIZE, (1 << 30,)), Axis("cache.ways", (1,))])[0])


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


@pytest.mark.parametrize("args, message", [
    (["--vary", "link.latencyy=16,64"], "--vary link.latencyy: unknown setting"),
    (["--vary", "lnk.latency=16"], "unknown section [lnk]"),
    (["--vary", "cache.ways=2,four"], "'four' is not an integer"),
    (["--vary", "cache.ways=2,2"], "the same point twice"),
    (["--vary", "cache.ways=2", "--vary", "cache.ways=4"], "swept twice"),
    (["--cluster", "localhost:8786"], "--cluster must be a scheduler address like tcp://HOST:8786"),
    (["--cluster", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers applies to the local cluster"),
    (["--workers", "0"], "--workers must be a positive integer"),
])
def test_sweep_grid_and_engine_errors_are_one_line(capsys, args, message):
    assert main(["sweep", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("disagg: error: ") and message in err, err
