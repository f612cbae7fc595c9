"""AXI arbiter: several burst managers (walker, data mover, memory window) on one AXI4 port."""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axi import AXI4Signature, BURST_INCR
from hw.lib.checks import check_int
from hw.memory.ports import BurstSignature

__all__ = ["AXIArbiter"]

#: ARCACHE/AWCACHE: normal non-cacheable bufferable memory.
_CACHE_NORMAL = 0b0011


class AXIArbiter(wiring.Component):
    """Grants the AXI port to one manager at a time, without adding a cycle.

    A manager asks with ``req`` (see :class:`hw.memory.ports.BurstSignature`). The grant goes, in the same
    cycle, to the manager that held it last cycle if it still asks, else to the lowest-numbered one that
    asks; it is kept until that manager drops ``req``, so a burst's responses reach the manager that
    issued it. One transaction is in flight at a time (ID 0; a pipelined MMU would give each manager an
    ID and route responses by ``rid``/``bid``). The arbiter drives the constant AXI fields: INCR bursts of
    full beats, normal non-cacheable memory, unprivileged, no lock.

    Parameters
    ----------
    n : int
        Managers (ports ``m0`` .. ``m{n-1}``, ``m0`` first in priority).
    addr_width, data_width, id_width : int
        Of the AXI port.

    Ports
    -----
    m0 .. m{n-1} : In(BurstSignature(addr_width, data_width))
    axi : Out(AXI4Signature(addr_width, data_width, id_width))
    """

    def __init__(self, n, *, addr_width, data_width, id_width=1):
        check_int("AXIArbiter n", n, 1, 16)
        self.n = n
        self.axi_sig = AXI4Signature(addr_width, data_width, id_width)
        members = {f"m{i}": In(BurstSignature(addr_width, data_width)) for i in range(n)}
        members["axi"] = Out(self.axi_sig)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        size_code = (self.axi_sig.data_width // 8).bit_length() - 1
        m.d.comb += [
            axi.awburst.eq(BURST_INCR), axi.arburst.eq(BURST_INCR),
            axi.awsize.eq(size_code), axi.arsize.eq(size_code),
            axi.awcache.eq(_CACHE_NORMAL), axi.arcache.eq(_CACHE_NORMAL),
            axi.awprot.eq(0), axi.arprot.eq(0), axi.awlock.eq(0), axi.arlock.eq(0),
            axi.awid.eq(0), axi.arid.eq(0),
        ]
        ports = [getattr(self, f"m{i}") for i in range(self.n)]
        held = Signal(range(self.n))      # the manager granted last cycle
        held_valid = Signal()
        grant = Signal(range(self.n))
        any_req = Signal()
        m.d.comb += any_req.eq(Cat(*[port.req for port in ports]).any())
        for i in reversed(range(self.n)):
            with m.If(ports[i].req):
                m.d.comb += grant.eq(i)
        for i in range(self.n):
            with m.If(held_valid & (held == i) & ports[i].req):
                m.d.comb += grant.eq(i)
        m.d.sync += [held.eq(grant), held_valid.eq(any_req)]

        outputs = ("araddr", "arlen", "arvalid", "rready", "awaddr", "awlen", "awvalid",
                   "wdata", "wstrb", "wlast", "wvalid", "bready")
        inputs = ("arready", "rdata", "rresp", "rlast", "rvalid", "awready", "wready", "bresp", "bvalid")
        for i, port in enumerate(ports):
            with m.If(any_req & (grant == i)):
                m.d.comb += [getattr(axi, name).eq(getattr(port, name)) for name in outputs]
                m.d.comb += [getattr(port, name).eq(getattr(axi, name)) for name in inputs]
        return m
