"""Two NetIfs over two emulated links (cocotb + Verilator): exactly-once in-order delivery and bandwidth.

The traffic is generated and checked in RTL (sim_tests/netif/traffic.py) with idle insertion on the
transmit streams and backpressure on the receive streams; the link rates are inputs, so all settings
share one Verilated model. The default suite runs 30k messages (15k each way) at 0% and 1% loss and
10k (5k each way) at 10% loss, 1% corruption, and reordering/duplication; ``-m slow`` runs 100k for every
setting, and three NetIfs through the Switch (a model of its own, kept out of the default build time).
Node A receives with cut-through (``rx_cut_through``: its checker forgets what a verdict discards), node B
store and forward. Figures (bandwidth fractions, retransmissions) go to build/reports/netif_*.json.
"""

import json

import pytest

from sim_tests.lib.runner import SimRun, run_cocotb
from sim_tests.netif.tops import pair_traffic_from_config, star_from_config

# retry_limit 16: dead-peer detection on, and it must never trip under these loss rates (a go-back round
# fails to make progress with p < 0.2 at 10% loss each way: 16 in a row ~ 1e-11)
NETIF = dict(n_nodes=2, window=16, timeout=256, max_payload=64, rx_buffer_msgs=4, retry_limit=16)
# Node 0 (A) receives with cut-through (its checker discards what the verdict rejects), node 1 (B) store and
# forward: both receive modes in one model.
HDL = {"netif": NETIF, "link": dict(latency=20, reorder_delay=48), "seed_ab": 11, "seed_ba": 23,
       "idle": 26, "backpressure": 26, "rx_cut_through_at": [0]}
PER65536 = 65536
# One worker for the tests of one model: they share a run folder, so two at once would take turns anyway
# (emu.cosim.runner's run lock), and the other worker is better used elsewhere.
pytestmark = pytest.mark.xdist_group("netif_pair")


def pct(p):
    return round(p / 100 * PER65536)


RATES = {
    "loss0": dict(loss=0),
    "loss1": dict(loss=pct(1)),
    "loss10": dict(loss=pct(10)),
    "corrupt1": dict(corrupt=pct(1)),
    "reorder_dup": dict(reorder=pct(2), dup=pct(2), loss=pct(1), corrupt=pct(1)),
}
# messages per direction in the default suite
DEFAULT_N = {"loss0": 15_000, "loss1": 15_000, "loss10": 5_000, "corrupt1": 5_000, "reorder_dup": 5_000}


def traffic_sim(run, hdl=HDL):
    cfg = {**hdl, **run}
    return SimRun(block="netif_pair", component_factory=pair_traffic_from_config, config=hdl,
                  test_module="sim_tests.netif.cocotb_traffic", extra_env={"DISAGG_CONFIG": json.dumps(cfg)},
                  gtkw_signals=["start", "a_received", "b_received", "a_errors", "b_errors"])


def rates(name, bandwidth=8.0):
    r = {"loss": 0, "corrupt": 0, "dup": 0, "reorder": 0, **RATES[name]}
    r["bandwidth"] = int(bandwidth * 256)
    return r


def traffic_run(name, n):
    return {"n_msgs": n, "directions": "both", "rates": rates(name), "cycle_limit": 200 * n + 200_000,
            "report": f"netif_traffic_{name}_{n}"}


@pytest.mark.parametrize("name", list(RATES))
def test_traffic(request, name):
    run_cocotb(request, traffic_sim(traffic_run(name, DEFAULT_N[name])))


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in RATES if DEFAULT_N[n] < 50_000])
def test_traffic_100k(request, name):
    run_cocotb(request, traffic_sim(traffic_run(name, 50_000)))


@pytest.mark.parametrize("bandwidth", [8.0, 5.5])
def test_bandwidth_no_loss(request, bandwidth):
    """A one-way stream of 64-byte line writes uses >= 90% of the link (cycle counted between the
    arrival of message n/8 and message 7n/8)."""
    run = {"n_msgs": 1000, "directions": "ab", "full_lines": True, "rates": rates("loss0", bandwidth),
           "cycle_limit": 2_000_000, "min_fraction": 0.90, "report": f"netif_bandwidth_loss0_{bandwidth}"}
    run_cocotb(request, traffic_sim(run))


# The system's interfaces (hw/system/params.py): window 8, two receive messages, the default link (16 cycles
# one way), lines of 64 B and 2 KiB, no idle cycles or backpressure at the ends: the window must cover the
# bandwidth-delay product (docs/protocol.md) so that a stream fills the link.
SYSTEM_HDL = {"netif": dict(n_nodes=2, window=8, timeout=2048, rx_buffer_msgs=2), "link": dict(latency=16),
              "seed_ab": 11, "seed_ba": 23, "idle": 0, "backpressure": 0}


@pytest.mark.parametrize("line_bytes,n_msgs,min_fraction", [
    (64, 1000, 0.95), pytest.param(2048, 160, 0.98, marks=pytest.mark.slow)])   # slow: a model of its own
def test_bandwidth_system_window(request, line_bytes, n_msgs, min_fraction):
    hdl = {**SYSTEM_HDL, "netif": {**SYSTEM_HDL["netif"], "max_payload": line_bytes}}
    run = {"n_msgs": n_msgs, "directions": "ab", "full_lines": True, "rates": rates("loss0"),
           "cycle_limit": 2_000_000, "min_fraction": min_fraction,
           "report": f"netif_bandwidth_system_window_{line_bytes}"}
    run_cocotb(request, traffic_sim(run, hdl))


def test_bandwidth_loss10(request):
    """Figures only (goodput under 10% loss is reported, not asserted); delivery is asserted."""
    run = {"n_msgs": 1000, "directions": "ab", "full_lines": True, "rates": rates("loss10"),
           "cycle_limit": 4_000_000, "report": "netif_bandwidth_loss10_8.0"}
    run_cocotb(request, traffic_sim(run))


@pytest.mark.slow
def test_star_switch(request):
    """Three NetIfs through the Switch, each over lossy links, all-to-all traffic (cocotb drivers with
    idle insertion and backpressure, Python scoreboard)."""
    link = dict(latency=8, bandwidth=8.0, reorder_delay=32, loss=pct(2), corrupt=pct(1))
    hdl = {"netif": dict(NETIF, n_nodes=3), "link": link}
    cfg = {**hdl, "n_msgs": 300, "cycle_limit": 500_000}
    run_cocotb(request, SimRun(block="netif_star", component_factory=lambda _: star_from_config(cfg), config=hdl,
                               test_module="sim_tests.netif.cocotb_pair",
                               extra_env={"DISAGG_CONFIG": json.dumps(cfg)}), testcase="star")
