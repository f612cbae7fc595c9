"""cocotb drivers for ``amaranth.lib.stream`` ports, with idle and backpressure insertion.

An Amaranth stream member ``foo`` of a component becomes three Verilog ports ``foo__valid``,
``foo__ready`` and ``foo__payload`` (a packed ``data.Layout``). :func:`pack` and :func:`unpack` turn
payload dictionaries into integers and back using the layout's own field offsets, so tests never repeat
bit positions by hand.

Handshakes are sampled at the *falling* edge, when every signal has settled for the coming rising
edge, and new values are driven after the rising edge. On Verilator (cycle-based) cocotb resumes
``await RisingEdge`` after the design has already evaluated the edge, so reading ``ready`` there gives
the new cycle's value; a driver deciding "the beat was taken" from it duplicates or skips beats
whenever ``ready`` depends on state the transfer itself changes. Sampling mid-cycle is right on
event-driven and cycle-based simulators alike (found by the network-interface tests).
"""

from __future__ import annotations

import random
from collections import deque

import cocotb
from cocotb.triggers import Event, FallingEdge, RisingEdge
from amaranth.lib import data, enum as _enum

__all__ = ["pack", "unpack", "Fields", "StreamSource", "StreamSink", "port"]


def _layout_of(shape):
    return data.Layout.cast(shape) if isinstance(shape, data.Layout) else None


def pack(layout, value) -> int:
    """Pack a dict (or int) into an integer according to a ``data.StructLayout``."""
    if isinstance(value, int):
        return value
    out = 0
    for name, fld in layout:
        v = value.get(name, 0)
        inner = fld.shape
        if isinstance(inner, data.Layout) and isinstance(v, dict):
            v = pack(inner, v)
        elif isinstance(v, _enum.Enum):
            v = v.value
        v = int(v)
        width = fld.width
        if v < 0 or v >= (1 << width):
            raise ValueError(f"field {name!r} value {v} does not fit in {width} bits")
        out |= v << fld.offset
    return out


def unpack(layout, value: int) -> dict:
    """Unpack an integer into a dict of field values (nested layouts become nested dicts)."""
    value = int(value)
    out = {}
    for name, fld in layout:
        v = (value >> fld.offset) & ((1 << fld.width) - 1)
        if isinstance(fld.shape, data.Layout):
            v = unpack(fld.shape, v)
        out[name] = v
    return out


class Fields:
    """Fast pack/unpack of one payload layout by precomputed (offset, width), for hot test loops
    where walking the layout per beat (:func:`pack`/:func:`unpack`) costs too much."""

    def __init__(self, layout):
        self.f = {name: (fld.offset, fld.width) for name, fld in layout}

    def pack(self, **values):
        out = 0
        for name, v in values.items():
            off, width = self.f[name]
            out |= (int(v) & ((1 << width) - 1)) << off
        return out

    def get(self, raw, name):
        off, width = self.f[name]
        return (raw >> off) & ((1 << width) - 1)


def port(dut, name):
    """The (valid, ready, payload) handles of stream ``name`` on ``dut``."""
    return (getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__ready"), getattr(dut, f"{name}__payload"))


class StreamSource:
    """Drives a stream into the DUT from a queue, optionally idling between beats.

    Parameters
    ----------
    dut, name : the DUT handle and the stream's name (``cpu_req`` for ``cpu_req__valid`` ...).
    clk : clock handle.
    layout : data.Layout of the payload (``None`` for a plain integer payload).
    idle_prob : float
        Probability of leaving ``valid`` low for a cycle before each beat.
    rng : random.Random
    """

    def __init__(self, dut, name, clk, layout=None, *, idle_prob=0.0, rng=None):
        self.valid, self.ready, self.payload = port(dut, name)
        self.clk = clk
        self.layout = layout
        self.idle_prob = idle_prob
        self.rng = rng or random.Random(0)
        self.queue = deque()
        self.sent = 0
        self._idle = Event()
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send_nowait(self, item):
        self.queue.append(item)

    async def send(self, item):
        self.queue.append(item)
        await self.wait_idle()

    def empty(self):
        return not self.queue

    async def wait_idle(self):
        while self.queue or int(self.valid.value):
            await RisingEdge(self.clk)

    async def _run(self):
        current = None
        while True:
            await FallingEdge(self.clk)
            taken = current is not None and int(self.ready.value)
            await RisingEdge(self.clk)
            if taken:
                # The beat on the bus was taken at this edge.
                current = None
                self.sent += 1
            if current is None:
                if self.queue and not (self.idle_prob and self.rng.random() < self.idle_prob):
                    current = self.queue.popleft()
                    self.payload.value = pack(self.layout, current) if self.layout is not None else int(current)
                    self.valid.value = 1
                else:
                    self.valid.value = 0


class StreamSink:
    """Accepts a stream from the DUT into a queue, optionally withholding ``ready``.

    Parameters
    ----------
    backpressure_prob : float
        Probability of holding ``ready`` low in a cycle.
    callback : callable, optional
        Called with each unpacked payload as it arrives (instead of queueing it).
    """

    def __init__(self, dut, name, clk, layout=None, *, backpressure_prob=0.0, rng=None, callback=None):
        self.valid, self.ready, self.payload = port(dut, name)
        self.clk = clk
        self.layout = layout
        self.backpressure_prob = backpressure_prob
        self.rng = rng or random.Random(0)
        self.callback = callback
        self.queue = deque()
        self.received = 0
        self._event = Event()
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    async def recv(self):
        while not self.queue:
            self._event.clear()
            await self._event.wait()
        return self.queue.popleft()

    def empty(self):
        return not self.queue

    async def _run(self):
        while True:
            self.ready.value = 0 if (self.backpressure_prob and self.rng.random() < self.backpressure_prob) else 1
            await FallingEdge(self.clk)
            fired = int(self.ready.value) and int(self.valid.value)
            raw = int(self.payload.value) if fired else 0
            await RisingEdge(self.clk)
            if fired:
                item = unpack(self.layout, raw) if self.layout is not None else raw
                self.received += 1
                if self.callback is not None:
                    self.callback(item)
                else:
                    self.queue.append(item)
                    self._event.set()
