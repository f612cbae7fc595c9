"""The blocks whose default configurations are generated into ``rtl/``.

Each entry maps a block name (also the Verilog module name and ``rtl/<name>.v``) to
``(module, function)``; the function takes no arguments and returns the Amaranth component of the
block's default configuration. Modules are imported lazily so one broken block does not hide the others.
"""

import importlib

__all__ = ["BLOCKS", "default_component"]

BLOCKS = {
    "excache": ("hw.processor.excache", "default_top"),
    "netif": ("hw.network.netif", "default_netif"),
    "mmu": ("hw.memory.mmu", "default_top"),
    "processor_component": ("hw.system.components", "default_processor_component"),
    "memory_component": ("hw.system.components", "default_memory_component"),
}


def default_component(name):
    """Elaborate-ready component of block ``name`` in its default configuration."""
    if name not in BLOCKS:
        raise KeyError(f"unknown block {name!r}; known blocks: {', '.join(sorted(BLOCKS))}")
    module_name, func_name = BLOCKS[name]
    return getattr(importlib.import_module(module_name), func_name)()
