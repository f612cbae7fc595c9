"""The compiled DRAM's fill engine (memory.fill_bytes_per_cycle) against zeroing through the MMU's window.

The memory monitor zero-fills every fresh frame and clears the page table at boot. Through the MMU's memory
window that is one 8-byte beat per cycle on the MMU's AXI port; the default is the DRAM's fill engine at
64 bytes per cycle (docs/system.md, "Zero-filling frames"). Only time may differ: on the same workload (three
processes, refused faults, a process exit and a start, frames freed and reused) every access must get the
same answer, memory as read back through the window must be the same, the same faults must be served, and
the engine must be the only difference in the DRAM's traffic (no FILL bursts through the window).
"""

import numpy as np
import pytest

from emu.config import SystemConfig
from emu.errors import DisaggError
from emu.system.processes import Process
from sim_tests.harness.test_axi_memory import _run
from sim_tests.harness.test_system_harness import PAGE, REGION, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("harness-system")


def _config(fill):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = "hardware"
    values["memory"].update(fill_bytes_per_cycle=fill)
    return SystemConfig(values, source=f"test config (fill {fill})")


def test_fill_engine_changes_only_time():
    w = _workload(default_seed("fill-engine"), n=2000)
    idx = np.arange(len(w))
    keep = ~(((w["pid"] == 2) & (idx >= 1000)) | ((w["pid"] == 3) & (idx < 500)))
    w = w[keep]
    procs = lambda: [Process(1, REGION), Process(2, REGION, exit_at=int(keep[:1000].sum())),  # noqa: E731
                     Process(3, REGION, start_at=int(keep[:500].sum()))]
    (s_win, img_win, dram_win), (s_eng, img_eng, dram_eng) = (_run(_config(f), w, procs()) for f in (0, 64))
    for s in (s_win, s_eng):
        assert s["check"]["checked"] == len(w) and s["check"]["mismatches"] == 0
    assert s_eng["faults"] == s_win["faults"]                       # the same accesses refused
    assert s_eng["memory"]["faults"] == s_win["memory"]["faults"] > 0
    assert img_eng == img_win and any(any(b) for b in img_eng.values())
    # Each fresh frame and the page table's clearing is one fill; through the window each was one FILL (one
    # burst or more); every other write is the same.
    assert dram_win["fills"] == 0 and dram_eng["fills"] > 1 and dram_eng["fill_bytes"] % PAGE == 0
    assert dram_win["write_bursts"] - dram_eng["write_bursts"] >= dram_eng["fills"]
    # A page takes latency + PAGE / 64 cycles instead of ~PAGE / 8 beats: the run is shorter.
    assert s_eng["cycles"] < s_win["cycles"]


def test_fill_bytes_per_cycle_is_checked():
    values = {k: dict(v) for k, v in SMALL.items()}
    values["memory"]["fill_bytes_per_cycle"] = -1
    with pytest.raises(DisaggError, match="fill_bytes_per_cycle must be from 0 to 4096"):
        SystemConfig(values)
