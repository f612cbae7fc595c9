"""Memory access for firmware through the MMU's memory-window registers (no back door).

:class:`CsrMemoryBus` wraps a bus that only has working register accesses and implements
``read_mem``/``write_mem`` with the MMU's ``MEM_*`` registers, which the MMU carries out on its own
AXI DRAM port. A write of a repeated 8-byte pattern becomes one ``FILL`` command that the MMU performs
with AXI bursts. ``fill_mem`` (the memory monitor's memset: zero-filling a frame, clearing the page
table) is that FILL too, unless the inner bus has a DRAM fill engine (the harness's compiled DRAM), which
then does it at DRAM speed.
"""

from __future__ import annotations

from firmware.bus import Bus
from hw.memory.registers import MMU_REGS, MEM_OP_FILL, MEM_OP_READ, MEM_OP_WRITE

__all__ = ["CsrMemoryBus", "MemoryWindowError"]

_M32 = 0xFFFF_FFFF


class MemoryWindowError(RuntimeError):
    """The MMU rejected a memory-window command (misaligned) or it did not finish."""


class CsrMemoryBus(Bus):
    """A :class:`firmware.bus.Bus` whose memory accesses go through the MMU's registers.

    Parameters
    ----------
    inner : Bus
        Provides ``read_reg``/``write_reg`` (its memory methods are not used).
    block : str
        Block name of the MMU on ``inner``.
    beat_bytes : int
        The MMU's data-beat size (FILL needs beat-aligned address and length).
    max_polls : int
        Status reads before giving up on a command.
    """

    def __init__(self, inner: Bus, block: str = "mmu", *, beat_bytes: int = 8, max_polls: int = 1_000_000):
        if not isinstance(inner, Bus):
            raise TypeError(f"CsrMemoryBus needs a firmware.bus.Bus, not {inner!r}")
        self.inner, self.block, self.beat_bytes, self.max_polls = inner, block, beat_bytes, max_polls
        # The MMU's MEM_ADDR as left by this call (it advances by 8 per READ/WRITE). Forgotten between
        # calls: other firmware may use the window too.
        self._addr = None

    async def read_reg(self, block, addr):
        return await self.inner.read_reg(block, addr)

    async def wait_while(self, block, addr, mask, value, max_polls):
        return await self.inner.wait_while(block, addr, mask, value, max_polls)

    async def write_reg(self, block, addr, value):
        await self.inner.write_reg(block, addr, value)

    async def _reg(self, name, value=None):
        if value is None:
            return await self.inner.read_reg(self.block, MMU_REGS.addr(name))
        await self.inner.write_reg(self.block, MMU_REGS.addr(name), value)

    async def _set_addr(self, addr):
        if self._addr != addr:
            await self._reg("MEM_ADDR_LO", addr & _M32)
            await self._reg("MEM_ADDR_HI", addr >> 32)
        self._addr = addr

    async def _run(self, op):
        await self._reg("MEM_CTRL", op)
        # Poll while busy (bit 0) and not rejected (bit 1): one bus call, however many reads (the harness
        # runs the loop in compiled code: a frame's FILL is ~300 polls).
        status, _ = await self.inner.wait_while(self.block, MMU_REGS.addr("MEM_CTRL"), 3, 1, self.max_polls)
        if status & 2:
            self._addr = None
            raise MemoryWindowError(f"MMU memory window rejected command {op} (misaligned)")
        if status & 1:
            raise MemoryWindowError(f"MMU memory window command {op} still busy after {self.max_polls} polls")

    async def _read_word(self, addr):
        await self._set_addr(addr)
        await self._run(MEM_OP_READ)
        self._addr = addr + 8
        lo = await self._reg("MEM_RDATA_LO")
        hi = await self._reg("MEM_RDATA_HI")
        return (lo | hi << 32).to_bytes(8, "little")

    async def _write_word(self, addr, word: bytes):
        value = int.from_bytes(word, "little")
        await self._set_addr(addr)
        await self._reg("MEM_WDATA_LO", value & _M32)
        await self._reg("MEM_WDATA_HI", value >> 32)
        await self._run(MEM_OP_WRITE)
        self._addr = addr + 8

    async def read_mem(self, addr: int, length: int) -> bytes:
        self._addr = None
        start, end = addr & ~7, (addr + length + 7) & ~7
        out = bytearray()
        for a in range(start, end, 8):
            out += await self._read_word(a)
        return bytes(out[addr - start:addr - start + length])

    async def fill_mem(self, addr: int, length: int, value: int) -> None:
        """``value`` (8 bytes) repeated over ``length`` bytes (a memset): by the DRAM's fill engine if the inner
        bus has one (``dram_fill_engine``: the harness's compiled DRAM, at DRAM speed), else one window FILL
        (beat-aligned ranges of two beats or more), else word writes."""
        if getattr(self.inner, "dram_fill_engine", False) and addr % 8 == 0 and length % 8 == 0:
            await self.inner.fill_mem(addr, length, value)
        elif length >= 2 * self.beat_bytes and addr % self.beat_bytes == 0 and length % self.beat_bytes == 0:
            await self._window_fill(addr, length, value)
        else:
            await super().fill_mem(addr, length, value)

    async def _window_fill(self, addr, length, value):
        self._addr = None
        await self._set_addr(addr)
        await self._reg("MEM_WDATA_LO", value & _M32)
        await self._reg("MEM_WDATA_HI", value >> 32)
        await self._reg("MEM_LEN", length)
        await self._run(MEM_OP_FILL)
        self._addr = addr + length

    async def write_mem(self, addr: int, data: bytes) -> None:
        data = bytes(data)
        self._addr = None
        bb = self.beat_bytes
        if (len(data) >= 2 * bb and addr % bb == 0 and len(data) % bb == 0
                and data == data[:8] * (len(data) // 8)):
            await self._window_fill(addr, len(data), int.from_bytes(data[:8], "little"))
            return
        pos = 0
        while pos < len(data):
            a = addr + pos
            base = a & ~7
            take = min(8 - (a - base), len(data) - pos)
            if take == 8:
                word = data[pos:pos + 8]
            else:   # partial word: read, modify, write
                old = bytearray(await self._read_word(base))
                old[a - base:a - base + take] = data[pos:pos + take]
                word = bytes(old)
            await self._write_word(base, word)
            pos += take
