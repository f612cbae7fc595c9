"""Golden model of the simulation DRAM's AXI timing (``hw.memory.dram.AxiDramModel``, ``axi_memory.h``).

Written from the timing rules of the DRAM model's docstring (``docs/timing.md``, "DRAM"), by absolute cycle
numbers rather than counters: a read burst accepted in cycle ``t`` may show its first beat from cycle
``t + latency + 1`` on, once every burst accepted before it has shown its last beat; a write's response from
``latency + 1`` cycles after its last W beat. The checker drives it with the manager's signals of each cycle
(``outputs`` for the subordinate's answer in that cycle, then ``step``), as it drives the RTL.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["DramTimingModel", "ManagerSignals"]


@dataclass
class ManagerSignals:
    """The manager's outputs in one cycle (only the fields the subordinate looks at)."""

    arvalid: bool = False
    araddr: int = 0
    arlen: int = 0
    arid: int = 0
    awvalid: bool = False
    awaddr: int = 0
    awid: int = 0
    wvalid: bool = False
    wdata: int = 0
    wstrb: int = 0
    wlast: bool = False
    rready: bool = False
    bready: bool = False


class DramTimingModel:
    """One AXI4 subordinate: ``read_slots`` read bursts in flight, one write at a time, never both.

    Parameters
    ----------
    size_bytes, beat_bytes : int
        Memory size (addresses wrap modulo it) and beat width in bytes.
    latency : int
        Extra access cycles.
    read_slots : int
        Read bursts accepted and not yet finished, at most.
    """

    def __init__(self, *, size_bytes, beat_bytes, latency, read_slots):
        self.size, self.bb, self.latency, self.slots = size_bytes, beat_bytes, latency, read_slots
        self.words = size_bytes // beat_bytes
        self.mem = [0] * self.words
        self.cycle = 0
        self.reads = deque()        # [word, beats left after this one, id, first cycle it may show a beat]
        self.write = None           # [word, id, cycle of the response or None while its data comes]

    def _word(self, addr):
        return (addr % self.size) // self.bb

    def outputs(self, s: ManagerSignals) -> dict:
        """The subordinate's outputs in this cycle, given the manager's (``awready`` follows ``arvalid``)."""
        head = self.reads[0] if self.reads else None
        rvalid = head is not None and self.cycle >= head[3]
        out = {
            "arready": len(self.reads) < self.slots and self.write is None,
            "awready": self.write is None and not self.reads and not s.arvalid,
            "wready": self.write is not None and self.write[2] is None,
            "rvalid": rvalid,
            "bvalid": self.write is not None and self.write[2] is not None and self.cycle >= self.write[2],
        }
        if rvalid:
            out.update(rdata=self.mem[head[0]], rlast=head[1] == 0, rid=head[2])
        if out["bvalid"]:
            out["bid"] = self.write[1]
        return out

    def step(self, s: ManagerSignals) -> dict:
        """Apply this cycle's handshakes and go to the next cycle; returns this cycle's outputs."""
        out = self.outputs(s)
        if out["rvalid"] and s.rready:
            head = self.reads[0]
            if head[1] == 0:
                self.reads.popleft()
            else:
                head[0], head[1] = (head[0] + 1) % self.words, head[1] - 1
        if out["bvalid"] and s.bready:
            self.write = None
        elif out["wready"] and s.wvalid:
            w = self.write
            mask = sum(0xFF << (8 * i) for i in range(self.bb) if (s.wstrb >> i) & 1)
            self.mem[w[0]] = (self.mem[w[0]] & ~mask) | (s.wdata & mask)
            w[0] = (w[0] + 1) % self.words
            if s.wlast:
                w[2] = self.cycle + self.latency + 1
        if out["arready"] and s.arvalid:
            self.reads.append([self._word(s.araddr), s.arlen, s.arid, self.cycle + self.latency + 1])
        elif out["awready"] and s.awvalid:
            self.write = [self._word(s.awaddr), s.awid, None]
        self.cycle += 1
        return out
