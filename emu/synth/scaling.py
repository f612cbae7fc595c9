"""FPGA scaling sweep (``disagg synth --sweep``): how area and fmax scale with ExCache ways and sets and TLB entries.

Each point changes one parameter of a default configuration; results are labelled ``excache[ways=2]``.
Points equal to a default configuration share its cached result. On one core a point takes one to
several minutes, so the sweep is a separate command, never part of the tests.

The TLB points synthesise the MMU's TLB (``hw.memory.tlb.TLB``, the part of the MMU that grows with the entry
count) with the default MMU's widths, inside a wrapper that registers every input and output: the TLB
lookup is combinational, and out of context an unregistered port-to-port path would not be timed.
Registering the ports makes fmax the figure of the lookup itself (set mux, tag compare, way select).
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .blocks import BUILDERS, block_verilog
from .flow import synthesize

__all__ = ["SWEEP", "RegisteredTLB", "run_sweep"]


class RegisteredTLB(wiring.Component):
    """``hw.memory.tlb.TLB`` with a register on every input and output (measurement wrapper for the sweep).

    Parameters
    ----------
    entries, ways : int
        TLB geometry.
    pid_width, vpn_width, pfn_width : int
        Widths (default: those of the default ``MMUParams``: 8, 36, 20).
    """

    def __init__(self, entries, ways=4, pid_width=8, vpn_width=36, pfn_width=20):
        from hw.memory.tlb import TLB
        self.tlb = TLB(entries, ways, pid_width, vpn_width, pfn_width)
        super().__init__(wiring.Signature(dict(self.tlb.signature.members.items())))

    def elaborate(self, platform):
        m = Module()
        m.submodules.tlb = tlb = self.tlb
        for name, member in self.signature.members.items():
            if member.flow == In:
                m.d.sync += getattr(tlb, name).eq(getattr(self, name))
            else:
                m.d.sync += getattr(self, name).eq(getattr(tlb, name))
        return m


def _tlb(params):
    return RegisteredTLB(**params)


#: (block name, builder of the component from parameter overrides, overrides).
SWEEP = [
    *[("excache", BUILDERS["ExCacheTop"], {"ways": ways}) for ways in (1, 2, 4)],
    *[("excache", BUILDERS["ExCacheTop"], {"sets": sets}) for sets in (16, 256)],
    *[("tlb", _tlb, {"entries": entries}) for entries in (16, 64)],
]


def _label(block: str, overrides: dict) -> str:
    return f"{block}[{','.join(f'{k}={v}' for k, v in overrides.items())}]"


def run_sweep(targets, *, freq_mhz=None, use_cache=True, progress=print, points=None, **kwargs):
    """Synthesise every sweep point for every target; return the results in sweep order.

    Further keyword arguments (``timeout``) go to :func:`emu.synth.flow.synthesize`.
    """
    results = []
    for block, builder, overrides in (points or SWEEP):
        label = _label(block, overrides)
        verilog = block_verilog(block, builder(overrides))
        for target in targets:
            progress(f"sweep: {label} for {target} ...")
            result = synthesize(verilog, block, target, block=label, freq_mhz=freq_mhz, use_cache=use_cache, **kwargs)
            progress(f"sweep: {label} for {target}: {'cached' if result.cached else f'{result.seconds:.0f} s'}")
            results.append(result)
    return results
