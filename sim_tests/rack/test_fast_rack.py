"""The rack in the fast harness (``emu/rack``, ``emu/harness/rack_*``): the compiled RackTop driven from Python
(its comparison with the cocotb rack is ``test_fast_rack_parity.py``).

* ``test_fast_rack_4x4``: a 4 x 4 rack (1% loss on every switch port) with seven processes, every other one
  replicated, every access checked by the rack golden model, and after a flush every written page holding the
  model's bytes on each of its copies.
* ``test_failover_fast``: the short failure campaign, one seeded failure per memory component of the 4 x 4
  rack; the full campaign (20 runs per memory component) is ``test_failover_campaign_fast``.

All three are ``-m slow``: the 4 x 4 rack model is one compile of 12 MB of C++ (about 6 minutes of a 2-core
machine), more than the default suite's budget allows. The default suite checks the compiled rack against
the cocotb rack on a 2 x 2 (``test_fast_rack_parity.py``) and runs the short failure campaign on the cocotb
2 x 2 (``test_failover.py``).
"""

from __future__ import annotations

import random

import pytest

from emu.rack.bench import FastRackBench
from emu.rack.failover import campaign, check_memory, failover_params, summary
from emu.rack.scenarios import layout_of, per_processor
from sim_tests.lib.runner import default_seed

pytestmark = pytest.mark.xdist_group("rack")

def _seed(request, name):
    seed = request.config.getoption("--seed")
    return default_seed(name) if seed is None else seed


@pytest.mark.slow
def test_fast_rack_4x4(request):
    """Seven processes (the rack's pids) on a 4 x 4 rack (two per processor component but one, every other one
    replicated), random accesses
    on all four CPU ports at once with 1% loss on every switch port: every access checked, then every written page
    compared with the model on each of its copies."""
    seed = _seed(request, "sim_tests/rack/test_fast_rack.py::4x4")
    print(f"seed={seed} (reproduce with SEED={seed})")
    params = failover_params(4, 4)
    rng = random.Random(seed)
    with FastRackBench(params, pt_buckets_log2=5) as bench:
        bench.start()
        layout = layout_of(params.mmu.page_bytes)
        layouts = {}
        for k in range(params.max_pid):            # 7: the pids of 3 bits
            layouts[bench.create(layout, replication=1 + k % 2)] = layout
        fw = bench.fw
        assert sorted(fw.gpm.load(n) for n in params.processor_nodes) == [1, 2, 2, 2]
        homes = {p.node for pid in layouts for p in fw.placements_of(pid)}
        assert homes == set(params.memory_nodes), homes
        for _ in range(2):
            workloads = per_processor(rng, bench.model.node_of, list(layouts), layouts, 100, params.processor_nodes)
            bench.run(workloads)
        assert bench.checked == 2 * params.max_pid * 100
        pages = check_memory(bench)
        stats = bench.fw_call(fw.statistics())
    routers = [s["router"] for s in stats["processors"].values()]
    assert sum(r["replicated"] for r in routers) > 0 and sum(r["replica_faults"] for r in routers) == 0
    assert sum(s["link_lost"] for s in stats["switch"]["ports"].values()) > 0
    assert stats["switch"]["dropped_spoofed"] == 0 and pages > 0
    # Every memory component served requests (the MMU counts them).
    assert all(m["mmu"]["CNT_REQUESTS"] > 0 for m in stats["memories"].values())


@pytest.mark.slow
def test_failover_fast(request):
    """The short failure campaign: one seeded failure per memory component of the 4 x 4 rack (replication 2, 1% loss),
    every access checked, no write lost."""
    seed = _seed(request, "sim_tests/rack/test_fast_rack.py::failover")
    print(f"seed={seed} (reproduce with SEED={seed})")
    records = campaign(failover_params(4, 4), 1, seed, log=print)
    print(summary(records))
    assert [r["kill"] for r in records] == [0, 1, 2, 3]
    assert all(r["detection"] > 0 and r["recovery"] > 0 for r in records)


@pytest.mark.slow
def test_failover_campaign_fast():
    """The issue's campaign: 20 seeded runs per memory component of the 4 x 4 rack (docs/rack.md has its figures)."""
    records = campaign(failover_params(4, 4), 20, 1, log=print)
    print(summary(records))
    assert len(records) == 80
