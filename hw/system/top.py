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
                                   dram_latency=params.dram_latency, external_dram=external_dram)
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
    """:class:`SystemTop` as the compiled harness simulates it: reset through a register, and a registered
    copy of every output the harness samples.

    Two things make a Verilated Amaranth design slow, and both are about Verilator's input-combinational
    ("ico") region, the logic that reads a top-level input, which runs at every ``eval()`` call:

    * every next-state block reads its domain's reset, so with ``rst`` a top-level input most of the design
      lands in the ico region. Here ``rst`` only feeds ``rst_q``, a reset-less register that is the reset
      of the system's ``sync`` domain.
    * a harness that samples the outputs before the rising edge needs two ``eval()`` per cycle (settle,
      then edge), so the ico region runs twice. Here the ``sample`` port holds, after each rising edge, the
      values the outputs had just before it: one ``eval()`` with the new inputs and the edge gives the
      same samples (``emu/harness/driver.cpp``).

    Timing: ``rst_q`` powers up high, so the system is in reset in cycle 0 whatever ``rst`` is; in every
    later cycle it is in reset iff ``rst`` was high in the cycle before. A harness that wants the reset
    of the plain :class:`SystemTop` held for cycles ``0..n-1`` drives ``rst`` high in cycles ``0..n-2``.
    Not a catalog block: ``rtl/`` and the cocotb tests keep :class:`SystemTop` with its plain reset.

    Parameters
    ----------
    params : SystemParams
    external_dram : bool
        As for :class:`SystemTop`; the ``sample`` port then also holds every output of the ``dram`` port
        (``dram_<name>``). With the ExCache's line data in local memory, it holds every output of the ``lmem``
        port too (``lmem_<name>``).

    Attributes
    ----------
    clk : In(1)
        The clock of the whole system.
    rst : In(1)
        Reset request: the system is in reset during the next cycle.
    sample : Out(wiring.Signature)
        After each rising edge: ``cpu_req.ready``, ``cpu_resp.valid``/``payload``, ``csr.r_data``,
        ``irq_proc``, ``irq_mem``, ``probe`` (and the ``dram`` outputs) as they were just before it.
    (others)
        Exactly those of :class:`SystemTop`.
    """

    #: Cycles from the ``rst`` input to the system's reset (read by ``emu/harness/codegen.py``).
    reset_delay = 1

    def __init__(self, params, *, external_dram=False):
        self.system = SystemTop(params, external_dram=external_dram)
        self.params = params
        members = self.system.signature.members
        sampled = {
            "cpu_req_ready": Out(1),
            "cpu_resp_valid": Out(1),
            "cpu_resp_payload": Out(members["cpu_resp"].signature.members["payload"].shape),
            "csr_r_data": Out(members["csr"].signature.members["r_data"].shape),
            "irq_proc": Out(1),
            "irq_mem": Out(1),
            "probe": Out(members["probe"].shape),
        }
        for port in ("dram", "lmem"):
            if port in members:
                for name, member in members[port].signature.members.items():
                    if member.flow == Out:
                        sampled[f"{port}_{name}"] = Out(member.shape)
        super().__init__({"clk": In(1), "rst": In(1), **members, "sample": Out(wiring.Signature(sampled))})

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        m.domains.por = ClockDomain("por", reset_less=True)
        m.submodules.system = system = self.system
        rst_q = Signal(init=1, reset_less=True)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ClockSignal("por").eq(self.clk), ResetSignal("sync").eq(rst_q)]
        m.d.por += rst_q.eq(self.rst)
        for name, member in self.system.signature.members.items():
            port, inner = getattr(self, name), getattr(system, name)
            if member.is_signature:
                wiring.connect(m, wiring.flipped(port), inner)
            elif member.flow == In:
                m.d.comb += inner.eq(port)
            else:
                m.d.comb += port.eq(inner)
        s = self.sample
        m.d.por += [s.cpu_req_ready.eq(self.cpu_req.ready), s.cpu_resp_valid.eq(self.cpu_resp.valid),
                    s.cpu_resp_payload.eq(self.cpu_resp.payload), s.csr_r_data.eq(self.csr.r_data),
                    s.irq_proc.eq(self.irq_proc), s.irq_mem.eq(self.irq_mem), s.probe.eq(self.probe)]
        for port in ("dram", "lmem"):
            if port in self.signature.members:
                for name, member in getattr(self, port).signature.members.items():
                    if member.flow == Out:
                        m.d.por += getattr(s, f"{port}_{name}").eq(getattr(getattr(self, port), name))
        return m


def default_top():
    """:class:`SystemTop` of the default configuration (block ``system`` of ``hw/catalog.py``)."""
    return SystemTop(default_params())
