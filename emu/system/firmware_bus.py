"""The firmware's register bus onto a running harness model."""

from __future__ import annotations

from firmware.bus import Bus

from ..errors import DisaggError

__all__ = ["HarnessBus"]


class HarnessBus(Bus):
    """The firmware bus of a running harness model: register accesses step the compiled model.

    Block names and bases are those of ``hw.system.address_map.SYSTEM_CSR_BASES``. Memory is reached by the firmware
    through the MMU's memory window (``firmware.csr_mem``), so this bus has no memory back door.
    """

    def __init__(self, model, bases):
        self.model, self.bases = model, dict(bases)
        self.reads = self.writes = 0

    def _addr(self, block, addr):
        try:
            return self.bases[block] + addr
        except KeyError:
            raise DisaggError(f"firmware used unknown block {block!r} (known: {', '.join(self.bases)})") from None

    async def read_reg(self, block, addr):
        self.reads += 1
        return self.model.csr_read(self._addr(block, addr))

    async def write_reg(self, block, addr, value):
        self.writes += 1
        self.model.csr_write(self._addr(block, addr), value)

    async def read_mem(self, addr, length):
        raise DisaggError("the harness bus has no memory back door; firmware reads memory via the MMU window")

    async def write_mem(self, addr, data):
        raise DisaggError("the harness bus has no memory back door; firmware writes memory via the MMU window")
