"""The software half of the split: processor monitor, memory monitor, global memory manager.

Firmware reaches hardware only through :class:`firmware.bus.Bus`, so the same code runs under cocotb
(an awaitable bus adapter) and in the fast harness. Nothing here imports cocotb.
"""
