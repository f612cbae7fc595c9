"""Route one CSR bus to several CSR targets, each at a fixed word-address base.

Used by the components (ExCache + network interface, MMU + network interface) and by the system top,
so firmware sees one CSR space per component or per system with every block at a documented base.

Timing is that of :mod:`hw.lib.csr`: a read strobe is forwarded to the selected target in the same cycle,
the mux remembers which target it selected, and the next cycle's ``r_data`` is that target's
``r_data``. Nesting muxes keeps this one-cycle read latency. Reads of an address no target decodes
return 0; writes to it are ignored.
"""

from amaranth import Module, Signal, Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int
from hw.lib.csr import CSRBusSignature, CSR_DATA_WIDTH

__all__ = ["CSRMux"]


class CSRMux(wiring.Component):
    """One CSR initiator, several targets at fixed bases.

    Parameters
    ----------
    targets : dict of str to (int, int)
        ``name -> (base, addr_width)``: the target decodes word addresses ``base .. base + 2**addr_width - 1``
        and sees them as ``0 .. 2**addr_width - 1``. ``base`` must be a multiple of ``2**addr_width``; windows
        must not overlap.
    addr_width : int
        Width of the initiator's word address; must cover every window.

    Attributes
    ----------
    bus : In(CSRBusSignature(addr_width))
        The initiator side (firmware).
    <name> : Out(CSRBusSignature(target addr_width))
        One port per target, named after it, to connect to the target's ``csr`` port.
    """

    def __init__(self, targets, *, addr_width):
        if not isinstance(targets, dict) or not targets:
            raise TypeError(f"CSRMux targets must be a non-empty dict of name -> (base, addr_width), not {targets!r}")
        if not is_int(addr_width) or addr_width < 1:
            raise TypeError(f"CSRMux address width must be a positive integer, not {addr_width!r}")
        windows = []
        for name, spec in targets.items():
            if not isinstance(name, str) or not name.isidentifier() or name == "bus":
                raise ValueError(f"CSRMux target name must be an identifier other than 'bus', not {name!r}")
            if (not isinstance(spec, tuple) or len(spec) != 2
                    or not all(is_int(v) for v in spec)):
                raise TypeError(f"CSRMux target {name!r} must be (base, addr_width), not {spec!r}")
            base, width = spec
            if width < 1:
                raise ValueError(f"CSRMux target {name!r} address width must be at least 1, not {width!r}")
            if base < 0 or base % (1 << width):
                raise ValueError(f"CSRMux target {name!r} base must be a non-negative multiple of "
                                 f"{1 << width:#x}, not {base:#x}")
            end = base + (1 << width)
            if end > (1 << addr_width):
                raise ValueError(f"CSRMux target {name!r} window ends at {end:#x}, beyond the "
                                 f"{addr_width}-bit address space")
            for other, obase, oend in windows:
                if base < oend and obase < end:
                    raise ValueError(f"CSRMux targets {other!r} and {name!r} overlap")
            windows.append((name, base, end))
        self.targets = dict(targets)
        self.addr_width = addr_width
        members = {"bus": In(CSRBusSignature(addr_width))}
        for name, (_base, width) in targets.items():
            members[name] = Out(CSRBusSignature(width))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        names = list(self.targets)
        selected = Signal(range(len(names) + 1), init=len(names))  # len(names): nothing selected
        hits = []
        for name in names:
            base, width = self.targets[name]
            port = getattr(self, name)
            hit = Signal(name=f"hit_{name}")
            if width < self.addr_width:
                m.d.comb += hit.eq(self.bus.addr[width:] == (base >> width))
            else:
                m.d.comb += hit.eq(1)
            hits.append(hit)
            m.d.comb += [
                port.addr.eq(self.bus.addr[:width]),
                port.w_data.eq(self.bus.w_data),
                port.r_stb.eq(self.bus.r_stb & hit),
                port.w_stb.eq(self.bus.w_stb & hit),
            ]
        with m.If(self.bus.r_stb):
            m.d.sync += selected.eq(len(names))
            for index, hit in enumerate(hits):
                with m.If(hit):
                    m.d.sync += selected.eq(index)
        with m.Switch(selected):
            for index, name in enumerate(names):
                with m.Case(index):
                    m.d.comb += self.bus.r_data.eq(getattr(self, name).r_data)
            with m.Default():
                m.d.comb += self.bus.r_data.eq(Const(0, CSR_DATA_WIDTH))
        return m
