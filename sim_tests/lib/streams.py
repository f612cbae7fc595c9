"""cocotb drivers for ``amaranth.lib.stream`` ports, with idle and backpressure insertion (see
:mod:`emu.cosim.streams`, where they live so ``disagg bench``'s cocotb leg runs from an installed package)."""

from emu.cosim.streams import Fields, StreamSink, StreamSource, pack, port, unpack

__all__ = ["pack", "unpack", "Fields", "StreamSource", "StreamSink", "port"]
