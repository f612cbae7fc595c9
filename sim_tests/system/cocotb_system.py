"""cocotb tests of the whole system (SystemTop) with its firmware, irq-driven, against the golden model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np

from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from hw.system.probe_registers import PROBE_REGS
from sim_tests.system.bench import SystemBench, config, seed


def _regions(bench, layout):
    """Regions in pages: ``[(first page, pages), ...]`` -> ``[(vaddr, length), ...]``."""
    page = bench.params.mmu.page_bytes
    return [(first * page, pages * page) for first, pages in layout]


async def _probe(bench, name):
    async with bench.fw_lock:
        return await bench.bus.read_reg("probe", PROBE_REGS.addr(name))


@cocotb.test()
async def test_processes_faults_and_exit(dut):
    """Several processes with randomized accesses, first-touch faults, refused faults, foreign pids and
    process exit/creation between batches; every response and the final memory contents match the model."""
    cfg = config()
    bench = SystemBench(dut, cfg, seed())
    await bench.start()
    layouts = [[(16, 6), (1024, 3)], [(16, 6), (64, 4)], [(16, 4), (1024, 4)]]
    regions_of = {}
    for layout in layouts:
        regions = _regions(bench, layout)
        pid = await bench.create(regions)
        regions_of[pid] = regions
    batches, per_batch = cfg["batches"], cfg["accesses_per_batch"]
    done = 0
    for b in range(batches):
        done += await bench.run(bench.random_accesses(per_batch, regions_of))
        if b % 2 == 1 and b + 1 < batches:
            # End the oldest process and start a new one with the same layout (the pid may be reused).
            oldest = min(regions_of)
            layout = regions_of.pop(oldest)
            await bench.exit(oldest)
            pid = await bench.create(layout)
            regions_of[pid] = layout
    image = await bench.memory_image()

    stats = None
    async with bench.fw_lock:
        stats = await bench.fw.statistics()
    probe, ex, mmu = stats["probe"], stats["excache"], stats["mmu"]
    dut._log.info("accesses %d, cycles %d, irq events %d, excache %s, mmu %s", done, bench.cycle,
                  bench.irq_events, ex, mmu)
    # The probe strobes count what the blocks count.
    assert probe["count_cpu_req"] == probe["count_cpu_resp"] == done, probe
    assert probe["count_miss_msg"] == probe["count_mmu_req"] == probe["count_mmu_resp"] \
        == probe["count_cache_resp"], probe
    assert probe["count_req_wire_in"] == probe["count_req_wire_out"] >= probe["count_miss_msg"], probe
    assert probe["count_resp_wire_in"] == probe["count_resp_wire_out"] >= probe["count_mmu_resp"], probe
    assert probe["count_mmu_req"] == mmu["CNT_REQUESTS"], (probe, mmu)
    assert probe["count_walk_addr"] == probe["count_walk_last"] == mmu["CNT_BUCKET_READS"], (probe, mmu)
    assert probe["count_dram_addr"] == probe["count_dram_last"] > 0, probe
    assert probe["cycles"] > bench.cycle
    assert mmu["CNT_FAULTS"] > 0 and ex["misses"] > 0 and ex["hits"] > 0, (ex, mmu)
    # A lossless link with receive buffers sized by rx_buffer_need never drops a frame (docs/netif.md,
    # "Receive buffer sizing"): no buffer-full drop, no retransmission, on either side.
    for block in ("proc_netif", "mem_netif"):
        n = stats[block]
        assert n["rx_drop_nobuf"] == n["tx_retransmits"] == 0, (block, n)
    if bench.params.miss_path == "software":
        assert len(bench.fw.processor.misses) > 0
    else:
        assert not bench.fw.processor.misses
    out = os.environ.get("DISAGG_IMAGE_FILE")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({str(k): v for k, v in image.items()}, sort_keys=True))


@cocotb.test()
async def test_same_vaddr_isolation(dut):
    """Two processes with the same virtual addresses never see each other's data; an exited process's
    pages reach no one (its pid is refused, a new process starts from zeros)."""
    cfg = config()
    bench = SystemBench(dut, cfg, seed() ^ 0x5A5A)
    await bench.start()
    page = bench.params.mmu.page_bytes
    line = bench.params.excache.line_bytes
    regions = _regions(bench, [(8, 4)])
    a = await bench.create(regions)
    b = await bench.create(regions)
    assert a != b
    addrs = [regions[0][0] + i * line for i in range(4 * page // line)]

    def batch(rows):
        w = np.zeros(len(rows), dtype=WORKLOAD_DTYPE)
        for i, row in enumerate(rows):
            w[i] = row
        return w

    # Interleaved: both write their own pattern at the same addresses, then both read everything back.
    rows = []
    for va in addrs:
        rows.append((a, OP_WRITE, va, 8, 0xA000_0000_0000_0000 | va, 0))
        rows.append((b, OP_WRITE, va, 8, 0xB000_0000_0000_0000 | va, 0))
    await bench.run(batch(rows))
    await bench.run(batch([(p, OP_READ, va, 8, 0, 0) for va in addrs for p in (b, a)]))
    # A exits; B's data is intact, A's pid is refused, a new process sees zeros at the same addresses.
    await bench.exit(a)
    c = await bench.create(regions)
    rows = [(b, OP_READ, va, 8, 0, 0) for va in addrs] + [(a, OP_READ, addrs[0], 8, 0, 0)] \
        + [(c, OP_READ, va, 8, 0, 0) for va in addrs]
    await bench.run(batch(rows))
    await bench.memory_image()
