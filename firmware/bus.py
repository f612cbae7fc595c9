"""The only way firmware touches hardware: a register/memory bus.

Firmware is written as ``async def`` against :class:`Bus`. Under cocotb the bus adapter awaits clock
edges while it drives the CSR port; in the fast harness the bus methods complete immediately and
:func:`run_sync` runs the firmware coroutine to completion without an event loop. One firmware source,
both environments, and no cocotb import in ``firmware/``.

Register addresses are word addresses within a block's CSR space (see ``hw.lib.csr.RegisterMap``); memory
addresses are byte addresses in the component's own DRAM (where, for example, page tables live).
"""

from __future__ import annotations

__all__ = ["Bus", "FirmwareBlocked", "run_sync"]


class Bus:
    """Abstract bus. Subclasses implement all four methods as coroutines."""

    async def read_reg(self, block: str, addr: int) -> int:
        raise NotImplementedError

    async def write_reg(self, block: str, addr: int, value: int) -> None:
        raise NotImplementedError

    async def read_mem(self, addr: int, length: int) -> bytes:
        raise NotImplementedError

    async def write_mem(self, addr: int, data: bytes) -> None:
        raise NotImplementedError

    async def fill_mem(self, addr: int, length: int, value: int) -> None:
        """Write the 8-byte little-endian ``value`` repeated over ``length`` bytes at ``addr`` (zero-filling a
        frame, clearing the page table). Default: :meth:`write_mem` of the pattern; a bus whose memory has a
        faster way (the MMU window's FILL, a memory controller's fill engine) overrides it."""
        await self.write_mem(addr, value.to_bytes(8, "little") * (length // 8) + value.to_bytes(8, "little")[:length % 8])

    async def wait_while(self, block: str, addr: int, mask: int, value: int, max_polls: int):
        """Read the register until ``reg & mask != value`` or ``max_polls`` reads were made.

        Returns ``(last value read, reads made)``. This is the plain loop of reads, so every bus gives the
        same register traffic and the same cycles; a bus may run the same loop faster (the harness runs it
        in compiled code, ``emu/system/firmware_bus.py``), never differently.
        """
        if max_polls < 1:
            raise ValueError(f"max_polls must be at least 1, not {max_polls!r}")
        v = 0
        for polls in range(1, max_polls + 1):
            v = await self.read_reg(block, addr)
            if v & mask != value:
                return v, polls
        return v, max_polls


class FirmwareBlocked(RuntimeError):
    """A firmware coroutine tried to wait on something a synchronous bus cannot provide."""


def run_sync(coro):
    """Run a firmware coroutine whose bus never suspends (the harness's buses); return its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise FirmwareBlocked("firmware awaited on a bus that must complete immediately")
