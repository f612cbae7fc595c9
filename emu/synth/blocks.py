"""Which blocks ``disagg synth`` synthesises, and how a configuration file turns into a component.

The blocks are those of :mod:`hw.catalog` except the emulation-only ones (the link/switch model, which
stands in for a network and has no hardware counterpart). A block's default configuration is the
catalog's; a non-default one comes from a JSON configuration file::

    {
      "excache": {"sets": 16, "ways": 1, "line_bytes": 64, "data_width": 64},
      "mmu":     {"tlb_entries": 16, "tlb_ways": 2},
      "netif":   {"window": 8}
    }

Each block's object holds the keyword arguments of its parameter class (``ExCacheParams``,
``MMUParams``, ``NetIfParams``); keys that are not parameters, or values the parameter class rejects,
are one-line errors. Blocks that the file does not mention keep their default configuration.

The memory component is synthesised with its DRAM as an AXI4 port (``external_dram=True``): on a board the
MMU's AXI manager goes to the DDR controller, and the simulation DRAM model of ``rtl/memory_component.v``
(64 KiB of block RAM with an initialiser, 32 DP16KD) is not part of the component's area or timing. Its
default configuration is otherwise the catalog's (:data:`SYNTH_DEFAULTS`).
"""

from __future__ import annotations

import json
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from ..errors import DisaggError

__all__ = ["EMULATION_ONLY_MODULES", "synth_blocks", "block_verilog", "component_from_params", "load_config",
           "BUILDERS", "SYNTH_DEFAULTS", "SMALL_CONFIGS"]

#: Catalog modules that model the environment rather than hardware: never synthesised.
EMULATION_ONLY_MODULES = ("hw.network.link",)


def _excache(params):
    from hw.processor.excache import ExCacheTop
    from hw.processor.excache_params import ExCacheParams
    params = dict(params)
    miss_path = params.pop("miss_path", "hardware")
    return ExCacheTop(ExCacheParams(**params), miss_path=miss_path)


def _mmu(params):
    from hw.memory.mmu import MMUParams, MemoryMMU
    return MemoryMMU(MMUParams(**params))


def _netif(params):
    from hw.network.netif import NetIf, NetIfParams
    return NetIf(NetIfParams(**params))


def _processor(params):
    from hw.system.components import ProcessorComponent
    from hw.processor.excache_params import ExCacheParams
    from hw.network.netif import NetIfParams
    params = dict(params)
    excache = ExCacheParams(**params.pop("excache", {}))
    netif = NetIfParams(**params.pop("netif", {}))
    return ProcessorComponent(excache, netif, **params)


def _memory(params):
    from hw.system.components import MemoryComponent
    from hw.memory.mmu import MMUParams
    from hw.network.netif import NetIfParams
    from hw.system.params import SystemParams
    params = dict(params)
    mmu = MMUParams(**params.pop("mmu", {}))
    netif = NetIfParams(**params.pop("netif", {}))
    defaults = SystemParams()
    params.setdefault("external_dram", True)
    params.setdefault("dram_bytes", 1 << 16)
    params.setdefault("dram_latency", defaults.dram_latency)
    return MemoryComponent(mmu, netif, **params)


def _default_memory_component():
    """The catalog's memory component (the default system's), with its DRAM as an AXI4 port."""
    from hw.system.components import MemoryComponent
    from hw.system.params import SystemParams
    p = SystemParams()
    return MemoryComponent(p.mmu, p.mem_netif, dram_bytes=1 << 16, dram_latency=p.dram_latency, external_dram=True)


#: Per target, the configurations of the small-FPGA fit check (``disagg synth --target ice40 --small``):
#: the iCE40HX8K has 32 x 4 Kbit of block RAM and 7680 logic cells, so the default 16 KiB ExCache does not fit
#: (47 EBR), a 4 KiB one (16 sets, 4 ways, 64 B lines) does. The other blocks exceed its logic cells in any
#: configuration that still does their job (the network interface's per-peer state and buffers, the MMU's
#: walker and 48-bit address datapath), so the fit check is the cache.
SMALL_CONFIGS = {"ice40": {"excache": {"sets": 16}}}


#: Blocks whose synthesised default differs from their ``rtl/`` Verilog (``block -> factory``).
SYNTH_DEFAULTS = {"memory_component": _default_memory_component}


#: How to build a block from a parameter dictionary, keyed by the class name of the block's top (the
#: class of its catalog default component), so catalog names and factory functions can change freely.
BUILDERS = {
    "ExCacheTop": _excache,
    "MemoryMMU": _mmu,
    "NetIf": _netif,
    "ProcessorComponent": _processor,
    "MemoryComponent": _memory,
}


def synth_blocks() -> list[str]:
    """Catalog blocks that are hardware (all but the emulation-only ones), sorted."""
    from hw.catalog import BLOCKS
    return sorted(name for name, (module, _) in BLOCKS.items() if module not in EMULATION_ONLY_MODULES)


def _builder_for(name: str):
    from hw.catalog import default_component
    probe = default_component(name)
    # Only its class is wanted: mark it used so Amaranth does not warn that it was never elaborated.
    probe._MustUse__used = True
    return BUILDERS.get(type(probe).__name__)


def component_from_params(name: str, params: dict):
    """The component of block ``name`` built from ``params`` (keyword arguments of its parameter class)."""
    if not isinstance(params, dict):
        raise DisaggError(f"configuration of {name!r} must be a JSON object, not {params!r}")
    builder = _builder_for(name)
    if builder is None:
        raise DisaggError(f"block {name!r} has no configurable parameters in 'disagg synth'; "
                          f"remove it from the configuration file")
    try:
        return builder(params)
    except (TypeError, ValueError) as exc:
        raise DisaggError(f"bad configuration for {name}: {exc}") from None


def load_config(path: Path, known: list[str]) -> dict[str, dict]:
    """Read a JSON configuration file: ``{block: {parameter: value}}``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DisaggError(f"cannot read configuration file {path}: {exc.strerror}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DisaggError(f"configuration file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(config, dict):
        raise DisaggError(f"configuration file {path} must hold a JSON object of blocks, not {type(config).__name__}")
    for name in config:
        if name not in known:
            raise DisaggError(f"configuration file {path} names unknown block {name!r}; "
                              f"known blocks: {', '.join(known)}")
    return config


def block_verilog(name: str, component=None) -> str:
    """Verilog of block ``name``: its default configuration (:data:`SYNTH_DEFAULTS` where the synthesised
    default differs from ``rtl/``), or ``component`` if given.

    The module is named ``name`` (as in ``rtl/<name>.v``), without source paths so the text, and so the
    cache key, is the same in every checkout.
    """
    if component is None and name in SYNTH_DEFAULTS:
        component = SYNTH_DEFAULTS[name]()
    if component is None:
        from ..rtl_generation import generate
        return generate(name)
    return amaranth_verilog.convert(component, name=name, emit_src=False)
