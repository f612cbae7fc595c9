"""Stage probes of a cache miss through the whole system, and the probe CSR block.

A miss crosses ten stage boundaries between the CPU port and back (see ``docs/system.md``). The system
top raises a one-cycle strobe at each boundary on its ``probe`` port (layout :class:`ProbeLayout`), so a
harness can time-stamp the stages in compiled code without looking inside the design. The same strobes
are counted by :class:`SystemProbe`, which also holds a free-running 64-bit cycle counter, readable by
firmware through the system CSR space. The stage list and the register map are in
:mod:`hw.system.probe_registers` (firmware imports them from there); every counter is a register of kind
``Counter`` (:mod:`hw.lib.csr`), so this block only wires strobes to them.
"""

from amaranth import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.network.link import LINK_COUNTERS
from hw.system.probe_registers import PROBE_CHAIN, PROBE_ID, PROBE_REGS, PROBE_STAGES

__all__ = ["PROBE_STAGES", "PROBE_CHAIN", "ProbeLayout", "PROBE_REGS", "PROBE_ID", "SystemProbe"]


class ProbeLayout(data.StructLayout):
    """One bit per stage of :data:`PROBE_STAGES`, bit ``i`` for stage ``i``."""

    def __init__(self):
        super().__init__({name: 1 for name, _ in PROBE_STAGES})


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
        m.d.comb += [regs["cycle"].inc.eq(1), regs["id"].r_data.eq(PROBE_ID)]
        clear = regs["control"].clear.w_stb & regs["control"].clear.w_data
        for name, _ in PROBE_STAGES:
            count = regs[f"count_{name}"]
            m.d.comb += [count.inc.eq(getattr(self.probe, name)), count.clear.eq(clear)]
        for link in ("link_req", "link_resp"):
            for name in LINK_COUNTERS:
                m.d.comb += regs[f"{link}_{name}"].r_data.eq(getattr(self, f"{link}_{name}"))
        return m
