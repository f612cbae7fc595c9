"""The harness's fast model is exact: the same runs as the plain system top driven the slow way.

``emu.system.model_cache`` compiles :class:`hw.system.top.HarnessTop`: every input (reset included) registered on
a second clock (the CSR bus's on a third, raised only in the cycles its inputs change), presented before the edge that
starts its cycle, one ``eval()`` per cycle, the interrupt lines between
calls read from an edge taken on a copy of the model (``emu/harness/driver.cpp``). The plain
:class:`hw.system.top.SystemTop` (``rst`` a top-level input, outputs sampled live between a settle ``eval()`` at
the falling edge and the rising-edge ``eval()``) is the reference here: on the same workload (three processes,
refused faults, a process exit and a start) every statistic of the run must be identical, and so must every
counter of the driver (cycles since power-on, stage sums, stalls, probe counts). Variants cover loss and corruption on the link (retransmissions), the software
miss path, and the RTL DRAM model.
"""

import numpy as np
import pytest

from emu.config import SystemConfig
from emu.harness.build import build_model, convert
from emu.system import runner as runner_module
from emu.system.processes import Process
from emu.system.runner import SystemRunner
from hw.system.probe import PROBE_CHAIN
from hw.system.top import HarnessTop, SystemTop
from sim_tests.harness.test_system_harness import REGION, SMALL, _workload
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("harness-system")

# Wall-clock and build facts, not simulation results.
_NOT_SIMULATED = {"speed", "build", "firmware", "config_key", "config"}


def _config(miss_path="hardware", dram_model="compiled", **link):
    values = {k: dict(v) for k, v in SMALL.items()}
    values["system"]["miss_path"] = miss_path
    values["memory"]["dram_model"] = dram_model
    values["link"].update(link)
    return SystemConfig(values, source=f"test config ({miss_path}, {dram_model} DRAM, link {link})")


def _run(config, w, procs, top_class, monkeypatch):
    """Run on a model of ``top_class`` (the plain top is built here, outside the harness's model cache)."""
    if top_class is SystemTop:
        def build_plain(cfg, *, trace=None, log=None):
            top = SystemTop(cfg.params, external_dram=cfg.memory.dram_model == "compiled")
            verilog, ports = convert(top, chain=list(PROBE_CHAIN[:-1]))
            assert not ports.registered_inputs
            return build_model(verilog=verilog, ports=ports, trace=trace, log=log)
        monkeypatch.setattr(runner_module, "build_system", build_plain)
    runner = SystemRunner(config)
    monkeypatch.undo()
    try:
        assert runner.built.ports.registered_inputs == (top_class is HarnessTop)
        return runner.run(w, procs), runner.model.stats()
    finally:
        runner.close()


def _compare(config, monkeypatch, n=1500):
    w = _workload(default_seed("harness-speed-equivalence"), n=n)
    procs = lambda: [Process(1, REGION), Process(2, REGION, exit_at=2 * n // 3),  # noqa: E731
                     Process(3, REGION, start_at=n // 3)]
    fast, fast_driver = _run(config, w, procs(), HarnessTop, monkeypatch)
    plain, plain_driver = _run(config, w, procs(), SystemTop, monkeypatch)
    for key in sorted(set(fast) | set(plain)):
        if key not in _NOT_SIMULATED:
            assert fast.get(key) == plain.get(key), key
    assert fast["firmware"]["irq_returns"] == plain["firmware"]["irq_returns"]
    # The driver's own counters: cycles since power-on, per-stage sums, stalls, probe counts; not the idle-skip
    # counters (bookkeeping: the plain top has no free-running registers to skip with).
    for name in plain_driver.dtype.names:
        if not name.startswith("idle_"):
            assert np.array_equal(fast_driver[name], plain_driver[name]), name
    assert fast["cycles"] > 0 and fast["processor"]["misses"] > 50
    return fast


def test_fast_model_equals_plain_top_with_loss_on_the_link(monkeypatch):
    s = _compare(_config(loss=0.05, corrupt=0.02), monkeypatch)
    assert s["network"]["retransmissions"] > 0 and s["network"]["lost"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("variant", [dict(miss_path="software"), dict(dram_model="rtl")], ids=["software", "rtl-dram"])
def test_fast_model_equals_plain_top(monkeypatch, variant):
    _compare(_config(**variant), monkeypatch)
