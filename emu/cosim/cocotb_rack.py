"""cocotb side of ``disagg run --topology PxM``: a workload on a rack, every access checked.

The configuration comes in ``DISAGG_CONFIG`` (``{"rack": RackParams.as_dict(), "firmware": {...}}``), the
workload file and the output file in ``DISAGG_RACK_WORKLOAD`` and ``DISAGG_RACK_OUT``. Each pid of the
workload becomes one process of the rack (its touched pages as regions, ``emu.system.processes``), placed
by the rack firmware's GPM and GMM; its accesses go, in workload order, to the CPU port of the processor
component it was placed on, all ports at once. Every access is compared with the rack golden model.
The output is the statistics, or ``{"error": ...}`` when the rack refuses a process.
"""

import json
import logging
import os
import time

import cocotb
import numpy as np

from emu.system.processes import default_processes
from firmware.system_firmware import RackOutOfMemory

from .rack_bench import RackBench


@cocotb.test()
async def rack_run(dut):
    cfg = json.loads(os.environ["DISAGG_CONFIG"])
    out_path = os.environ["DISAGG_RACK_OUT"]
    workload = np.load(os.environ["DISAGG_RACK_WORKLOAD"])
    bench = RackBench(dut, {**cfg, "idle": 0.0, "backpressure": 0.0}, seed=1, **cfg["firmware"])
    params = bench.params
    if hasattr(dut, "dram__0__arvalid"):
        from cocotbext.axi import AxiBus, AxiRam
        bench.rams = [AxiRam(AxiBus.from_prefix(dut, f"dram__{j}_"), dut.clk, dut.rst, size=params.dram_bytes)
                      for j in range(params.memories)]
        for ram in bench.rams:
            for side in (ram.write_if, ram.read_if):
                side.log.setLevel(logging.WARNING)     # one INFO line per burst otherwise
    await bench.start()
    page = params.mmu.page_bytes
    original = workload["pid"].copy()
    processes = []
    for proc in default_processes(workload, page):
        try:
            pid = await bench.create(proc.regions)
        except RackOutOfMemory as exc:
            with open(out_path, "w") as f:
                json.dump({"error": str(exc)}, f)
            return
        workload["pid"][original == proc.pid] = pid
        processes.append({"workload_pid": proc.pid, "pid": pid, "processor": bench.model.node_of(pid),
                          "regions": [[p.vaddr, p.length, p.node] for p in bench.fw.placements_of(pid)]})
    nodes = np.array([bench.model.node_of(int(p)) for p in workload["pid"]]) if len(workload) else np.zeros(0)
    per_port = [workload[nodes == node] for node in params.processor_nodes]
    t0 = time.monotonic()
    cycles = await bench.run(per_port)
    seconds = time.monotonic() - t0
    async with bench.fw_lock:
        stats = await bench.fw.statistics()
    with open(out_path, "w") as f:
        json.dump({"accesses": int(len(workload)), "checked": bench.checked, "cycles": cycles, "seconds": seconds,
                   "irq_events": bench.irq_events, "processes": processes, "spills": bench.fw.gmm.spills,
                   "statistics": stats}, f)
