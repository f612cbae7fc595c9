"""Isolation across the rack under cocotb (``cocotb_isolation.py``): the memory side's six isolation attacks
repeated from a second processor component whose switch port the test bench drives by hand
(``RackTop(rogue=1)``). Each attack, sent with the rogue's own node, is answered PROT_FAULT and counted by the
memory component's MMU; sent with the victim's node forged as the source, it is dropped and counted by the
switch; the victim's data stays intact and the rogue's own process is still served.
"""

import json
import os

import pytest

from hw.system.rack import RackTop
from hw.system.rack_params import RackParams
from sim_tests.lib.runner import SimRun, default_seed
from sim_tests.rack.test_rack import rack_params

pytestmark = pytest.mark.xdist_group("rack_isolation")   # a model of its own (rogue port)

#: No idle or backpressure on the victim's CPU port: the attacks, not the traffic, are under test.
KNOBS = {"idle": 0.0, "backpressure": 0.0, "accesses": 0, "pt_buckets_log2": 5}


def make_rogue_top(config):
    return RackTop(RackParams.from_dict(config["rack"]), rogue=config["rogue"])


def test_rack_isolation(request):
    seed = request.config.getoption("--seed")
    seed = default_seed("sim_tests/rack/test_isolation.py") if seed is None else seed
    run = SimRun(block="rack_isolation", component_factory=make_rogue_top,
                 config={"rack": rack_params().as_dict(), "rogue": 1},
                 test_module="sim_tests.rack.cocotb_isolation", toplevel="rack_top")
    run.extra_env = {"DISAGG_RACK_TEST": json.dumps(KNOBS)}
    run.sim = request.config.getoption("--sim")
    waves = request.config.getoption("--waves") or os.environ.get("WAVES", "") not in ("", "0")
    print(f"seed={seed} (reproduce with SEED={seed})")
    run.run(seed=seed, waves=waves, test_name=request.node.nodeid)
