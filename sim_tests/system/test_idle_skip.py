"""Idle-cycle skipping (``emu/harness/driver.cpp``, docs/system.md) is exact: the same workload run with and
without it gives the same cycle counts and the same statistics, bit for bit, including on a lossy link (the
retransmission timers), with page faults served by firmware, and in the software miss path.

Each comparison also checks that skipping really happened (otherwise the test would prove nothing).
"""

import numpy as np
import pytest

from emu.config import small_config
from emu.system.runner import SystemRunner
from emu.workloads import generate

#: Statistics that differ between the two runs by design (wall time, the skip counters themselves, the
#: configuration switch and the build description).
_NOT_COMPARED = ("speed", "build", "config", "config_key")

#: A link that loses, duplicates and reorders frames: retransmission timers run, frames wait in both lanes.
LOSSY = ["link.loss=0.1", "link.duplicate=0.05", "link.reorder=0.05"]


def _run(overrides, workload, skip):
    # The small on-chip ExCache (configs/small.toml): a model that builds fast, shared with the other system tests.
    config = small_config([*overrides, f"harness.idle_skip={'true' if skip else 'false'}"])
    runner = SystemRunner(config)
    try:
        assert runner.model.idle_skip_supported, "the model's free-running registers were not found"
        stats = runner.run(workload, check=True)
        model = runner.model.stats()
    finally:
        runner.close()
    stats["firmware"].pop("seconds")
    return stats, model


def _compare(overrides, workload):
    plain, plain_model = _run(overrides, workload, skip=False)
    fast, fast_model = _run(overrides, workload, skip=True)
    assert plain["speed"]["idle_skipped_cycles"] == 0
    assert fast["speed"]["idle_skipped_cycles"] > 0, "nothing was skipped: the comparison proves nothing"
    for key in plain:
        if key not in _NOT_COMPARED:
            assert fast[key] == plain[key], f"statistics differ in {key!r}"
    # Every counter of the driver (latency sums, per-stage miss cycles, probe counts), but the skip counters.
    for name in plain_model.dtype.names:
        if not name.startswith("idle_"):
            assert np.array_equal(fast_model[name], plain_model[name]), f"driver counter {name} differs"
    total = sum(len(x) for x in workload) if isinstance(workload, list) else len(workload)
    assert fast["check"]["checked"] == total
    return fast


def test_default_workload_same_with_and_without_skipping():
    # The default mix, sized for the small ExCache: two processes, page faults served by the memory monitor.
    _compare([], generate("default", seed=5, n=6000, footprint=1 << 20, hot=64 << 10))


def test_lossy_link_same_with_and_without_skipping():
    # Long think times between accesses, frames lost, duplicated and reordered: skips must stop exactly where
    # a retransmission timer is armed or a frame waits in a lane.
    s = _compare(LOSSY, generate("zipfian", seed=7, n=2500, think=40.0))
    assert s["network"]["retransmissions"] > 0


def test_four_cpu_threads_same_with_and_without_skipping():
    # A skip ends when the first of the threads is done thinking; the others' think times advance with it.
    from emu.workloads.threads import generate_streams
    s = _compare(["cpu.threads=4"], generate_streams("uniform", 4, seed=2, n=600, think=60.0))
    assert len(s["threads"]) == 4


@pytest.mark.slow
def test_software_miss_path_same_with_and_without_skipping():
    _compare(["system.miss_path=software"], generate("pointer_chase", seed=3, n=3000, think=25.0))
