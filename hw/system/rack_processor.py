"""A processor component of a rack: ExCache + region router + network interface.

::

    cpu_req/cpu_resp -> ExCacheTop --net_tx--> RegionRouter --tx--> NetIf --m_axis--> (switch)
                                   <-net_rx--              <-rx---      <-s_axis--

The same blocks as :class:`hw.system.components.ProcessorComponent`, plus the region router between the
ExCache and the network interface, which sends each line fetch and write-back to the home memory
component of its (pid, region) (``hw/system/region_router.py``). The CSR space holds the ExCache at
0x0000, the network interface at 0x1000 and the router at 0x2000
(:data:`hw.system.rack_params.PROCESSOR_BLOCKS`).
"""

from dataclasses import replace

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature
from hw.lib.csrmux import CSRMux
from hw.network.netif import NetIf
from hw.processor.excache import ExCacheTop
from hw.system.rack_params import PROCESSOR_BLOCKS, RACK_COMPONENT_BITS, RackParams
from hw.system.region_router import RegionRouter

__all__ = ["RackProcessorComponent"]


class RackProcessorComponent(wiring.Component):
    """ExCache + region router + network interface of processor node ``node`` of a rack.

    Parameters
    ----------
    params : RackParams
    node : int
        This component's node id (one of ``params.processor_nodes``).

    Attributes
    ----------
    cpu_req, cpu_resp : the ExCache's CPU port.
    m_axis, s_axis : the network interface's wire side.
    csr : In(CSRBusSignature(RACK_COMPONENT_BITS))
        ExCache at 0x0000, network interface at 0x1000, region router at 0x2000.
    irq : Out(1)
        The ExCache's interrupt.
    irq_net : Out(1)
        The network interface's interrupt (a peer declared dead: a failed memory component).
    """

    def __init__(self, params, node):
        if not isinstance(params, RackParams):
            raise TypeError(f"RackProcessorComponent needs RackParams, not {params!r}")
        if node not in params.processor_nodes:
            raise ValueError(f"node {node!r} is not a processor node of the rack ({params.processor_nodes})")
        self.params, self.node = params, node
        ex = params.excache
        # The region router may send a dirty victim's write-back and the fetch to two memory components,
        # whose answers can then arrive in either order: the miss handler waits for the write-back's answer.
        self.excache = ExCacheTop(replace(ex, overlap_writeback=False), miss_path=params.miss_path)
        self.router = RegionRouter(ex.data_width, entries=params.router_entries, region_log2=params.region_log2,
                                   vaddr_width=ex.vaddr_width, pid_width=ex.pid_width,
                                   node_id_width=params.node_bits,
                                   replica_beats=ex.line_bytes // (ex.data_width // 8),
                                   replay_slots=params.replay_slots)
        self.netif = NetIf(params.netif_of(node))
        self._targets = {}
        for name, block in (("excache", self.excache), ("netif", self.netif), ("router", self.router)):
            width = block.signature.members["csr"].signature.addr_width
            if width > 12:
                raise ValueError(f"{name} has a {width}-bit CSR address, more than a 12-bit block window")
            self._targets[name] = (PROCESSOR_BLOCKS[name], width)
        exm, nim = self.excache.signature.members, self.netif.signature.members
        super().__init__({
            "cpu_req": exm["cpu_req"],
            "cpu_resp": exm["cpu_resp"],
            "m_axis": nim["m_axis"],
            "s_axis": nim["s_axis"],
            "csr": In(CSRBusSignature(RACK_COMPONENT_BITS)),
            "irq": Out(1),
            "irq_net": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.excache = excache = self.excache
        m.submodules.router = router = self.router
        m.submodules.netif = netif = self.netif
        m.submodules.csr_mux = mux = CSRMux(self._targets, addr_width=RACK_COMPONENT_BITS)
        wiring.connect(m, wiring.flipped(self.cpu_req), excache.cpu_req)
        wiring.connect(m, excache.cpu_resp, wiring.flipped(self.cpu_resp))
        wiring.connect(m, excache.net_tx, router.s_tx)
        wiring.connect(m, router.m_tx, netif.tx)
        wiring.connect(m, netif.rx, router.s_rx)
        wiring.connect(m, router.m_rx, excache.net_rx)
        wiring.connect(m, netif.m_axis, wiring.flipped(self.m_axis))
        wiring.connect(m, wiring.flipped(self.s_axis), netif.s_axis)
        wiring.connect(m, wiring.flipped(self.csr), mux.bus)
        for name in self._targets:
            wiring.connect(m, getattr(mux, name), getattr(self, name).csr)
        m.d.comb += [self.irq.eq(excache.irq), self.irq_net.eq(netif.irq)]
        return m
