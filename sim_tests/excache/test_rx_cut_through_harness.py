"""Receive cut-through (``cache.rx_cut_through``) end to end in the fast harness, on a link that corrupts frames.

The processor's network interface hands line responses to the ExCache's fill while their frames arrive; 5 % of
frames are corrupted on the wire, so many a line shown early is discarded by its CRC verdict and resent. The
small configuration of ``sim_tests/harness/test_system_harness.py`` (three processes, homonyms, refused and
served page faults), blocking and 8 MSHRs with 4 threads, both miss paths: every answer checked against the
golden system model. A model build each (~2-4 min of a core): behind ``-m slow``; the default suite has the
ExCache-level comparisons of ``test_rx_cut_through.py``.
"""

import pytest

from emu.config import SystemConfig
from emu.system.runner import SystemRunner
from sim_tests.harness.test_system_harness import MODES, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = [pytest.mark.xdist_group("harness-system"), pytest.mark.slow]


@pytest.mark.parametrize("mshrs", [1, 8])
@pytest.mark.parametrize("miss_path", MODES)
def test_cut_through_on_a_corrupting_link(miss_path, mshrs):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = miss_path
    values["cache"].update(rx_cut_through=True, mshrs=mshrs)
    values["link"]["corrupt"] = 0.05
    values.setdefault("cpu", {})["threads"] = 4 if mshrs > 1 else 1
    config = SystemConfig(values, source=f"test config ({miss_path}, cut-through, mshrs {mshrs})")
    assert config.params.proc_netif.rx_cut_through and not config.params.mem_netif.rx_cut_through
    w = _workload(default_seed("harness-cut-through"), n=3000)
    runner = SystemRunner(config)
    try:
        s = runner.run(w)
    finally:
        runner.close()
    assert s["check"]["checked"] == len(w) and s["check"]["mismatches"] == 0, s["check"]
    assert s["processor"]["misses"] > 100 and s["processor"]["writebacks"] > 0, s["processor"]
    # Frames to the processor were corrupted and dropped by their CRC: line frames among them were shown early.
    assert s["counters"]["proc_netif"]["rx_drop_crc"] > 20, s["counters"]["proc_netif"]
