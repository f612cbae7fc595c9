"""A one-stage Amaranth stream register with fault injection: the device under test of the wave checker.

It passes beats from ``i`` to ``o`` with one cycle of latency and full throughput when ``o`` is ready.
The ``fault`` input makes it break the stream handshake on purpose while a beat on ``o`` is stalled,
so tests can show the checker catching exactly that:

* ``FAULT_NONE`` (0): correct behaviour.
* ``FAULT_RETRACT`` (1): drops ``o.valid`` while ``o.ready`` is low (the beat vanishes).
* ``FAULT_MUTATE`` (2): increments ``o.payload`` while ``o.ready`` is low.
"""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StreamRegister", "FAULT_NONE", "FAULT_RETRACT", "FAULT_MUTATE"]

FAULT_NONE, FAULT_RETRACT, FAULT_MUTATE = 0, 1, 2


class StreamRegister(wiring.Component):
    """Register stage ``i`` -> ``o`` for ``width``-bit payloads.

    Parameters
    ----------
    width : int
        Payload width in bits (1 to 64).

    Attributes
    ----------
    i : In(stream.Signature(width))
        Input stream; ready when the stage is empty or its beat leaves this cycle.
    o : Out(stream.Signature(width))
        Output stream, valid from a register.
    fault : In(2)
        Fault to inject while an output beat is stalled (``FAULT_*``); 0 in normal use.
    """

    def __init__(self, width=8):
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 64:
            raise TypeError(f"Payload width must be an integer from 1 to 64, not {width!r}")
        self.width = width
        super().__init__({
            "i": In(stream.Signature(width)),
            "o": Out(stream.Signature(width)),
            "fault": In(2),
        })

    def elaborate(self, platform):
        m = Module()
        take = Signal()
        m.d.comb += [take.eq(~self.o.valid | self.o.ready), self.i.ready.eq(take)]
        with m.If(take):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        with m.Elif(self.fault == FAULT_RETRACT):
            m.d.sync += self.o.valid.eq(0)
        with m.Elif(self.fault == FAULT_MUTATE):
            m.d.sync += self.o.payload.eq(self.o.payload + 1)
        return m
