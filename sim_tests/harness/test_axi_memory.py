"""The compiled DRAM (emu/harness/axi_memory.h) against the RTL AxiDramModel: identical runs, sparse storage.

Both variants of the small hardware-mode configuration of ``test_system_harness.py`` run the same workload
(three processes, faults, a process exit and a start); everything the run reports must be identical (cycles,
every hardware counter, the miss-stage breakdown, per-access checks) and so must memory as the firmware
reads it back through the MMU window. The compiled variant is the harness default, so only the RTL variant
is an extra build.
"""

import numpy as np
import pytest

from emu.config import SystemConfig
from emu.errors import DisaggError
from emu.system.processes import Process
from emu.system.runner import SystemRunner
from firmware.bus import run_sync
from sim_tests.harness.test_system_harness import PAGE, REGION, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("harness-system")

# Keys of the statistics that are wall-clock or build facts, not simulation results.
_NOT_SIMULATED = {"speed", "build", "firmware", "config_key", "config", "dram"}


def _config(dram_model, **memory):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = "hardware"
    values["memory"].update(dram_model=dram_model, **memory)
    return SystemConfig(values, source=f"test config ({dram_model} DRAM)")


def _run(config, w, procs):
    runner = SystemRunner(config)
    try:
        s = runner.run(w, procs)
        run_sync(runner.firmware.flush_all())
        image = {p["pid"]: runner._fw(runner.firmware.read_process_memory(p["real_pid"], 0x10000, 6 * PAGE))
                 for p in s["processes"]}
        return s, image, runner.model.dram_stats()
    finally:
        runner.close()


def test_compiled_and_rtl_dram_give_identical_runs():
    w = _workload(default_seed("harness-axi-memory"), n=2000)
    idx = np.arange(len(w))
    keep = ~(((w["pid"] == 2) & (idx >= 1000)) | ((w["pid"] == 3) & (idx < 500)))
    w = w[keep]
    procs = lambda: [Process(1, REGION), Process(2, REGION, exit_at=int(keep[:1000].sum())),  # noqa: E731
                     Process(3, REGION, start_at=int(keep[:500].sum()))]
    # The compiled DRAM's fill engine is off: both zero frames through the MMU's window, the same AXI traffic
    # (the engine against the window: sim_tests/system/test_fill_engine.py).
    results = {model: _run(_config(model, fill_bytes_per_cycle=0), w, procs()) for model in ("rtl", "compiled")}
    (s_rtl, img_rtl, dram_rtl), (s_c, img_c, dram_c) = results["rtl"], results["compiled"]
    assert dram_rtl == {} and dram_c["read_bursts"] > 0 and dram_c["write_bursts"] > 0
    assert s_rtl["check"]["checked"] == len(w)
    for key in sorted(set(s_rtl) | set(s_c)):
        if key not in _NOT_SIMULATED:
            assert s_c.get(key) == s_rtl.get(key), key
    assert s_c["cycles"] > 0 and s_c["processor"]["misses"] > 100
    assert img_c == img_rtl and any(any(b) for b in img_c.values())
    # Only what was written with non-zero bytes is stored: the 16 KiB space in 4 KiB pages, at most all four.
    assert 1 <= dram_c["pages"] <= 4


def test_rtl_dram_size_is_limited():
    with pytest.raises(DisaggError, match="at most 16 MiB"):
        _config("rtl", dram_bytes=1 << 30)
    with pytest.raises(DisaggError, match="dram_model must be one of compiled, rtl"):
        _config("sram")
