"""cocotb side of the fast-rack comparison (``test_fast_rack.py``): a seeded run on a 2 x 2 rack with no idle
cycles and no backpressure, its cycles, irq events and every counter written to ``DISAGG_RACK_OUT``."""

from __future__ import annotations

import json
import os
import random

import cocotb

from emu.rack.scenarios import PARITY_PROCESSES, layout_of, per_processor
from sim_tests.rack.bench import RackBench, config, seed


@cocotb.test()
async def rack_parity(dut):
    cfg = config()
    bench = RackBench(dut, {**cfg, "idle": 0.0, "backpressure": 0.0}, seed(), pt_buckets_log2=cfg["pt_buckets_log2"])
    await bench.start()
    params = bench.params
    layout = layout_of(params.mmu.page_bytes)
    layouts = {}
    for replication in PARITY_PROCESSES:
        layouts[await bench.create(layout, replication=replication)] = layout
    rng = random.Random(seed())
    workloads = per_processor(rng, bench.model.node_of, list(layouts), layouts, cfg["accesses"],
                              params.processor_nodes)
    cycles = await bench.run(workloads)
    async with bench.fw_lock:
        stats = await bench.fw.statistics()
    with open(os.environ["DISAGG_RACK_OUT"], "w") as f:
        json.dump({"cycles": cycles, "irq_events": bench.irq_events, "checked": bench.checked,
                   "csr_ops": bench.bus.ops, "statistics": stats}, f)
