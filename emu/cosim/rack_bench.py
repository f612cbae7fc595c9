"""A rack under cocotb: one CPU driver per processor component, the rack firmware on the CSR port with an
irq server, and the rack golden model (``emu.models.rack.RackModel``) checking every access of every
processor component. ``disagg run --topology PxM`` (``emu/cosim/rack_run.py``) and the rack tests
(``sim_tests/rack``) drive racks with it."""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Lock, RisingEdge

from emu.models.rack import RackModel
from emu.workload_format import OP_WRITE
from firmware.system_firmware import RackFirmware
from hw.processor.excache_layouts import CpuReq, CpuResp
from hw.system.rack_params import RackParams

from .csr_bus import CocotbCsrBus
from .streams import Fields, StreamSink, StreamSource

__all__ = ["RackBench"]


class RackBench:
    """One RackTop with its firmware, model, CPU drivers and irq server.

    Parameters
    ----------
    dut : cocotb handle of the RackTop.
    cfg : dict
        ``{"rack": RackParams.as_dict(), "idle": p, "backpressure": p}``.
    seed : int
    fw_options
        Keyword arguments of :class:`firmware.system_firmware.RackFirmware` (policies, ``on_oom``).
    """

    def __init__(self, dut, cfg, seed, **fw_options):
        self.dut, self.cfg = dut, cfg
        self.params = p = RackParams.from_dict(cfg["rack"])
        self.rng = random.Random(seed)
        self.bus = CocotbCsrBus(dut, dut.clk, bases=p.csr_bases())
        self.fw = RackFirmware(self.bus, p, **fw_options)
        self.model = RackModel(p.processor_nodes, page_size=p.mmu.page_bytes, vaddr_width=p.excache.vaddr_width)
        self.fw_lock = Lock()
        self.req = Fields(CpuReq(p.excache))
        self.resp = Fields(CpuResp(p.excache))
        self.word_bytes = p.excache.data_width // 8
        self.responses = [[] for _ in p.processor_nodes]
        self.irq_events = 0
        self.checked = 0

    async def start(self):
        dut, p = self.dut, self.params
        for i in range(p.processors):
            getattr(dut, f"cpu_req__{i}__valid").value = 0
            getattr(dut, f"cpu_resp__{i}__ready").value = 0
        dut.rst.value = 1
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)
        self.sources, self.sinks = [], []
        for i in range(p.processors):
            self.sources.append(StreamSource(dut, f"cpu_req__{i}", dut.clk, idle_prob=self.cfg.get("idle", 0.0),
                                             rng=random.Random(self.rng.random())))
            self.sinks.append(StreamSink(dut, f"cpu_resp__{i}", dut.clk,
                                         backpressure_prob=self.cfg.get("backpressure", 0.0),
                                         rng=random.Random(self.rng.random()), callback=self.responses[i].append))
        async with self.fw_lock:
            await self.fw.boot()
        cocotb.start_soon(self._irq_server())

    async def _irq_server(self):
        dut = self.dut
        while True:
            ip, im, inet = int(dut.irq_proc.value), int(dut.irq_mem.value), int(dut.irq_net.value)
            if ip or im or inet:
                async with self.fw_lock:
                    self.irq_events += await self.fw.service_irqs(ip, im, inet)
            await RisingEdge(dut.clk)

    async def create(self, regions, **kw):
        async with self.fw_lock:
            pid = await self.fw.create_process(regions, **kw)
        if pid is not None:
            self._adopt(pid, regions)
        return pid

    def _adopt(self, pid, regions):
        self.model.create_process(pid, self.fw.gpm.node_of(pid), regions)

    async def exit(self, pid):
        async with self.fw_lock:
            started = await self.fw.exit_process(pid)
        self.model.exit_process(pid)
        return started

    def _request(self, row):
        lane = int(row["vaddr"]) % self.word_bytes
        size = int(row["size"])
        write = int(row["op"]) == OP_WRITE
        return self.req.pack(op=int(row["op"]), pid=int(row["pid"]), vaddr=int(row["vaddr"]),
                             strb=((1 << size) - 1) << lane if write else 0,
                             wdata=(int(row["data"]) << (8 * lane)) if write else 0)

    async def run(self, workloads, *, max_cycles_per_access=3000, may_fail=None, fail_status=None):
        """Issue ``workloads[i]`` on processor component ``i`` (all at once), wait for every response, compare
        each with the model (raises on the first mismatch). ``may_fail(node, row)``: accesses that may instead
        be answered ``fail_status`` (a region lost with a failed memory component). Returns the cycles waited,
        or with ``may_fail`` the number of accesses answered ``fail_status``."""
        nodes = self.params.processor_nodes
        expected = [self.model.run(nodes[i], w) for i, w in enumerate(workloads)]
        starts = [len(r) for r in self.responses]
        await FallingEdge(self.dut.clk)
        for i, w in enumerate(workloads):
            for row in w:
                self.sources[i].send_nowait(self._request(row))
        limit = 20_000 + max_cycles_per_access * sum(len(w) for w in workloads)
        waited = 0
        while any(len(self.responses[i]) < starts[i] + len(w) for i, w in enumerate(workloads)):
            await RisingEdge(self.dut.clk)
            waited += 1
            if waited > limit:
                got = [len(self.responses[i]) - starts[i] for i in range(len(workloads))]
                raise AssertionError(f"hang: responses {got} of {[len(w) for w in workloads]} after {waited} cycles")
        failed = 0
        for i, w in enumerate(workloads):
            exp_status, exp_data = expected[i]
            got = self.responses[i][starts[i]:starts[i] + len(w)]
            for k, (row, raw) in enumerate(zip(w, got)):
                status = self.resp.get(raw, "status")
                lane = int(row["vaddr"]) % self.word_bytes
                size = int(row["size"])
                data = 0 if int(row["op"]) == OP_WRITE else \
                    (self.resp.get(raw, "rdata") >> (8 * lane)) & ((1 << (8 * size)) - 1)
                if may_fail is not None and status == fail_status and may_fail(nodes[i], row):
                    failed += 1
                    continue
                if status != exp_status[k] or data != int(exp_data[k]):
                    raise AssertionError(
                        f"processor {i} access {k}: pid {int(row['pid'])} {'write' if row['op'] else 'read'} {size} B "
                        f"at {int(row['vaddr']):#x}: got status {status} data {data:#x}, model says status "
                        f"{int(exp_status[k])} data {int(exp_data[k]):#x}")
            self.checked += len(w)
        return waited if may_fail is None else failed
