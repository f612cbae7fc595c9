"""Firmware polls run as one compiled loop in the harness (``Bus.wait_while``, ``h_csr_poll``): the same
register reads, cycles and statistics as the loop in Python, bit for bit, with page faults (every first touch
zero-fills a frame through the MMU's memory window, ~300 polls) and in the software miss path."""

import numpy as np
import pytest

from emu.config import small_config
from emu.system.runner import SystemRunner
from emu.workloads import generate
from firmware.bus import Bus, run_sync

_NOT_COMPARED = ("speed", "build", "config", "config_key")


def _run(overrides, workload, compiled):
    # Frames zeroed through the window (not the DRAM's fill engine): the FILL's polls are what is compared.
    runner = SystemRunner(small_config([*overrides, "memory.fill_bytes_per_cycle=0"]))
    try:
        assert runner.model.has_csr_poll, "the model has no compiled poll loop"
        runner.bus.compiled_polls = compiled       # after the boot (which zeroes the page table: ~1 M polls)
        before = runner.bus.compiled_poll_reads
        stats = runner.run(workload, check=True)
        model = runner.model.stats()
        in_loop = runner.bus.compiled_poll_reads - before
    finally:
        runner.close()
    stats["firmware"].pop("seconds")
    return stats, model, in_loop


@pytest.mark.parametrize("overrides", [[], ["system.miss_path=software"]], ids=["hardware", "software"])
def test_compiled_polls_change_nothing_but_speed(overrides):
    w = generate("default", seed=3, n=3000, footprint=256 << 10, hot=16 << 10)
    plain, plain_model, plain_loop = _run(overrides, w, compiled=False)
    fast, fast_model, fast_loop = _run(overrides, w, compiled=True)
    assert plain_loop == 0 and fast_loop > 100 * plain["memory"]["faults"] > 0, (fast_loop, plain["memory"])
    for key in plain:
        if key not in _NOT_COMPARED:
            assert fast[key] == plain[key], f"statistics differ in {key!r}"
    for name in plain_model.dtype.names:
        assert np.array_equal(fast_model[name], plain_model[name]), f"driver counter {name} differs"


class _Regs(Bus):
    def __init__(self, values):
        self.values, self.reads = list(values), 0

    async def read_reg(self, block, addr):
        self.reads += 1
        return self.values.pop(0)


def test_wait_while_is_the_plain_loop():
    bus = _Regs([1, 1, 1, 0, 7])
    assert run_sync(bus.wait_while("mmu", 3, 3, 1, 100)) == (0, 4) and bus.reads == 4
    bus = _Regs([1, 3])
    assert run_sync(bus.wait_while("mmu", 3, 3, 1, 100)) == (3, 2)          # the rejected bit ends it too
    bus = _Regs([1] * 5)
    assert run_sync(bus.wait_while("mmu", 3, 3, 1, 5)) == (1, 5) and bus.reads == 5
    with pytest.raises(ValueError, match="max_polls"):
        run_sync(bus.wait_while("mmu", 3, 3, 1, 0))
