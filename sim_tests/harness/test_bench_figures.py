"""``disagg bench``'s harness/cocotb ratios: the harness figures they use are those of the configuration the
cocotb way ran on (``--cocotb-config``), taken from its row, from the base run, or measured once more.

Pure arithmetic on figure dictionaries: nothing is built or run here (the slow ``test_bench_smoke`` runs the
whole bench)."""

import pytest

from emu import bench as bench_mod


def _figures(cocotb_configuration):
    out = {"workload_accesses": 1000, "harness_build_seconds": 1.0, "harness_vs_raw": 0.9,
           "harness": {"accesses": 1000, "cycles": 50_000, "seconds": 2.0, "cpu_seconds": 1.0},
           "raw": {"accesses": 1000, "cycles": 50_000, "seconds": 1.0, "cpu_seconds": 1.0},
           "cocotb": {"accesses": 100, "cycles": 2_000, "seconds": 10.0, "cpu_seconds": 5.0, "build_seconds": 3.0,
                      "configuration": cocotb_configuration}}
    for name in ("harness", "raw", "cocotb"):
        r = out[name]
        out[f"{name}_accesses_per_s"] = r["accesses"] / r["seconds"]
        out[f"{name}_cycles_per_s"] = r["cycles"] / r["seconds"]
        out[f"{name}_cycles_per_cpu_s"] = r["cycles"] / r["cpu_seconds"]
        out[f"{name}_accesses_per_cpu_s"] = r["accesses"] / r["cpu_seconds"]
    return out


SMALL_ROW = {"name": "small", "what": "", "overrides": [], "accesses": 1000, "harness_cycles": 40_000,
             "harness_seconds": 4.0, "harness_cpu_seconds": 2.5, "harness_firmware_seconds": 1.0,
             "raw_cycles": 40_000, "raw_seconds": 1.0, "raw_cpu_seconds": 1.0, "raw_mismatches": 0,
             "harness_cycles_per_s": 10_000.0, "harness_cycles_per_cpu_s": 16_000.0, "harness_firmware_share": 0.25,
             "raw_cycles_per_s": 40_000.0, "raw_cycles_per_cpu_s": 40_000.0}


def test_ratio_on_the_base_configuration_uses_the_base_harness_run():
    out = _figures("default")
    bench_mod._cocotb_ratios(out, None, None, "default", [])
    assert out["harness_vs_cocotb"] == pytest.approx((1000 / 2.0) / (100 / 10.0))      # 50
    assert out["harness_vs_cocotb_cpu"] == pytest.approx((1000 / 1.0) / (100 / 5.0))   # 50
    assert out["cocotb_harness"]["configuration"] == "default"
    table = bench_mod.format_table(out)
    assert "cocotb, every clock edge" in table and "both on configuration" not in table


def test_ratio_on_another_configuration_uses_its_row():
    out = _figures("small")
    out["configurations"] = [SMALL_ROW]
    bench_mod._cocotb_ratios(out, None, None, "small", [SMALL_ROW])
    assert out["harness_vs_cocotb"] == pytest.approx((1000 / 4.0) / (100 / 10.0))      # 25, not the base's 50
    assert out["harness_vs_cocotb_cpu"] == pytest.approx((1000 / 2.5) / (100 / 5.0))   # 20
    assert out["cocotb_harness"] == {"accesses": 1000, "seconds": 4.0, "cpu_seconds": 2.5, "configuration": "small"}
    table = bench_mod.format_table(out)
    assert "cocotb, every edge (small)" in table and "both on configuration small" in table
    assert "(1)/(3) harness vs cocotb: 25.0, per CPU-second 20.0" in table


def test_ratio_on_an_unmeasured_configuration_runs_the_harness_once_more(monkeypatch):
    calls = []

    def fake_harness_run(config, workload):
        calls.append((config, workload))
        return {"accesses": 1000, "speed": {"wall_seconds": 8.0}}, 4.0
    monkeypatch.setattr(bench_mod, "_harness_run", fake_harness_run)
    out = _figures("small")
    bench_mod._cocotb_ratios(out, "the small config", "the workload", "small", [dict(SMALL_ROW, name="large")])
    assert calls == [("the small config", "the workload")]
    assert out["harness_vs_cocotb"] == pytest.approx((1000 / 8.0) / (100 / 10.0))
    assert out["harness_vs_cocotb_cpu"] == pytest.approx((1000 / 4.0) / (100 / 5.0))


def test_cocotb_config_checks_the_name_and_the_configuration():
    from emu.config import load_config
    from emu.errors import DisaggError
    base = load_config(None, ["memory.page_bytes=256", "cache.line_bytes=64"])
    assert bench_mod.cocotb_config(base, "default") is base
    assert bench_mod.cocotb_config(base, "small").params.excache.sets == 64
    with pytest.raises(DisaggError, match="unknown configuration 'nope'"):
        bench_mod.cocotb_config(base, "nope")
    with pytest.raises(DisaggError, match="configuration 'large': .*line_bytes"):
        bench_mod.cocotb_config(base, "large")
