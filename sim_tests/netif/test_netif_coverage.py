"""Directed tests of the network interface's drop and nak paths, which the random wire test does not reach
(docs/verification.md, "Uncovered lines"). Same configuration, so the same Verilator build, as test_wire[node0]."""

from sim_tests.lib.runner import SimRun, run_cocotb
from sim_tests.netif.test_netif_wire import CONFIGS
from sim_tests.netif.tops import netif_from_config


def test_drops_and_naks(request):
    cfg = {"netif": CONFIGS["node0"], "n_msgs": 400, "n_frames": 1500}
    run_cocotb(request, SimRun(block="netif_wire", component_factory=netif_from_config, config=cfg,
                               test_module="sim_tests.netif.cocotb_coverage", toplevel="netif"))
