"""The system CSR bus under cocotb (:class:`emu.cosim.system_bus.CocotbSystemBus`)."""

from emu.cosim.system_bus import CocotbSystemBus

__all__ = ["CocotbSystemBus"]
