"""Each block's cocotb tests on Icarus Verilog as well as Verilator: a short test per block in the default suite.

Every block folder runs on Icarus in full with ``pytest --sim icarus sim_tests/<block>``. A failure here is re-run
on Verilator with the same seed and the message says whether it passes there (a failure on one simulator only).
Icarus comes from Debian's ``iverilog`` (``scripts/setup_system.sh``); without it these tests fail saying so.
"""

import json

from sim_tests.lib.runner import run_cocotb


def test_excache_directed_on_icarus(request):
    """The ExCache's directed test (hits, misses, write-backs, maintenance, firmware miss path) on Icarus."""
    from sim_tests.excache.test_excache import sim
    run = sim("default")
    run.sim = "icarus"
    run_cocotb(request, run, testcase="directed")


def test_mmu_on_icarus(request):
    """The MMU's random test (TLB, page-table walks, faults served by firmware) on Icarus, 2,000 accesses."""
    from sim_tests.mmu.test_mmu import sim
    run = sim("axiram", 2000)
    run.sim = "icarus"
    run_cocotb(request, run)


def test_netif_wire_on_icarus(request):
    """The network interface against the golden transport model on a lossy wire, on Icarus."""
    from sim_tests.netif.test_netif_wire import sim
    run = sim("node0")
    run.config = {**run.config, "n_msgs": 150, "n_frames": 500}
    run.sim = "icarus"
    run_cocotb(request, run)


def test_stream_register_window_on_icarus(request):
    """The recorded VCD window of the stream register, checked by the protocol checker, on Icarus."""
    from sim_tests.waves.stream_reg import StreamRegister
    from sim_tests.lib.runner import SimRun
    run_cocotb(request, SimRun(block="waves_stream_reg", component_factory=lambda cfg: StreamRegister(cfg["width"]),
                               config={"width": 8}, test_module="sim_tests.waves.cocotb_stream_reg", sim="icarus"))


def test_system_on_icarus(request):
    """The whole system with its firmware (hardware miss path): two processes at the same virtual addresses see
    only their own data, on Icarus (27 s with the Icarus build, measured)."""
    from sim_tests.system import test_system
    run = test_system.sim("hardware")
    run.sim = "icarus"
    run.extra_env = {"DISAGG_SYSTEM_TEST": json.dumps({**test_system.KNOBS, "batches": 2})}
    run_cocotb(request, run, testcase="test_same_vaddr_isolation")
