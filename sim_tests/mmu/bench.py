"""cocotb helpers of the MMU tests: message driver/receiver, mirroring bus, AxiRam bus (the CSR adapter is
``sim_tests.lib.csr_bus.CocotbCsrBus``).

All handshakes are sampled at the rising edge (as in ``sim_tests/lib/streams.py``). The message port
is driven by a single coroutine per cycle for all four streams, which keeps Python per cycle light
enough for 100k-access runs.
"""

from __future__ import annotations

from collections import deque

import cocotb
from cocotb.utils import get_sim_time
from cocotb.triggers import Event, RisingEdge

from firmware.bus import Bus
from hw.memory.registers import MMU_REGS
from hw.protocol import DataBeat, MsgHeader

__all__ = ["AxiRamMemBus", "MirrorBus", "NetPort", "Request", "HDR", "pack_hdr", "unpack_hdr"]

HDR = MsgHeader()
_M32 = 0xFFFF_FFFF
# Field offsets of the header, taken once from the layout (sim_tests.lib.streams.pack walks the layout on
# every call, which costs ~50 us: too much at 100k requests).
_HDR_FIELDS = [(name, fld.offset, (1 << fld.width) - 1) for name, fld in HDR]


def pack_hdr(fields: dict) -> int:
    v = 0
    for name, off, mask in _HDR_FIELDS:
        x = int(fields.get(name, 0))
        if x & ~mask:
            raise ValueError(f"header field {name!r} value {x} does not fit")
        v |= x << off
    return v


def unpack_hdr(v: int) -> dict:
    return {name: (v >> off) & mask for name, off, mask in _HDR_FIELDS}


class AxiRamMemBus(Bus):
    """Registers through ``regs`` (a Bus), memory by back door into cocotbext-axi's AxiRam (for speed)."""

    def __init__(self, regs: Bus, ram):
        self.regs, self.ram = regs, ram

    async def read_reg(self, block, addr):
        return await self.regs.read_reg(block, addr)

    async def write_reg(self, block, addr, value):
        await self.regs.write_reg(block, addr, value)

    async def read_mem(self, addr, length):
        return bytes(self.ram.read(addr, length))

    async def write_mem(self, addr, data):
        self.ram.write(addr, bytes(data))


class MirrorBus(Bus):
    """Forwards to ``inner`` and mirrors DRAM writes and MMU configuration into the golden model."""

    def __init__(self, inner: Bus, model):
        self.inner, self.model = inner, model
        self._base_lo = self._base_hi = 0
        self.A = {name: MMU_REGS.addr(name) for name in
                  ("PT_BASE_LO", "PT_BASE_HI", "PT_BUCKETS_LOG2", "PT_MAX_PROBES", "OWNER_SET")}

    async def read_reg(self, block, addr):
        return await self.inner.read_reg(block, addr)

    async def write_reg(self, block, addr, value):
        await self.inner.write_reg(block, addr, value)
        A = self.A
        if addr == A["PT_BASE_LO"]:
            self._base_lo = value
            self.model.set_page_table(base=self._base_lo | self._base_hi << 32)
        elif addr == A["PT_BASE_HI"]:
            self._base_hi = value
            self.model.set_page_table(base=self._base_lo | self._base_hi << 32)
        elif addr == A["PT_BUCKETS_LOG2"]:
            self.model.set_page_table(buckets_log2=value)
        elif addr == A["PT_MAX_PROBES"]:
            self.model.set_page_table(max_probes=value)
        elif addr == A["OWNER_SET"]:
            self.model.set_owner(value & 0xFFFF, (value >> 16) & 0xFF if value >> 31 else None)

    async def read_mem(self, addr, length):
        return await self.inner.read_mem(addr, length)

    async def write_mem(self, addr, data):
        await self.inner.write_mem(addr, data)
        self.model.write_mem(addr, data)


class Request:
    """One request and, once answered, its response."""
    __slots__ = ("kind", "src", "pid", "vaddr", "length", "data", "tag", "expect", "faults_before",
                 "resp", "beats", "sent_cycle", "resp_cycle", "complete")

    def __init__(self, kind, src, pid, vaddr, length, data=b""):
        self.kind, self.src, self.pid, self.vaddr, self.length, self.data = kind, src, pid, vaddr, length, data
        self.tag = 0
        self.expect = None
        self.faults_before = 0
        self.resp = None
        self.beats = []
        self.sent_cycle = self.resp_cycle = None
        self.complete = False     # header and data beats received


class NetPort:
    """Drives ``net_rx`` (headers + data beats) and receives ``net_tx`` in one coroutine.

    Parameters
    ----------
    idle : float
        Probability of idling a cycle before each header and each data beat sent.
    backpressure : float
        Probability of withholding ``ready`` on each response stream in a cycle.
    on_header : callable(Request, dict)
        Called when a response header arrives (matched to its request by tag: the MMU may answer a request
        parked for the memory monitor after later ones).
    on_done : callable(Request)
        Called when a response is complete (header and its data beats).
    """

    def __init__(self, dut, clk, data_width, rng, *, idle=0.0, backpressure=0.0, on_header=None, on_done=None):
        self.clk = clk
        self.bb = data_width // 8
        self.beat_layout = DataBeat(data_width)
        self.rng = rng
        self.idle, self.backpressure = idle, backpressure
        self.on_header, self.on_done = on_header, on_done
        g = lambda n: getattr(dut, n)  # noqa: E731
        self.rh_v, self.rh_r, self.rh_p = g("net_rx__hdr__valid"), g("net_rx__hdr__ready"), g("net_rx__hdr__payload")
        self.rd_v, self.rd_r, self.rd_p = g("net_rx__data__valid"), g("net_rx__data__ready"), g("net_rx__data__payload")
        self.th_v, self.th_r, self.th_p = g("net_tx__hdr__valid"), g("net_tx__hdr__ready"), g("net_tx__hdr__payload")
        self.td_v, self.td_r, self.td_p = g("net_tx__data__valid"), g("net_tx__data__ready"), g("net_tx__data__payload")
        for s in (self.rh_v, self.rd_v, self.th_r, self.td_r):
            s.value = 0
        # Raw GPI handles for the per-cycle reads (cocotb's .value builds a LogicArray, ~10 us each).
        self._rh_r, self._rd_r = self.rh_r._handle, self.rd_r._handle
        self._th_v, self._th_p = self.th_v._handle, self.th_p._handle
        self._td_v, self._td_p = self.td_v._handle, self.td_p._handle
        self.hdr_q = deque()     # requests whose header is still to be sent
        self.beat_q = deque()    # packed beats to send
        self.pending = {}        # tag -> request awaiting its response header (answers may come out of order)
        self.current = None      # request whose response data is arriving
        self.cycle = 0
        self.sent = 0
        self.done = 0
        self._tag = 0
        self._wake = Event()
        self._task = cocotb.start_soon(self._run())

    def send(self, req: Request):
        # The tag is chosen as the header goes out (one not outstanding: responses may come out of order).
        self.hdr_q.append(req)
        if req.kind in (1, 3):   # LINE_WRITE, WORD_WRITE carry data
            data = req.data
            n = max(1, -(-len(data) // self.bb))
            for i in range(n):
                chunk = int.from_bytes(data[i * self.bb:(i + 1) * self.bb], "little")
                self.beat_q.append(chunk | ((i == n - 1) << (self.bb * 8)))
        self._wake.set()

    def _packed(self, req):
        while self._tag in self.pending:
            self._tag = (self._tag + 1) & 0xFF
        req.tag = self._tag
        self._tag = (self._tag + 1) & 0xFF
        return pack_hdr({"kind": req.kind, "src": req.src, "tag": req.tag, "pid": req.pid, "vaddr": req.vaddr,
                         "length": req.length})

    def send_raw_beats(self, beats):
        """Append packed data beats (for malformed-request tests)."""
        self.beat_q.extend(beats)
        self._wake.set()

    def idle_now(self):
        return not self.hdr_q and not self.beat_q and not self.pending and self.current is None

    async def _run(self):
        rng = self.rng
        h_cur = d_cur = None
        last_bit = self.bb * 8
        mask = (1 << last_bit) - 1
        last_th = last_td = 0
        while True:
            if (h_cur is None and d_cur is None and not self.hdr_q and not self.beat_q and not self.pending
                    and self.current is None):
                # Nothing in flight: sleep until send() instead of waking every cycle.
                self._wake.clear()
                await self._wake.wait()
                await RisingEdge(self.clk)
                continue
            # drive this cycle
            if h_cur is None and self.hdr_q and not (self.idle and rng.random() < self.idle):
                h_cur = self.hdr_q.popleft()
                self.rh_p.value = self._packed(h_cur)
                self.rh_v.value = 1
            if d_cur is None and self.beat_q and not (self.idle and rng.random() < self.idle):
                d_cur = self.beat_q.popleft()
                self.rd_p.value = d_cur
                self.rd_v.value = 1
            bp = self.backpressure
            th_ready = 0 if (bp and rng.random() < bp) else 1
            td_ready = 0 if (bp and rng.random() < bp) else 1
            if th_ready != last_th:
                self.th_r.value = last_th = th_ready
            if td_ready != last_td:
                self.td_r.value = last_td = td_ready
            await RisingEdge(self.clk)
            self.cycle += 1
            if h_cur is not None and self._rh_r.get_signal_val_binstr() == "1":
                h_cur.sent_cycle = int(get_sim_time("ns")) // 10
                self.pending[h_cur.tag] = h_cur
                h_cur = None
                self.sent += 1
                self.rh_v.value = 0
            if d_cur is not None and self._rd_r.get_signal_val_binstr() == "1":
                d_cur = None
                self.rd_v.value = 0
            if th_ready and self._th_v.get_signal_val_binstr() == "1":
                hdr = unpack_hdr(int(self._th_p.get_signal_val_binstr(), 2))
                assert hdr["tag"] in self.pending, f"response without a request: {hdr}"
                assert self.current is None, f"response header {hdr} before the previous response's data ended"
                req = self.pending.pop(hdr["tag"])
                req.resp = hdr
                req.resp_cycle = int(get_sim_time("ns")) // 10
                if self.on_header is not None:
                    self.on_header(req, hdr)
                if hdr["length"] and hdr["kind"] in (4, 6) and hdr["status"] == 0:
                    self.current = req
                else:
                    self.done += 1
                    req.complete = True
                    if self.on_done is not None:
                        self.on_done(req)
            if td_ready and self._td_v.get_signal_val_binstr() == "1":
                raw = int(self._td_p.get_signal_val_binstr(), 2)
                assert self.current is not None, "response data beat without a header"
                req = self.current
                req.beats.append(raw & mask)
                if raw >> last_bit & 1:
                    self.current = None
                    self.done += 1
                    req.complete = True
                    if self.on_done is not None:
                        self.on_done(req)
