"""The firmware's register bus onto a running harness model."""

from __future__ import annotations

from firmware.bus import Bus

from ..errors import DisaggError

__all__ = ["HarnessBus"]


class HarnessBus(Bus):
    """The firmware bus of a running harness model: register accesses step the compiled model.

    Block names and bases are those of ``hw.system.address_map.SYSTEM_CSR_BASES``. Memory is reached by the firmware
    through the MMU's memory window (``firmware.csr_mem``), so this bus has no memory back door, except for the
    fill of a range (:meth:`fill_mem`): with a compiled DRAM and ``fill_bytes_per_cycle`` the memory monitor's
    memset of a frame is done by the DRAM's fill engine at DRAM speed (docs/system.md, "Zero-filling frames").
    """

    def __init__(self, model, bases, *, compiled_polls=True, fill_bytes_per_cycle=0):
        self.model, self.bases = model, dict(bases)
        #: The compiled DRAM's fill engine zeroes frames at this many bytes per cycle (memory.fill_bytes_per_cycle;
        #: 0, or a model without it: firmware fills through the MMU's memory window).
        self.fill_bytes_per_cycle = int(fill_bytes_per_cycle)
        self.dram_fill_engine = self.fill_bytes_per_cycle > 0 and getattr(model, "has_dram_fill", False)
        self.fills = self.fill_cycles = 0
        self.reads = self.writes = 0
        self.compiled_poll_reads = 0      # reads made inside compiled poll loops (counted in reads too)
        #: Run :meth:`wait_while` as one compiled loop (same reads and cycles as the Python loop, far fewer
        #: Python round trips); False, or a model without it, polls from Python.
        self.compiled_polls = compiled_polls and getattr(model, "has_csr_poll", False)

    def _addr(self, block, addr):
        try:
            return self.bases[block] + addr
        except KeyError:
            raise DisaggError(f"firmware used unknown block {block!r} (known: {', '.join(self.bases)})") from None

    async def read_reg(self, block, addr):
        self.reads += 1
        return self.model.csr_read(self._addr(block, addr))

    async def wait_while(self, block, addr, mask, value, max_polls):
        if not self.compiled_polls:
            return await super().wait_while(block, addr, mask, value, max_polls)
        v, polls = self.model.csr_poll(self._addr(block, addr), mask, value, max_polls)
        self.reads += polls
        self.compiled_poll_reads += polls
        return v, polls

    async def write_reg(self, block, addr, value):
        self.writes += 1
        self.model.csr_write(self._addr(block, addr), value)

    async def fill_mem(self, addr, length, value):
        """The memory monitor's memset of a range (a fresh frame, the page table), done by the DRAM's fill
        engine at ``fill_bytes_per_cycle`` while the clock runs: the DRAM serves nothing else meanwhile."""
        if not self.dram_fill_engine:
            return await super().fill_mem(addr, length, value)
        self.fill_cycles += self.model.dram_fill(addr, length, value, self.fill_bytes_per_cycle)
        self.fills += 1

    async def read_mem(self, addr, length):
        raise DisaggError("the harness bus has no memory back door; firmware reads memory via the MMU window")

    async def write_mem(self, addr, data):
        raise DisaggError("the harness bus has no memory back door; firmware writes memory via the MMU window")
