"""A simulation DRAM: an AXI4 subordinate over an Amaranth memory, with configurable latency.

It lets a memory component run in plain Verilator (the fast harness, no cocotb) and serves as the
built-in memory model of the MMU tests; cocotbext-axi's ``AxiRam`` is the independent second model.
It is synthesizable (a block RAM on an FPGA), but a board uses its DDR controller instead.
"""

from amaranth import Array, Module, Mux, Signal
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
    """AXI4 subordinate DRAM model with pipelined reads, INCR bursts.

    It behaves like a DRAM controller's read pipeline: up to ``read_slots`` read bursts are accepted
    (``arready`` while a slot is free) and each counts its access latency from its own AR handshake, in
    parallel with the bursts ahead of it; the data bus then returns the bursts in order, back to back. So a
    manager that asks for the next burst while one streams gets one beat per cycle with no gap
    (bandwidth: one ``data_width`` beat per cycle), and a lone read sees the full latency.

    Timing: a burst's first read beat is valid ``latency + 1`` cycles after its AR handshake, or in the cycle
    after the previous burst's last beat if that is later; further beats every cycle the manager is ready.
    Writes go one at a time and never overlap reads: AW is accepted only with no read burst in the pipeline
    and no write in progress, and ARs are not accepted while a write is in progress (a read never sees
    a half-written burst; AXI leaves read/write ordering to the manager, every manager here waits for its
    B response). The write response is valid ``latency + 1`` cycles after the last W beat. Reads win over
    writes when both address channels are valid in the same idle cycle. Addresses wrap modulo
    ``size_bytes``. FIXED and WRAP bursts are not modelled (treated as INCR; no block of this project issues
    them). Responses are always OKAY. ``read_slots = 1`` is the unpipelined model of sessions 1-5 (the next
    AR only after the last beat). ``emu/harness/axi_memory.h`` is the compiled twin, cycle for cycle
    (``AxiMemory::DEFAULT_READ_SLOTS`` must equal :attr:`DEFAULT_READ_SLOTS`); the golden model is
    :class:`emu.models.dram.DramTimingModel` (``sim_tests/memory/test_dram.py``).

    Parameters
    ----------
    addr_width, data_width, id_width : int
        AXI geometry (see :class:`hw.lib.axi.AXI4Signature`).
    size_bytes : int
        Memory size, a power of two, at least one beat.
    latency : int
        Extra cycles of access latency (0 to 255).
    read_slots : int
        Read bursts in flight at most (1 to 16; default :attr:`DEFAULT_READ_SLOTS`).

    Ports
    -----
    axi : In(AXI4Signature(addr_width, data_width, id_width))
        The subordinate port.
    """

    #: Read bursts in flight by default: enough to hide a latency of up to ``3 * 8 - 1`` cycles behind
    #: 64 B bursts of 8-byte beats.
    DEFAULT_READ_SLOTS = 4

    def __init__(self, *, addr_width, data_width, id_width=1, size_bytes, latency=0, read_slots=DEFAULT_READ_SLOTS):
        self.sig = AXI4Signature(addr_width, data_width, id_width)
        if not is_pow2(size_bytes) or size_bytes < data_width // 8:
            raise ValueError(f"DRAM size must be a power of two of at least one beat, not {size_bytes!r}")
        if size_bytes > 1 << addr_width:
            raise ValueError(f"DRAM size {size_bytes} exceeds the {addr_width}-bit address space")
        if not is_int(latency) or not 0 <= latency <= 255:
            raise ValueError(f"DRAM latency must be an integer from 0 to 255, not {latency!r}")
        if not is_int(read_slots) or not 1 <= read_slots <= 16:
            raise ValueError(f"DRAM read_slots must be an integer from 1 to 16, not {read_slots!r}")
        self.size_bytes, self.latency, self.read_slots = size_bytes, latency, read_slots
        super().__init__({"axi": In(self.sig)})

    def _word(self, addr, lane_bits, ib, depth):
        return (addr >> lane_bits)[:ib] if depth > 1 else 0

    def _read_pipeline(self, m, rd, w_idle, lane_bits, ib, depth):
        """The read slots (a ring in AR order), their latency counters and the R channel."""
        axi, n = self.axi, self.read_slots
        pw = max(1, (n - 1).bit_length())
        s_idx = Array(Signal(ib, name=f"r{i}_idx") for i in range(n))      # word of the slot's current beat
        s_left = Array(Signal(8, name=f"r{i}_left") for i in range(n))     # beats after the current one
        s_tid = Array(Signal(self.sig.id_width, name=f"r{i}_id") for i in range(n))
        s_wait = Array(Signal(8, name=f"r{i}_wait") for i in range(n))     # latency cycles still to go
        head, tail = Signal(pw), Signal(pw)
        count = Signal(range(n + 1))

        def after(ptr):
            return Mux(ptr == n - 1, 0, ptr + 1)

        accept = Signal()
        beat = Signal()
        pop = Signal()
        m.d.comb += [
            axi.arready.eq((count < n) & w_idle),
            accept.eq(axi.arvalid & axi.arready),
            axi.rvalid.eq((count != 0) & (s_wait[head] == 0)),
            axi.rdata.eq(rd.data), axi.rlast.eq(s_left[head] == 0), axi.rid.eq(s_tid[head]),
            beat.eq(axi.rvalid & axi.rready),
            pop.eq(beat & (s_left[head] == 0)),
        ]
        # The read port is registered: its address is the word shown in the next cycle.
        ar_word = self._word(axi.araddr, lane_bits, ib, depth)
        with m.If(beat & ~pop):
            m.d.comb += rd.addr.eq(s_idx[head] + 1)
        with m.Elif(pop & (count >= 2)):
            m.d.comb += rd.addr.eq(s_idx[after(head)])
        with m.Elif(~pop & (count != 0)):
            m.d.comb += rd.addr.eq(s_idx[head])
        with m.Else():
            m.d.comb += rd.addr.eq(ar_word)
        for i in range(n):      # every slot counts its latency from its own AR handshake
            with m.If(s_wait[i] != 0):
                m.d.sync += s_wait[i].eq(s_wait[i] - 1)
        with m.If(beat):
            m.d.sync += [s_idx[head].eq(s_idx[head] + 1), s_left[head].eq(s_left[head] - 1)]
        with m.If(pop):
            m.d.sync += head.eq(after(head))
        with m.If(accept):
            m.d.sync += [s_idx[tail].eq(ar_word), s_left[tail].eq(axi.arlen), s_tid[tail].eq(axi.arid),
                         s_wait[tail].eq(self.latency), tail.eq(after(tail))]
        m.d.sync += count.eq(count + accept - pop)
        return count

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
        m.d.comb += [rd.en.eq(1), axi.rresp.eq(RESP_OKAY), axi.bresp.eq(RESP_OKAY)]

        w_idle = Signal()
        reads = self._read_pipeline(m, rd, w_idle, lane_bits, ib, depth)

        w_idx = Signal(ib)       # word of the current write beat
        w_tid = Signal(self.sig.id_width)
        wait = Signal(8)
        m.d.comb += axi.bid.eq(w_tid)
        with m.FSM(name="dram_fsm"):
            with m.State("IDLE"):
                m.d.comb += [w_idle.eq(1), axi.awready.eq((reads == 0) & ~axi.arvalid)]
                with m.If(axi.awvalid & axi.awready):
                    m.d.sync += [w_idx.eq(self._word(axi.awaddr, lane_bits, ib, depth)), w_tid.eq(axi.awid),
                                 wait.eq(self.latency)]
                    m.next = "W_DATA"
            with m.State("W_DATA"):
                m.d.comb += [axi.wready.eq(1), wr.addr.eq(w_idx), wr.data.eq(axi.wdata)]
                with m.If(axi.wvalid):
                    m.d.comb += wr.en.eq(axi.wstrb)
                    m.d.sync += w_idx.eq(w_idx + 1)
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
    read_slots : int
        Read bursts in flight at most (see :class:`AxiDramModel`).

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

    def __init__(self, params, dram_bytes=1 << 20, dram_latency=4, read_slots=AxiDramModel.DEFAULT_READ_SLOTS):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MemoryMMUWithDram needs MMUParams, not {params!r}")
        self.params = params
        self.mmu = MemoryMMU(params)
        self.dram = AxiDramModel(addr_width=params.paddr_width, data_width=params.data_width,
                                 id_width=params.axi_id_width, size_bytes=dram_bytes, latency=dram_latency,
                                 read_slots=read_slots)
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
