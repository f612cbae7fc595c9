"""cocotb stream drivers with idle and backpressure insertion: :class:`Source`/:class:`Sink` for any valid/ready
handshake (Amaranth streams, AXI-Stream ports), :class:`StreamSource`/:class:`StreamSink` for Amaranth stream ports.

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

__all__ = ["pack", "unpack", "Fields", "Source", "Sink", "StreamSource", "StreamSink", "port"]


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


class Source:
    """Drives one valid/ready stream into the DUT from a queue, optionally idling between beats.

    Parameters
    ----------
    clk : clock handle.
    valid, ready : handles of the handshake.
    write : callable
        ``write(item)`` puts an item on the payload signal(s).
    idle_prob : float
        Probability of leaving ``valid`` low for a cycle before each beat.
    rng : random.Random
    """

    def __init__(self, clk, valid, ready, write, *, idle_prob=0.0, rng=None):
        self.clk, self.valid, self.ready, self.write = clk, valid, ready, write
        self.idle_prob = idle_prob
        self.rng = rng or random.Random(0)
        self.queue = deque()
        self.sent = 0
        self._offering = False
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send_nowait(self, item):
        self.queue.append(item)

    async def send(self, item):
        self.queue.append(item)
        await self.wait_idle()

    def empty(self):
        return not self.queue

    def idle(self):
        """Nothing queued and nothing offered."""
        return not self.queue and not self._offering

    async def wait_idle(self):
        while not self.idle():
            await RisingEdge(self.clk)

    async def _run(self):
        while True:
            await FallingEdge(self.clk)
            taken = self._offering and int(self.ready.value)
            await RisingEdge(self.clk)
            if taken:
                # The beat on the bus was taken at this edge.
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
    """Accepts one valid/ready stream from the DUT, optionally withholding ``ready``.

    Parameters
    ----------
    clk : clock handle.
    valid, ready : handles of the handshake.
    read : callable
        ``read()`` returns the item on the payload signal(s) (called in the cycle of the transfer).
    backpressure_prob : float
        Probability of holding ``ready`` low in a cycle.
    rng : random.Random
    callback : callable, optional
        Called with each item as it arrives (instead of queueing it).
    """

    def __init__(self, clk, valid, ready, read, *, backpressure_prob=0.0, rng=None, callback=None):
        self.clk, self.valid, self.ready, self.read = clk, valid, ready, read
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
            item = self.read() if int(self.ready.value) and int(self.valid.value) else None
            await RisingEdge(self.clk)
            if item is not None:
                self.received += 1
                if self.callback is not None:
                    self.callback(item)
                else:
                    self.queue.append(item)
                    self._event.set()


class StreamSource(Source):
    """A :class:`Source` on the Amaranth stream ``name`` of ``dut`` (``name__valid``, ``name__ready``,
    ``name__payload``); items are payload dicts packed by ``layout``, or integers when ``layout`` is ``None``."""

    def __init__(self, dut, name, clk, layout=None, *, idle_prob=0.0, rng=None):
        valid, ready, payload = port(dut, name)
        self.layout = layout

        def write(item):
            payload.value = pack(layout, item) if layout is not None else int(item)
        super().__init__(clk, valid, ready, write, idle_prob=idle_prob, rng=rng)


class StreamSink(Sink):
    """A :class:`Sink` on the Amaranth stream ``name`` of ``dut``; items are unpacked by ``layout`` (integers
    when ``layout`` is ``None``)."""

    def __init__(self, dut, name, clk, layout=None, *, backpressure_prob=0.0, rng=None, callback=None):
        valid, ready, payload = port(dut, name)
        self.layout = layout

        def read():
            raw = int(payload.value)
            return unpack(layout, raw) if layout is not None else raw
        super().__init__(clk, valid, ready, read, backpressure_prob=backpressure_prob, rng=rng, callback=callback)
