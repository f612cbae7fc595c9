"""The compiled rack against the cocotb rack: the same seeded 2 x 2 run (four processes, one replicated,
back-to-back accesses on both CPU ports) on the cocotb rack (``cocotb_parity.py``) and on the compiled rack
(``emu/rack/bench.py``): the same interrupt events and every counter of the data path (routers, ExCaches, network
interfaces, MMUs, every switch port's frames, bytes, busy and wait cycles), every access checked by the rack golden
model on both; the same register accesses, and the same cycles but for the one edge at which the cocotb bench sees
its last response (docs/rack.md, "The rack in the fast harness")."""

from __future__ import annotations

import json
import random

import pytest

from emu.rack.bench import FastRackBench
from emu.rack.scenarios import PARITY_PROCESSES, layout_of, per_processor
from sim_tests.lib.runner import SimRun, default_seed
from sim_tests.rack.test_rack import make_top, rack_params

pytestmark = pytest.mark.xdist_group("rack")

#: Accesses per process of the comparison run, and its page table (as the cocotb rack tests).
PARITY = {"accesses": 60, "pt_buckets_log2": 5}


def _flat(tree, path=""):
    """``{"a.b.c": value}`` of a nested dict."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{path}{k}."))
        else:
            out[f"{path}{k}"] = v
    return out


def _seed(request, name):
    seed = request.config.getoption("--seed")
    return default_seed(name) if seed is None else seed


def parity_fast(params, seed):
    """The comparison run on the compiled rack (the same steps as ``cocotb_parity.rack_parity``)."""
    with FastRackBench(params, pt_buckets_log2=PARITY["pt_buckets_log2"]) as bench:
        bench.start()
        layout = layout_of(params.mmu.page_bytes)
        layouts = {}
        for replication in PARITY_PROCESSES:
            layouts[bench.create(layout, replication=replication)] = layout
        workloads = per_processor(random.Random(seed), bench.model.node_of, list(layouts), layouts,
                                  PARITY["accesses"], params.processor_nodes)
        cycles = bench.run(workloads)
        stats = bench.fw_call(bench.fw.statistics())
        return {"cycles": cycles, "irq_events": bench.irq_events, "checked": bench.checked,
                "csr_ops": bench.bus.reads + bench.bus.writes, "statistics": json.loads(json.dumps(stats))}


@pytest.fixture(scope="module")
def both_racks(request, tmp_path_factory):
    """The comparison run on the cocotb rack and on the compiled rack: ``(fast, slow)``."""
    seed = _seed(request, "sim_tests/rack/test_fast_rack.py")
    print(f"seed={seed} (reproduce with SEED={seed})")
    params = rack_params()              # the rack tests' own rack: test_rack.py's cocotb build serves both
    out = tmp_path_factory.mktemp("parity") / "cocotb.json"
    run = SimRun(block="rack", component_factory=make_top, config={"rack": params.as_dict()},
                 test_module="sim_tests.rack.cocotb_parity", toplevel="rack_top")
    run.extra_env = {"DISAGG_RACK_TEST": json.dumps(PARITY), "DISAGG_RACK_OUT": str(out)}
    run.sim = request.config.getoption("--sim")
    run.run(seed=seed, test_name=request.node.nodeid)
    slow = json.loads(out.read_text())
    fast = parity_fast(params, seed)
    print({k: (fast[k], slow[k]) for k in ("cycles", "irq_events", "csr_ops", "checked")})
    return fast, slow


def test_fast_rack_matches_cocotb(both_racks):
    """Every counter of the data path is the same: ExCaches, routers, network interfaces (acknowledgements
    included), MMUs, the switch's ports (frames, bytes, busy and wait cycles)."""
    fast, slow = both_racks
    assert fast["checked"] == slow["checked"] == PARITY["accesses"] * len(PARITY_PROCESSES)
    assert fast["irq_events"] == slow["irq_events"]
    f, s = fast["statistics"], slow["statistics"]
    assert f["failovers"] == s["failovers"]
    fc = _flat({"p": f["processors"], "m": f["memories"], "switch": f["switch"]})
    sc = _flat({"p": s["processors"], "m": s["memories"], "switch": s["switch"]})
    assert fc.keys() == sc.keys()
    # The switch's cycle counter is read after the run, which the cocotb bench ends one edge later (below).
    differ = {k: (fc[k], v) for k, v in sc.items() if fc[k] != v and k != "switch.cycles"}
    assert 0 <= sc["switch.cycles"] - fc["switch.cycles"] <= 1
    assert not differ, f"compiled vs cocotb: {differ}"


def test_fast_rack_timing_matches_cocotb(both_racks):
    """The same register accesses, and the same cycles but for one: the cocotb bench's run loop and its response
    sinks are resumed by the same edge, and the loop sees the last response one edge after the compiled rack
    does (the traffic itself is the same cycle for cycle: session 8 compared every AXI handshake of both
    memory components and every register access with its cycle)."""
    fast, slow = both_racks
    assert fast["csr_ops"] == slow["csr_ops"]
    assert 0 <= slow["cycles"] - fast["cycles"] <= 1, (fast["cycles"], slow["cycles"])
