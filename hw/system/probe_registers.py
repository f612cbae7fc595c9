"""The probe block's stage list and CSR register map, apart from the RTL so firmware can import them alone.

See :mod:`hw.system.probe` for the block and ``docs/system.md`` for the stages.
"""

from hw.lib.csr import Action, Counter, Field, R, Register, RegisterMap
from hw.network.link import LINK_COUNTERS

__all__ = ["PROBE_STAGES", "PROBE_CHAIN", "PROBE_REGS", "PROBE_ID"]

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




def _probe_regmap():
    regs = [
        Register("cycle", 0x00, "r", "free-running 64-bit cycle counter (reading cycle_LO latches cycle_HI)",
                 kind=Counter(64, registered=False)),
        Register("control", 0x02, "w", "bit 0: clear every event counter (the cycle counter keeps running)",
                 fields=(Field("clear", 0, 1, "write 1 to clear the event counters", Action()),)),
        Register("id", 0x03, "r", "constant 0x5357_0001 ('SW' system, version 1)", kind=R()),
    ]
    for index, (name, doc) in enumerate(PROBE_STAGES):
        regs.append(Register(f"count_{name}", 0x10 + index, "r", f"events: {doc} (wraps at 2**32)",
                             kind=Counter()))
    for base, link, what in ((0x40, "link_req", "processor -> memory"), (0x50, "link_resp", "memory -> processor")):
        for index, name in enumerate(LINK_COUNTERS):
            regs.append(Register(f"{link}_{name}", base + index, "r",
                                 f"{what} link: {name.replace('_', ' ')} (hw.network.link.Link counter, wraps)",
                                 kind=R()))
    return RegisterMap("probe", regs)


#: Register map of the probe block (word addresses within the block).
PROBE_REGS = _probe_regmap()
PROBE_ID = 0x5357_0001
