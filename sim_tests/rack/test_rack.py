"""The rack (RackTop: processor and memory components on a switch, region routers, rack firmware) under
cocotb, 2 x 2, every access checked by the rack golden model (``emu.models.rack.RackModel``).

=====================  =========================================================
topology               2 processor components (nodes 0, 1), 2 memory components (nodes 2, 3)
ExCache                2-way, 16 sets, 64 B lines, LRU; pids 1..7 (rack-wide)
MMU                    16-entry 2-way TLB, 256 B pages, 16 KiB DRAM per memory component (2 KiB page table)
regions                1 KiB (4 pages), 16 router entries per processor component
switch ports           latency 8 cycles, 8 B/cycle, no loss
CPU ports              20% idle cycles on cpu_req, 20% backpressure on cpu_resp
=====================  =========================================================
"""

import json
import os

import pytest

from hw.system.rack import RackTop
from hw.system.rack_params import RackParams
from emu.rack.failover import rack_params  # noqa: F401  (the rack tests' configuration, shared with emu.rack)
from sim_tests.lib.runner import SimRun, default_seed

pytestmark = pytest.mark.xdist_group("rack")

#: The page table (32 buckets of 4 entries, 2 KiB) leaves 56 frames per memory component and, at this load, no
#: bucket overflow: the firmware's default (1/16 of the DRAM, 16 buckets) overflows on a replicated process.
KNOBS = {"idle": 0.2, "backpressure": 0.2, "batches": 4, "accesses": 200, "pt_buckets_log2": 5}


def make_top(config):
    return RackTop(RackParams.from_dict(config["rack"]))


def test_rack_2x2(request):
    seed = request.config.getoption("--seed")
    seed = default_seed("sim_tests/rack/test_rack.py") if seed is None else seed
    run = SimRun(block="rack", component_factory=make_top, config={"rack": rack_params().as_dict()},
                 test_module="sim_tests.rack.cocotb_rack", toplevel="rack_top")
    run.extra_env = {"DISAGG_RACK_TEST": json.dumps(KNOBS)}
    run.sim = request.config.getoption("--sim")
    waves = request.config.getoption("--waves") or os.environ.get("WAVES", "") not in ("", "0")
    print(f"seed={seed} (reproduce with SEED={seed})")
    run.run(seed=seed, waves=waves, test_name=request.node.nodeid)
