"""cocotb stream drivers of the tests: the product's (:mod:`emu.cosim.streams`: :class:`Source`/:class:`Sink` for
any valid/ready handshake, :class:`StreamSource`/:class:`StreamSink` for Amaranth stream ports, ``pack``/``unpack``,
``Fields``) and AXI-Stream constructors over them.

Handshakes are sampled at the falling edge and driven after the rising edge, which is right on cycle-based
(Verilator) and event-driven (Icarus) simulators alike; see :mod:`emu.cosim.streams`.
"""

from emu.cosim.streams import Fields, Sink, Source, StreamSink, StreamSource, pack, port, unpack

__all__ = ["pack", "unpack", "Fields", "Source", "Sink", "StreamSource", "StreamSink", "port",
           "axis_source", "axis_sink"]

_AXIS = ("tdata", "tkeep", "tlast")


def axis_source(dut, prefix, clk, **kw):
    """A :class:`Source` on the AXI-Stream port ``prefix`` (``prefix__tvalid`` ...); items are
    ``(tdata, tkeep, tlast)`` beats."""
    tdata, tkeep, tlast = (getattr(dut, f"{prefix}__{s}") for s in _AXIS)

    def write(beat):
        tdata.value, tkeep.value, tlast.value = beat
    return Source(clk, getattr(dut, f"{prefix}__tvalid"), getattr(dut, f"{prefix}__tready"), write, **kw)


def axis_sink(dut, prefix, clk, **kw):
    """A :class:`Sink` on the AXI-Stream port ``prefix``; items are ``(tdata, tkeep, tlast)`` beats."""
    tdata, tkeep, tlast = (getattr(dut, f"{prefix}__{s}") for s in _AXIS)
    return Sink(clk, getattr(dut, f"{prefix}__tvalid"), getattr(dut, f"{prefix}__tready"),
                lambda: (int(tdata.value), int(tkeep.value), int(tlast.value)), **kw)
