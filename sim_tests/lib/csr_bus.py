"""The cocotb CSR bus adapter of every test (:class:`emu.cosim.csr_bus.CocotbCsrBus`): a block's own ``csr`` port,
or the system's with ``bases=SYSTEM_CSR_BASES``."""

from emu.cosim.csr_bus import CocotbCsrBus

__all__ = ["CocotbCsrBus"]
