"""A :class:`firmware.bus.Bus` on the system's one CSR port, for firmware running under cocotb.

Block names are those of ``hw.system.address_map.SYSTEM_CSR_BASES``; a register access to ``(block, addr)`` is a CSR
access at word address ``SYSTEM_CSR_BASES[block] + addr``. Memory is not reachable from here: the
firmware wraps this bus in ``firmware.csr_mem.CsrMemoryBus`` and reaches DRAM through the MMU's memory
window, as it would on hardware.

One access at a time (a cocotb ``Lock``), so several firmware coroutines (the irq server and the test's
process management) can share the port.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import RisingEdge

from firmware.bus import Bus
from hw.system.address_map import SYSTEM_CSR_BASES

__all__ = ["CocotbSystemBus"]


class CocotbSystemBus(Bus):
    """Register access through the system's ``csr`` port.

    Parameters
    ----------
    dut : the cocotb handle of a ``SystemTop``.
    clk : its clock.
    bases : dict of block name to word-address base (default ``SYSTEM_CSR_BASES``).
    """

    def __init__(self, dut, clk, bases=SYSTEM_CSR_BASES):
        self.dut, self.clk, self.bases = dut, clk, dict(bases)
        self.lock = cocotb.triggers.Lock()
        self.reads = self.writes = 0
        dut.csr__r_stb.value = 0
        dut.csr__w_stb.value = 0
        dut.csr__addr.value = 0
        dut.csr__w_data.value = 0

    def _addr(self, block, addr):
        if block not in self.bases:
            raise KeyError(f"no block {block!r} on the system CSR bus (blocks: {', '.join(self.bases)})")
        if not 0 <= addr < 0x1000:
            raise ValueError(f"register address {addr:#x} outside a block's 0x1000-word window")
        return self.bases[block] + addr

    async def read_reg(self, block, addr):
        word = self._addr(block, addr)
        async with self.lock:
            self.dut.csr__addr.value = word
            self.dut.csr__r_stb.value = 1
            await RisingEdge(self.clk)
            self.dut.csr__r_stb.value = 0
            # r_data is registered at the strobe's edge and held until the next read: sample it one
            # edge later, which is safe whatever the simulator's ordering of reads after an edge.
            await RisingEdge(self.clk)
            self.reads += 1
            return int(self.dut.csr__r_data.value)

    async def write_reg(self, block, addr, value):
        word = self._addr(block, addr)
        async with self.lock:
            self.dut.csr__addr.value = word
            self.dut.csr__w_data.value = value & 0xFFFF_FFFF
            self.dut.csr__w_stb.value = 1
            await RisingEdge(self.clk)
            self.dut.csr__w_stb.value = 0
            self.writes += 1

    async def read_mem(self, addr, length):
        raise NotImplementedError("memory is reached through the MMU's window (firmware.csr_mem.CsrMemoryBus)")

    async def write_mem(self, addr, data):
        raise NotImplementedError("memory is reached through the MMU's window (firmware.csr_mem.CsrMemoryBus)")
