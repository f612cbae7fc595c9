"""Stage probes of a cache miss through the whole system, and the probe CSR block.

A miss crosses ten stage boundaries between the CPU port and back (see ``docs/system.md``). The system
top raises a one-cycle strobe at each boundary on its ``probe`` port (layout :class:`ProbeLayout`), so a
harness can time-stamp the stages in compiled code without looking inside the design. The same strobes
are counted by :class:`SystemProbe`, which also holds a free-running 64-bit cycle counter, readable by
firmware through the system CSR space.
"""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from hw.lib.csr import CSRBusSignature, CSRDecoder, Register, RegisterMap
from hw.network.link import LINK_COUNTERS

__all__ = ["PROBE_STAGES", "PROBE_CHAIN", "ProbeLayout", "PROBE_REGS", "SystemProbe"]

#: The probe strobes in bit order (bit 0 first), each ``(name, meaning)``. Every strobe is high for exactly
#: one cycle per event: the cycle in which the named handshake happens.
PROBE_STAGES = (
    ("miss_msg",      "ExCache miss message (request header) accepted by the processor network interface"),
    ("req_wire_out",  "first beat of a message frame leaves the processor network interface onto the link"),
    ("req_wire_in",   "first beat of a message frame reaches the memory network interface from the link"),
    ("mmu_req",       "request header handed from the memory network interface to the MMU"),
    ("dram_addr",     "AXI address of the request's data access accepted by the DRAM (walks excluded)"),
    ("dram_last",     "last AXI data beat of that access (read data to the MMU or write data to the DRAM)"),
    ("mmu_resp",      "response header leaves the MMU into the memory network interface"),
    ("resp_wire_out", "first beat of a message frame leaves the memory network interface onto the link"),
    ("resp_wire_in",  "first beat of a message frame reaches the processor network interface (link done)"),
    ("cache_resp",    "response header handed from the processor network interface to the ExCache"),
    ("cpu_resp",      "a response leaves the ExCache's CPU port (hits included)"),
    ("cpu_req",       "a request enters the ExCache's CPU port (hits included)"),
    ("walk_addr",     "AXI read address of a page-table bucket accepted by the DRAM (walker)"),
    ("walk_last",     "last beat of a page-table bucket read"),
)

#: The probes a miss crosses, in order: the stage chain of a miss (``cpu_req``, ``walk_addr`` and
#: ``walk_last`` are not on it: every access has a ``cpu_req``, and a walk happens only on a TLB miss,
#: inside the translation stage ``mmu_req`` -> ``dram_addr``).
PROBE_CHAIN = tuple(name for name, _ in PROBE_STAGES[:11])


class ProbeLayout(data.StructLayout):
    """One bit per stage of :data:`PROBE_STAGES`, bit ``i`` for stage ``i``."""

    def __init__(self):
        super().__init__({name: 1 for name, _ in PROBE_STAGES})


def _probe_regmap():
    regs = [
        Register("cycle_lo", 0x00, "r", "cycle counter bits 31..0; reading latches bits 63..32 into cycle_hi"),
        Register("cycle_hi", 0x01, "r", "cycle counter bits 63..32 as latched by the last read of cycle_lo"),
        Register("control", 0x02, "w", "bit 0: clear every event counter (the cycle counter keeps running)",
                 fields=(("clear", 0, 1, "write 1 to clear the event counters"),)),
        Register("id", 0x03, "r", "constant 0x5357_0001 ('SW' system, version 1)"),
    ]
    for index, (name, doc) in enumerate(PROBE_STAGES):
        regs.append(Register(f"count_{name}", 0x10 + index, "r", f"events: {doc} (wraps at 2**32)"))
    for base, link, what in ((0x40, "link_req", "processor -> memory"), (0x50, "link_resp", "memory -> processor")):
        for index, name in enumerate(LINK_COUNTERS):
            regs.append(Register(f"{link}_{name}", base + index, "r",
                                 f"{what} link: {name.replace('_', ' ')} (hw.network.link.Link counter, wraps)"))
    return RegisterMap("probe", regs)


#: Register map of the probe block (word addresses within the block).
PROBE_REGS = _probe_regmap()
PROBE_ID = 0x5357_0001


class SystemProbe(wiring.Component):
    """Cycle counter and per-stage event counters.

    Attributes
    ----------
    probe : In(ProbeLayout())
        The stage strobes of the system.
    csr : In(CSRBusSignature(PROBE_REGS.addr_width))
        Firmware access to the counters (map :data:`PROBE_REGS`).
    link_req_<counter>, link_resp_<counter> : In(32)
        The counters of the two links (``hw.network.link.LINK_COUNTERS``), shown read-only.
    """

    def __init__(self):
        members = {
            "probe": In(ProbeLayout()),
            "csr": In(CSRBusSignature(PROBE_REGS.addr_width)),
        }
        for link in ("link_req", "link_resp"):
            for name in LINK_COUNTERS:
                members[f"{link}_{name}"] = In(32)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = decoder = CSRDecoder(PROBE_REGS)
        wiring.connect(m, wiring.flipped(self.csr), decoder.bus)
        regs = decoder.regs

        cycle = Signal(64)
        cycle_hi = Signal(32)
        m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += [
            regs["cycle_lo"].r_data.eq(cycle[:32]),
            regs["cycle_hi"].r_data.eq(cycle_hi),
            regs["id"].r_data.eq(PROBE_ID),
        ]
        with m.If(regs["cycle_lo"].r_stb):
            m.d.sync += cycle_hi.eq(cycle[32:])

        for link in ("link_req", "link_resp"):
            for name in LINK_COUNTERS:
                m.d.comb += regs[f"{link}_{name}"].r_data.eq(getattr(self, f"{link}_{name}"))

        clear = regs["control"].w_stb & regs["control"].w_data[0]
        for name, _ in PROBE_STAGES:
            count = Signal(32, name=f"count_{name}")
            m.d.comb += regs[f"count_{name}"].r_data.eq(count)
            with m.If(clear):
                m.d.sync += count.eq(0)
            with m.Elif(getattr(self.probe, name)):
                m.d.sync += count.eq(count + 1)
        return m
