"""hw.memory.window.MemoryWindow on the DRAM model: WRITE, READ, FILL, misaligned commands."""

from hw.memory.registers import MEM_OP_FILL, MEM_OP_READ, MEM_OP_WRITE
from hw.memory.window import MemoryWindow
from sim_tests.memory.helpers import PARAMS, run, with_dram


class Regs:
    """The register bank's side of the window, held in the testbench (addr/len follow the window's loads)."""

    def __init__(self, dut):
        self.dut, self.regs = dut, dut.regs
        self.addr = self.len = 0

    async def command(self, ctx, cmd, addr=None, wdata=None, length=None):
        r = self.regs
        if addr is not None:
            self.addr = addr
        if length is not None:
            self.len = length
        ctx.set(r.addr, self.addr)
        ctx.set(r.len, self.len)
        if wdata is not None:
            ctx.set(r.wdata, wdata)
        ctx.set(r.cmd_stb, 1)
        ctx.set(r.cmd, cmd)
        await ctx.tick()
        ctx.set(r.cmd_stb, 0)
        if not ctx.get(r.busy):
            return None
        ctx.set(self.dut.go, 1)               # the translator lets it run at once
        await ctx.tick()
        ctx.set(self.dut.go, 0)
        cycles = 1
        while not ctx.get(self.dut.done):
            # Registers: the window's loads take effect at the clock edge, as in the bank.
            if ctx.get(r.addr_load):
                self.addr = ctx.get(r.addr_next)
            if ctx.get(r.len_load):
                self.len = ctx.get(r.len_next)
            await ctx.tick()
            ctx.set(r.addr, self.addr)
            ctx.set(r.len, self.len)
            cycles += 1
            assert cycles < 2000, f"command {cmd} at {self.addr:#x} len {self.len} not done"
        await ctx.tick()
        assert not ctx.get(r.busy)
        return cycles


def test_write_read_fill_and_errors():
    dut = MemoryWindow(PARAMS)
    m, _ = with_dram(dut, "mem")
    got = {}

    async def bench(ctx):
        regs = Regs(dut)
        await regs.command(ctx, MEM_OP_WRITE, addr=0x100, wdata=0x1122334455667788)
        got["addr_after_write"] = regs.addr
        await regs.command(ctx, MEM_OP_READ, addr=0x100)
        got["read"] = ctx.get(dut.regs.rdata)
        got["addr_after_read"] = regs.addr
        # 4 KiB + 64 bytes from 0xF80: bursts split at the 4 KiB boundaries (and at 256 beats).
        await regs.command(ctx, MEM_OP_FILL, addr=0xF80, wdata=0xA5A5A5A5_5A5A5A5A, length=4096 + 64)
        got["after_fill"] = (regs.addr, regs.len)
        for a in (0xF80, 0x1000, 0x1F80, 0x1FB8):
            await regs.command(ctx, MEM_OP_READ, addr=a)
            got.setdefault("filled", []).append(ctx.get(dut.regs.rdata))
        await regs.command(ctx, MEM_OP_READ, addr=0x1FC0)       # just past the fill
        got["past"] = ctx.get(dut.regs.rdata)
        got["misaligned"] = (await regs.command(ctx, MEM_OP_READ, addr=0x104), ctx.get(dut.regs.error))
        await regs.command(ctx, MEM_OP_READ, addr=0x100)
        got["error_cleared"] = ctx.get(dut.regs.error)

    run(m, bench)
    assert got == {
        "addr_after_write": 0x108, "read": 0x1122334455667788, "addr_after_read": 0x108,
        "after_fill": (0xF80 + 4096 + 64, 0), "filled": [0xA5A5A5A5_5A5A5A5A] * 4, "past": 0,
        "misaligned": (None, 1), "error_cleared": 0,
    }

