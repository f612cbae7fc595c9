"""The two components of a split server: a processor component and a memory component.

Each component is what one FPGA (or one network node) would hold, with the network on its wire-side
AXI-Stream ports and one CSR port for its monitor firmware:

* :class:`ProcessorComponent`: the ExCache (controller + miss handler, hardware or software-managed miss
  path) and a network interface. It never translates addresses.
* :class:`MemoryComponent`: a network interface and the memory-side MMU (TLB, page-table walker) with
  its DRAM (a simulation model of an AXI4 DRAM).

Both also expose ``probe``, one-cycle strobes at the stage boundaries of a miss inside the component,
which :class:`hw.system.top.SystemTop` gathers into the system's probe port (see ``docs/system.md``).
"""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature
from hw.lib.csrmux import CSRMux
from hw.lib.stream_slice import BundleSlice
from hw.lib.axi import AXI4Signature
from hw.memory.dram import AxiDramModel, MemoryMMUWithDram
from hw.processor.excache import ExCacheTop
from hw.processor.excache_params import ExCacheParams
from hw.network.frame import FrameType
from hw.memory.mmu import MemoryMMU, MMUParams
from hw.network.netif import NetIf, NetIfParams
from hw.system.address_map import COMPONENT_CSR_ADDR_WIDTH, COMPONENT_CSR_WINDOW_BITS, MEMORY_CSR_BASES, PROCESSOR_CSR_BASES
from hw.system.params import SystemParams

__all__ = ["ProcessorProbe", "MemoryProbe", "ProcessorComponent", "MemoryComponent", "frame_start",
           "default_processor_component", "default_memory_component"]

class ProcessorProbe(data.StructLayout):
    """Stage strobes inside a processor component (see ``hw.system.probe.PROBE_STAGES``)."""

    def __init__(self):
        super().__init__({"cpu_req": 1, "miss_msg": 1, "req_wire_out": 1, "resp_wire_in": 1,
                          "cache_resp": 1, "cpu_resp": 1})


class MemoryProbe(data.StructLayout):
    """Stage strobes inside a memory component (see ``hw.system.probe.PROBE_STAGES``).

    ``dram_addr``/``dram_last`` mark the DRAM transaction that carries out a request (data);
    ``walk_addr``/``walk_last`` mark the page-table walker's bucket reads. A read is a walk when the walker
    holds the MMU's AXI port (the MMU's ``walking`` port, its arbiter's registered grant); every other read
    and write (the data mover's, the memory window's) is a ``dram_addr``. A flip-flop, so the probe adds
    no logic to the AXI address path (it compared ``araddr`` with the page table's extent before, two 64-bit
    compares on the memory component's critical path; issue 18).
    """

    def __init__(self):
        super().__init__({"req_wire_in": 1, "mmu_req": 1, "walk_addr": 1, "walk_last": 1, "dram_addr": 1,
                          "dram_last": 1, "mmu_resp": 1, "resp_wire_out": 1})


def _fires(s):
    """A stream handshake (``valid & ready``) of a stream interface."""
    return s.valid & s.ready


def frame_start(m, axis, name):
    """Strobe: the first beat of a message frame moves on AXI-Stream ``axis``.

    Standalone ack frames are left out when the frame type is in the first beat (``tdata`` of at least 24
    bits, the case for every supported wire width), so the strobe marks messages only.
    """
    in_frame = Signal(name=f"{name}_in_frame")
    moves = axis.tvalid & axis.tready
    with m.If(moves):
        m.d.sync += in_frame.eq(~axis.tlast)
    start = Signal(name=name)
    is_msg = (axis.tdata[16:24] == FrameType.MSG.value) if len(axis.tdata) >= 24 else 1
    m.d.comb += start.eq(moves & ~in_frame & is_msg)
    return start


def _csr_width(component):
    return component.signature.members["csr"].signature.addr_width


def _check_window(block, component):
    width = _csr_width(component)
    if width > COMPONENT_CSR_WINDOW_BITS:
        raise ValueError(f"{block} has a {width}-bit CSR address, more than the {COMPONENT_CSR_WINDOW_BITS}-bit "
                         f"window of a component")
    return width


class ProcessorComponent(wiring.Component):
    """ExCache + network interface: the processor side of a split server.

    Parameters
    ----------
    excache : ExCacheParams
        Cache geometry and policy.
    netif : NetIfParams
        The network interface (its node id is this component's node id).
    miss_path : str
        ``"hardware"`` (the hardware miss handler picks victims and fetches lines) or ``"software"``
        (miss events go to the processor monitor, which picks the victim; see ``docs/excache.md``).

    Attributes
    ----------
    cpu_req : In(stream of hw.processor.excache_layouts.CpuReq)
        CPU accesses (the ExCache's CPU port).
    cpu_resp : Out(stream of hw.processor.excache_layouts.CpuResp)
        Answers, in request order.
    m_axis : Out(AXIStreamSignature)
        Frames to the network.
    s_axis : In(AXIStreamSignature)
        Frames from the network.
    csr : In(CSRBusSignature(13))
        Processor monitor registers: ExCache at word 0x0000, network interface at 0x1000
        (:data:`PROCESSOR_CSR_BASES`).
    irq : Out(1)
        The ExCache's interrupt (software-managed miss waiting, maintenance done; see ``docs/excache.md``).
    probe : Out(ProcessorProbe)
        Stage strobes (see ``hw.system.probe.PROBE_STAGES``).
    lmem : Out(AXI4Signature(excache.local_addr_width, excache.data_width, 1))
        Only with ``excache.line_store == "axi"``: the processor-local memory holding the ExCache's line data (a
        board's block RAM or DDR controller; the fast harness's compiled memory, ``emu/harness/local_memory.h``).
    """

    def __init__(self, excache, netif, *, miss_path="hardware"):
        if not isinstance(excache, ExCacheParams):
            raise TypeError(f"ProcessorComponent excache must be ExCacheParams, not {excache!r}")
        if not isinstance(netif, NetIfParams):
            raise TypeError(f"ProcessorComponent netif must be NetIfParams, not {netif!r}")
        if miss_path not in ("hardware", "software"):
            raise ValueError(f"miss_path must be 'hardware' or 'software', not {miss_path!r}")
        self.excache_params, self.netif_params, self.miss_path = excache, netif, miss_path
        self.excache = ExCacheTop(excache, miss_path=miss_path)
        self.netif = NetIf(netif)
        ex_csr_w = _check_window("ExCache", self.excache)
        ni_csr_w = _check_window("network interface", self.netif)
        self._mux_targets = {"excache": (PROCESSOR_CSR_BASES["excache"], ex_csr_w),
                             "netif": (PROCESSOR_CSR_BASES["netif"], ni_csr_w)}
        ex, ni = self.excache.signature.members, self.netif.signature.members
        ports = {
            "cpu_req": ex["cpu_req"],
            "cpu_resp": ex["cpu_resp"],
            "m_axis": ni["m_axis"],
            "s_axis": ni["s_axis"],
            "csr": In(CSRBusSignature(COMPONENT_CSR_ADDR_WIDTH)),
            "irq": Out(1),
            "probe": Out(ProcessorProbe()),
        }
        if "lmem" in ex:
            ports["lmem"] = ex["lmem"]
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        m.submodules.excache = excache = self.excache
        m.submodules.netif = netif = self.netif
        m.submodules.csr_mux = mux = CSRMux(self._mux_targets, addr_width=COMPONENT_CSR_ADDR_WIDTH)

        wiring.connect(m, wiring.flipped(self.cpu_req), excache.cpu_req)
        wiring.connect(m, excache.cpu_resp, wiring.flipped(self.cpu_resp))
        wiring.connect(m, excache.net_tx, netif.tx)
        wiring.connect(m, netif.rx, excache.net_rx)
        wiring.connect(m, netif.m_axis, wiring.flipped(self.m_axis))
        wiring.connect(m, wiring.flipped(self.s_axis), netif.s_axis)
        wiring.connect(m, wiring.flipped(self.csr), mux.bus)
        wiring.connect(m, mux.excache, excache.csr)
        wiring.connect(m, mux.netif, netif.csr)
        if "lmem" in self.signature.members:
            wiring.connect(m, excache.lmem, wiring.flipped(self.lmem))
        m.d.comb += self.irq.eq(excache.irq)

        m.d.comb += [
            self.probe.cpu_req.eq(_fires(self.cpu_req)),
            self.probe.miss_msg.eq(_fires(excache.net_tx.hdr)),
            self.probe.req_wire_out.eq(frame_start(m, self.m_axis, "req_wire_out")),
            self.probe.resp_wire_in.eq(frame_start(m, self.s_axis, "resp_wire_in")),
            self.probe.cache_resp.eq(_fires(excache.net_rx.hdr)),
            self.probe.cpu_resp.eq(_fires(self.cpu_resp)),
        ]
        return m


class MemoryComponent(wiring.Component):
    """Network interface + MMU/TLB + DRAM: the memory side of a split server.

    Parameters
    ----------
    mmu : MMUParams
        TLB, page size, address widths.
    netif : NetIfParams
        The network interface (its node id is this component's node id).
    dram_bytes : int
        Size of the DRAM model in bytes (a power of two, at most ``2**mmu.paddr_width``).
    dram_latency : int
        Extra cycles of DRAM access latency (see ``hw.memory.dram.AxiDramModel``).
    dram_read_slots : int
        Read bursts the DRAM model accepts ahead (``AxiDramModel`` ``read_slots``; without ``external_dram``).
    external_dram : bool
        ``False`` (default): the DRAM is an :class:`hw.memory.dram.AxiDramModel` inside the component (cocotb
        tests, small FPGA builds). ``True``: no DRAM inside; the MMU's AXI4 port is the component's ``dram``
        port, for a board's DDR controller or the fast harness's compiled memory (``emu/harness/axi_memory.h``),
        which must then hold ``dram_bytes`` with the same timing. The Verilog no longer depends on the DRAM
        size (no memory initialiser), so any size builds equally fast.
    net_slices : bool
        ``True`` (default): a register slice (:class:`hw.lib.stream_slice.BundleSlice`, skid buffers) on both
        streams of each message port between the network interface and the MMU, so that no timing path
        crosses from one block into the other (the component's critical path did, issue 18). Each slice adds
        one cycle of latency: a miss's round trip through the component takes two cycles more; throughput is
        unchanged. ``False``: the two blocks joined directly (the cycle counts before issue 18's slices).

    Attributes
    ----------
    m_axis : Out(AXIStreamSignature)
        Frames to the network.
    s_axis : In(AXIStreamSignature)
        Frames from the network.
    csr : In(CSRBusSignature(13))
        Memory monitor registers: MMU at word 0x0000, network interface at 0x1000
        (:data:`MEMORY_CSR_BASES`). The MMU's memory window (``MEM_*`` registers) reaches the DRAM.
    irq : Out(1)
        The MMU's page-fault interrupt.
    probe : Out(MemoryProbe)
        Stage strobes (see ``hw.system.probe.PROBE_STAGES``).
    dram : Out(AXI4Signature(mmu.paddr_width, mmu.data_width, mmu.axi_id_width))
        Only with ``external_dram``: the MMU's DRAM port (manager side).
    """

    def __init__(self, mmu, netif, *, dram_bytes, dram_latency, dram_read_slots=AxiDramModel.DEFAULT_READ_SLOTS,
                 external_dram=False, net_slices=True):
        if not isinstance(mmu, MMUParams):
            raise TypeError(f"MemoryComponent mmu must be MMUParams, not {mmu!r}")
        if not isinstance(netif, NetIfParams):
            raise TypeError(f"MemoryComponent netif must be NetIfParams, not {netif!r}")
        if not isinstance(external_dram, bool):
            raise TypeError(f"MemoryComponent external_dram must be a bool, not {external_dram!r}")
        if not isinstance(net_slices, bool):
            raise TypeError(f"MemoryComponent net_slices must be a bool, not {net_slices!r}")
        self.mmu_params, self.netif_params = mmu, netif
        self.external_dram, self.net_slices = external_dram, net_slices
        if external_dram:
            self.memory = MemoryMMU(mmu)
            self.mmu = self.memory
        else:
            self.memory = MemoryMMUWithDram(mmu, dram_bytes=dram_bytes, dram_latency=dram_latency,
                                            read_slots=dram_read_slots)
            self.mmu = self.memory.mmu
        self.netif = NetIf(netif)
        mmu_csr_w = _check_window("MMU", self.memory)
        ni_csr_w = _check_window("network interface", self.netif)
        self._mux_targets = {"mmu": (MEMORY_CSR_BASES["mmu"], mmu_csr_w),
                             "netif": (MEMORY_CSR_BASES["netif"], ni_csr_w)}
        ni = self.netif.signature.members
        members = {
            "m_axis": ni["m_axis"],
            "s_axis": ni["s_axis"],
            "csr": In(CSRBusSignature(COMPONENT_CSR_ADDR_WIDTH)),
            "irq": Out(1),
            "probe": Out(MemoryProbe()),
        }
        if external_dram:
            members["dram"] = Out(AXI4Signature(mmu.paddr_width, mmu.data_width, mmu.axi_id_width))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = self.memory
        m.submodules.netif = netif = self.netif
        m.submodules.csr_mux = mux = CSRMux(self._mux_targets, addr_width=COMPONENT_CSR_ADDR_WIDTH)

        if self.net_slices:
            # Requests netif -> MMU and responses MMU -> netif each through a skid buffer: every path between
            # the two blocks starts or ends at a flip-flop (one cycle of latency each way).
            m.submodules.rx_slice = rx_slice = BundleSlice(netif.rx.signature)
            m.submodules.tx_slice = tx_slice = BundleSlice(memory.net_tx.signature)
            wiring.connect(m, netif.rx, rx_slice.s)
            wiring.connect(m, rx_slice.m, memory.net_rx)
            wiring.connect(m, memory.net_tx, tx_slice.s)
            wiring.connect(m, tx_slice.m, netif.tx)
        else:
            wiring.connect(m, netif.rx, memory.net_rx)
            wiring.connect(m, memory.net_tx, netif.tx)
        wiring.connect(m, netif.m_axis, wiring.flipped(self.m_axis))
        wiring.connect(m, wiring.flipped(self.s_axis), netif.s_axis)
        wiring.connect(m, wiring.flipped(self.csr), mux.bus)
        wiring.connect(m, mux.mmu, memory.csr)
        wiring.connect(m, mux.netif, netif.csr)
        m.d.comb += self.irq.eq(memory.irq)

        mmu = self.mmu
        if self.external_dram:
            wiring.connect(m, mmu.axi, wiring.flipped(self.dram))
        axi = mmu.axi   # the MMU-DRAM bus, observed only
        ar = axi.arvalid & axi.arready
        aw = axi.awvalid & axi.awready
        ar_walk = Signal()
        m.d.comb += ar_walk.eq(ar & mmu.walking)
        reading_walk = Signal()   # the read burst in flight is a walk (one transaction at a time)
        with m.If(ar):
            m.d.sync += reading_walk.eq(ar_walk)
        r_last = axi.rvalid & axi.rready & axi.rlast
        w_last = axi.wvalid & axi.wready & axi.wlast
        m.d.comb += [
            self.probe.req_wire_in.eq(frame_start(m, self.s_axis, "req_wire_in")),
            self.probe.mmu_req.eq(_fires(mmu.net_rx.hdr)),
            self.probe.walk_addr.eq(ar_walk),
            self.probe.walk_last.eq(r_last & reading_walk),
            self.probe.dram_addr.eq((ar & ~ar_walk) | aw),
            self.probe.dram_last.eq((r_last & ~reading_walk) | w_last),
            self.probe.mmu_resp.eq(_fires(mmu.net_tx.hdr)),
            self.probe.resp_wire_out.eq(frame_start(m, self.m_axis, "resp_wire_out")),
        ]
        return m


def default_processor_component():
    """The processor component of the default system (``hw.system.params.SystemParams()``), hardware miss path."""
    p = SystemParams()
    return ProcessorComponent(p.excache, p.proc_netif, miss_path=p.miss_path)


def default_memory_component():
    """The memory component of the default system, with a 64 KiB DRAM model (on a board the MMU's AXI port
    goes to the DDR controller instead; a small model keeps the generated Verilog small)."""
    p = SystemParams()
    return MemoryComponent(p.mmu, p.mem_netif, dram_bytes=1 << 16, dram_latency=p.dram_latency)
