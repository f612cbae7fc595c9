"""The whole system under cocotb: CPU port drivers, irq-driven firmware, golden-model check of every access.

The firmware is the real one (``firmware.system_firmware.SystemFirmware``) on the system's CSR port
through :class:`emu.cosim.csr_bus.CocotbCsrBus`. An irq server coroutine wakes on
``irq_proc``/``irq_mem`` and calls ``service_irqs``; process creation and exit happen between batches of
accesses, under the same firmware lock, as the harness does. Every response is compared with
``emu.models.system.SystemModel``. ``disagg bench`` drives its cocotb leg with it
(:mod:`emu.cosim.cocotb_bench`); the system tests extend it (``sim_tests/system/bench.py``).
"""

from __future__ import annotations

import logging
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Edge, First, Lock, RisingEdge

from emu.models.system import SystemModel
from emu.workload_format import OP_WRITE
from firmware.global_memory_manager import Region
from firmware.system_firmware import SystemFirmware
from hw.processor.excache_layouts import CpuReq, CpuResp
from hw.system.address_map import SYSTEM_CSR_BASES
from hw.system.params import SystemParams

from .streams import Fields, StreamSink, StreamSource
from .csr_bus import CocotbCsrBus

__all__ = ["SystemBench"]


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
        self.bus = CocotbCsrBus(dut, dut.clk, bases=SYSTEM_CSR_BASES)
        self.fw = SystemFirmware(self.bus, self.params, victim_policy=cfg.get("victim_policy", "fifo"))
        self.model = SystemModel(page_size=self.params.mmu.page_bytes, vaddr_width=self.params.excache.vaddr_width)
        self.fw_lock = Lock()
        self.req = Fields(CpuReq(self.params.excache))
        self.resp = Fields(CpuResp(self.params.excache))
        self.word_bytes = self.params.excache.data_width // 8
        self.responses = []
        self.irq_events = 0
        self.cycle = 0

    def attach_memories(self):
        """Serve the top's external memory ports with cocotbext-axi's ``AxiRam`` (an anonymous mmap: only
        touched pages cost memory): the memory component's DRAM (``dram_*``, a top built with
        ``external_dram``) and the ExCache's processor-local line store (``lmem_*``, ``line_store="axi"``).

        The RAMs answer with their own timing, not the harness's ``dram_latency``/``local_latency``: cycle
        counts differ from ``disagg run``'s, responses and memory contents do not. Called by :meth:`start`.
        """
        from cocotbext.axi import AxiBus, AxiRam

        dut, self.rams = self.dut, {}
        for prefix, size in (("dram", self.params.dram_bytes), ("lmem", self.params.excache.capacity_bytes)):
            if hasattr(dut, f"{prefix}__arvalid"):
                ram = self.rams[prefix] = AxiRam(AxiBus.from_prefix(dut, f"{prefix}_"), dut.clk, dut.rst, size=size)
                for side in (ram.write_if, ram.read_if):
                    side.log.setLevel(logging.WARNING)     # one INFO line per burst otherwise

    async def start(self):
        """Clock, reset, boot the firmware, start the irq server."""
        dut = self.dut
        self.attach_memories()
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
