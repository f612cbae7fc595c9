"""The non-blocking ExCache (``cache.mshrs`` > 1) in the fast harness, both miss paths.

The small configuration of ``sim_tests/harness/test_system_harness.py`` (three processes, homonyms, refused
faults, page faults served by the memory monitor while the cache keeps taking accesses) with 8 MSHRs and
4 CPU threads: every answer is checked against the golden system model, and the run must take fewer cycles
than the blocking cache's on the same workload. Each configuration is a model build (~1.5 min of a core),
so these are behind ``-m slow``; the default suite compares the controller with its golden model in
``test_excache_amaranth_sim.py``.
"""

import pytest

from emu.config import SystemConfig
from emu.system.runner import SystemRunner
from sim_tests.harness.test_system_harness import MODES, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = [pytest.mark.xdist_group("harness-system"), pytest.mark.slow]


def _config(miss_path, **cache):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = miss_path
    values["cache"].update(cache)
    values.setdefault("cpu", {})["threads"] = 4
    return SystemConfig(values, source=f"test config ({miss_path}, {cache})")


def _run(config, w):
    runner = SystemRunner(config)
    try:
        return runner.run(w)
    finally:
        runner.close()


@pytest.mark.parametrize("miss_path", MODES)
def test_mshrs_in_the_harness(miss_path):
    w = _workload(default_seed("harness-mshrs"), n=3000)
    blocking = _run(_config(miss_path, mshrs=1), w)
    nb = _run(_config(miss_path, mshrs=8), w)
    for s in (blocking, nb):
        assert s["check"]["checked"] == len(w) and s["check"]["mismatches"] == 0, s["check"]
    assert nb["processor"]["misses"] > 100 and nb["processor"]["writebacks"] > 0, nb["processor"]
    assert nb["cycles"] < blocking["cycles"], (nb["cycles"], blocking["cycles"])
