"""Timing of the shared library pieces (``disagg synth --library``): CSR mux, counters, stream slice, the
system probe.

These are not catalog blocks: they sit inside the ExCache, MMU, network interface and the tops, and their
ports connect to other logic. Out of context a port-to-port path is not timed, so each piece is measured
inside :class:`Registered`, which puts a flip-flop on every input and output: fmax is then the figure of
the piece's own logic between those registers, the worst it can add to a path of the block it sits in.
Each point uses the widths the blocks use (component CSR windows, 64-bit statistics counters).
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring

from .blocks import block_verilog
from .flow import synthesize

__all__ = ["Registered", "LIBRARY", "run_library"]


class Registered(wiring.Component):
    """``inner`` with a register on every port bit: inputs are registered into it, outputs out of it.

    Parameters
    ----------
    inner : wiring.Component
        The piece to measure; the wrapper has the same signature.
    """

    def __init__(self, inner):
        if not isinstance(inner, wiring.Component):
            raise TypeError(f"Registered needs a wiring.Component, not {inner!r}")
        self.inner = inner
        super().__init__(wiring.Signature(dict(inner.signature.members.items())))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        outer = self.signature.flatten(self)
        for (_, member, mine), (_, _, theirs) in zip(outer, inner.signature.flatten(inner), strict=True):
            if member.flow == wiring.In:
                m.d.sync += theirs.eq(mine)
            else:
                m.d.sync += mine.eq(theirs)
        return m


def _csrmux():
    from hw.lib.csrmux import CSRMux
    from hw.system.address_map import COMPONENT_CSR_ADDR_WIDTH, COMPONENT_CSR_WINDOW_BITS
    # A component's mux: two 12-bit windows in the 13-bit component space.
    return CSRMux({"a": (0, COMPONENT_CSR_WINDOW_BITS), "b": (1 << COMPONENT_CSR_WINDOW_BITS, COMPONENT_CSR_WINDOW_BITS)},
                  addr_width=COMPONENT_CSR_ADDR_WIDTH)


def _counters():
    from hw.lib.counter import CounterBank
    # Eight 64-bit statistics counters, one of them adding a byte count per cycle.
    return CounterBank([f"c{i}" for i in range(8)], width=64, step_widths={"c0": 8})


def _slice():
    from hw.lib.stream_slice import BundleSlice
    from hw.protocol import MessagePort
    # A skid buffer on both streams of a 64-bit message port, as between the blocks of a component top.
    return BundleSlice(MessagePort(64))


def _probe():
    from hw.system.probe import SystemProbe
    return SystemProbe()


#: (name, factory of the piece).
LIBRARY = [
    ("lib.csrmux", _csrmux),
    ("lib.counters", _counters),
    ("lib.slice", _slice),
    ("system.probe", _probe),
]


def run_library(targets, *, progress=print, **kwargs):
    """Synthesise every library piece (registered ports) for every target; keyword arguments go to
    :func:`emu.synth.flow.synthesize` (``freq_mhz``, ``use_cache``, ``timeout``)."""
    results = []
    for name, factory in LIBRARY:
        top = name.replace(".", "_")
        verilog = block_verilog(top, Registered(factory()))
        for target in targets:
            progress(f"library: {name} for {target} ...")
            result = synthesize(verilog, top, target, block=name, **kwargs)
            progress(f"library: {name} for {target}: {'cached' if result.cached else f'{result.seconds:.0f} s'}")
            results.append(result)
    return results
