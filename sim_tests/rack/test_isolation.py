"""Isolation across the rack (``cocotb_isolation.py``): the memory side's six isolation attacks, repeated from a
second processor component with the wire protocol driven by hand (its own node: PROT_FAULT at the MMU; the
victim's node forged: dropped at the switch), all counted; the victim's data intact."""

from __future__ import annotations

import json
import os

import pytest

from hw.system.rack import RackTop
from hw.system.rack_params import RackParams
from sim_tests.lib.runner import SimRun, default_seed
from sim_tests.rack.test_rack import rack_params

pytestmark = pytest.mark.xdist_group("rack")


def make_rogue_top(config):
    return RackTop(RackParams.from_dict(config["rack"]), rogue=1)


def test_isolation_from_second_processor(request):
    seed = request.config.getoption("--seed")
    seed = default_seed("sim_tests/rack/test_isolation.py") if seed is None else seed
    run = SimRun(block="rack_rogue", component_factory=make_rogue_top, config={"rack": rack_params().as_dict()},
                 test_module="sim_tests.rack.cocotb_isolation", toplevel="rack_top")
    run.extra_env = {"DISAGG_RACK_TEST": json.dumps({"idle": 0.1, "backpressure": 0.1, "pt_buckets_log2": 5})}
    run.sim = request.config.getoption("--sim")
    waves = request.config.getoption("--waves") or os.environ.get("WAVES", "") not in ("", "0")
    print(f"seed={seed} (reproduce with SEED={seed})")
    run.run(seed=seed, waves=waves, test_name=request.node.nodeid)
