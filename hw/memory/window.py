"""Firmware memory window: 8-byte READ/WRITE and FILL of DRAM through the MMU's registers."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import BurstSignature, WindowRegsSignature
from hw.memory.registers import MEM_OP_FILL, MEM_OP_READ

__all__ = ["MemoryWindow"]


class MemoryWindow(wiring.Component):
    """Carries out MEM_CTRL commands on DRAM (the memory monitor's only way to DRAM; no back door).

    A command written while the window is idle is checked (READ/WRITE: ``MEM_ADDR`` 8-byte aligned; FILL:
    address and length beat aligned), takes its copy of ``MEM_ADDR``/``MEM_LEN``/``MEM_WDATA`` (later
    writes to them do not reach it) and is then *pending* (``busy``) until the translator lets it run with
    ``go`` (between requests, or while a request waits for the memory monitor). FILL writes
    ``MEM_WDATA`` repeated over ``MEM_LEN`` bytes in bursts of at most 256 beats that never cross a 4 KiB
    boundary (AXI rule). READ and WRITE move 8 bytes and advance ``MEM_ADDR`` by 8; FILL advances it by
    the length and counts ``MEM_LEN`` down to 0.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    regs : In(WindowRegsSignature())
        ``MEM_ADDR``/``MEM_WDATA``/``MEM_LEN``/``MEM_CTRL`` from the register bank; the window updates
        address and length (``addr_load``/``len_load``) and drives ``rdata``, ``busy``, ``error``.
    go : In(1)
        Start the pending command now (the translator gives the DRAM port to the window).
    done : Out(1)
        High in the last cycle of the command (``busy`` falls at the next edge).
    mem : Out(BurstSignature(paddr_width, data_width))
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MemoryWindow needs MMUParams, not {params!r}")
        self.params = params
        super().__init__({
            "regs": In(WindowRegsSignature()),
            "go": In(1), "done": Out(1),
            "mem": Out(BurstSignature(params.paddr_width, params.data_width)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        regs, mem = self.regs, self.mem
        dw, bb, lane_bits = p.data_width, p.beat_bytes, p.lane_bits
        # A command works on its own copy of MEM_ADDR / MEM_LEN / MEM_WDATA, taken when MEM_CTRL is
        # written: a firmware write to those registers while the command is pending or running changes
        # neither it nor a payload waiting for ready. The registers still follow the copy (addr_load /
        # len_load), so firmware reads the advanced address and the remaining length as before.
        addr, length, wdata = Signal(64), Signal(32), Signal(64)
        busy, err = Signal(), Signal()
        op = Signal(2)
        rdata = Signal(64)
        m.d.comb += [regs.busy.eq(busy), regs.error.eq(err), regs.rdata.eq(rdata)]

        with m.If(regs.cmd_stb & ~busy):
            aligned8 = regs.addr[:3] == 0
            fill_ok = (regs.addr[:lane_bits] == 0) & (regs.len[:lane_bits] == 0)
            ok = Mux(regs.cmd == MEM_OP_FILL, fill_ok, aligned8)
            with m.If((regs.cmd != 0) & ok):
                m.d.sync += [busy.eq(1), op.eq(regs.cmd), err.eq(0),
                             addr.eq(regs.addr), length.eq(regs.len), wdata.eq(regs.wdata)]
            with m.Elif(regs.cmd != 0):
                m.d.sync += err.eq(1)
        with m.If(regs.addr_load):
            m.d.sync += addr.eq(regs.addr_next)
        with m.If(regs.len_load):
            m.d.sync += length.eq(regs.len_next)

        lane = addr[3:lane_bits] if lane_bits > 3 else Const(0, 1)
        left_beats = Signal(32)
        to_4k = Signal(13)
        chunk = Signal(9)          # beats of the next FILL burst
        m.d.comb += [
            left_beats.eq(length >> lane_bits),
            to_4k.eq((Const(4096, 13) - addr[:12]) >> lane_bits),
            chunk.eq(Mux(left_beats < to_4k, Mux(left_beats < 256, left_beats, 256), Mux(to_4k < 256, to_4k, 256))),
        ]
        fill = op == MEM_OP_FILL
        beats = Signal(9)
        beat = Signal(9)
        # The address and length after this command or FILL burst, registered in every cycle: they are read
        # in R and B, when ``addr``, ``length`` and ``beats`` have been stable for a cycle at least (set at the
        # command, at an earlier B, or at the AW handshake before W). The 64-bit adders from the window's
        # registers to the handshake's loads of ``addr`` (and the bank's MEM_ADDR) were the MMU's critical
        # path (issue 18); now a B or R handshake only selects registers.
        step = beats << lane_bits
        addr_p8, addr_step = Signal(64), Signal(64)
        len_step, len_last = Signal(32), Signal()
        m.d.sync += [addr_p8.eq(addr + 8), addr_step.eq(addr + step), len_step.eq(length - step),
                     len_last.eq(length == step)]

        with m.FSM(name="window_fsm"):
            with m.State("IDLE"):
                with m.If(self.go):
                    m.next = "START"
            with m.State("START"):
                with m.If(op == MEM_OP_READ):
                    m.next = "AR"
                with m.Elif(fill & (left_beats == 0)):
                    m.next = "DONE"
                with m.Else():
                    m.next = "AW"
            with m.State("AR"):
                m.d.comb += [mem.req.eq(1), mem.arvalid.eq(1), mem.araddr.eq(addr & ~(bb - 1)), mem.arlen.eq(0)]
                with m.If(mem.arready):
                    m.next = "R"
            with m.State("R"):
                m.d.comb += [mem.req.eq(1), mem.rready.eq(1)]
                with m.If(mem.rvalid):
                    m.d.sync += rdata.eq((mem.rdata >> (lane * 64))[:64])
                    m.d.comb += [regs.addr_load.eq(1), regs.addr_next.eq(addr_p8)]
                    m.next = "DONE"
            with m.State("AW"):
                m.d.comb += [mem.req.eq(1), mem.awvalid.eq(1), mem.awaddr.eq(addr & ~(bb - 1)),
                             mem.awlen.eq(Mux(fill, chunk - 1, 0))]
                with m.If(mem.awready):
                    m.d.sync += [beat.eq(0), beats.eq(Mux(fill, chunk, 1))]
                    m.next = "W"
            with m.State("W"):
                last = beat == beats - 1
                m.d.comb += [mem.req.eq(1), mem.wvalid.eq(1), mem.wlast.eq(last)]
                with m.If(fill):
                    m.d.comb += [mem.wdata.eq(Cat(*([wdata] * (dw // 64)))), mem.wstrb.eq((1 << bb) - 1)]
                with m.Else():
                    m.d.comb += [mem.wdata.eq(wdata << (lane * 64)), mem.wstrb.eq(Const(0xFF, bb) << (lane * 8))]
                with m.If(mem.wready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(last):
                        m.next = "B"
            with m.State("B"):
                m.d.comb += [mem.req.eq(1), mem.bready.eq(1)]
                with m.If(mem.bvalid):
                    with m.If(fill):
                        m.d.comb += [regs.addr_load.eq(1), regs.addr_next.eq(addr_step),
                                     regs.len_load.eq(1), regs.len_next.eq(len_step)]
                        with m.If(len_last):
                            m.next = "DONE"
                        with m.Else():
                            m.next = "AW"
                    with m.Else():
                        m.d.comb += [regs.addr_load.eq(1), regs.addr_next.eq(addr_p8)]
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.d.sync += busy.eq(0)
                m.next = "IDLE"
        return m
