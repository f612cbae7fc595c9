"""AXI4 (full) interface signature, reusable by every block with a memory port.

The members carry the standard AXI4 names (``awaddr``, ``awlen``, ... ``rready``), so a member named
``axi`` becomes Verilog ports ``axi__awaddr`` ... and cocotbext-axi attaches with
``AxiBus.from_prefix(dut, "axi_")``. ``AxiRam`` and FPGA DDR controllers (Xilinx MIG, LiteDRAM's AXI
front end) connect unchanged.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int, is_pow2

__all__ = ["AXI4Signature", "BURST_FIXED", "BURST_INCR", "BURST_WRAP", "RESP_OKAY"]

BURST_FIXED = 0
BURST_INCR = 1
BURST_WRAP = 2
RESP_OKAY = 0


class AXI4Signature(wiring.Signature):
    """AXI4 manager (master) view; ``AXI4Signature(...).flip()`` is the subordinate (slave) view.

    Parameters
    ----------
    addr_width : int
        Byte address width.
    data_width : int
        Data bus width in bits (power of two, 8 to 1024).
    id_width : int
        Transaction ID width (at least 1; our managers drive a constant ID).

    Members
    -------
    aw* : write address channel (``awid``, ``awaddr``, ``awlen``, ``awsize``, ``awburst``, ``awlock``,
        ``awcache``, ``awprot``, ``awvalid`` out; ``awready`` in).
    w* : write data channel (``wdata``, ``wstrb``, ``wlast``, ``wvalid`` out; ``wready`` in).
    b* : write response channel (``bid``, ``bresp``, ``bvalid`` in; ``bready`` out).
    ar* : read address channel, as ``aw*``.
    r* : read data channel (``rid``, ``rdata``, ``rresp``, ``rlast``, ``rvalid`` in; ``rready`` out).
    """

    def __init__(self, addr_width, data_width, id_width=1):
        if not is_int(addr_width) or not 1 <= addr_width <= 64:
            raise TypeError(f"AXI address width must be an integer from 1 to 64, not {addr_width!r}")
        if not is_pow2(data_width) or not 8 <= data_width <= 1024:
            raise TypeError(f"AXI data width must be a power of two from 8 to 1024, not {data_width!r}")
        if not is_int(id_width) or id_width < 1:
            raise TypeError(f"AXI ID width must be a positive integer, not {id_width!r}")
        self.addr_width = addr_width
        self.data_width = data_width
        self.id_width = id_width
        members = {}
        for ch in ("aw", "ar"):
            members.update({
                f"{ch}id": Out(id_width), f"{ch}addr": Out(addr_width), f"{ch}len": Out(8),
                f"{ch}size": Out(3), f"{ch}burst": Out(2), f"{ch}lock": Out(1), f"{ch}cache": Out(4),
                f"{ch}prot": Out(3), f"{ch}valid": Out(1), f"{ch}ready": In(1),
            })
        members.update({
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1),
            "wvalid": Out(1), "wready": In(1),
            "bid": In(id_width), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "rid": In(id_width), "rdata": In(data_width), "rresp": In(2), "rlast": In(1),
            "rvalid": In(1), "rready": Out(1),
        })
        super().__init__(members)

    def __eq__(self, other):
        return (type(other) is type(self) and other.addr_width == self.addr_width
                and other.data_width == self.data_width and other.id_width == self.id_width)

    def __repr__(self):
        return f"AXI4Signature({self.addr_width}, {self.data_width}, {self.id_width})"
