"""The invariants that block docs state, registered by block name (see :mod:`emu.waves.invariants`).

Each entry cites the doc that states the rule; the factory takes the block's configuration dict.
"""

from .invariants import register_block
