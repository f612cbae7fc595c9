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

    def __init__(self, model, bases, *, compiled_polls=True):
        self.model, self.bases = model, dict(bases)
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

    async def read_mem(self, addr, length):
        raise DisaggError("the harness bus has no memory back door; firmware reads memory via the MMU window")

    async def write_mem(self, addr, data):
        raise DisaggError("the harness bus has no memory back door; firmware writes memory via the MMU window")
