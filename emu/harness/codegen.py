"""C++ generated from an Amaranth component's signature, so that no field packing is written by hand.

The driver (``driver.cpp``) speaks to the Verilated model only through the header produced here,
``harness_ports.h``. It holds, for the system contract (``cpu_req``, ``cpu_resp``, ``csr``,
``irq_proc``, ``irq_mem``, ``probe``):

* the offset and width of every payload field, taken from the ``data.StructLayout`` objects of the
  component (so a change of layout in ``hw/`` changes the header, and with it the cache key);
* the enum values the driver needs (``READ``/``WRITE`` of the request ``op``, ``OK`` of the status);
* typed store/load functions between a little-endian ``uint32_t`` word array and each port, handling
  Verilator's port types (``CData``/``SData``/``IData``/``QData`` up to 64 bits, ``VlWide`` above);
* the probe strobe names, and which of them form the miss-stage chain.

Port naming follows Amaranth's Verilog conversion: member path joined with ``__`` (``cpu_req__payload``).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Shape
from amaranth.lib import data, wiring
from amaranth.lib import enum as amaranth_enum

from ..errors import DisaggError
from . import axi_memory, local_memory

__all__ = ["PortInfo", "SystemPorts", "describe", "generate_header"]

CONTRACT_SCALARS = ("cpu_req__valid", "cpu_req__ready", "cpu_resp__valid", "cpu_resp__ready", "csr__addr",
                    "csr__r_stb", "csr__r_data", "csr__w_stb", "csr__w_data", "irq_proc", "irq_mem")
REQ_FIELDS = ("op", "pid", "vaddr", "strb", "wdata")
RESP_FIELDS = ("rdata", "status")


@dataclass(frozen=True)
class PortInfo:
    """One Verilog port of the top: name, width and direction (``"in"`` into the model)."""
    name: str
    width: int
    direction: str


@dataclass(frozen=True)
class SystemPorts:
    """What the driver needs to know about a top that follows the system contract.

    Attributes
    ----------
    ports : dict of str to PortInfo
        Every Verilog port, by name.
    req_fields, resp_fields : dict of str to (offset, width)
        Fields of the ``cpu_req`` and ``cpu_resp`` payloads.
    op_read, op_write, status_ok : int
        Encodings of the request kinds and of the OK status.
    probe_fields : list of (name, offset)
        One-bit strobes of the ``probe`` port, in layout order.
    chain : list of str
        Probe strobes that mark consecutive miss-stage boundaries, in order.
    status_names : dict of int to str
        Names of the response status values (for reports).
    registered_inputs : bool
        Every input of the top feeds only a register clocked by a second clock input ``clk_in`` (the CSR bus's by
        ``clk_csr``, raised only when they change; ``hw.system.top.HarnessTop``): the driver presents the inputs of a cycle before the edge that starts it and
        reads that cycle's outputs after it, one ``eval()`` per cycle. False for a plain Amaranth top.
    """
    ports: dict
    req_fields: dict
    resp_fields: dict
    op_read: int
    op_write: int
    status_ok: int
    probe_fields: list
    chain: list
    status_names: dict
    registered_inputs: bool = False

    @property
    def data_bytes(self) -> int:
        return self.req_fields["wdata"][1] // 8

    def to_json(self) -> dict:
        """A JSON-serialisable form (for the conversion cache)."""
        return {"ports": [[p.name, p.width, p.direction] for p in self.ports.values()],
                "req_fields": self.req_fields, "resp_fields": self.resp_fields, "op_read": self.op_read,
                "op_write": self.op_write, "status_ok": self.status_ok, "probe_fields": self.probe_fields,
                "chain": self.chain, "status_names": {str(k): v for k, v in self.status_names.items()},
                "registered_inputs": self.registered_inputs}

    @classmethod
    def from_json(cls, d) -> SystemPorts:
        return cls(ports={n: PortInfo(n, w, fl) for n, w, fl in d["ports"]},
                   req_fields={k: tuple(v) for k, v in d["req_fields"].items()},
                   resp_fields={k: tuple(v) for k, v in d["resp_fields"].items()},
                   op_read=d["op_read"], op_write=d["op_write"], status_ok=d["status_ok"],
                   probe_fields=[tuple(x) for x in d["probe_fields"]], chain=list(d["chain"]),
                   status_names={int(k): v for k, v in d["status_names"].items()},
                   registered_inputs=bool(d.get("registered_inputs", False)))


def _port_map(component) -> dict:
    ports = {"clk": PortInfo("clk", 1, "in"), "rst": PortInfo("rst", 1, "in")}
    for path, flow, value in component.signature.flatten(component):
        name = "__".join(str(p) for p in path)
        width = Shape.cast(value.shape()).width
        ports[name] = PortInfo(name, width, "in" if flow == wiring.In else "out")
    return ports


def _member_shape(component, *path):
    sig = component.signature
    member = None
    for name in path:
        if name not in sig.members:
            raise DisaggError(f"{type(component).__name__} has no port {'.'.join(path)} (system contract)")
        member = sig.members[name]
        sig = member.signature if member.is_signature else None
    return member.shape


def _fields(layout, names, what):
    if not isinstance(layout, data.StructLayout):
        raise DisaggError(f"{what} payload must be a data.StructLayout, not {layout!r}")
    out = {}
    for name in names:
        try:
            fld = layout[name]
        except KeyError:
            raise DisaggError(f"{what} payload has no field {name!r} (fields: {', '.join(n for n, _ in layout)})") from None
        out[name] = (fld.offset, fld.width)
    return out


def _enum_value(layout, field, member_name, what):
    shape = layout[field].shape
    if isinstance(shape, type) and issubclass(shape, amaranth_enum.Enum):
        try:
            return shape[member_name].value
        except KeyError:
            raise DisaggError(f"{what}.{field} enum {shape.__name__} has no member {member_name!r}") from None
    raise DisaggError(f"{what}.{field} must be an amaranth enum with member {member_name}, not {shape!r}")


def describe(component, chain=None) -> SystemPorts:
    """Read the system-contract ports and payload layouts of ``component``.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        A top with ``cpu_req``, ``cpu_resp``, ``csr``, ``irq_proc``, ``irq_mem`` and ``probe``.
    chain : list of str, optional
        Probe strobes forming the miss-stage chain; default all probe fields in layout order.
    """
    ports = _port_map(component)
    for name in ("cpu_req__valid", "cpu_req__ready", "cpu_req__payload", "cpu_resp__valid", "cpu_resp__ready",
                 "cpu_resp__payload", "csr__addr", "csr__r_stb", "csr__r_data", "csr__w_stb", "csr__w_data",
                 "irq_proc", "irq_mem", "probe"):
        if name not in ports:
            raise DisaggError(f"{type(component).__name__} has no port {name} (system contract)")
    req = _member_shape(component, "cpu_req", "payload")
    resp = _member_shape(component, "cpu_resp", "payload")
    req_layout = data.Layout.cast(req)
    resp_layout = data.Layout.cast(resp)
    req_fields = _fields(req_layout, REQ_FIELDS, "cpu_req")
    resp_fields = _fields(resp_layout, RESP_FIELDS, "cpu_resp")
    if req_fields["strb"][1] * 8 != req_fields["wdata"][1]:
        raise DisaggError(f"cpu_req strb ({req_fields['strb'][1]} bits) does not match wdata "
                          f"({req_fields['wdata'][1]} bits)")
    if resp_fields["rdata"][1] != req_fields["wdata"][1]:
        raise DisaggError("cpu_resp rdata and cpu_req wdata differ in width")
    status_shape = resp_layout["status"].shape
    status_names = {m.value: m.name for m in status_shape} if isinstance(status_shape, type) else {0: "OK"}
    probe_layout = data.Layout.cast(_member_shape(component, "probe"))
    probe_fields = []
    for name, fld in probe_layout:
        if fld.width != 1:
            raise DisaggError(f"probe field {name!r} must be a one-bit strobe, not {fld.width} bits wide")
        probe_fields.append((name, fld.offset))
    # A StructLayout packs fields in order, so strobe i is bit i; the driver relies on it.
    assert all(off == i for i, (_, off) in enumerate(probe_fields)), probe_fields
    if len(probe_fields) > 64:
        raise DisaggError("probe port has more than 64 strobes")
    names = [n for n, _ in probe_fields]
    chain = list(names if chain is None else chain)
    for c in chain:
        if c not in names:
            raise DisaggError(f"miss-stage chain names unknown probe strobe {c!r} (strobes: {', '.join(names)})")
    return SystemPorts(
        ports=ports, req_fields=req_fields, resp_fields=resp_fields,
        op_read=_enum_value(req_layout, "op", "READ", "cpu_req"),
        op_write=_enum_value(req_layout, "op", "WRITE", "cpu_req"),
        status_ok=_enum_value(resp_layout, "status", "OK", "cpu_resp"),
        probe_fields=probe_fields, chain=chain, status_names=status_names,
        registered_inputs=_registered_inputs(component, ports),
    )


def _registered_inputs(component, ports) -> bool:
    registered = getattr(component, "registered_inputs", False)
    if registered not in (False, True):
        raise DisaggError(f"{type(component).__name__}.registered_inputs must be a bool, not {registered!r}")
    if registered and "clk_in" not in ports:
        raise DisaggError(f"{type(component).__name__} registers its inputs but has no clk_in port")
    return registered


def cxx_name(port_name):
    """The C++ member Verilator gives a port: it encodes ``__`` in identifiers as ``___05F``."""
    return port_name.replace("__", "___05F")


def _words(width):
    return (width + 31) // 32


def _store_fn(name, port: PortInfo):
    """C++ that copies a uint32_t word array into an input port."""
    w = port.width
    if w <= 32:
        body = f"    t->{cxx_name(port.name)} = w[0];"
    elif w <= 64:
        body = f"    t->{cxx_name(port.name)} = (uint64_t)w[0] | ((uint64_t)w[1] << 32);"
    else:
        body = "\n".join(f"    t->{cxx_name(port.name)}[{i}] = w[{i}];" for i in range(_words(w)))
    return f"static inline void store_{name}(Vtop* t, const uint32_t* w) {{\n{body}\n}}\n"


def _load_fn(name, port: PortInfo):
    """C++ that copies an output port into a uint32_t word array."""
    w = port.width
    if w <= 32:
        body = f"    w[0] = (uint32_t)t->{cxx_name(port.name)};"
    elif w <= 64:
        body = (f"    uint64_t v = t->{cxx_name(port.name)};\n"
                f"    w[0] = (uint32_t)v; w[1] = (uint32_t)(v >> 32);")
    else:
        body = "\n".join(f"    w[{i}] = t->{cxx_name(port.name)}[{i}];" for i in range(_words(w)))
    return f"static inline void load_{name}(const Vtop* t, uint32_t* w) {{\n{body}\n}}\n"


def generate_header(sp: SystemPorts) -> str:
    """The text of ``harness_ports.h`` for a described top."""
    p = sp.ports
    lines = [
        "// Generated by emu/harness/codegen.py from the Amaranth layouts. Do not edit.",
        "#pragma once",
        "#include <cstdint>",
        '#include "Vtop.h"',
        "",
        "// Verilator's C++ names of the scalar ports of the contract.",
        *[f"#define P_{n} {cxx_name(n)}" for n in CONTRACT_SCALARS],
        "",
        f"constexpr int REQ_WORDS = {_words(p['cpu_req__payload'].width)};",
        f"constexpr int RESP_WORDS = {_words(p['cpu_resp__payload'].width)};",
    ]
    for name, (off, width) in sp.req_fields.items():
        lines.append(f"constexpr int REQ_{name.upper()}_OFF = {off}, REQ_{name.upper()}_W = {width};")
    for name, (off, width) in sp.resp_fields.items():
        lines.append(f"constexpr int RESP_{name.upper()}_OFF = {off}, RESP_{name.upper()}_W = {width};")
    lines += [
        f"constexpr int DATA_BYTES = {sp.data_bytes};",
        f"constexpr uint64_t OP_READ = {sp.op_read}, OP_WRITE = {sp.op_write};",
        f"constexpr uint64_t STATUS_OK = {sp.status_ok};",
        f"constexpr int CSR_ADDR_W = {p['csr__addr'].width};",
        f"constexpr int PROBE_N = {len(sp.probe_fields)};",
        "// Probe index of each miss-stage chain boundary, in order.",
        f"constexpr int CHAIN_N = {len(sp.chain)};",
        "constexpr int CHAIN[CHAIN_N > 0 ? CHAIN_N : 1] = {"
        + ", ".join(str([n for n, _ in sp.probe_fields].index(c)) for c in sp.chain) + "};",
        "",
        _store_fn("req", p["cpu_req__payload"]),
        _load_fn("resp", p["cpu_resp__payload"]),
    ]
    # Strobe i of the probe is bit i (checked in describe()); at most 64 strobes.
    lines.append("static inline uint64_t load_probe(const Vtop* t) { return (uint64_t)t->probe; }\n")
    # The DRAM port of a top built with external_dram (or HARNESS_AXI_MEM 0).
    lines.append(axi_memory.port_header(sp, cxx_name=cxx_name, store_fn=_store_fn, load_fn=_load_fn))
    # The ExCache's local-memory port of a top with line_store="axi" (or HARNESS_LMEM 0).
    lines.append(local_memory.port_header(sp, cxx_name=cxx_name, store_fn=_store_fn, load_fn=_load_fn))
    # Inputs registered on clk_in (hw.system.top.HarnessTop): one eval() per cycle, the outputs read after it.
    lines.append("// 1: every input feeds only a register clocked by clk_in (inputs presented before the edge).")
    lines.append(f"#define HARNESS_REGISTERED_INPUTS {1 if sp.registered_inputs else 0}")
    return "\n".join(lines) + "\n"


_C_TYPES = {"u1": "uint8_t", "u2": "uint16_t", "u4": "uint32_t", "u8": "uint64_t",
            "i1": "int8_t", "i2": "int16_t", "i4": "int32_t", "i8": "int64_t"}


def c_struct(name, dtype) -> str:
    """A packed C++ struct with the exact memory layout of a numpy structured ``dtype``."""
    lines = ["#pragma pack(push, 1)", f"struct {name} {{"]
    pos = 0
    for field in dtype.names:
        ftype, offset = dtype.fields[field][:2]
        if offset != pos:
            raise ValueError(f"{name}: field {field} at offset {offset}, expected {pos} (dtype must be packed)")
        base, shape = (ftype.subdtype if ftype.subdtype else (ftype, ()))
        key = base.str.lstrip("<|=")
        if key not in _C_TYPES or base.byteorder == ">":
            raise ValueError(f"{name}: unsupported field type {base!r} for {field}")
        dims = "".join(f"[{d}]" for d in shape)
        lines.append(f"    {_C_TYPES[key]} {field}{dims};")
        pos += ftype.itemsize
    lines += ["};", "#pragma pack(pop)",
              f"static_assert(sizeof({name}) == {dtype.itemsize}, \"{name} layout differs from numpy\");", ""]
    return "\n".join(lines)


def generate_records_header() -> str:
    """``harness_records.h``: the workload, result and statistics records as C++ structs."""
    from ..workload_format import WORKLOAD_DTYPE
    from .layouts import MAX_PROBES, RESULT_DTYPE, STATS_DTYPE
    return "\n".join([
        "// Generated by emu/harness/codegen.py from emu/workload_format.py and emu/harness/layouts.py. Do not edit.",
        "#pragma once", "#include <cstdint>", f"constexpr int MAX_PROBES = {MAX_PROBES};", "",
        c_struct("Access", WORKLOAD_DTYPE), c_struct("Result", RESULT_DTYPE), c_struct("Stats", STATS_DTYPE),
    ])
