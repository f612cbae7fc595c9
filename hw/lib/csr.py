"""A small CSR bus for firmware, register maps declared in code, and register kinds that implement
the register storage.

amaranth-soc is not released on PyPI (only a placeholder name), so disagg carries this minimal bus,
modelled on amaranth-soc's ``csr.Bus``:

* ``addr`` selects a 32-bit register (word address, not byte address);
* ``r_stb`` high for one cycle requests a read; ``r_data`` holds the value on the *next* cycle;
* ``w_stb`` high for one cycle writes ``w_data`` to the register at ``addr``.

Reads may have side effects (popping a queue register); writes to read-only registers are ignored.
The register map of a block is a :class:`RegisterMap`, from which both the decoder in the RTL
(:class:`CSRDecoder`) and the table in the block's documentation are generated, and which firmware
uses for the addresses.

Register kinds
--------------
A :class:`Register` (or one :class:`Field` of it) may be given a *kind*; the decoder then implements
its storage and gives the block a port of the kind's own shape instead of raw strobes (the idea of
amaranth-soc's ``csr.action`` field actions, written for this bus):

================  ======  =====================================================================
kind              access  port (``dec.regs[name]``, flows seen from the block)
================  ======  =====================================================================
:class:`R`        r       ``r_data`` (block drives), ``r_stb`` (read strobe, for pop-on-read)
:class:`RW`       rw      ``data`` (the storage, reset value, optional saturation), ``w_stb``;
                          ``load``/``load_value`` let the block update it (the block wins)
:class:`W1C`      rw      ``set`` (block: event bits), ``data``; firmware writes 1 to clear a bit
:class:`Action`   w (rw)  ``w_stb``, ``w_data``: a write strobe (command); optional ``r_data``
                          (status shown when the register is read)
:class:`Counter`  r (rw)  ``inc`` (block: events, registered: counted one cycle later), ``clear``,
                          ``value``; 32 or 64 bits
================  ======  =====================================================================

Registers wider than 32 bits (``RW(64)``, ``Counter(64)``, ``R(64)``) occupy consecutive words named
``<name>_LO`` and ``<name>_HI`` in the map (``regmap.addr("X_LO")``). A 64-bit :class:`Counter` is read
coherently: reading ``_LO`` latches the upper half into a shadow register, which ``_HI`` returns; read
``_LO`` then ``_HI`` (the same scheme as the system probe's cycle counter). :class:`R` and :class:`RW`
words read the live value, so a block whose wide read-only value changes while firmware reads it must
hold it stable itself (the MMU's fault address and memory window data only change when firmware asks).

Registers without a kind keep the raw interface (``r_data`` in; ``r_stb``, ``w_stb``, ``w_data`` out) and
their fields are documentation only.
"""

from dataclasses import dataclass, field

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import check_int, is_int
from hw.lib.counter import Counter as _CounterPrimitive

__all__ = ["CSR_DATA_WIDTH", "CSRBusSignature", "Register", "Field", "RegisterMap", "CSRDecoder",
           "R", "RW", "W1C", "Action", "Counter"]

CSR_DATA_WIDTH = 32


class CSRBusSignature(wiring.Signature):
    """Initiator side of the CSR bus (flip it for the target side).

    Parameters
    ----------
    addr_width : int
        Width of the word address.
    """

    def __init__(self, addr_width):
        if not is_int(addr_width) or addr_width < 1:
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


# ---------------------------------------------------------------------------------------------- kinds

class _WordAccess:
    """What a kind's implementation sees of the bus: per-word read/write strobes and the write data
    (the whole bus word for a register, the field's bits for a field)."""

    def __init__(self, r_stb, w_stb, w_data):
        self.r_stb, self.w_stb, self.w_data = r_stb, w_stb, w_data


@dataclass(frozen=True)
class _Kind:
    width: int = None

    #: ``"r"``, ``"w"`` or ``"rw"`` as shown in the register table.
    access = "rw"

    def __post_init__(self):
        if self.width is not None:
            check_int(f"{type(self).__name__} width", self.width, 1, 64)

    def sized(self, width):
        """This kind with the width of the register or field it implements when none was given."""
        if self.width is None:
            return type(self)(**{**self.__dict__, "width": width})
        return self

    def words(self):
        return (self.width + CSR_DATA_WIDTH - 1) // CSR_DATA_WIDTH

    def members(self):
        raise NotImplementedError

    def implement(self, m, port, acc, reset):
        """Add the storage to ``m``; return the read value of every word (a list)."""
        raise NotImplementedError


def _split(value, width):
    return [value[i:min(i + CSR_DATA_WIDTH, width)] for i in range(0, width, CSR_DATA_WIDTH)]


@dataclass(frozen=True)
class R(_Kind):
    """Read-only, driven by the block (``port.r_data``); ``port.r_stb`` pulses when word 0 is read."""
    access = "r"

    def members(self):
        return {"r_data": In(self.width), "r_stb": Out(1)}

    def implement(self, m, port, acc, reset):
        m.d.comb += port.r_stb.eq(acc.r_stb[0])
        return _split(port.r_data, self.width)


@dataclass(frozen=True)
class RW(_Kind):
    """Read-write storage (``port.data``) with a reset value.

    Parameters
    ----------
    width : int
    reset : int
        Value after reset; :class:`CSRDecoder` ``resets=`` overrides it per instance (a value that
        depends on the block's parameters).
    limit : int, optional
        Saturate writes: a written value above ``limit`` stores ``limit`` (one-word registers only).

    ``port.w_stb`` pulses in the cycle firmware writes any word (``data`` changes on the next edge);
    ``port.load``/``port.load_value`` let the block update the storage and win over a firmware write
    in the same cycle.
    """
    reset: int = 0
    limit: int = None

    def __post_init__(self):
        super().__post_init__()
        check_int("RW reset", self.reset, 0)
        if self.limit is not None:
            check_int("RW limit", self.limit, 0)
            if self.width is not None and self.width > CSR_DATA_WIDTH:
                raise ValueError(f"RW limit needs a register of at most 32 bits, not {self.width!r}")

    def members(self):
        return {"data": Out(self.width), "w_stb": Out(1), "load": In(1), "load_value": In(self.width)}

    def implement(self, m, port, acc, reset):
        storage = Signal(self.width, init=self.reset if reset is None else reset, name="storage")
        for i, w_stb in enumerate(acc.w_stb):
            lo, hi = i * CSR_DATA_WIDTH, min((i + 1) * CSR_DATA_WIDTH, self.width)
            with m.If(w_stb):
                if self.limit is not None:
                    m.d.sync += storage.eq(Mux(acc.w_data > self.limit, self.limit, acc.w_data[:self.width]))
                else:
                    m.d.sync += storage[lo:hi].eq(acc.w_data[:hi - lo])
        with m.If(port.load):
            m.d.sync += storage.eq(port.load_value)
        m.d.comb += [port.data.eq(storage), port.w_stb.eq(Cat(*acc.w_stb).any())]
        return _split(storage, self.width)


@dataclass(frozen=True)
class W1C(_Kind):
    """Event bits: the block sets them (``port.set``, per bit), firmware writes 1 to clear them.

    A bit set and cleared in the same cycle stays set (an event is never lost).
    """

    def __post_init__(self):
        super().__post_init__()
        if self.width is not None and self.width > CSR_DATA_WIDTH:
            raise ValueError(f"W1C fields are at most 32 bits, not {self.width!r}")

    def members(self):
        return {"set": In(self.width), "data": Out(self.width)}

    def implement(self, m, port, acc, reset):
        bits = Signal(self.width, init=reset or 0, name="bits")
        clear = Mux(acc.w_stb[0], acc.w_data[:self.width], 0)
        m.d.sync += bits.eq((bits & ~clear) | port.set)
        m.d.comb += port.data.eq(bits)
        return [bits]


@dataclass(frozen=True)
class Action(_Kind):
    """A write strobe: ``port.w_stb`` pulses in the write cycle with ``port.w_data``.

    Parameters
    ----------
    width : int
        Bits of ``w_data``.
    read_width : int
        If non-zero, reading the register returns ``port.r_data`` (a status driven by the block, e.g. a
        command register that reads back busy/error) and the access is ``rw``.
    """
    read_width: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_int("Action read_width", self.read_width, 0, CSR_DATA_WIDTH)
        if self.width is not None and self.width > CSR_DATA_WIDTH:
            raise ValueError(f"Action fields are at most 32 bits, not {self.width!r}")

    @property
    def access(self):
        return "rw" if self.read_width else "w"

    def members(self):
        members = {"w_stb": Out(1), "w_data": Out(self.width)}
        if self.read_width:
            members["r_data"] = In(self.read_width)
        return members

    def implement(self, m, port, acc, reset):
        m.d.comb += [port.w_stb.eq(acc.w_stb[0]), port.w_data.eq(acc.w_data[:self.width])]
        return [port.r_data if self.read_width else None]


@dataclass(frozen=True)
class Counter(_Kind):
    """An event counter (:class:`hw.lib.counter.Counter`): ``port.inc`` adds, ``port.clear`` zeroes.

    Parameters
    ----------
    width : int
        32 or 64 (a 64-bit counter is a ``_LO``/``_HI`` pair read coherently, see the module docstring).
    writable : bool
        Firmware writes set the addressed word (access ``rw``; a write wins over an ``inc`` in the same
        cycle); otherwise writes are ignored (access ``r``).
    step_width : int
        Width of ``port.inc`` (1: count events; more: add an amount).
    registered : bool
        ``True`` (default): ``port.inc`` is registered before the adder, so an event shows in the count
        (and in a read) one cycle later than without, and the carry chain starts at a flip-flop (see
        :mod:`hw.lib.counter`); ``False`` for a constant increment (a cycle counter), which stays exact.
    """
    writable: bool = False
    step_width: int = 1
    registered: bool = True

    def __post_init__(self):
        super().__post_init__()
        if self.width is not None and self.width not in (32, 64):
            raise ValueError(f"Counter width must be 32 or 64, not {self.width!r}")
        if not isinstance(self.writable, bool):
            raise TypeError(f"Counter writable must be a bool, not {self.writable!r}")
        check_int("Counter step_width", self.step_width, 1, 32)
        if not isinstance(self.registered, bool):
            raise TypeError(f"Counter registered must be a bool, not {self.registered!r}")

    @property
    def access(self):
        return "rw" if self.writable else "r"

    def members(self):
        return {"inc": In(self.step_width), "clear": In(1), "value": Out(self.width)}

    def implement(self, m, port, acc, reset):
        ctr = _CounterPrimitive(self.width, step_width=self.step_width, registered=self.registered)
        m.submodules.counter = ctr
        m.d.comb += [ctr.inc.eq(port.inc), ctr.clear.eq(port.clear), port.value.eq(ctr.value)]
        if self.writable:
            merged = Signal(self.width, name="write_value")
            m.d.comb += merged.eq(ctr.value)
            for i, w_stb in enumerate(acc.w_stb):
                with m.If(w_stb):
                    m.d.comb += merged[i * CSR_DATA_WIDTH:(i + 1) * CSR_DATA_WIDTH].eq(acc.w_data)
            m.d.comb += [ctr.load.eq(Cat(*acc.w_stb).any()), ctr.load_value.eq(merged)]
        if self.width <= CSR_DATA_WIDTH:
            return [ctr.value]
        shadow = Signal(self.width - CSR_DATA_WIDTH, name="hi_shadow")
        with m.If(acc.r_stb[0]):
            m.d.sync += shadow.eq(ctr.value[CSR_DATA_WIDTH:])
        return [ctr.value[:CSR_DATA_WIDTH], shadow]


# ---------------------------------------------------------------------------------------------- map

@dataclass(frozen=True)
class Field:
    """A bit field of a register, optionally with a kind (then the decoder implements it).

    Parameters
    ----------
    name : str
    lsb, width : int
        Position in the 32-bit register.
    doc : str
    kind : R, RW, W1C or Action, optional
        Its width defaults to the field's.
    """
    name: str
    lsb: int
    width: int
    doc: str
    kind: object = None

    def __post_init__(self):
        check_int(f"Field {self.name!r} lsb", self.lsb, 0, CSR_DATA_WIDTH - 1)
        check_int(f"Field {self.name!r} width", self.width, 1, CSR_DATA_WIDTH - self.lsb)
        if self.kind is not None:
            if not isinstance(self.kind, (R, RW, W1C, Action)):
                raise TypeError(f"Field {self.name!r} kind must be R, RW, W1C or Action, not {self.kind!r}")
            object.__setattr__(self, "kind", self.kind.sized(self.width))
            if self.kind.width != self.width:
                raise ValueError(f"Field {self.name!r} kind is {self.kind.width} bits wide, not the "
                                 f"field's {self.width}")


def _as_field(f):
    return f if isinstance(f, Field) else Field(*f)


@dataclass(frozen=True)
class Register:
    """One register: a 32-bit word, or with a kind wider than 32 bits, consecutive words.

    Parameters
    ----------
    name : str
        Identifier, also used by firmware (``regs.addr("name")``).
    addr : int
        Word address (of the ``_LO`` word of a wide register).
    access : str
        ``"r"``, ``"w"`` or ``"rw"``; must agree with the kind's when a kind is given.
    doc : str
        One-line description for the documentation table.
    fields : tuple of Field or of (name, lsb, width, doc)
        Bit fields; documentation only unless they have kinds.
    kind : R, RW, W1C, Action or Counter, optional
        The whole register's kind (its width defaults to 32). A register has a kind, or fields with
        kinds, or neither (raw interface).
    """
    name: str
    addr: int
    access: str
    doc: str
    fields: tuple = field(default=())
    kind: object = None

    def __post_init__(self):
        if self.access not in ("r", "w", "rw"):
            raise ValueError(f"Register access must be 'r', 'w' or 'rw', not {self.access!r}")
        if not is_int(self.addr) or self.addr < 0:
            raise TypeError(f"Register address must be a non-negative integer, not {self.addr!r}")
        object.__setattr__(self, "fields", tuple(_as_field(f) for f in self.fields))
        kinded = [f for f in self.fields if f.kind is not None]
        if kinded and len(kinded) != len(self.fields):
            raise ValueError(f"Register {self.name!r}: either every field has a kind or none has")
        if kinded and self.kind is not None:
            raise ValueError(f"Register {self.name!r} has a kind and fields with kinds")
        if self.kind is not None:
            if not isinstance(self.kind, _Kind):
                raise TypeError(f"Register {self.name!r} kind must be R, RW, W1C, Action or Counter, "
                                f"not {self.kind!r}")
            object.__setattr__(self, "kind", self.kind.sized(CSR_DATA_WIDTH))
        expected = self.kind.access if self.kind is not None else None
        if kinded:
            accesses = {f.kind.access for f in kinded}
            expected = "r" if accesses == {"r"} else "w" if accesses == {"w"} else "rw"
        if expected is not None and expected != self.access:
            raise ValueError(f"Register {self.name!r} access must be {expected!r} for its kind, not "
                             f"{self.access!r}")
        used = 0
        for f in self.fields:
            mask = ((1 << f.width) - 1) << f.lsb
            if used & mask:
                raise ValueError(f"Register {self.name!r}: field {f.name!r} overlaps another field")
            used |= mask

    @property
    def n_words(self):
        return 1 if self.kind is None else self.kind.words()

    @property
    def implemented(self):
        """True when the decoder implements the storage (a kind, or fields with kinds)."""
        return self.kind is not None or any(f.kind is not None for f in self.fields)

    def word_names(self):
        if self.n_words == 1:
            return [self.name]
        return [f"{self.name}_LO", f"{self.name}_HI"]

    def port_signature(self):
        """Signature of ``CSRDecoder.regs[name]`` (flows seen from the decoder)."""
        if self.kind is not None:
            return wiring.Signature(self.kind.members())
        if self.implemented:
            return wiring.Signature({f.name: Out(wiring.Signature(f.kind.members())) for f in self.fields})
        return wiring.Signature({"r_data": In(CSR_DATA_WIDTH), "r_stb": Out(1),
                                 "w_stb": Out(1), "w_data": Out(CSR_DATA_WIDTH)})


class RegisterMap:
    """An ordered set of registers with unique names and addresses."""

    def __init__(self, name, registers):
        self.name = name
        self.registers = tuple(registers)
        self._by_name = {}
        self._words = {}       # word name -> (register, word index)
        seen_addr = {}
        for reg in self.registers:
            if not isinstance(reg, Register):
                raise TypeError(f"{name}: registers must be Register, not {reg!r}")
            if reg.name in self._by_name:
                raise ValueError(f"{name}: register name {reg.name!r} used twice")
            self._by_name[reg.name] = reg
            for index, word in enumerate(reg.word_names()):
                addr = reg.addr + index
                if addr in seen_addr:
                    raise ValueError(f"{name}: registers {seen_addr[addr]!r} and {word!r} share address {addr}")
                if word in self._words:
                    raise ValueError(f"{name}: register name {word!r} used twice")
                seen_addr[addr] = word
                self._words[word] = (reg, index)

    @property
    def addr_width(self):
        top = max(reg.addr + reg.n_words - 1 for reg in self.registers)
        return max(1, top.bit_length())

    def __getitem__(self, name):
        return self._by_name[name]

    def __iter__(self):
        return iter(self.registers)

    def addr(self, name):
        """Word address of a register or of one word (``X_LO``/``X_HI``) of a wide register."""
        if name in self._words:
            reg, index = self._words[name]
            return reg.addr + index
        return self._by_name[name].addr

    def words(self):
        """``(addr, word name, register, word index)`` of every word, in address order."""
        out = [(reg.addr + i, w, reg, i) for w, (reg, i) in self._words.items()]
        return sorted(out, key=lambda t: t[0])

    def markdown(self):
        """The register map as a Markdown table, for ``docs/``."""
        lines = ["| addr | name | access | description |", "|---:|---|---|---|"]
        for addr, word, reg, index in self.words():
            doc = reg.doc
            if reg.n_words > 1:
                lo = index * CSR_DATA_WIDTH
                doc = f"{doc}, bits {min(lo + CSR_DATA_WIDTH, reg.kind.width) - 1}..{lo}"
            lines.append(f"| 0x{addr:02x} | `{word}` | {reg.access} | {doc} |")
            for f in reg.fields:
                bits = f"[{f.lsb + f.width - 1}:{f.lsb}]" if f.width > 1 else f"[{f.lsb}]"
                lines.append(f"| | `{reg.name}.{f.name}` {bits} | | {f.doc} |")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- decoder

def _read_tree(addr, words, base, bits):
    """The word of ``words`` (address -> value) at ``addr`` among ``base .. base + 2**bits - 1``, 0 where none."""
    if not any(base <= a < base + (1 << bits) for a in words):
        return Const(0, CSR_DATA_WIDTH)
    if bits == 0:
        return words[base]
    half = 1 << (bits - 1)
    return Mux(addr[bits - 1], _read_tree(addr, words, base + half, bits - 1), _read_tree(addr, words, base, bits - 1))


class CSRDecoder(wiring.Component):
    """Decodes the CSR bus onto per-register ports, implementing the registers that have kinds.

    ``self.regs[name]`` is, for a register

    * without a kind: ``r_data`` (In, 32: the value read, sample it combinationally from the block's
      state), ``r_stb`` (Out: high in the cycle a read is requested, for pop-on-read), ``w_stb`` (Out:
      high in the cycle of a write), ``w_data`` (Out, 32: the data written);
    * with a kind: the kind's port (see the module docstring);
    * with fields that have kinds: one member per field, each the field kind's port.

    Parameters
    ----------
    regmap : RegisterMap
    resets : dict of str to int, optional
        Reset values of :class:`RW` registers (by register name, or ``"REG.field"``) overriding the map's.
    """

    def __init__(self, regmap, *, resets=None):
        if not isinstance(regmap, RegisterMap):
            raise TypeError(f"CSRDecoder needs a RegisterMap, not {regmap!r}")
        resets = dict(resets or {})
        for key, value in resets.items():
            reg_name, _, field_name = key.partition(".")
            reg = regmap._by_name.get(reg_name)
            kind = reg.kind if reg is not None and not field_name else next(
                (f.kind for f in (reg.fields if reg else ()) if f.name == field_name), None)
            if not isinstance(kind, (RW, W1C)):
                raise ValueError(f"CSRDecoder reset given for {key!r}, which is not an RW or W1C register")
            check_int(f"CSRDecoder reset of {key}", value, 0, (1 << kind.width) - 1)
        self.regmap = regmap
        self.resets = resets
        super().__init__({"bus": In(CSRBusSignature(regmap.addr_width))})
        self.regs = {reg.name: reg.port_signature().create(path=("csr", reg.name)) for reg in regmap}

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        r_data = Signal(CSR_DATA_WIDTH)
        m.d.comb += bus.r_data.eq(r_data)
        # Registers with kinds: per-word strobes (driven in the address switch below) and storage.
        strobes, values = {}, {}
        for reg in self.regmap:
            if reg.implemented:
                r_stb = [Signal(name=f"{w}_r_stb") for w in reg.word_names()]
                w_stb = [Signal(name=f"{w}_w_stb") for w in reg.word_names()]
                strobes[reg.name] = (r_stb, w_stb)
                values[reg.name] = self._implement(m, reg, r_stb, w_stb)
        # Strobes: decoded from the whole address.
        readable = {}   # word address -> value read
        hold = Signal(name="r_hold")   # a decoded word that cannot be read: r_data keeps its value
        with m.Switch(bus.addr):
            for reg in self.regmap:
                port = self.regs[reg.name]
                if not reg.implemented:
                    with m.Case(reg.addr):
                        if "r" in reg.access:
                            m.d.comb += port.r_stb.eq(bus.r_stb)
                            readable[reg.addr] = port.r_data
                        else:
                            m.d.comb += hold.eq(1)
                        if "w" in reg.access:
                            m.d.comb += port.w_stb.eq(bus.w_stb)
                    continue
                r_stb, w_stb = strobes[reg.name]
                for i, value in enumerate(values[reg.name]):
                    with m.Case(reg.addr + i):
                        m.d.comb += [r_stb[i].eq(bus.r_stb), w_stb[i].eq(bus.w_stb)]
                        if value is None:
                            m.d.comb += hold.eq(1)
                    if value is not None:
                        readable[reg.addr + i] = value
        # Read data: a tree of 2:1 multiplexers, one address bit per level (an address compare per word
        # feeding a wide AND-OR was two levels deeper; the system probe went from 78 to 109 MHz). Addresses
        # no register decodes read 0; words that cannot be read keep the previous r_data (firmware must not
        # rely on it), decoded apart from the tree into the register's enable.
        with m.If(bus.r_stb & ~hold):
            m.d.sync += r_data.eq(_read_tree(bus.addr, readable, 0, len(bus.addr)))
        for reg in self.regmap:
            if not reg.implemented:
                m.d.comb += self.regs[reg.name].w_data.eq(bus.w_data)
        return m

    def _implement(self, m, reg, r_stb, w_stb):
        """Implement one register with a kind; return its read value per word (None: not readable)."""
        port, w_data = self.regs[reg.name], self.bus.w_data
        sub = Module()
        m.submodules[f"reg_{reg.name}"] = sub
        if reg.kind is not None:
            return reg.kind.implement(sub, port, _WordAccess(r_stb, w_stb, w_data), self.resets.get(reg.name))
        value = Signal(CSR_DATA_WIDTH, name=f"{reg.name}_read")
        readable = False
        for f in reg.fields:
            fsub = Module()
            sub.submodules[f.name] = fsub
            acc = _WordAccess(r_stb, w_stb, w_data[f.lsb:f.lsb + f.width])
            (part,) = f.kind.implement(fsub, getattr(port, f.name), acc, self.resets.get(f"{reg.name}.{f.name}"))
            if part is not None:
                readable = True
                m.d.comb += value[f.lsb:f.lsb + f.width].eq(part)
        return [value if readable else None]
