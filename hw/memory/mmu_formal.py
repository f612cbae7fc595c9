"""Formal harnesses of the memory-side MMU (run by ``disagg formal``; see ``docs/verification.md``).

Each harness instantiates :class:`hw.memory.mmu.MemoryMMU` in a small configuration, drives its inputs
freely and states one guarantee, looking only at its ports:

``handshake``
    Every stream and AXI4 channel the MMU drives obeys valid/ready (asserted); the ones it receives
    (requests, AXI responses) are assumed to. The CSR bus is free: firmware may write any register at any time
    (no configuration register feeds a payload in flight).
``owner_isolation``
    A request from a node that does not own the pid never reaches DRAM, and is answered with an error (PROT_FAULT, or
    BAD_REQUEST when it is malformed as well). The
    harness keeps its own copy of the owner table from the ``OWNER_SET`` writes on the CSR bus (the
    register contract of ``docs/mmu.md``), for one pid the solver picks. Firmware only writes ``OWNER_SET``
    here: the memory window (``MEM_CTRL``) reaches DRAM on purpose. Requests are offered one at a time (the
    MMU pipelines several, and its AXI transactions cannot be told apart at the ports), so a request is
    "being served" from the cycle its header is accepted to the cycle its response header leaves; no AXI
    read or write address may be issued in between when it came from a non-owner.

``mutation`` names a deliberate bug placed between the checker and the MMU:

* ``"drop_valid"``: ``net_tx.hdr.valid`` is dropped for a cycle while the response waits (handshake);
* ``"skip_owner_check"``: the MMU is shown the owner's node id as the request's source, whatever the real
  source was (a check that trusts a forged ``src``: isolation).
"""

from amaranth import Elaboratable, Module, Signal
from amaranth.hdl import Assert, Assume, Cover

from hw.lib.formal import (check_harness_choice, AnyConst, AnySeq, drive_free_inputs, handshake_properties, handshake_with_mutant,
                            hold_reset_low, quiet_config_writes)
from hw.memory.mmu import MemoryMMU
from hw.memory.registers import MMU_REGS
from hw.memory.params import MMUParams
from hw.protocol import NODE_ID_WIDTH, Status

__all__ = ["PROPERTIES", "MUTATIONS", "formal_params", "MMUFormal"]

PROPERTIES = ("handshake", "owner_isolation")
MUTATIONS = {"handshake": "drop_valid", "owner_isolation": "skip_owner_check"}

#: Registers whose value the MMU puts straight into an output payload, which firmware may then write only
#: while no output waits (:func:`hw.lib.formal.quiet_config_writes`). None: the walker samples ``PT_*`` once
#: per walk, the responder ``NODE_ID`` once per request and the memory window ``MEM_ADDR``/``MEM_LEN``/
#: ``MEM_WDATA`` once per command, so the CSR bus is entirely free.
CONFIG_REGISTERS = ()


def formal_params():
    """The small MMU the harnesses prove: a 4-entry 2-way TLB, 2-bit pids, 16-bit virtual and physical
    addresses, 4 KiB pages; every mechanism of the default is there, with few states."""
    return MMUParams(tlb_entries=4, tlb_ways=2, pid_width=2, vaddr_width=16, paddr_width=16)


class MMUFormal(Elaboratable):
    """Harness of one MMU property.

    Parameters
    ----------
    prop : str
        One of :data:`PROPERTIES`.
    params : MMUParams or None
        Default :func:`formal_params`.
    mutation : str or None
        A deliberate bug (see the module docstring), or ``None`` for the real MMU.
    """

    def __init__(self, prop, params=None, *, mutation=None):
        check_harness_choice("MMU", prop, PROPERTIES, mutation, MUTATIONS)
        self.prop, self.mutation = prop, mutation
        self.params = formal_params() if params is None else params
        if not isinstance(self.params, MMUParams):
            raise TypeError(f"params must be MMUParams, not {self.params!r}")

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = MemoryMMU(self.params)
        hold_reset_low(m)
        if self.prop == "handshake":
            drive_free_inputs(m, dut)
            quiet_config_writes(m, dut, dut.csr, [MMU_REGS.addr(name) for name in CONFIG_REGISTERS])
            handshake_with_mutant(m, dut, "net_tx.hdr" if self.mutation == "drop_valid" else None)
        else:
            self._owner_isolation(m, dut)
        return m

    def _owner_isolation(self, m, dut):
        p = self.params
        src = Signal(NODE_ID_WIDTH)
        drive_free_inputs(m, dut, skip=[("net_rx", "hdr", "payload", "src"), ("csr",)])
        m.d.comb += src.eq(AnySeq(NODE_ID_WIDTH))
        handshake_properties(m, dut)
        # Firmware binds and unbinds owners, and does nothing else.
        owner_set = MMU_REGS.addr("OWNER_SET")
        w_data = Signal(32)
        m.d.comb += [w_data.eq(AnySeq(32)), dut.csr.w_stb.eq(AnySeq(1)), dut.csr.addr.eq(owner_set),
                     dut.csr.w_data.eq(w_data)]
        t_pid = AnyConst(p.pid_width)
        bound, owner = Signal(), Signal(NODE_ID_WIDTH)
        with m.If(dut.csr.w_stb & (w_data[:16] == t_pid)):
            m.d.sync += [bound.eq(w_data[31]), owner.eq(w_data[16:24])]
        hdr = dut.net_rx.hdr
        if self.mutation == "skip_owner_check":
            m.d.comb += hdr.payload.src.eq(owner)
        else:
            m.d.comb += hdr.payload.src.eq(src)
        # Binding changes while the tracked pid's request is served would make "the owner" ambiguous.
        serving, foreign = Signal(), Signal()
        m.d.comb += Assume(~((serving | hdr.valid) & dut.csr.w_stb & (w_data[:16] == t_pid)))
        m.d.comb += Assume(~(serving & hdr.valid))       # one request at a time (see the module docstring)
        accepted = hdr.valid & hdr.ready
        from_stranger = (hdr.payload.pid == t_pid) & (~bound | (src != owner))
        responded = dut.net_tx.hdr.valid & dut.net_tx.hdr.ready
        with m.If(accepted):
            m.d.sync += [serving.eq(1), foreign.eq(from_stranger)]
        with m.Elif(responded):
            m.d.sync += [serving.eq(0), foreign.eq(0)]
        axi = dut.axi
        m.d.comb += Assert(~(foreign & (axi.arvalid | axi.awvalid)),
                           "a non-owner's request never reaches DRAM")
        m.d.comb += Assert(~(foreign & responded) | (dut.net_tx.hdr.payload.status != Status.OK),
                           "a non-owner's request is answered with an error")
        m.d.comb += Cover(foreign & responded)
        m.d.comb += Cover(serving & ~foreign & axi.arvalid)
