"""``disagg bench``'s cocotb way (``emu.bench._cocotb``) on a small system: the plain ``SystemTop`` under cocotb
boots, runs a short workload with every access checked by the golden model (``emu.cosim.system_bench``), and
reports its figures.

In sessions 7-8 it ran the harness's ``HarnessTop``, whose inputs are registered on clocks only the compiled
driver raises: every register read answered 0, the firmware's boot divided by zero and ``disagg bench`` failed,
while the only test of it was behind ``-m slow``. This is its cheap default-suite check (one small build).
"""

from emu import workloads
from emu.bench import _cocotb
from emu.config import load_config

#: The small system of test_system_harness.py's bench smoke test (16 x 2 ExCache of 64 B lines on chip, 256 B
#: pages, 128 KiB of DRAM).
SMALL = ["cache.line_bytes=64", "cache.sets=16", "cache.ways=2", "cache.line_store=onchip", "tlb.entries=16",
         "tlb.ways=2", "memory.page_bytes=256", "memory.dram_bytes=131072", "link.latency=8", "network.window=4",
         "network.timeout=1024", "system.pid_width=3"]


def test_cocotb_way_runs_the_plain_top():
    config = load_config(None, SMALL)
    w = workloads.generate(workloads.DEFAULT, seed=1, **workloads.parse_params(
        workloads.DEFAULT, ["n=200", "footprint=8192", "hot=2048"]))
    r = _cocotb(config, w, 120)
    assert r["accesses"] == 120
    assert r["cycles"] > 120 and r["irq_events"] > 0       # page faults were served through the firmware
    assert r["cpu_seconds"] > 0 and r["build_seconds"] >= 0
