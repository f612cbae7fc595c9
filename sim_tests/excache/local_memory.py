"""The ExCache's processor-local memory in cocotb: an AXI4 subordinate on the ``lmem__*`` ports.

Stepped once per clock by :class:`sim_tests.excache.bench.ExCacheBench` (no coroutine of its own, like every
other stream of that bench). Reads and writes are pipelined: several bursts of each kind in flight, data
returned in order; W beats may come before, with or after their AW. Timing, per burst: the first R beat is
valid ``latency`` cycles after the cycle following the AR handshake (so a read hit is answered
``HIT_LATENCY + latency`` cycles after acceptance), B ``latency`` cycles after the one following the last W.
Random ``backpressure`` (AR, AW, W ready low) and ``gaps`` (R and B valid held back) exercise the store's
handshakes; a valid that falls or a payload that changes before its ready is an error, as is a burst crossing
4 KiB or a wrong ``wlast``. Memory is a dict of words (sparse: only written words exist).
"""

from __future__ import annotations

from collections import deque

__all__ = ["LocalMemory"]


class LocalMemory:
    """AXI4 subordinate of one ExCache's ``lmem`` port.

    Parameters
    ----------
    dut : the ExCacheTop handle (ports ``lmem__*``)
    params : hw.processor.excache_params.ExCacheParams
    rng : random.Random
    latency : int
    backpressure, gaps : float
        Probabilities per cycle of a ready held low, of an R/B valid held back.
    """

    def __init__(self, dut, params, rng, *, latency=0, backpressure=0.0, gaps=0.0):
        self.p, self.rng = params, rng
        self.latency, self.bp, self.gaps = latency, backpressure, gaps
        self.word = params.data_width // 8
        self.size = 1 << params.local_addr_width
        self.mem = {}
        self.sig = {name: getattr(dut, f"lmem__{name}") for name in (
            "arvalid", "arready", "araddr", "arlen", "arsize", "arburst", "awvalid", "awready", "awaddr", "awlen",
            "awsize", "awburst", "wvalid", "wready", "wdata", "wstrb", "wlast", "rvalid", "rready", "rdata",
            "rlast", "rresp", "rid", "bvalid", "bready", "bresp", "bid")}
        self.reads = deque()     # [due, addr, beats left]
        self.aws = deque()       # [addr, beats left]
        self.wbeats = deque()    # (data, strb, last) taken before their AW
        self.bresps = deque()    # due
        self.held = {}           # channel -> payload offered without ready
        self.error = None
        self.stats = {"ar": 0, "aw": 0, "r": 0, "w": 0, "b": 0}
        self.driven = {"arready": 0, "awready": 0, "wready": 0, "rvalid": 0, "bvalid": 0}
        for name in ("arready", "awready", "wready", "rvalid", "bvalid", "rresp", "rid", "bresp", "bid", "rlast"):
            self.sig[name].value = 0

    def _fail(self, text):
        if self.error is None:
            self.error = text

    def _payload(self, ch, fields):
        return tuple(int(self.sig[f"{ch}{f}"].value) for f in fields)

    def _offered(self, ch, fields):
        """(valid, payload) of channel ``ch`` at this edge; checks the previous cycle's unanswered offer."""
        valid = int(self.sig[f"{ch}valid"].value)
        payload = self._payload(ch, fields) if valid else None
        if ch in self.held and payload != self.held[ch]:
            self._fail(f"lmem {ch}valid fell or its payload changed before {ch}ready "
                       f"(offered {self.held[ch]}, now {payload})")
        self.held.pop(ch, None)
        return valid, payload

    def step(self, cycle):
        """Handshakes of the edge just passed, then the subordinate's outputs for the next cycle."""
        s, d = self.sig, self.driven
        wb = self.word
        ar_v, ar = self._offered("ar", ("addr", "len", "size", "burst"))
        aw_v, aw = self._offered("aw", ("addr", "len", "size", "burst"))
        w_v, w = self._offered("w", ("data", "strb", "last"))
        for ch, valid, payload in (("ar", ar_v, ar), ("aw", aw_v, aw), ("w", w_v, w)):
            if valid and not d[f"{ch}ready"]:
                self.held[ch] = payload
        if ar_v and d["arready"]:
            self._burst("AR", ar)
            self.reads.append([cycle + self.latency, ar[0], ar[1] + 1])
            self.stats["ar"] += 1
        r_taken = d["rvalid"] and int(s["rready"].value)
        b_taken = d["bvalid"] and int(s["bready"].value)
        if r_taken:
            r = self.reads[0]
            r[1] += wb
            r[2] -= 1
            self.stats["r"] += 1
            if not r[2]:
                self.reads.popleft()
        if aw_v and d["awready"]:
            self._burst("AW", aw)
            self.aws.append([aw[0], aw[1] + 1])
            self.stats["aw"] += 1
        if w_v and d["wready"]:
            self.wbeats.append(w)
            self.stats["w"] += 1
        while self.aws and self.wbeats:
            self._write(cycle, *self.wbeats.popleft())
        if b_taken:
            self.bresps.popleft()
            self.stats["b"] += 1

        rnd, bp, gaps = self.rng.random, self.bp, self.gaps
        self._drive("arready", 0 if bp and rnd() < bp else 1)
        self._drive("awready", 0 if bp and rnd() < bp else 1)
        self._drive("wready", 0 if (len(self.wbeats) > 4 or (bp and rnd() < bp)) else 1)
        # A valid once offered stays until taken (AXI); gaps only delay the next offer.
        r = self.reads[0] if self.reads else None
        if r_taken or not d["rvalid"]:
            rv = int(r is not None and r[0] <= cycle and not (gaps and rnd() < gaps))
            if rv:
                s["rdata"].value = self.mem.get(r[1] % self.size, 0)
                s["rlast"].value = int(r[2] == 1)
            self._drive("rvalid", rv)
        if b_taken or not d["bvalid"]:
            self._drive("bvalid", int(bool(self.bresps) and self.bresps[0] <= cycle and not (gaps and rnd() < gaps)))

    def _drive(self, name, value):
        if value != self.driven[name]:
            self.driven[name] = value
            self.sig[name].value = value

    def _burst(self, kind, payload):
        addr, length, size, burst = payload
        wb = self.word
        if size != wb.bit_length() - 1 or burst != 1:
            self._fail(f"{kind} burst with size {size} / burst type {burst}, expected {wb.bit_length() - 1} / INCR")
        if addr % wb or addr // 4096 != (addr + length * wb) // 4096 or addr + (length + 1) * wb > self.size:
            self._fail(f"{kind} burst at {addr:#x} of {length + 1} beats is unaligned, crosses 4 KiB or leaves "
                       f"the {self.size}-byte local memory")

    def _write(self, cycle, data, strb, last):
        aw = self.aws[0]
        old = self.mem.get(aw[0], 0)
        for i in range(self.word):
            if strb >> i & 1:
                old = (old & ~(0xFF << 8 * i)) | (data & (0xFF << 8 * i))
        self.mem[aw[0]] = old
        aw[0] += self.word
        aw[1] -= 1
        if bool(last) != (aw[1] == 0):
            self._fail(f"wlast={last} with {aw[1]} beats of the burst left")
        if aw[1] == 0:
            self.aws.popleft()
            self.bresps.append(cycle + self.latency)
