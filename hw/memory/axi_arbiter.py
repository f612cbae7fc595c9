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
    """Grants the AXI port to one manager at a time.

    A manager asks with ``req`` (see :class:`hw.memory.ports.BurstSignature`). The grant goes to the
    manager that held it last cycle if it still asks, else to the lowest-numbered one that asks; it is
    kept until that manager drops ``req``, so a burst's responses reach the manager that issued it. One
    transaction is in flight at a time (ID 0; a pipelined MMU would give each manager an ID and route
    responses by ``rid``/``bid``). The arbiter drives the constant AXI fields: INCR bursts of full
    beats, normal non-cacheable memory, unprivileged, no lock.

    Two grant timings (``registered``):

    * ``False``: the grant is decided in the cycle a manager asks (no added latency), so a manager's
      ``req`` reaches its own ``arready``/``awready``/... through the grant in one cycle.
    * ``True``: the grant is a register. It changes at the edge after the holder drops ``req`` (to the
      lowest-numbered manager asking then) and, when nobody asks, returns to ``park``. A manager's
      handshakes then depend on a flip-flop and the AXI inputs only, which takes the manager -> grant
      -> ready path out of its cycle (issue 18: it was the MMU's critical path). Cost: one cycle before
      a transaction of a manager that does not hold the port (the parked manager pays nothing when the
      port was idle), and one idle cycle at each hand-over.

    Parameters
    ----------
    n : int
        Managers (ports ``m0`` .. ``m{n-1}``, ``m0`` first in priority).
    addr_width, data_width, id_width : int
        Of the AXI port.
    registered : bool
        The grant from a register (see above).
    park : int
        With ``registered``: the manager that holds the port while nobody asks (and after reset).

    Ports
    -----
    m0 .. m{n-1} : In(BurstSignature(addr_width, data_width))
    axi : Out(AXI4Signature(addr_width, data_width, id_width))
    grant : Out(n)
        This cycle's grant, one-hot (bit ``i``: ``m{i}`` holds the port; zero when nobody does, which only the
        same-cycle grant has). With ``registered`` it is a flip-flop output, so an observer can tell whose
        transaction a handshake on ``axi`` is without a path through the managers' addresses.
    """

    def __init__(self, n, *, addr_width, data_width, id_width=1, registered=False, park=0):
        check_int("AXIArbiter n", n, 1, 16)
        if not isinstance(registered, bool):
            raise TypeError(f"AXIArbiter registered must be a bool, not {registered!r}")
        check_int("AXIArbiter park", park, 0, n - 1)
        self.n = n
        self.registered, self.park = registered, park
        self.axi_sig = AXI4Signature(addr_width, data_width, id_width)
        members = {f"m{i}": In(BurstSignature(addr_width, data_width)) for i in range(n)}
        members["axi"] = Out(self.axi_sig)
        members["grant"] = Out(n)
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
        # The grant as a one-hot vector: each manager's handshakes are gated by one bit of it and the
        # outputs are an AND-OR, instead of a binary grant decoded again at every multiplexer (the grant,
        # from the managers' state to their ready inputs, was the MMU's critical path; issue 18).
        grant = self._grant(m, Cat(*[port.req for port in ports]))
        m.d.comb += self.grant.eq(grant)

        outputs = ("araddr", "arlen", "arvalid", "rready", "awaddr", "awlen", "awvalid",
                   "wdata", "wstrb", "wlast", "wvalid", "bready")
        for name in outputs:
            m.d.comb += getattr(axi, name).eq(
                _or(*[getattr(port, name) & grant[i].replicate(len(getattr(port, name)))
                      for i, port in enumerate(ports)]))
        # Handshakes and the last flag reach the granted manager only; read data and response codes go to
        # every manager (each uses them only with its own valid).
        for i, port in enumerate(ports):
            m.d.comb += [getattr(port, name).eq(getattr(axi, name) & grant[i])
                         for name in ("arready", "rlast", "rvalid", "awready", "wready", "bvalid")]
            m.d.comb += [port.rdata.eq(axi.rdata), port.rresp.eq(axi.rresp), port.bresp.eq(axi.bresp)]
        return m

    def _grant(self, m, reqs):
        """The one-hot grant of this cycle, from the managers' ``reqs``."""
        n = self.n
        # The manager granted last cycle (same-cycle grant; one-hot, zero if none), or this cycle's grant
        # (registered grant; the parked manager after reset).
        held = Signal(n, init=(1 << self.park) if self.registered else 0)
        keep = held & reqs
        choice = Signal(n)                # held if it still asks, else the first that asks
        if self.registered:
            m.d.comb += choice.eq(1 << self.park)
        for i in reversed(range(n)):
            with m.If(reqs[i]):
                m.d.comb += choice.eq(1 << i)
        with m.If(keep.any()):
            m.d.comb += choice.eq(keep)
        m.d.sync += held.eq(choice)
        return held if self.registered else choice


def _or(*values):
    """The bitwise OR of ``values``."""
    out = values[0]
    for v in values[1:]:
        out = out | v
    return out
