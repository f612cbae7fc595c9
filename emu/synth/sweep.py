"""``disagg synth --sweep``: how area and fmax scale with ExCache ways and sets and MMU TLB entries.

Each point changes one parameter of a block's default configuration; the results are labelled
``excache[ways=2]``. Points equal to the default configuration share its cached result. On one core a
point takes one to several minutes, so the sweep is a separate command, never part of the tests.
"""

from __future__ import annotations

from .blocks import BUILDERS, block_verilog
from .flow import synthesize

__all__ = ["SWEEP", "run_sweep"]

#: (block name, top class, parameter overrides of the default configuration).
SWEEP = [
    *[("excache", "ExCacheTop", {"ways": ways}) for ways in (1, 2, 4)],
    *[("excache", "ExCacheTop", {"sets": sets}) for sets in (16, 256)],
    *[("mmu", "MemoryMMU", {"tlb_entries": entries}) for entries in (16, 64)],
]


def _label(block: str, overrides: dict) -> str:
    return f"{block}[{','.join(f'{k}={v}' for k, v in overrides.items())}]"


def run_sweep(targets, *, freq_mhz=None, use_cache=True, progress=print, points=None):
    """Synthesise every sweep point for every target; return the results in sweep order."""
    results = []
    for block, top_class, overrides in (points or SWEEP):
        label = _label(block, overrides)
        verilog = block_verilog(block, BUILDERS[top_class](overrides))
        for target in targets:
            progress(f"sweep: {label} for {target} ...")
            result = synthesize(verilog, block, target, block=label, freq_mhz=freq_mhz, use_cache=use_cache)
            progress(f"sweep: {label} for {target}: {'cached' if result.cached else f'{result.seconds:.0f} s'}")
            results.append(result)
    return results
