"""The whole split system: one processor component and one memory component joined by two links.

::

    cpu_req/cpu_resp                                                       irq_mem
          |                                                                   ^
    +-----v---------- ProcessorComponent ----+      +---- MemoryComponent ---+-----------------+
    | ExCacheTop (controller + miss handler) |      | NetIf  --->  MemoryMMUWithDram         |
    |     net_tx/net_rx  <->  NetIf          |      | (mem_node)   (MMU/TLB + walker + DRAM) |
    |                      (proc_node)       |      |                                        |
    +------------------ m_axis ---- s_axis --+      +-- s_axis ---- m_axis ------------------+
                          |          ^                    ^            |
                          |          +---- Link (resp) ---+------------+
                          +--------------- Link (req) ----+
    irq_proc <- ExCache            csr -> CSRMux -> excache | proc_netif | mmu | mem_netif | probe

All firmware access goes through the one ``csr`` port; the word address selects the block by the
fixed bases of :data:`SYSTEM_CSR_BASES`. The ``probe`` port carries one-cycle strobes at every stage
boundary of a miss (:data:`hw.system.probe.PROBE_STAGES`), for time-stamping in compiled harness code.
``docs/system.md`` is the spec.
"""

from amaranth import ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature
from hw.lib.csrmux import CSRMux
from hw.network.link import LINK_COUNTERS, Link
from hw.system.address_map import COMPONENT_CSR_ADDR_WIDTH, MEM_BASE, PROC_BASE, SYSTEM_CSR_ADDR_WIDTH, SYSTEM_CSR_BASES
from hw.system.components import MemoryComponent, ProcessorComponent
from hw.system.params import SystemParams, default_params
from hw.system.probe import PROBE_REGS, ProbeLayout, SystemProbe

__all__ = ["SystemTop", "HarnessTop", "default_top"]


class SystemTop(wiring.Component):
    """One processor component and one memory component joined by two links.

    Parameters
    ----------
    params : SystemParams

    Attributes
    ----------
    cpu_req : In(stream of hw.processor.excache_layouts.CpuReq)
        CPU accesses, exactly the ExCache's ``cpu_req``.
    cpu_resp : Out(stream of hw.processor.excache_layouts.CpuResp)
        Answers in request order (read data, ``hw.protocol.Status``).
    csr : In(CSRBusSignature(SYSTEM_CSR_ADDR_WIDTH))
        The one firmware bus; word address = ``SYSTEM_CSR_BASES[block] + register``. ``r_data`` is valid
        in the cycle after ``r_stb``, as on every ``hw.lib.csr`` bus.
    irq_proc : Out(1)
        The ExCache's interrupt (software-managed miss waiting, or maintenance done).
    irq_mem : Out(1)
        The MMU's interrupt (page fault waiting for the memory monitor).
    probe : Out(ProbeLayout)
        One-cycle stage strobes, bit ``i`` = ``hw.system.probe.PROBE_STAGES[i]``.
    dram : Out(AXI4Signature)
        Only with ``external_dram``: the memory component's DRAM port (the MMU's AXI4 manager port), served
        outside the top (the fast harness's compiled memory).
    lmem : Out(AXI4Signature)
        Only with ``params.excache.line_store == "axi"``: the processor component's local memory (the ExCache's
        line data), always served outside the top (the fast harness's compiled local memory, a board's memory).

    Parameters
    ----------
    params : SystemParams
    external_dram : bool
        Expose the memory component's DRAM port instead of instantiating the RTL DRAM model
        (:class:`hw.system.components.MemoryComponent`).
    """

    def __init__(self, params, *, external_dram=False):
        if not isinstance(params, SystemParams):
            raise TypeError(f"SystemTop needs SystemParams, not {params!r}")
        self.params = params
        self.external_dram = external_dram
        self.proc = ProcessorComponent(params.excache, params.proc_netif, miss_path=params.miss_path)
        self.mem = MemoryComponent(params.mmu, params.mem_netif, dram_bytes=params.dram_bytes,
                                   dram_latency=params.dram_latency, dram_read_slots=params.dram_read_slots,
                                   external_dram=external_dram)
        self.link_req = Link(params.link)
        self.link_resp = Link(params.return_link)
        members = self.proc.signature.members
        ports = {
            "cpu_req": members["cpu_req"],
            "cpu_resp": members["cpu_resp"],
            "csr": In(CSRBusSignature(SYSTEM_CSR_ADDR_WIDTH)),
            "irq_proc": Out(1),
            "irq_mem": Out(1),
            "probe": Out(ProbeLayout()),
        }
        if external_dram:
            ports["dram"] = self.mem.signature.members["dram"]
        if "lmem" in members:
            ports["lmem"] = members["lmem"]
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        m.submodules.proc = proc = self.proc
        m.submodules.mem = mem = self.mem
        m.submodules.link_req = link_req = self.link_req
        m.submodules.link_resp = link_resp = self.link_resp
        m.submodules.probe_block = probe_block = SystemProbe()
        m.submodules.csr_mux = mux = CSRMux({
            "proc": (PROC_BASE, COMPONENT_CSR_ADDR_WIDTH),
            "mem": (MEM_BASE, COMPONENT_CSR_ADDR_WIDTH),
            "probe": (SYSTEM_CSR_BASES["probe"], PROBE_REGS.addr_width),
        }, addr_width=SYSTEM_CSR_ADDR_WIDTH)

        wiring.connect(m, wiring.flipped(self.cpu_req), proc.cpu_req)
        wiring.connect(m, proc.cpu_resp, wiring.flipped(self.cpu_resp))
        wiring.connect(m, proc.m_axis, link_req.s_axis)
        wiring.connect(m, link_req.m_axis, mem.s_axis)
        wiring.connect(m, mem.m_axis, link_resp.s_axis)
        if self.external_dram:
            wiring.connect(m, mem.dram, wiring.flipped(self.dram))
        if "lmem" in self.signature.members:
            wiring.connect(m, proc.lmem, wiring.flipped(self.lmem))
        wiring.connect(m, link_resp.m_axis, proc.s_axis)
        wiring.connect(m, wiring.flipped(self.csr), mux.bus)
        wiring.connect(m, mux.proc, proc.csr)
        wiring.connect(m, mux.mem, mem.csr)
        wiring.connect(m, mux.probe, probe_block.csr)
        m.d.comb += [self.irq_proc.eq(proc.irq), self.irq_mem.eq(mem.irq)]

        for source in (proc.probe, mem.probe):
            for name, _ in source.shape():
                m.d.comb += getattr(self.probe, name).eq(getattr(source, name))
        m.d.comb += probe_block.probe.eq(self.probe)
        for link_name, link in (("link_req", link_req), ("link_resp", link_resp)):
            for name in LINK_COUNTERS:
                m.d.comb += getattr(probe_block, f"{link_name}_{name}").eq(getattr(link, name))
        return m


class HarnessTop(wiring.Component):
    """:class:`SystemTop` as the compiled harness simulates it: every input registered, so that no logic of the
    system reads a top-level input combinationally.

    Verilator's input-combinational ("ico") region holds the logic that reads a top-level input, and it runs at
    every ``eval()`` call, before the clock edge; logic that also reads registers is evaluated a second time after
    the edge. With ``rst`` a top-level input (every Amaranth next-state block reads its domain's reset) most of the
    design lands there; with only the system's ports it still held 11-15 % of the model's work (the CSR decoders,
    the DRAM port's R/B channels, the CPU port, the local-memory port; ``docs/harness.md``). Here each input (``rst``
    included) feeds only a reset-less register of the ``inp`` domain, clocked by ``clk_in``, whose output drives the
    system: the ico region is empty, and every output of the top is a function of registers only.

    Timing: the harness presents the inputs of cycle ``c`` before the rising edge that starts it, with ``clk`` and
    ``clk_in`` rising together; that edge advances the system into cycle ``c`` and loads the inputs, so during cycle
    ``c`` the system sees exactly them, as the plain :class:`SystemTop` would, and the outputs of cycle ``c`` are
    settled when ``eval()`` returns (``emu/harness/driver.cpp``). At power-up ``clk_in`` rises alone once: it
    loads the inputs of cycle 0 without advancing the system. The system is in reset in cycle ``c`` iff ``rst`` was
    presented high for it, as with the plain top.

    The CSR bus's inputs (``csr.addr``, ``csr.r_stb``, ``csr.w_stb``, ``csr.w_data``) are registered on a third clock,
    ``clk_csr``, which the harness raises with ``clk_in`` only in the cycles whose CSR inputs differ from the last ones
    loaded (an access, and the cycle after it, when the strobes fall). The registers therefore hold, in every cycle,
    exactly the inputs presented for it, as with ``clk_in``; but the logic that reads only them (every decoder's
    per-word strobes: lookup tables of the address, a few percent of a cycle's work) is evaluated by Verilator only
    in those cycles, since it is triggered by ``clk_csr`` alone.

    One combinational path of a subordinate cannot be presented ahead of its cycle: the compiled DRAM
    (``emu/harness/axi_memory.h``), when idle, grants a write address only in a cycle without a read address (reads
    win), so its ``awready`` depends on the manager's ``arvalid`` of the same cycle. With ``external_dram`` the
    harness therefore presents the DRAM's ``awready`` as "idle" and the AND with ``~arvalid`` is made here, inside
    the model; ``arvalid`` is a register output of the system, so the path stays out of the ico region.

    Not a catalog block: ``rtl/`` and the cocotb tests keep :class:`SystemTop` with its plain ports.

    Parameters
    ----------
    params : SystemParams
    external_dram : bool
        As for :class:`SystemTop`.

    Attributes
    ----------
    clk : In(1)
        The clock of the system.
    clk_in : In(1)
        The clock of the input registers: rises with ``clk``, and once alone at power-up.
    clk_csr : In(1)
        The clock of the CSR bus's input registers: rises with ``clk_in`` whenever the CSR inputs presented differ
        from those it last loaded (at least at power-up).
    rst : In(1)
        Reset of the system in the cycle the inputs are presented for.
    (others)
        Exactly those of :class:`SystemTop`, each input registered on ``clk_in``.
    """

    #: Every input is registered (read by ``emu/harness/codegen.py``; the driver presents inputs ahead).
    registered_inputs = True

    def __init__(self, params, *, external_dram=False):
        self.system = SystemTop(params, external_dram=external_dram)
        self.params = params
        self.external_dram = external_dram
        super().__init__({"clk": In(1), "clk_in": In(1), "clk_csr": In(1), "rst": In(1),
                          **self.system.signature.members})

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        m.domains.inp = ClockDomain("inp", reset_less=True)
        m.domains.csr_in = ClockDomain("csr_in", reset_less=True)
        m.submodules.system = system = self.system
        rst_q = Signal(init=1, reset_less=True)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ClockSignal("inp").eq(self.clk_in),
                     ClockSignal("csr_in").eq(self.clk_csr), ResetSignal("sync").eq(rst_q)]
        m.d.inp += rst_q.eq(self.rst)
        awready = system.dram.awready if self.external_dram else None
        for path, member, inner in system.signature.flatten(system):
            outer = self
            for part in path:
                outer = getattr(outer, part) if isinstance(part, str) else outer[part]
            if member.flow == Out:
                m.d.comb += outer.eq(inner)
                continue
            name = "in_" + "_".join(str(p) for p in path)
            q = Signal(inner.shape(), name=name, reset_less=True)
            m.d[_input_domain(path)] += q.eq(outer)
            if inner is awready:
                m.d.comb += inner.eq(q & ~system.dram.arvalid)
            else:
                m.d.comb += inner.eq(q)
        return m


def _input_domain(path):
    """The domain of a registered input of :class:`HarnessTop`: ``csr_in`` for the CSR bus, ``inp`` for the rest."""
    return "csr_in" if path[0] == "csr" else "inp"


def default_top():
    """:class:`SystemTop` of the default configuration (block ``system`` of ``hw/catalog.py``)."""
    return SystemTop(default_params())
