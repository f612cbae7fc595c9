"""Test bench of the ExCache top: CPU driver, backing-memory responder, CSR bus, all in one coroutine.

cocotb costs ~10 us per coroutine wake-up, and the randomized tests run ~10^5 accesses per
configuration, so one coroutine per clock drives every stream (idle insertion on the inputs,
backpressure on the outputs) instead of one driver per stream. Handshakes are sampled at the rising
edge, as in ``sim_tests/lib/streams.py``: after ``await RisingEdge`` a beat moved if the ``valid``
and ``ready`` read then are both high.

The responder on ``net_tx``/``net_rx`` is a :class:`emu.models.excache.BackingMemory` of its own (the
model keeps another), answering LINE_READ with the line and LINE_WRITE by storing it, after a random
latency, with refusals taken from the memory's fault tables. With ``line_store="axi"`` the ExCache's
``lmem`` port is served by :class:`sim_tests.excache.local_memory.LocalMemory`, stepped in the same loop.
"""

from __future__ import annotations

from collections import deque

import cocotb
from cocotb.triggers import RisingEdge

from hw.processor.excache import CpuReq, CpuResp
from hw.processor.registers import register_map
from hw.protocol import DataBeat, MsgHeader, MsgKind, Status

from emu.models.excache import OP_WRITE
from sim_tests.lib.streams import Fields

from .local_memory import LocalMemory

__all__ = ["Fields", "ExCacheBench", "REGS"]

REGS = register_map()


class ExCacheBench:
    """Drives ``cpu_req`` from a queue, checks ``cpu_resp``, serves ``net_tx``/``net_rx``.

    Parameters
    ----------
    dut : the ExCacheTop handle
    params : hw.processor.excache.ExCacheParams
    memory : emu.models.excache.BackingMemory
        The responder's memory.
    rng : random.Random
    idle : float
        Probability of an idle cycle before each ``cpu_req`` beat and each ``net_rx`` data beat.
    backpressure : float
        Probability of ``ready`` low per cycle on ``cpu_resp``, ``net_tx.hdr`` and ``net_tx.data``.
    latency : (int, int)
        Range of cycles between a complete request and its response header.
    local : dict, optional
        ``line_store="axi"``: keyword arguments of the local memory (``latency``, ``backpressure``, ``gaps``).
    reorder : bool
        A LINE_READ's response may overtake those of earlier LINE_READs still scheduled (not those of earlier
        LINE_WRITEs: the memory side never lets a request overtake a write-back, ``docs/mmu.md``), as the
        pipelined MMU answering in decision order does; for the non-blocking cache (``mshrs`` > 1), whose
        requests carry their MSHR in ``tag``.
    """

    def __init__(self, dut, params, memory, rng, *, idle=0.0, backpressure=0.0, latency=(0, 0), local=None,
                 reorder=False):
        self.dut, self.p, self.mem, self.rng = dut, params, memory, rng
        self.reorder = reorder
        self.idle, self.bp, self.latency = idle, backpressure, latency
        self.clk = dut.clk
        self.req_f = Fields(CpuReq(params))
        self.resp_f = Fields(CpuResp(params))
        self.hdr_f = Fields(MsgHeader())
        self.beat_f = Fields(DataBeat(params.data_width))
        self.word_bytes = params.data_width // 8
        self.cycle = 0
        # cpu side
        self.req_q = deque()          # (packed, tag)
        self.expected = deque()       # (rdata, status, tag) in request order, or None to only record
        self.responses = []           # (cycle, rdata, status) when recording
        self.record = False
        self.accept_cycles = []
        self.resp_cycles = []
        self.stamp = False            # record accept/response cycles
        self.received = 0
        self.error = None
        # network side
        self.tx_hdr = None            # header being collected with its beats (LINE_WRITE)
        self.tx_beats = []
        self.rx_sched = deque()       # (due_cycle, header_raw, [beats], answers a LINE_WRITE)
        self.rx_beats = deque()
        self.net_requests = {k: 0 for k in MsgKind}
        self.outstanding_max = 0
        self._outstanding = 0
        # driven state (to write only on change)
        self._req_valid = 0
        self._resp_ready = 0
        self._hdr_ready = 0
        self._txd_ready = 0
        self._rxh_valid = 0
        self._rxd_valid = 0
        self._rx_cur = None
        self._rxd_cur = None
        self.local = LocalMemory(dut, params, rng, **(local or {})) if params.line_store == "axi" else None
        for name in ("cpu_req__valid", "net_rx__hdr__valid", "net_rx__data__valid",
                     "cpu_resp__ready", "net_tx__hdr__ready", "net_tx__data__ready"):
            getattr(dut, name).value = 0
        self.task = cocotb.start_soon(self._run())

    # cpu side -------------------------------------------------------------------------------
    def push(self, op, pid, vaddr, strb=0, wdata=0, expect=None):
        """Queue one access; ``expect`` is (rdata, status) or None (record the response instead)."""
        self.req_q.append(self.req_f.pack(op=op, pid=pid, vaddr=vaddr, strb=strb, wdata=wdata))
        self.expected.append((expect, (op, pid, vaddr, strb, wdata)))

    @property
    def pending(self):
        return len(self.expected)

    async def drain(self, timeout=10_000_000):
        start = self.cycle
        while self.expected:
            await RisingEdge(self.clk)
            if self.error:
                raise AssertionError(self.error)
            if self.cycle - start > timeout:
                raise AssertionError(f"{len(self.expected)} CPU accesses unanswered after {timeout} cycles")
        if self.error:
            raise AssertionError(self.error)

    def _on_resp(self, raw):
        rdata = self.resp_f.get(raw, "rdata")
        status = self.resp_f.get(raw, "status")
        expect, access = self.expected.popleft()
        index = self.received
        self.received += 1
        if self.stamp:
            self.resp_cycles.append(self.cycle)
        if expect is None:
            self.responses.append((rdata, status))
        elif (rdata, status) != expect and self.error is None:
            op, pid, vaddr, strb, wdata = access
            self.error = (f"access #{index} ({'write' if op == OP_WRITE else 'read'} pid={pid} vaddr={vaddr:#x} "
                          f"strb={strb:#x} wdata={wdata:#x}) at cycle {self.cycle}: got rdata={rdata:#x} "
                          f"status={Status(status).name}, model says rdata={expect[0]:#x} "
                          f"status={Status(expect[1]).name}")

    # network side ---------------------------------------------------------------------------
    def _on_tx_hdr(self, raw):
        kind = MsgKind(self.hdr_f.get(raw, "kind"))
        self.net_requests[kind] += 1
        self._outstanding += 1
        self.outstanding_max = max(self.outstanding_max, self._outstanding)
        length = self.hdr_f.get(raw, "length")
        if length != self.p.line_bytes and self.error is None:
            self.error = f"{kind.name} with length {length}, expected {self.p.line_bytes}"
        if kind == MsgKind.LINE_WRITE:
            self.tx_hdr = raw
            self.tx_beats = []
        elif kind == MsgKind.LINE_READ:
            self._respond(raw)
        elif self.error is None:
            self.error = f"unexpected request kind {kind.name} on net_tx"

    def _respond(self, req):
        g = self.hdr_f.get
        kind = MsgKind(g(req, "kind"))
        pid, vaddr, tag = g(req, "pid"), g(req, "vaddr"), g(req, "tag")
        if vaddr % self.p.line_bytes and self.error is None:
            self.error = f"{kind.name} vaddr {vaddr:#x} not line aligned"
        beats = []
        if kind == MsgKind.LINE_READ:
            status, data = self.mem.read_line(pid, vaddr)
            if status == Status.OK.value:
                wb = self.word_bytes
                n = len(data) // wb
                for i in range(n):
                    word = int.from_bytes(data[i * wb:(i + 1) * wb], "little")
                    beats.append(self.beat_f.pack(data=word, last=int(i == n - 1)))
            rkind = MsgKind.LINE_READ_RESP
        else:
            wb = self.word_bytes
            data = b"".join(self.beat_f.get(b, "data").to_bytes(wb, "little") for b in self.tx_beats)
            if len(data) != self.p.line_bytes and self.error is None:
                self.error = f"LINE_WRITE carried {len(data)} bytes, expected {self.p.line_bytes}"
            status = self.mem.write_line(pid, vaddr, data)
            rkind = MsgKind.LINE_WRITE_RESP
        lo, hi = self.latency
        due = self.cycle + (self.rng.randint(lo, hi) if hi else 0)
        resp = self.hdr_f.pack(kind=rkind.value, status=status, src=g(req, "dst"), dst=0, tag=tag, pid=pid,
                               vaddr=vaddr, length=self.p.line_bytes)
        if self.reorder and kind == MsgKind.LINE_READ:
            first = 0
            for i, (_, _, _, is_write) in enumerate(self.rx_sched):
                if is_write:
                    first = i + 1
            self.rx_sched.insert(self.rng.randint(first, len(self.rx_sched)), (due, resp, beats, False))
        else:
            self.rx_sched.append((due, resp, beats, kind == MsgKind.LINE_WRITE))

    # the clock loop -------------------------------------------------------------------------
    async def _run(self):
        d = self.dut
        edge = RisingEdge(self.clk)
        req_valid, req_ready, req_payload = d.cpu_req__valid, d.cpu_req__ready, d.cpu_req__payload
        resp_valid, resp_ready, resp_payload = d.cpu_resp__valid, d.cpu_resp__ready, d.cpu_resp__payload
        txh_valid, txh_ready, txh_payload = d.net_tx__hdr__valid, d.net_tx__hdr__ready, d.net_tx__hdr__payload
        txd_valid, txd_ready, txd_payload = d.net_tx__data__valid, d.net_tx__data__ready, d.net_tx__data__payload
        rxh_valid, rxh_ready, rxh_payload = d.net_rx__hdr__valid, d.net_rx__hdr__ready, d.net_rx__hdr__payload
        rxd_valid, rxd_ready, rxd_payload = d.net_rx__data__valid, d.net_rx__data__ready, d.net_rx__data__payload
        rnd = self.rng.random
        drv_req = drv_rxh = drv_rxd = 0   # values currently driven on the valid inputs
        while True:
            await edge
            self.cycle += 1
            cycle = self.cycle
            idle, bp = self.idle, self.bp
            # ---- handshakes that happened at this edge
            if self._req_valid and req_ready.value:
                self._req_valid = 0
                if self.stamp:
                    self.accept_cycles.append(cycle)
            if self._resp_ready and resp_valid.value:
                self._on_resp(int(resp_payload.value))
            if self._hdr_ready and txh_valid.value:
                self._on_tx_hdr(int(txh_payload.value))
            if self._txd_ready and txd_valid.value:
                raw = int(txd_payload.value)
                if self.tx_hdr is None:
                    if self.error is None:
                        self.error = "data beat on net_tx without a LINE_WRITE header"
                else:
                    self.tx_beats.append(raw)
                    if self.beat_f.get(raw, "last"):
                        self._respond(self.tx_hdr)
                        self.tx_hdr = None
            if self._rxh_valid and rxh_ready.value:
                self._rxh_valid = 0
                self._outstanding -= 1
                self.rx_beats.extend(self._rx_cur)
            if self._rxd_valid and rxd_ready.value:
                self._rxd_valid = 0
            if self.local is not None:
                self.local.step(cycle)
                if self.local.error and self.error is None:
                    self.error = f"cycle {cycle}: {self.local.error}"

            # ---- drive the next cycle
            if not self._req_valid and self.req_q and not (idle and rnd() < idle):
                req_payload.value = self.req_q.popleft()
                self._req_valid = 1
                if not drv_req:
                    drv_req = 1
                    req_valid.value = 1
            elif not self._req_valid and drv_req:
                drv_req = 0
                req_valid.value = 0
            r = 0 if (bp and rnd() < bp) else 1
            if r != self._resp_ready:
                self._resp_ready = r
                resp_ready.value = r
            r = 0 if (bp and rnd() < bp) else 1
            if r != self._hdr_ready:
                self._hdr_ready = r
                txh_ready.value = r
            r = 0 if (self.tx_hdr is None or (bp and rnd() < bp)) else 1
            if r != self._txd_ready:
                self._txd_ready = r
                txd_ready.value = r
            if not self._rxh_valid:
                if self.rx_sched and self.rx_sched[0][0] <= cycle and not self.rx_beats:
                    _, hdr, beats, _ = self.rx_sched.popleft()
                    rxh_payload.value = hdr
                    self._rx_cur = beats
                    self._rxh_valid = 1
                    if not drv_rxh:
                        drv_rxh = 1
                        rxh_valid.value = 1
                elif drv_rxh:
                    drv_rxh = 0
                    rxh_valid.value = 0
            if not self._rxd_valid:
                if self.rx_beats and not (idle and rnd() < idle):
                    rxd_payload.value = self.rx_beats.popleft()
                    self._rxd_valid = 1
                    if not drv_rxd:
                        drv_rxd = 1
                        rxd_valid.value = 1
                elif drv_rxd:
                    drv_rxd = 0
                    rxd_valid.value = 0
