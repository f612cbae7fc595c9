"""A small CSR bus for firmware, and register maps declared in code.

amaranth-soc is not released on PyPI (only a placeholder name), so disagg carries this minimal bus,
modelled on amaranth-soc's ``csr.Bus``:

* ``addr`` selects a 32-bit register (word address, not byte address);
* ``r_stb`` high for one cycle requests a read; ``r_data`` holds the value on the *next* cycle;
* ``w_stb`` high for one cycle writes ``w_data`` to the register at ``addr``.

Reads may have side effects (popping a queue register); writes to read-only registers are ignored.
The register map of a block is a :class:`RegisterMap`, from which both the decoder in the RTL
(:class:`CSRDecoder`) and the table in the block's documentation are generated, and which firmware
uses for the addresses.
"""

from dataclasses import dataclass, field

from amaranth import Module, Signal, Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CSR_DATA_WIDTH", "CSRBusSignature", "Register", "RegisterMap", "CSRDecoder"]

CSR_DATA_WIDTH = 32


class CSRBusSignature(wiring.Signature):
    """Initiator side of the CSR bus (flip it for the target side).

    Parameters
    ----------
    addr_width : int
        Width of the word address.
    """

    def __init__(self, addr_width):
        if not isinstance(addr_width, int) or addr_width < 1:
            raise TypeError(f"CSR address width must be a positive integer, not {addr_width!r}")
        self.addr_width = addr_width
        super().__init__({
            "addr":   Out(addr_width),
            "r_stb":  Out(1),
            "r_data": In(CSR_DATA_WIDTH),
            "w_stb":  Out(1),
            "w_data": Out(CSR_DATA_WIDTH),
        })

    def __eq__(self, other):
        return type(other) is type(self) and other.addr_width == self.addr_width

    def __repr__(self):
        return f"CSRBusSignature({self.addr_width})"


@dataclass(frozen=True)
class Register:
    """One 32-bit register.

    Parameters
    ----------
    name : str
        Identifier, also used by firmware (``regs.addr("name")``).
    addr : int
        Word address.
    access : str
        ``"r"``, ``"w"`` or ``"rw"``.
    doc : str
        One-line description for the documentation table.
    fields : tuple of (name, lsb, width, doc)
        Optional bit fields, documentation only.
    """
    name: str
    addr: int
    access: str
    doc: str
    fields: tuple = field(default=())

    def __post_init__(self):
        if self.access not in ("r", "w", "rw"):
            raise ValueError(f"Register access must be 'r', 'w' or 'rw', not {self.access!r}")
        if not isinstance(self.addr, int) or self.addr < 0:
            raise TypeError(f"Register address must be a non-negative integer, not {self.addr!r}")


class RegisterMap:
    """An ordered set of registers with unique names and addresses."""

    def __init__(self, name, registers):
        self.name = name
        self.registers = tuple(registers)
        self._by_name = {}
        seen_addr = {}
        for reg in self.registers:
            if reg.name in self._by_name:
                raise ValueError(f"{name}: register name {reg.name!r} used twice")
            if reg.addr in seen_addr:
                raise ValueError(f"{name}: registers {seen_addr[reg.addr]!r} and {reg.name!r} share address {reg.addr}")
            self._by_name[reg.name] = reg
            seen_addr[reg.addr] = reg.name

    @property
    def addr_width(self):
        top = max(reg.addr for reg in self.registers)
        return max(1, top.bit_length())

    def __getitem__(self, name):
        return self._by_name[name]

    def __iter__(self):
        return iter(self.registers)

    def addr(self, name):
        return self._by_name[name].addr

    def markdown(self):
        """The register map as a Markdown table, for ``docs/``."""
        lines = ["| addr | name | access | description |", "|---:|---|---|---|"]
        for reg in sorted(self.registers, key=lambda r: r.addr):
            lines.append(f"| 0x{reg.addr:02x} | `{reg.name}` | {reg.access} | {reg.doc} |")
            for fname, lsb, width, fdoc in reg.fields:
                bits = f"[{lsb + width - 1}:{lsb}]" if width > 1 else f"[{lsb}]"
                lines.append(f"| | `{reg.name}.{fname}` {bits} | | {fdoc} |")
        return "\n".join(lines)


class CSRDecoder(wiring.Component):
    """Decodes the CSR bus onto per-register read values and write strobes.

    For every register ``name`` of the map it provides, as attributes of ``self.regs[name]``:

    * ``r_data`` (In, 32): the value read (sample it combinationally from the block's state);
    * ``r_stb`` (Out, 1): high in the cycle a read of this register is requested (for pop-on-read);
    * ``w_stb`` (Out, 1): high in the cycle a write to this register happens;
    * ``w_data`` (Out, 32): the data written.

    Parameters
    ----------
    regmap : RegisterMap
    """

    def __init__(self, regmap):
        if not isinstance(regmap, RegisterMap):
            raise TypeError(f"CSRDecoder needs a RegisterMap, not {regmap!r}")
        self.regmap = regmap
        super().__init__({"bus": In(CSRBusSignature(regmap.addr_width))})
        self.regs = {}
        for reg in regmap:
            self.regs[reg.name] = wiring.Signature({
                "r_data": In(CSR_DATA_WIDTH), "r_stb": Out(1),
                "w_stb": Out(1), "w_data": Out(CSR_DATA_WIDTH),
            }).create(path=("csr", reg.name))

    def elaborate(self, platform):
        m = Module()
        r_data = Signal(CSR_DATA_WIDTH)
        m.d.comb += self.bus.r_data.eq(r_data)
        with m.Switch(self.bus.addr):
            for reg in self.regmap:
                port = self.regs[reg.name]
                with m.Case(reg.addr):
                    if "r" in reg.access:
                        m.d.comb += port.r_stb.eq(self.bus.r_stb)
                        with m.If(self.bus.r_stb):
                            m.d.sync += r_data.eq(port.r_data)
                    if "w" in reg.access:
                        m.d.comb += port.w_stb.eq(self.bus.w_stb)
            with m.Default():
                with m.If(self.bus.r_stb):
                    m.d.sync += r_data.eq(Const(0, CSR_DATA_WIDTH))
        for reg in self.regmap:
            m.d.comb += self.regs[reg.name].w_data.eq(self.bus.w_data)
        return m
