"""Test bench of the whole system under cocotb: CPU port drivers, irq-driven firmware, golden model.

The firmware is the real one (``firmware.system_firmware.SystemFirmware``) on the system's CSR port
through :class:`sim_tests.system.cocotb_bus.CocotbSystemBus`. An irq server coroutine wakes on
``irq_proc``/``irq_mem`` and calls ``service_irqs``; process creation and exit happen between batches of
accesses, under the same firmware lock, as the harness does. Every response is compared with
``emu.models.system.SystemModel``.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import Edge, First, Lock, RisingEdge

from emu.models.system import SystemModel
from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from firmware.global_memory_manager import Region
from firmware.system_firmware import SystemFirmware
from hw.processor.excache_layouts import CpuReq, CpuResp
from hw.system.params import SystemParams
from sim_tests.lib.streams import Fields, StreamSink, StreamSource
from sim_tests.system.cocotb_bus import CocotbSystemBus

__all__ = ["SystemBench", "config", "seed"]


def config():
    """The configuration (``{"system": SystemParams.as_dict()}``) merged with the test knobs."""
    cfg = json.loads(os.environ["DISAGG_CONFIG"])
    cfg.update(json.loads(os.environ.get("DISAGG_SYSTEM_TEST", "{}")))
    return cfg


def seed():
    return int(os.environ["DISAGG_SEED"])


class SystemBench:
    """One SystemTop with its firmware, model, CPU drivers and irq server.

    Parameters
    ----------
    dut : cocotb handle of the SystemTop.
    cfg : dict
        ``{"system": SystemParams.as_dict(), "victim_policy": ..., "idle": p, "backpressure": p}``.
    seed : int
    """

    def __init__(self, dut, cfg, seed):
        self.dut, self.cfg = dut, cfg
        self.params = SystemParams.from_dict(cfg["system"])
        self.rng = random.Random(seed)
        self.bus = CocotbSystemBus(dut, dut.clk)
        self.fw = SystemFirmware(self.bus, self.params, victim_policy=cfg.get("victim_policy", "fifo"))
        self.model = SystemModel(page_size=self.params.mmu.page_bytes, vaddr_width=self.params.excache.vaddr_width)
        self.fw_lock = Lock()
        self.req = Fields(CpuReq(self.params.excache))
        self.resp = Fields(CpuResp(self.params.excache))
        self.word_bytes = self.params.excache.data_width // 8
        self.responses = []
        self.irq_events = 0
        self.cycle = 0

    async def start(self):
        """Clock, reset, boot the firmware, start the irq server."""
        dut = self.dut
        dut.cpu_req__valid.value = 0
        dut.cpu_resp__ready.value = 0
        dut.rst.value = 1
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)
        self.source = StreamSource(dut, "cpu_req", dut.clk, idle_prob=self.cfg.get("idle", 0.0),
                                   rng=random.Random(self.rng.random()))
        self.sink = StreamSink(dut, "cpu_resp", dut.clk, backpressure_prob=self.cfg.get("backpressure", 0.0),
                               rng=random.Random(self.rng.random()), callback=self.responses.append)
        async with self.fw_lock:
            await self.fw.boot()
        cocotb.start_soon(self._irq_server())

    async def _irq_server(self):
        dut = self.dut
        while True:
            if not (int(dut.irq_proc.value) or int(dut.irq_mem.value)):
                await First(Edge(dut.irq_proc), Edge(dut.irq_mem))
                await RisingEdge(dut.clk)
                continue
            async with self.fw_lock:
                self.irq_events += await self.fw.service_irqs(bool(int(dut.irq_proc.value)),
                                                              bool(int(dut.irq_mem.value)))
            await RisingEdge(dut.clk)

    # ------------------------------------------------------------------ processes
    async def create(self, regions):
        regions = [Region(*r) for r in regions]
        async with self.fw_lock:
            pid = await self.fw.create_process(regions)
        self.model.create_process(pid, regions)
        return pid

    async def exit(self, pid):
        async with self.fw_lock:
            await self.fw.exit_process(pid)
        self.model.exit_process(pid)

    # ------------------------------------------------------------------ accesses
    def _request(self, row):
        lane = int(row["vaddr"]) % self.word_bytes
        size = int(row["size"])
        write = int(row["op"]) == OP_WRITE
        return self.req.pack(op=int(row["op"]), pid=int(row["pid"]), vaddr=int(row["vaddr"]),
                             strb=((1 << size) - 1) << lane if write else 0,
                             wdata=(int(row["data"]) << (8 * lane)) if write else 0)

    async def run(self, workload, *, max_cycles_per_access=3000):
        """Issue ``workload``, wait for every response, compare each with the model (raises on mismatch)."""
        exp_status, exp_data = self.model.run(workload)
        start = len(self.responses)
        for row in workload:
            self.source.send_nowait(self._request(row))
        limit = 20_000 + max_cycles_per_access * len(workload)
        waited = 0
        while len(self.responses) < start + len(workload):
            await RisingEdge(self.dut.clk)
            waited += 1
            if waited > limit:
                raise AssertionError(f"hang: {len(self.responses) - start} of {len(workload)} responses after "
                                     f"{waited} cycles")
        self.cycle += waited
        got = self.responses[start:start + len(workload)]
        for i, (row, raw) in enumerate(zip(workload, got)):
            status = self.resp.get(raw, "status")
            lane = int(row["vaddr"]) % self.word_bytes
            size = int(row["size"])
            data = (self.resp.get(raw, "rdata") >> (8 * lane)) & ((1 << (8 * size)) - 1)
            if int(row["op"]) == OP_WRITE:
                data = 0
            if status != exp_status[i] or data != int(exp_data[i]):
                raise AssertionError(
                    f"access {i}: pid {int(row['pid'])} {'write' if row['op'] else 'read'} {size} B at "
                    f"{int(row['vaddr']):#x}: got status {status} data {data:#x}, model says status "
                    f"{int(exp_status[i])} data {int(exp_data[i]):#x}")
        return len(workload)

    # ------------------------------------------------------------------ memory contents
    async def memory_image(self):
        """Flush the ExCache, then read every resident page of every running process through the MMU's
        memory window; compare with the model. Returns ``{pid: {page vaddr: hex}}``."""
        image = {}
        async with self.fw_lock:
            await self.fw.flush_all()
            page = self.params.mmu.page_bytes
            for pid in self.model.running():
                pages = sorted(vpn * page for vpn in self.fw.memory.spaces[pid].pages)
                image[pid] = {}
                for va in pages:
                    got = await self.fw.read_process_memory(pid, va, page)
                    want = self.model.read_bytes(pid, va, page)
                    if got != want:
                        diff = next(i for i in range(page) if got[i] != want[i])
                        raise AssertionError(f"pid {pid} page {va:#x}: memory byte {diff} is {got[diff]:#x}, "
                                             f"model says {want[diff]:#x}")
                    image[pid][f"{va:#x}"] = got.hex()
                touched = set(self.model.touched_pages(pid))
                missing = touched - set(pages)
                if missing:
                    raise AssertionError(f"pid {pid}: pages written but not resident: {sorted(missing)}")
        return image

    # ------------------------------------------------------------------ workloads
    def random_accesses(self, n, regions_of, *, fault_prob=0.04, foreign_prob=0.02, hot_lines=12, hot_prob=0.7):
        """``n`` random accesses by the running processes: mostly in a hot set of lines per process, some
        anywhere in the regions, ``fault_prob`` outside every region, ``foreign_prob`` by a pid that is
        not running."""
        rng = self.rng
        w = np.zeros(n, dtype=WORKLOAD_DTYPE)
        pids = sorted(regions_of)
        line = self.params.excache.line_bytes
        hot = {}
        for pid in pids:
            hot[pid] = []
            for _ in range(hot_lines):
                r = rng.choice(regions_of[pid])
                hot[pid].append(r[0] + rng.randrange(r[1] // line) * line)
        max_pid = self.params.max_pid
        for i in range(n):
            pid = rng.choice(pids)
            size = rng.choice((1, 2, 4, 8))
            roll = rng.random()
            if roll < foreign_prob:
                others = [p for p in range(1, max_pid + 1) if p not in regions_of]
                pid = rng.choice(others) if others else pid
                r = rng.choice(regions_of[pids[0]])
                vaddr = r[0] + rng.randrange(r[1])
            elif roll < foreign_prob + fault_prob:
                top = max(r[0] + r[1] for r in regions_of[pid])
                vaddr = top + rng.randrange(1 << 16)
            elif rng.random() < hot_prob:
                vaddr = rng.choice(hot[pid]) + rng.randrange(line)
            else:
                r = rng.choice(regions_of[pid])
                vaddr = r[0] + rng.randrange(r[1])
            vaddr -= vaddr % size
            w[i] = (pid, OP_WRITE if rng.random() < 0.5 else OP_READ, vaddr, size,
                    rng.getrandbits(8 * size), 0)
        return w
