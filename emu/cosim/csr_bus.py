"""A :class:`firmware.bus.Bus` on a DUT's CSR port (``hw.lib.csr.CSRBusSignature``), for firmware under cocotb.

One adapter for a block's own port (a register access to ``(block, addr)`` is word ``addr``) and for the
system's one port (``bases``: block name -> word base, e.g. ``hw.system.address_map.SYSTEM_CSR_BASES``; the
access goes to ``bases[block] + addr``). Memory is not reachable from here: firmware wraps the bus in
``firmware.csr_mem.CsrMemoryBus`` and reaches DRAM through the MMU's memory window, as on hardware (or a test
wraps it with a back door into its memory model).

One access at a time (a cocotb ``Lock``), so several firmware coroutines (an irq server and the test's
process management) can share the port.
"""

from __future__ import annotations

from cocotb.triggers import Lock, RisingEdge

from firmware.bus import Bus

__all__ = ["CocotbCsrBus"]

_M32 = 0xFFFF_FFFF
#: Word addresses of one block's registers on the system bus (``hw.system.address_map``).
BLOCK_WINDOW = 0x1000


class CocotbCsrBus(Bus):
    """Register access through ``<prefix>__addr/r_stb/r_data/w_stb/w_data``.

    Parameters
    ----------
    dut : the cocotb handle of the DUT.
    clk : its clock.
    prefix : str
        Name of the CSR port (``csr``).
    bases : dict of str to int, optional
        Block name -> word-address base on a system bus; ``None`` for a block's own port (``block`` ignored).
    """

    def __init__(self, dut, clk, *, prefix="csr", bases=None):
        self.clk = clk
        self.bases = None if bases is None else dict(bases)
        self.addr = getattr(dut, f"{prefix}__addr")
        self.r_stb = getattr(dut, f"{prefix}__r_stb")
        self.r_data = getattr(dut, f"{prefix}__r_data")
        self.w_stb = getattr(dut, f"{prefix}__w_stb")
        self.w_data = getattr(dut, f"{prefix}__w_data")
        self._r_data = self.r_data._handle     # the raw GPI handle: reading .value costs ~10 us (100k-access runs)
        self.lock = Lock()
        self.reads = self.writes = 0
        self.r_stb.value = 0
        self.w_stb.value = 0
        self.addr.value = 0
        self.w_data.value = 0

    @property
    def ops(self) -> int:
        """Register accesses done."""
        return self.reads + self.writes

    def _word(self, block, addr):
        if self.bases is None:
            return addr
        if block not in self.bases:
            raise KeyError(f"no block {block!r} on the system CSR bus (blocks: {', '.join(self.bases)})")
        if not 0 <= addr < BLOCK_WINDOW:
            raise ValueError(f"register address {addr:#x} outside a block's {BLOCK_WINDOW:#x}-word window")
        return self.bases[block] + addr

    async def read_reg(self, block, addr):
        word = self._word(block, addr)
        async with self.lock:
            self.addr.value = word
            self.r_stb.value = 1
            await RisingEdge(self.clk)
            self.r_stb.value = 0
            # r_data is registered at the strobe's edge and held until the next read: sample it one edge
            # later, which is safe whatever the simulator's ordering of reads after an edge.
            await RisingEdge(self.clk)
            self.reads += 1
            return int(self._r_data.get_signal_val_binstr(), 2)

    async def write_reg(self, block, addr, value):
        word = self._word(block, addr)
        async with self.lock:
            self.addr.value = word
            self.w_data.value = value & _M32
            self.w_stb.value = 1
            await RisingEdge(self.clk)
            self.w_stb.value = 0
            self.writes += 1

    async def read_mem(self, addr, length):
        raise NotImplementedError("memory is reached through the MMU's window (firmware.csr_mem.CsrMemoryBus)")

    async def write_mem(self, addr, data):
        raise NotImplementedError("memory is reached through the MMU's window (firmware.csr_mem.CsrMemoryBus)")
