"""The rack: P processor components and M memory components on one emulated switch.

::

     cpu_req[0]/cpu_resp[0]          cpu_req[P-1]/cpu_resp[P-1]
            |                                  |
    RackProcessorComponent (node 0) ... RackProcessorComponent (node P-1)   ExCache + RegionRouter + NetIf
            |  ^                               |  ^
    +-------v--+-------------------------------v--+--------------------------------+
    |  SwitchFabric: crossbar (round-robin per output, whole frames) + a Link per   |
    |  output port (that port's latency, bandwidth, loss, ...)                     |
    +-------+--^-------------------------------+--^--------------------------------+
            v  |                               v  |
    MemoryComponent (node P)        ...  MemoryComponent (node P+M-1)         NetIf + MMU/TLB + DRAM
            irq_mem[0]                          irq_mem[M-1]

All firmware access goes through the one ``csr`` port: component ``node`` has the window at
``node << 14`` (blocks at :data:`hw.system.rack_params.PROCESSOR_BLOCKS` / ``MEMORY_BLOCKS``), the switch
statistics (:func:`hw.system.rack_registers.switch_register_map`) the window after the last component;
:meth:`hw.system.rack_params.RackParams.csr_bases` names them. ``docs/rack.md`` is the spec.
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axis import AXIStreamSignature
from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.lib.csrmux import CSRMux
from hw.network.link import LINK_COUNTERS
from hw.network.registers import SWITCH_PORT_COUNTERS
from hw.network.switch import ALL_SWITCH_COUNTERS, SwitchFabric
from hw.system.components import MemoryComponent
from hw.system.rack_params import RACK_COMPONENT_BITS, RackParams
from hw.system.rack_processor import RackProcessorComponent
from hw.system.rack_registers import switch_register_map

__all__ = ["RackTop", "SwitchStatistics"]


class SwitchStatistics(wiring.Component):
    """The switch fabric's counters as read-only registers (:func:`switch_register_map`), a cycle counter, the
    fault plan (``p<i>_kill_at`` -> ``port_dead``) and the failover record (``failed_at``, ``detected_at``).

    Parameters
    ----------
    n_ports : int

    Attributes
    ----------
    csr : In(CSRBusSignature)
    <counter> : In(32), and ``<counter>`` : In(32).array(n_ports) for the per-port ones: the fabric's counters.
    port_dead : Out(n_ports)
        Bit ``i``: port ``i``'s endpoint is dead (from cycle ``p<i>_kill_at`` on, sticky).
    detect : In(1)
        A processor component's network interface interrupt (any): time-stamped in ``detected_at``.
    """

    def __init__(self, n_ports):
        self.n_ports = n_ports
        self.regmap = switch_register_map(n_ports)
        sig = {"csr": In(CSRBusSignature(self.regmap.addr_width)), "port_dead": Out(n_ports), "detect": In(1)}
        for name in ALL_SWITCH_COUNTERS:
            sig[name] = In(32)
        for name in SWITCH_PORT_COUNTERS + tuple(f"link_{c}" for c in LINK_COUNTERS):
            sig[name] = In(32).array(n_ports)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dec = dec = CSRDecoder(self.regmap)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        r = dec.regs
        m.d.comb += r["cycles"].inc.eq(1)
        for name in ALL_SWITCH_COUNTERS:
            m.d.comb += r[name].r_data.eq(getattr(self, name))
        # The fault plan: a 32-bit cycle count of our own (the CSR counter's value is not a port), so a
        # kill is exact to the cycle in the first 2**32 cycles.
        now = Signal(32)
        m.d.sync += now.eq(now + 1)
        dead = Signal(self.n_ports)
        for i in range(self.n_ports):
            at = r[f"p{i}_kill_at"].data
            with m.If((at != 0) & (now + 1 >= at)):
                m.d.sync += dead[i].eq(1)
        failed_at, detected_at = Signal(32), Signal(32)
        with m.If(r["record_clear"].w_stb):
            m.d.sync += [failed_at.eq(0), detected_at.eq(0)]
        with m.Else():
            with m.If(dead.any() & (failed_at == 0)):
                m.d.sync += failed_at.eq(now)
            with m.If(self.detect & (failed_at != 0) & (detected_at == 0)):
                m.d.sync += detected_at.eq(now)
        m.d.comb += [self.port_dead.eq(dead), r["failed_at"].r_data.eq(failed_at),
                     r["detected_at"].r_data.eq(detected_at)]
        for name in SWITCH_PORT_COUNTERS + tuple(f"link_{c}" for c in LINK_COUNTERS):
            for i in range(self.n_ports):
                m.d.comb += r[f"p{i}_{name}"].r_data.eq(getattr(self, name)[i])
        return m


class RackTop(wiring.Component):
    """P processor components and M memory components on one switch (see the module docstring).

    Parameters
    ----------
    params : RackParams
    external_dram : bool
        Expose each memory component's DRAM port (``dram[j]``) instead of the RTL DRAM model inside.
    rogue : int or None
        For isolation tests: processor component ``rogue``'s switch port is wired to the ``rogue_tx`` /
        ``rogue_rx`` ports instead of its network interface, so a test bench can send any frame from that
        port (a misbehaving processor component: forged source node, forged pid, ...).

    Attributes
    ----------
    cpu_req : In(stream of CpuReq).array(P)
        CPU accesses of processor component ``i``.
    cpu_resp : Out(stream of CpuResp).array(P)
        Its answers, in request order.
    csr : In(CSRBusSignature(params.csr_addr_width))
        The one firmware bus (:meth:`RackParams.csr_bases`).
    irq_proc : Out(P)
        Bit ``i``: processor component ``i``'s ExCache interrupt.
    irq_mem : Out(M)
        Bit ``j``: memory component ``j``'s page-fault interrupt.
    irq_net : Out(P)
        Bit ``i``: processor component ``i``'s network interface interrupt (a peer declared dead).
    dram : Out(AXI4Signature).array(M)
        Only with ``external_dram``.
    rogue_tx : In(AXIStreamSignature(data_width)), rogue_rx : Out(AXIStreamSignature(data_width))
        Only with ``rogue``: frames into and out of that processor component's switch port.
    """

    def __init__(self, params, *, external_dram=False, rogue=None):
        if not isinstance(params, RackParams):
            raise TypeError(f"RackTop needs RackParams, not {params!r}")
        if rogue is not None and rogue not in range(params.processors):
            raise ValueError(f"RackTop rogue must be a processor component index (0..{params.processors - 1}), "
                             f"not {rogue!r}")
        self.params, self.external_dram, self.rogue = params, external_dram, rogue
        self.procs = [RackProcessorComponent(params, node) for node in params.processor_nodes]
        self.mems = [MemoryComponent(params.mmu, params.netif_of(node), dram_bytes=params.dram_bytes,
                                     dram_latency=params.dram_latency, external_dram=external_dram)
                     for node in params.memory_nodes]
        nodes = params.processor_nodes + params.memory_nodes
        self.fabric = SwitchFabric([params.port_of(n) for n in nodes], nodes, node_id_width=params.node_bits)
        self.stats = SwitchStatistics(params.n_nodes)
        pm = self.procs[0].signature.members
        ports = {
            "cpu_req": pm["cpu_req"].array(params.processors),
            "cpu_resp": pm["cpu_resp"].array(params.processors),
            "csr": In(CSRBusSignature(params.csr_addr_width)),
            "irq_proc": Out(params.processors),
            "irq_mem": Out(params.memories),
            "irq_net": Out(params.processors),
        }
        if external_dram:
            ports["dram"] = self.mems[0].signature.members["dram"].array(params.memories)
        if rogue is not None:
            ports["rogue_tx"] = In(AXIStreamSignature(params.port.data_width))
            ports["rogue_rx"] = Out(AXIStreamSignature(params.port.data_width))
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.fabric = fabric = self.fabric
        m.submodules.switch_stats = stats = self.stats
        targets = {f"node{k}": (p.component_base(k), RACK_COMPONENT_BITS) for k in range(p.n_nodes)}
        targets["switch"] = (p.component_base(p.n_nodes), stats.regmap.addr_width)
        m.submodules.csr_mux = mux = CSRMux(targets, addr_width=p.csr_addr_width)
        wiring.connect(m, wiring.flipped(self.csr), mux.bus)
        wiring.connect(m, mux.switch, stats.csr)
        components = self.procs + self.mems
        for k, comp in enumerate(components):
            m.submodules[f"proc{k}" if k < p.processors else f"mem{k - p.processors}"] = comp
            if k == self.rogue:
                wiring.connect(m, wiring.flipped(self.rogue_tx), fabric.s_axis[k])
                wiring.connect(m, fabric.m_axis[k], wiring.flipped(self.rogue_rx))
            else:
                wiring.connect(m, comp.m_axis, fabric.s_axis[k])
                wiring.connect(m, fabric.m_axis[k], comp.s_axis)
            bus = getattr(mux, f"node{k}")
            if k >= p.processors:
                # A memory component's CSR space is 13 bits; the top word-address bit of its window is unused.
                narrow = comp.signature.members["csr"].signature.addr_width
                m.d.comb += [comp.csr.addr.eq(bus.addr[:narrow]), comp.csr.r_stb.eq(bus.r_stb & ~bus.addr[narrow:].any()),
                             comp.csr.w_stb.eq(bus.w_stb & ~bus.addr[narrow:].any()), comp.csr.w_data.eq(bus.w_data),
                             bus.r_data.eq(comp.csr.r_data)]
            else:
                wiring.connect(m, bus, comp.csr)
        for i, proc in enumerate(self.procs):
            wiring.connect(m, wiring.flipped(self.cpu_req[i]), proc.cpu_req)
            wiring.connect(m, proc.cpu_resp, wiring.flipped(self.cpu_resp[i]))
            m.d.comb += [self.irq_proc[i].eq(proc.irq), self.irq_net[i].eq(proc.irq_net)]
        for j, mem in enumerate(self.mems):
            m.d.comb += self.irq_mem[j].eq(mem.irq)
            if self.external_dram:
                wiring.connect(m, mem.dram, wiring.flipped(self.dram[j]))
        for name in ALL_SWITCH_COUNTERS:
            m.d.comb += getattr(stats, name).eq(getattr(fabric, name))
        m.d.comb += [fabric.port_dead.eq(stats.port_dead),
                     stats.detect.eq(Cat(*[proc.irq_net for proc in self.procs]).any())]
        for name in SWITCH_PORT_COUNTERS + tuple(f"link_{c}" for c in LINK_COUNTERS):
            for k in range(p.n_nodes):
                m.d.comb += getattr(stats, name)[k].eq(getattr(fabric, name)[k])
        return m
