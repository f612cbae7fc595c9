"""Stream drivers that sample handshakes mid-cycle, correct on Verilator.

On Verilator (a cycle-based simulator) cocotb resumes ``await RisingEdge(clk)`` *after* the design
has evaluated the edge, so reading ``ready``/``valid`` there gives the values of the new cycle, not
the ones the flip-flops sampled. A driver that decides "the beat was taken" from those values
duplicates or skips beats whenever ``ready`` (or ``valid``) is a function of state that changes on
the transfer itself, which is the case for the NetIf's ``tx`` and ``rx`` ports. These drivers read
the handshake at the falling edge (all signals settled for the coming rising edge) and write new
values after the rising edge, which is right on event-driven and cycle-based simulators alike.

Each driver handles one stream given as a valid signal, a ready signal and a payload read/write
function, so it serves Amaranth streams (``foo__valid/ready/payload``) and AXI-Stream ports.
"""

from __future__ import annotations

import random
from collections import deque

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from sim_tests.lib.streams import pack, unpack

__all__ = ["Source", "Sink", "stream_source", "stream_sink", "axis_source", "axis_sink"]


class Source:
    """Offers queued items; ``idle_prob`` is the chance of offering nothing in a cycle."""

    def __init__(self, clk, valid, ready, write, *, idle_prob=0.0, rng=None):
        self.clk, self.valid, self.ready, self.write = clk, valid, ready, write
        self.idle_prob = idle_prob
        self.rng = rng or random.Random(0)
        self.queue = deque()
        self.sent = 0
        self._offering = False
        self.valid.value = 0
        cocotb.start_soon(self._run())

    def send_nowait(self, item):
        self.queue.append(item)

    def idle(self):
        return not self.queue and not self._offering

    async def _run(self):
        while True:
            await FallingEdge(self.clk)
            taken = self._offering and int(self.ready.value)
            await RisingEdge(self.clk)
            if taken:
                self._offering = False
                self.sent += 1
            if not self._offering:
                if self.queue and not (self.idle_prob and self.rng.random() < self.idle_prob):
                    self.write(self.queue.popleft())
                    self._offering = True
                    self.valid.value = 1
                else:
                    self.valid.value = 0


class Sink:
    """Takes items; ``backpressure_prob`` is the chance of ``ready`` low in a cycle. Items go to
    ``callback`` if given, else to ``queue``."""

    def __init__(self, clk, valid, ready, read, *, backpressure_prob=0.0, rng=None, callback=None):
        self.clk, self.valid, self.ready, self.read = clk, valid, ready, read
        self.bp = backpressure_prob
        self.rng = rng or random.Random(0)
        self.callback = callback
        self.queue = deque()
        self.received = 0
        self.ready.value = 0
        cocotb.start_soon(self._run())

    async def _run(self):
        ready = 0
        while True:
            await FallingEdge(self.clk)
            item = self.read() if ready and int(self.valid.value) else None
            await RisingEdge(self.clk)
            if item is not None:
                self.received += 1
                if self.callback is not None:
                    self.callback(item)
                else:
                    self.queue.append(item)
            ready = 0 if (self.bp and self.rng.random() < self.bp) else 1
            self.ready.value = ready


def stream_source(dut, name, clk, layout, **kw):
    payload = getattr(dut, f"{name}__payload")

    def write(item):
        payload.value = pack(layout, item)
    return Source(clk, getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__ready"), write, **kw)


def stream_sink(dut, name, clk, layout, **kw):
    payload = getattr(dut, f"{name}__payload")
    return Sink(clk, getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__ready"),
                lambda: unpack(layout, int(payload.value)), **kw)


def axis_source(dut, prefix, clk, **kw):
    """Items are ``(tdata, tkeep, tlast)`` beats."""
    tdata, tkeep, tlast = (getattr(dut, f"{prefix}__{s}") for s in ("tdata", "tkeep", "tlast"))

    def write(beat):
        tdata.value, tkeep.value, tlast.value = beat
    return Source(clk, getattr(dut, f"{prefix}__tvalid"), getattr(dut, f"{prefix}__tready"), write, **kw)


def axis_sink(dut, prefix, clk, **kw):
    tdata, tkeep, tlast = (getattr(dut, f"{prefix}__{s}") for s in ("tdata", "tkeep", "tlast"))
    return Sink(clk, getattr(dut, f"{prefix}__tvalid"), getattr(dut, f"{prefix}__tready"),
                lambda: (int(tdata.value), int(tkeep.value), int(tlast.value)), **kw)
