"""AXI-Stream signature, the wire-side port of the network interface and the link/switch models.

Only the signals a frame-oriented MAC needs: ``tdata``, ``tkeep`` (one bit per byte), ``tlast``, ``tvalid``
and ``tready``. The Verilog names are ``<port>__tdata`` ... , which cocotbext-axi's
``AxiStreamBus.from_prefix(dut, "<port>_")`` finds unchanged.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int

__all__ = ["AXIStreamSignature"]


class AXIStreamSignature(wiring.Signature):
    """Transmitter (manager) side of an AXI-Stream port; flip it for the receiver side.

    Parameters
    ----------
    data_width : int
        Width of ``tdata`` in bits: a multiple of 8, at least 8 (64 by default). ``tkeep`` has
        ``data_width // 8`` bits.

    Members
    -------
    tdata : Out(data_width)
        Bytes of the beat, byte 0 in bits 7..0.
    tkeep : Out(data_width // 8)
        Bit ``i`` set when byte ``i`` of ``tdata`` is part of the stream.
    tlast : Out(1)
        Last beat of a frame.
    tvalid : Out(1)
        The beat is valid; it moves at a rising edge where ``tvalid`` and ``tready`` are both high.
    tready : In(1)
        The receiver accepts a beat in this cycle.
    """

    def __init__(self, data_width=64):
        if not is_int(data_width) or data_width < 8 or data_width % 8:
            raise TypeError(f"AXI-Stream data width must be a positive multiple of 8 bits, not {data_width!r}")
        self.data_width = data_width
        super().__init__({
            "tdata":  Out(data_width),
            "tkeep":  Out(data_width // 8),
            "tlast":  Out(1),
            "tvalid": Out(1),
            "tready": In(1),
        })

    def __eq__(self, other):
        return type(other) is type(self) and other.data_width == self.data_width

    def __repr__(self):
        return f"AXIStreamSignature({self.data_width})"
