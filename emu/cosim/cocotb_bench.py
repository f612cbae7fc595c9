"""cocotb side of ``disagg bench``: the same system and workload driven the way most users would write it.

Every clock edge is awaited in Python: the CPU port is driven by ``StreamSource``/``StreamSink``, the
firmware runs on a ``CocotbCsrBus`` and is woken by an irq server, and every access is checked against
the golden model (:class:`emu.cosim.system_bench.SystemBench`, the bench the system tests extend). The configuration comes
in ``DISAGG_CONFIG`` (``{"system": SystemParams.as_dict()}``), the workload file, the number of accesses
and the output file in ``DISAGG_BENCH_WORKLOAD``, ``DISAGG_BENCH_N`` and ``DISAGG_BENCH_OUT``.
"""

import json
import os
import time

import cocotb
import numpy as np

from emu.system.processes import default_processes

from .system_bench import SystemBench


@cocotb.test()
async def bench(dut):
    cfg = json.loads(os.environ["DISAGG_CONFIG"])
    n = int(os.environ["DISAGG_BENCH_N"])
    workload = np.load(os.environ["DISAGG_BENCH_WORKLOAD"])[:n].copy()
    bench = SystemBench(dut, {**cfg, "idle": 0.0, "backpressure": 0.0}, seed=1)
    # A top built with external_dram (the harness's default) or line_store="axi": bench.start() serves its
    # DRAM and local-memory ports with cocotbext-axi's AxiRam (SystemBench.attach_memories).
    await bench.start()
    page = bench.params.mmu.page_bytes
    original = workload["pid"].copy()
    for proc in default_processes(workload, page):
        pid = await bench.create(proc.regions)
        workload["pid"][original == proc.pid] = pid
    c0 = bench.cycle
    t0, cpu0 = time.monotonic(), time.process_time()
    await bench.run(workload)
    # CPU time of this process (the Verilated model and cocotb's Python share its main thread) during the run.
    seconds, cpu_seconds = time.monotonic() - t0, time.process_time() - cpu0
    with open(os.environ["DISAGG_BENCH_OUT"], "w") as f:
        json.dump({"accesses": len(workload), "cycles": bench.cycle - c0, "seconds": seconds,
                   "cpu_seconds": cpu_seconds, "irq_events": bench.irq_events}, f)
