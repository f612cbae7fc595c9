"""disagg RTL, written in Amaranth 0.5.

Nothing in this package imports from ``emu`` or ``firmware``: the hardware stands on its own.
"""
