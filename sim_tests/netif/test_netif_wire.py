"""One NetIf with cocotbext-axi on the wire side: framing, retransmission and receive checks against the
golden transport model and the Python codec (cocotb + Verilator)."""

import pytest

from sim_tests.lib.runner import SimRun, run_cocotb
from sim_tests.netif.tops import netif_from_config

CONFIGS = {
    # node 0 of 4 (the catalogued node id and peer count) with a short timeout so retransmissions are quick;
    # retry_limit 8: the transmit test's 5% loss (acks never lost) misses 8 rounds in a row with p ~ 4e-11
    "node0": dict(node_id=0, n_nodes=4, window=8, timeout=300, max_payload=64, rx_buffer_msgs=4, retry_limit=8),
    # a middle node id, 32-bit wire
    "node2_w32": dict(node_id=2, n_nodes=3, data_width=32, window=4, timeout=400, max_payload=32, rx_buffer_msgs=2,
                      retry_limit=3),
}


def sim(name):
    cfg = {"netif": CONFIGS[name], "n_msgs": 400, "n_frames": 1500}
    return SimRun(block="netif_wire", component_factory=netif_from_config, config=cfg,
                  test_module="sim_tests.netif.cocotb_wire", toplevel="netif",
                  gtkw_signals=["s_axis__tvalid", "s_axis__tready", "s_axis__tlast", "m_axis__tvalid",
                                "m_axis__tready", "m_axis__tlast", "rx__hdr__valid", "tx__hdr__valid"])


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "node2_w32" else n
                                  for n in CONFIGS])
def test_wire(request, name):
    """node2_w32 (32-bit wire) is in the slow suite: it needs a Verilator build of its own."""
    run_cocotb(request, sim(name))


def test_switch(request):
    """The Switch alone, all ports driven by cocotbext-axi."""
    from hw.network.switch import Switch
    cfg = {"node_ids": [3, 0, 5], "n_frames": 600}
    run_cocotb(request, SimRun(block="netif_switch", component_factory=lambda c: Switch(3, 64, c["node_ids"]),
                               config=cfg, test_module="sim_tests.netif.cocotb_switch", toplevel="switch"))
