"""A simulation DRAM: an AXI4 subordinate over an Amaranth memory, with configurable latency.

It lets a memory component run in plain Verilator (the fast harness, no cocotb) and serves as the
built-in memory model of the MMU tests; cocotbext-axi's ``AxiRam`` is the independent second model.
It is synthesizable (a block RAM on an FPGA), but a board uses its DDR controller instead.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int, is_pow2
from hw.lib.axi import AXI4Signature, RESP_OKAY
from hw.lib.csr import CSRBusSignature
from hw.memory.mmu import MMUParams, MemoryMMU
from hw.memory.registers import MMU_REGS
from hw.protocol import MessagePort

__all__ = ["AxiDramModel", "MemoryMMUWithDram"]


class AxiDramModel(wiring.Component):
    """AXI4 subordinate DRAM model, one transaction at a time, INCR bursts.

    Timing: the first read beat is valid ``latency + 1`` cycles after the AR handshake, further beats
    every cycle the manager is ready; the write response is valid ``latency + 1`` cycles after the last
    W beat. Addresses wrap modulo ``size_bytes``. FIXED and WRAP bursts are not modelled (treated as INCR;
    no block of this project issues them). Responses are always OKAY. Reads win over writes when both
    address channels are valid in the same idle cycle.

    Parameters
    ----------
    addr_width, data_width, id_width : int
        AXI geometry (see :class:`hw.lib.axi.AXI4Signature`).
    size_bytes : int
        Memory size, a power of two, at least one beat.
    latency : int
        Extra cycles of access latency (0 to 255).

    Ports
    -----
    axi : In(AXI4Signature(addr_width, data_width, id_width))
        The subordinate port.
    """

    def __init__(self, *, addr_width, data_width, id_width=1, size_bytes, latency=0):
        self.sig = AXI4Signature(addr_width, data_width, id_width)
        if not is_pow2(size_bytes) or size_bytes < data_width // 8:
            raise ValueError(f"DRAM size must be a power of two of at least one beat, not {size_bytes!r}")
        if size_bytes > 1 << addr_width:
            raise ValueError(f"DRAM size {size_bytes} exceeds the {addr_width}-bit address space")
        if not is_int(latency) or not 0 <= latency <= 255:
            raise ValueError(f"DRAM latency must be an integer from 0 to 255, not {latency!r}")
        self.size_bytes, self.latency = size_bytes, latency
        super().__init__({"axi": In(self.sig)})

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        dw = self.sig.data_width
        bb = dw // 8
        lane_bits = bb.bit_length() - 1
        depth = self.size_bytes // bb
        ib = max(1, (depth - 1).bit_length())
        m.submodules.mem = mem = memory.Memory(shape=dw, depth=depth, init=[])
        rd = mem.read_port(transparent_for=())
        wr = mem.write_port(granularity=8)

        idx = Signal(ib)         # word index of the current beat
        left = Signal(8)         # beats after the current one
        tid = Signal(self.sig.id_width)
        wait = Signal(8)
        advance = Signal()
        m.d.comb += [rd.en.eq(1), rd.addr.eq(Mux(advance, idx + 1, idx)),
                     axi.rresp.eq(RESP_OKAY), axi.bresp.eq(RESP_OKAY), axi.rid.eq(tid), axi.bid.eq(tid)]

        def word(addr):
            return (addr >> lane_bits)[:ib] if depth > 1 else 0

        with m.FSM(name="dram_fsm"):
            with m.State("IDLE"):
                m.d.comb += axi.arready.eq(1)
                with m.If(axi.arvalid):
                    m.d.comb += rd.addr.eq(word(axi.araddr))
                    m.d.sync += [idx.eq(word(axi.araddr)), left.eq(axi.arlen), tid.eq(axi.arid),
                                 wait.eq(self.latency)]
                    m.next = "R_WAIT" if self.latency else "R_DATA"
                with m.Else():
                    m.d.comb += axi.awready.eq(1)
                    with m.If(axi.awvalid):
                        m.d.sync += [idx.eq(word(axi.awaddr)), tid.eq(axi.awid), wait.eq(self.latency)]
                        m.next = "W_DATA"
            with m.State("R_WAIT"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 1):
                    m.next = "R_DATA"
            with m.State("R_DATA"):
                m.d.comb += [axi.rvalid.eq(1), axi.rdata.eq(rd.data), axi.rlast.eq(left == 0)]
                with m.If(axi.rready):
                    m.d.comb += advance.eq(1)
                    m.d.sync += [idx.eq(idx + 1), left.eq(left - 1)]
                    with m.If(left == 0):
                        m.next = "IDLE"
            with m.State("W_DATA"):
                m.d.comb += [axi.wready.eq(1), wr.addr.eq(idx), wr.data.eq(axi.wdata)]
                with m.If(axi.wvalid):
                    m.d.comb += wr.en.eq(axi.wstrb)
                    m.d.sync += idx.eq(idx + 1)
                    with m.If(axi.wlast):
                        m.next = "B_WAIT" if self.latency else "B_RESP"
            with m.State("B_WAIT"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 1):
                    m.next = "B_RESP"
            with m.State("B_RESP"):
                m.d.comb += axi.bvalid.eq(1)
                with m.If(axi.bready):
                    m.next = "IDLE"
        return m


class MemoryMMUWithDram(wiring.Component):
    """:class:`hw.memory.mmu.MemoryMMU` with an :class:`AxiDramModel` on its DRAM port.

    Firmware reaches the DRAM only through the MMU's memory-window registers (no back door).

    Parameters
    ----------
    params : MMUParams
    dram_bytes : int
        DRAM size (power of two); physical addresses wrap modulo this size.
    dram_latency : int
        Extra DRAM cycles (see :class:`AxiDramModel`).

    Ports
    -----
    net_rx : In(MessagePort(data_width))
        Requests, as on :class:`MemoryMMU`.
    net_tx : Out(MessagePort(data_width))
        Responses, as on :class:`MemoryMMU`.
    csr : In(CSRBusSignature)
        The MMU's registers.
    irq : Out(1)
        Fault queue non-empty.
    """

    def __init__(self, params, dram_bytes=1 << 20, dram_latency=4):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MemoryMMUWithDram needs MMUParams, not {params!r}")
        self.params = params
        self.mmu = MemoryMMU(params)
        self.dram = AxiDramModel(addr_width=params.paddr_width, data_width=params.data_width,
                                 id_width=params.axi_id_width, size_bytes=dram_bytes, latency=dram_latency)
        super().__init__({
            "net_rx": In(MessagePort(params.data_width)),
            "net_tx": Out(MessagePort(params.data_width)),
            "csr": In(CSRBusSignature(MMU_REGS.addr_width)),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mmu = mmu = self.mmu
        m.submodules.dram = dram = self.dram
        wiring.connect(m, mmu.axi, dram.axi)
        wiring.connect(m, wiring.flipped(self.net_rx), mmu.net_rx)
        wiring.connect(m, mmu.net_tx, wiring.flipped(self.net_tx))
        wiring.connect(m, wiring.flipped(self.csr), mmu.csr)
        m.d.comb += self.irq.eq(mmu.irq)
        return m
