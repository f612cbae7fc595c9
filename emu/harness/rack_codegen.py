"""C++ headers of the compiled rack (``rack_driver.cpp``), generated from a ``hw.system.rack.RackTop``.

The rack's driver speaks to the Verilated ``RackTop`` only through two generated headers:

* ``rack_ports.h``: the numbers of processor and memory components, the ``cpu_req``/``cpu_resp`` payload fields
  (from the ExCache's ``CpuReq``/``CpuResp`` layouts, as :mod:`emu.harness.codegen` does for one system), and
  per-component accessors (``store_req(t, i, w)``, ``load_resp(t, i, w)``, valid/ready) of the ports
  ``cpu_req__<i>__*`` and ``cpu_resp__<i>__*``; per memory component ``j`` the copies between its DRAM port
  ``dram__<j>__*`` and an :c:type:`AxiPins` record;
* ``harness_ports.h``: what ``axi_memory.h`` (the compiled sparse DRAM of the single system) needs, with its
  port names pointing at the members of :c:type:`AxiPins`. The driver includes ``axi_memory.h`` with ``Vtop``
  standing for ``AxiPins``, so the one implementation of the DRAM serves every memory component of the rack,
  each through its own pins record (copied to and from the model's ports every cycle).
"""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib import data

from ..errors import DisaggError
from .axi_memory import AXI_SCALARS
from .codegen import REQ_FIELDS, RESP_FIELDS, cxx_name

__all__ = ["RackPorts", "describe_rack", "generate_rack_header", "generate_axi_header"]

#: AXI signals the memory (subordinate) drives: inputs of the model.
AXI_TO_MODEL = ("awready", "arready", "wready", "bid", "bresp", "bvalid", "rid", "rresp", "rlast", "rvalid")
#: AXI signals the memory component (manager) drives: outputs of the model.
AXI_FROM_MODEL = tuple(s for s in AXI_SCALARS if s not in AXI_TO_MODEL)


class RackPorts:
    """What the rack driver needs to know about a ``RackTop`` (built with ``external_dram=True``).

    Attributes
    ----------
    processors, memories : int
    widths : dict of str to int
        Width of every Verilog port of the top, by name.
    req_fields, resp_fields : dict of str to (offset, width)
    op_read, op_write, status_ok : int
    status_names : dict of int to str
    """

    def __init__(self, processors, memories, widths, req_fields, resp_fields, op_read, op_write, status_ok,
                 status_names):
        self.processors, self.memories, self.widths = processors, memories, widths
        self.req_fields, self.resp_fields = req_fields, resp_fields
        self.op_read, self.op_write, self.status_ok, self.status_names = op_read, op_write, status_ok, status_names

    @property
    def data_bytes(self):
        return self.req_fields["wdata"][1] // 8

    def to_json(self):
        return {"processors": self.processors, "memories": self.memories, "widths": self.widths,
                "req_fields": self.req_fields, "resp_fields": self.resp_fields, "op_read": self.op_read,
                "op_write": self.op_write, "status_ok": self.status_ok,
                "status_names": {str(k): v for k, v in self.status_names.items()}}

    @classmethod
    def from_json(cls, d):
        return cls(d["processors"], d["memories"], dict(d["widths"]),
                   {k: tuple(v) for k, v in d["req_fields"].items()},
                   {k: tuple(v) for k, v in d["resp_fields"].items()}, d["op_read"], d["op_write"], d["status_ok"],
                   {int(k): v for k, v in d["status_names"].items()})


def _fields(layout, names, what):
    out = {}
    for name in names:
        try:
            fld = layout[name]
        except KeyError:
            raise DisaggError(f"{what} payload has no field {name!r}") from None
        out[name] = (fld.offset, fld.width)
    return out


def describe_rack(top) -> RackPorts:
    """The ports and payload layouts of ``top`` (a ``RackTop`` with ``external_dram=True``)."""
    if not getattr(top, "external_dram", False):
        raise DisaggError("the compiled rack needs RackTop(external_dram=True): its DRAMs are served in C++")
    widths = {"clk": 1, "rst": 1}
    for path, _flow, value in top.signature.flatten(top):
        widths["__".join(str(p) for p in path)] = Shape.cast(value.shape()).width
    members = top.signature.members
    # Array members (one per processor component): the member's signature is its element's.
    req_layout = data.Layout.cast(members["cpu_req"].signature.members["payload"].shape)
    resp_layout = data.Layout.cast(members["cpu_resp"].signature.members["payload"].shape)
    req_fields = _fields(req_layout, REQ_FIELDS, "cpu_req")
    resp_fields = _fields(resp_layout, RESP_FIELDS, "cpu_resp")
    op_shape, status_shape = req_layout["op"].shape, resp_layout["status"].shape
    p = top.params
    for j in range(p.memories):
        missing = [s for s in AXI_SCALARS + ("wdata", "rdata") if f"dram__{j}__{s}" not in widths]
        if missing:
            raise DisaggError(f"RackTop's dram port {j} lacks {', '.join(missing)}")
    return RackPorts(p.processors, p.memories, widths, req_fields, resp_fields, op_shape["READ"].value,
                     op_shape["WRITE"].value, status_shape["OK"].value, {m.value: m.name for m in status_shape})


def _words(width):
    return (width + 31) // 32


def _to_port(member, width):
    """C++ statements copying the word array ``w`` into the port member ``member`` of ``t``."""
    if width <= 32:
        return f"t->{member} = w[0];"
    if width <= 64:
        return f"t->{member} = (uint64_t)w[0] | ((uint64_t)w[1] << 32);"
    return " ".join(f"t->{member}[{k}] = w[{k}];" for k in range(_words(width)))


def _from_port(member, width):
    """C++ statements copying the port member ``member`` of ``t`` into the word array ``w``."""
    if width <= 32:
        return f"w[0] = (uint32_t)t->{member};"
    if width <= 64:
        return f"{{ uint64_t v = t->{member}; w[0] = (uint32_t)v; w[1] = (uint32_t)(v >> 32); }}"
    return " ".join(f"w[{k}] = t->{member}[{k}];" for k in range(_words(width)))


def _switch(fn_head, cases):
    body = "\n".join(f"    case {i}: {stmt} break;" for i, stmt in enumerate(cases))
    return f"{fn_head} {{\n  switch (i) {{\n{body}\n    default: break;\n  }}\n}}\n"


def generate_rack_header(rp: RackPorts) -> str:
    """The text of ``rack_ports.h``."""
    w = rp.widths
    P, M = rp.processors, rp.memories
    req_w, resp_w = w["cpu_req__0__payload"], w["cpu_resp__0__payload"]
    for name in ("irq_proc", "irq_mem", "irq_net"):
        if w[name] > 64:
            raise DisaggError(f"the compiled rack reads {name} as 64 bits at most, not {w[name]}")
    lines = [
        "// Generated by emu/harness/rack_codegen.py from the RackTop's layouts. Do not edit.",
        "#pragma once", "#include <cstdint>", '#include "Vtop.h"', '#include "harness_ports.h"', "",
        f"constexpr int N_PROC = {P};", f"constexpr int N_MEM = {M};",
        f"constexpr int REQ_WORDS = {_words(req_w)};", f"constexpr int RESP_WORDS = {_words(resp_w)};",
    ]
    for name, (off, width) in rp.req_fields.items():
        lines.append(f"constexpr int REQ_{name.upper()}_OFF = {off}, REQ_{name.upper()}_W = {width};")
    for name, (off, width) in rp.resp_fields.items():
        lines.append(f"constexpr int RESP_{name.upper()}_OFF = {off}, RESP_{name.upper()}_W = {width};")
    lines += [f"constexpr int DATA_BYTES = {rp.data_bytes};",
              f"constexpr uint64_t OP_READ = {rp.op_read}, OP_WRITE = {rp.op_write};",
              f"constexpr uint64_t STATUS_OK = {rp.status_ok};", "",
              "#define P_csr_addr " + cxx_name("csr__addr"), "#define P_csr_r_stb " + cxx_name("csr__r_stb"),
              "#define P_csr_r_data " + cxx_name("csr__r_data"), "#define P_csr_w_stb " + cxx_name("csr__w_stb"),
              "#define P_csr_w_data " + cxx_name("csr__w_data"), ""]
    lines.append(_switch("static inline void store_req(Vtop* t, int i, const uint32_t* w)",
                         [_to_port(cxx_name(f"cpu_req__{i}__payload"), req_w) for i in range(P)]))
    lines.append(_switch("static inline void load_resp(const Vtop* t, int i, uint32_t* w)",
                         [_from_port(cxx_name(f"cpu_resp__{i}__payload"), resp_w) for i in range(P)]))
    lines.append(_switch("static inline void set_req_valid(Vtop* t, int i, bool v)",
                         [f"t->{cxx_name(f'cpu_req__{i}__valid')} = v;" for i in range(P)]))
    lines.append(_switch("static inline void set_resp_ready(Vtop* t, int i, bool v)",
                         [f"t->{cxx_name(f'cpu_resp__{i}__ready')} = v;" for i in range(P)]))
    lines.append("static inline uint64_t req_ready_bits(const Vtop* t) {\n  return "
                 + " | ".join(f"((uint64_t)(t->{cxx_name(f'cpu_req__{i}__ready')} & 1) << {i})" for i in range(P))
                 + ";\n}\n")
    lines.append("static inline uint64_t resp_valid_bits(const Vtop* t) {\n  return "
                 + " | ".join(f"((uint64_t)(t->{cxx_name(f'cpu_resp__{i}__valid')} & 1) << {i})" for i in range(P))
                 + ";\n}\n")
    lines.append("static inline uint64_t irq_bits(const Vtop* t, int which) {\n"
                 "  return which == 0 ? (uint64_t)t->irq_proc : which == 1 ? (uint64_t)t->irq_mem : (uint64_t)t->irq_net;\n}\n")
    # DRAM port j <-> AxiPins.
    to_model, from_model = [], []
    data_w = w["dram__0__wdata"]
    for j in range(M):
        pre = f"dram__{j}__"
        stmts = [f"t->{cxx_name(pre + s)} = a.{s};" for s in AXI_TO_MODEL]
        stmts.append("{ const uint32_t* w = a.rdata; " + _to_port(cxx_name(pre + "rdata"), data_w) + " }")
        to_model.append(" ".join(stmts))
        stmts = [f"a.{s} = t->{cxx_name(pre + s)};" for s in AXI_FROM_MODEL]
        stmts.append("{ uint32_t* w = a.wdata; " + _from_port(cxx_name(pre + "wdata"), data_w) + " }")
        from_model.append(" ".join(stmts))
    lines.append(_switch("static inline void pins_to_model(Vtop* t, int i, const AxiPins& a)", to_model))
    lines.append(_switch("static inline void pins_from_model(const Vtop* t, int i, AxiPins& a)", from_model))
    return "\n".join(lines) + "\n"


def generate_axi_header(rp: RackPorts) -> str:
    """The text of the rack's ``harness_ports.h``: the port names and widths ``axi_memory.h`` uses, pointing at an
    :c:type:`AxiPins` record (one per memory component) instead of the model's ports."""
    w = rp.widths
    data_w, addr_w, id_w = w["dram__0__wdata"], w["dram__0__araddr"], w["dram__0__arid"]
    for j in range(rp.memories):
        if (w[f"dram__{j}__wdata"], w[f"dram__{j}__araddr"], w[f"dram__{j}__arid"]) != (data_w, addr_w, id_w):
            raise DisaggError("the memory components' DRAM ports differ in width")
    if data_w > 512 or data_w % 32:
        raise DisaggError(f"the compiled rack's DRAM needs a data width that is a multiple of 32 up to 512, not {data_w}")
    words = data_w // 32
    members = []
    for s in AXI_SCALARS:
        width = w[f"dram__0__{s}"]
        ctype = "uint64_t" if width > 32 else "uint32_t"
        members.append(f"    {ctype} {s} = 0;")
    lines = [
        "// Generated by emu/harness/rack_codegen.py. Do not edit.",
        "// axi_memory.h's view of one memory component's DRAM port: the members of an AxiPins record.",
        "#pragma once", "#include <cstdint>", "",
        f"constexpr int AXI_ADDR_W = {addr_w};", f"constexpr int AXI_DATA_W = {data_w};",
        f"constexpr int AXI_ID_W = {id_w};", f"constexpr int AXI_DATA_WORDS = {words};", "",
        "struct AxiPins {", *members, f"    uint32_t wdata[{words}] = {{}};", f"    uint32_t rdata[{words}] = {{}};",
        "};", "",
        "#define HARNESS_AXI_MEM 1", "#define HARNESS_AXI_SAMPLED 0",
        *[f"#define D_{s} {s}" for s in AXI_SCALARS],
        *[f"#define DS_{s} {s}" for s in AXI_SCALARS],
        "static inline void store_axi_rdata(AxiPins* t, const uint32_t* w) {",
        f"    for (int k = 0; k < {words}; k++) t->rdata[k] = w[k];", "}",
        "static inline void load_axi_wdata(const AxiPins* t, uint32_t* w) {",
        f"    for (int k = 0; k < {words}; k++) w[k] = t->wdata[k];", "}", "",
    ]
    return "\n".join(lines) + "\n"
