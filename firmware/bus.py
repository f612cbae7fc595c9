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
