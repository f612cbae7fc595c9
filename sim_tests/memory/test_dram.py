"""hw.memory.dram.AxiDramModel against its golden model (emu.models.dram.DramTimingModel), cycle for cycle.

A random AXI manager (bursts of 1-20 beats at random addresses, reads and writes mixed, several read
addresses ahead, random gaps on every valid and 30 % backpressure on rready/bready) drives the RTL in the
Amaranth simulator and the model with the same signals; every output of every cycle must agree (data only
with valid). The compiled twin (emu/harness/axi_memory.h) is checked against the RTL through whole-system
runs (sim_tests/harness/test_axi_memory.py); its default read slots must be the RTL's (parsed here).
"""

import random
import re
from pathlib import Path

import pytest

from emu.models.dram import DramTimingModel, ManagerSignals
from hw.memory.dram import AxiDramModel
from sim_tests.memory.helpers import run

SIZE, BB = 1 << 12, 8
OUTS = ("arready", "awready", "wready", "rvalid", "bvalid")


class RandomManager:
    """AXI manager that keeps ``ahead`` read bursts asked for, issues writes between them and checks nothing
    itself (the comparison is the test). Valid stays high until ready, as AXI requires."""

    def __init__(self, rng, n_bursts, ahead):
        self.rng, self.left, self.ahead = rng, n_bursts, ahead
        self.s = ManagerSignals()
        self.reads_open = 0          # read bursts asked for and not finished
        self.w_beats = 0             # beats of the current write still to send
        self.writing = False

    def next_cycle(self):
        """Choose this cycle's signals (those with valid high stay as they are)."""
        r, s = self.rng, self.s
        if not s.arvalid and not s.awvalid and not self.writing and self.left and r.random() < 0.6:
            self.left -= 1
            if r.random() < 0.35:
                self.writing, self.w_beats = True, r.randint(1, 20)
                s.awvalid, s.awaddr, s.awid = True, r.randrange(0, 2 * SIZE, BB), r.randrange(2)
            elif self.reads_open < self.ahead:
                s.arvalid, s.araddr, s.arlen, s.arid = True, r.randrange(0, 2 * SIZE, BB), r.randint(0, 19), r.randrange(2)
        if self.writing and not s.awvalid and not s.wvalid and self.w_beats and r.random() < 0.8:
            s.wvalid, s.wdata, s.wstrb = True, r.getrandbits(64), r.choice([0xFF, 0xFF, r.getrandbits(8)])
            s.wlast = self.w_beats == 1
        s.rready, s.bready = r.random() < 0.7, r.random() < 0.7

    def handshakes(self, out):
        s = self.s
        if s.arvalid and out["arready"]:
            s.arvalid = False
            self.reads_open += 1
        if s.awvalid and out["awready"]:
            s.awvalid = False
        if s.wvalid and out["wready"]:
            s.wvalid, self.w_beats = False, self.w_beats - 1
        if s.bready and out["bvalid"]:
            self.writing = False
        if s.rready and out["rvalid"] and out["rlast"]:
            self.reads_open -= 1

    def done(self):
        s = self.s
        return not (self.left or self.reads_open or self.writing or s.arvalid or s.awvalid)


def _compare(seed, latency, read_slots, n_bursts=150):
    dut = AxiDramModel(addr_width=16, data_width=64, size_bytes=SIZE, latency=latency, read_slots=read_slots)
    model = DramTimingModel(size_bytes=SIZE, beat_bytes=BB, latency=latency, read_slots=read_slots)
    rng = random.Random(seed)
    mgr = RandomManager(rng, n_bursts, ahead=rng.randint(2, read_slots + 1))
    axi = dut.axi
    stats = {"cycles": 0, "beats": 0, "max_open": 0}
    where = f"seed {seed}, latency {latency}, read_slots {read_slots}"

    async def bench(ctx):
        while not mgr.done():
            mgr.next_cycle()
            for name, value in vars(mgr.s).items():
                ctx.set(getattr(axi, name), int(value))
            want = model.step(mgr.s)
            got = {k: ctx.get(getattr(axi, k)) for k in OUTS}
            if got["rvalid"]:
                got.update(rdata=ctx.get(axi.rdata), rlast=ctx.get(axi.rlast), rid=ctx.get(axi.rid))
            if got["bvalid"]:
                got["bid"] = ctx.get(axi.bid)
            assert got == {k: int(v) for k, v in want.items()}, f"{where}, cycle {model.cycle - 1}"
            stats["beats"] += bool(want["rvalid"] and mgr.s.rready)
            stats["max_open"] = max(stats["max_open"], len(model.reads))
            mgr.handshakes(want)
            await ctx.tick()
            assert model.cycle < 20000, where
        stats["cycles"] = model.cycle

    run(dut, bench)
    return stats


@pytest.mark.parametrize("latency,read_slots", [(0, 1), (1, 4), (4, 4), (4, 1), (13, 2), (30, 16)])
@pytest.mark.parametrize("seed", [1, 2])
def test_matches_golden_model(seed, latency, read_slots):
    print(f"seed {seed}")
    stats = _compare(seed, latency, read_slots)
    assert stats["beats"] > 300
    if read_slots > 1:   # the pipeline was used: bursts overlapped
        assert stats["max_open"] >= 2


def test_back_to_back_bursts_have_no_gap():
    """Reads asked for ahead stream one beat per cycle across bursts once the first latency is paid; with one
    slot each burst pays latency + 1 cycles (the unpipelined model)."""
    def cycles(slots):
        model = DramTimingModel(size_bytes=SIZE, beat_bytes=BB, latency=4, read_slots=slots)
        s = ManagerSignals(rready=True)
        n, beats, first, last = 0, 0, None, None
        while beats < 32:
            s.arvalid, s.araddr, s.arlen = n < 4, 64 * n, 7
            out = model.step(s)
            n += bool(s.arvalid and out["arready"])
            if out["rvalid"]:
                beats += 1
                first = model.cycle - 1 if first is None else first
                last = model.cycle - 1
        return first, last
    assert cycles(4) == (5, 5 + 31)
    assert cycles(1) == (5, 5 + 3 * 13 + 7)


def test_compiled_model_has_the_same_default_slots():
    header = (Path(__file__).parents[2] / "emu" / "harness" / "axi_memory.h").read_text()
    found = re.search(r"DEFAULT_READ_SLOTS\s*=\s*(\d+)", header)
    assert found and int(found[1]) == AxiDramModel.DEFAULT_READ_SLOTS


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_read_slots_checked():
    with pytest.raises(ValueError, match="read_slots must be an integer from 1 to 16"):
        AxiDramModel(addr_width=16, data_width=64, size_bytes=SIZE, read_slots=0)


def test_read_slots_setting_reaches_both_models():
    """``memory.read_slots`` enters in the configuration (one error line for a bad value), becomes
    ``SystemParams.dram_read_slots`` and the RTL DRAM model's ``read_slots``, and is left out of the compiled
    model's cache key (the compiled DRAM takes it at run time, like the latency)."""
    from emu.config import load_config
    from emu.errors import DisaggError
    from hw.system.components import MemoryComponent
    config = load_config(None, ["memory.read_slots=2"])
    assert config.memory.read_slots == 2 and config.params.dram_read_slots == 2
    assert load_config(None, []).params.dram_read_slots == AxiDramModel.DEFAULT_READ_SLOTS
    p = config.params
    mem = MemoryComponent(p.mmu, p.mem_netif, dram_bytes=1 << 16, dram_latency=4, dram_read_slots=p.dram_read_slots)
    assert mem.memory.dram.read_slots == 2
    assert type(p).from_dict(p.as_dict()).dram_read_slots == 2
    for bad in ("0", "17", "-1"):
        with pytest.raises(DisaggError) as info:
            load_config(None, [f"memory.read_slots={bad}"])
        assert "memory.read_slots must be from 1 to 16" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DisaggError, match="impossible rack: memory.read_slots"):
        load_config(None, ["memory.read_slots=2", "topology.processors=2"]).rack_params()


def test_read_slots_bad_value_is_one_line_on_the_command_line():
    import subprocess
    import sys
    root = Path(__file__).parents[2]
    proc = subprocess.run([sys.executable, "-m", "emu.cli", "run", "--set", "memory.read_slots=0"], cwd=root,
                          capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                             "PYTHONPATH": str(root)})
    assert proc.returncode == 2, proc
    assert proc.stderr.strip().count("\n") == 0 and "memory.read_slots must be from 1 to 16" in proc.stderr, proc


@pytest.mark.slow
def test_read_slots_setting_times_the_compiled_dram():
    """The compiled DRAM takes ``memory.read_slots`` at run time (one model for every value): 4 threads
    streaming line misses through 8 MSHRs overlap their DRAM reads only with several slots, so one slot
    takes more cycles for the same misses and data (checked against the golden model)."""
    import numpy as np
    from emu.config import load_config
    from emu.system.processes import Process
    from emu.system.runner import SystemRunner
    from emu.workload_format import OP_READ
    from emu.workloads._rows import assemble
    threads, lines = 4, 64
    streams = [assemble(1, OP_READ, 0x10_0000 + (t + threads * np.arange(lines, dtype=np.uint64)) * np.uint64(64),
                        8, 0, 0) for t in range(threads)]
    cycles, keys = {}, set()
    for slots in (1, 4):
        config = load_config(None, ["cache.line_store=onchip", "cache.sets=16", "cache.ways=1", "cache.mshrs=8",
                                    f"cpu.threads={threads}", f"memory.read_slots={slots}"])
        runner = SystemRunner(config)
        try:
            stats = runner.run(streams, [Process(1)], check=True)
        finally:
            runner.close()
        keys.add(runner.built.key)
        assert not stats["faults"]
        cycles[slots] = stats["cycles"]
    assert len(keys) == 1, keys
    assert cycles[1] > cycles[4], cycles
