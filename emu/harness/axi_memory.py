"""The C++ port glue of the harness's compiled DRAM (``axi_memory.h``), generated from the top's ``dram`` ports.

A system top built with ``external_dram=True`` (``hw.system.top.SystemTop``) has the memory component's AXI4
manager port as top-level ports ``dram__*``. :func:`port_header` writes, into ``harness_ports.h``:

* ``HARNESS_AXI_MEM`` (1 if the top has the port, else 0), so the driver includes the compiled memory;
* ``D_<signal>`` macros: Verilator's C++ names of the scalar AXI signals;
* the widths (``AXI_ADDR_W``, ``AXI_DATA_W``, ``AXI_ID_W``) and word-array store/load functions for the data
  channels (``VlWide`` above 64 bits, as for the CPU port).
"""

from __future__ import annotations

__all__ = ["AXI_SCALARS", "has_dram_port", "port_header"]

#: AXI signals the compiled memory reads (manager outputs) or drives (manager inputs), data channels apart.
AXI_SCALARS = ("awid", "awaddr", "awlen", "awvalid", "awready", "arid", "araddr", "arlen", "arvalid", "arready",
               "wstrb", "wlast", "wvalid", "wready", "bid", "bresp", "bvalid", "bready", "rid", "rresp", "rlast",
               "rvalid", "rready")


def has_dram_port(sp) -> bool:
    """Whether the described top exposes the DRAM port (``external_dram``)."""
    return "dram__araddr" in sp.ports


#: Manager outputs read by ``AxiMemory::sample`` before (or, registered, after) the rising edge.
AXI_SAMPLED = ("awid", "awaddr", "awvalid", "arid", "araddr", "arlen", "arvalid", "wstrb", "wlast", "wvalid",
               "bready", "rready")


def port_header(sp, *, cxx_name, store_fn, load_fn) -> str:
    """The lines of ``harness_ports.h`` for the DRAM port of ``sp`` (a ``codegen.SystemPorts``).

    ``cxx_name``, ``store_fn`` and ``load_fn`` are codegen's port-name and word-array copy generators (passed
    in, so that this module does not import codegen, which imports it).
    """
    if not has_dram_port(sp):
        return "#define HARNESS_AXI_MEM 0\n"
    p = sp.ports
    missing = [s for s in AXI_SCALARS + ("wdata", "rdata") if f"dram__{s}" not in p]
    if missing:
        raise ValueError(f"the top's dram port lacks {', '.join(missing)}")
    data_w = p["dram__wdata"].width
    if p["dram__rdata"].width != data_w or p["dram__wstrb"].width * 8 != data_w or data_w > 512:
        raise ValueError(f"dram port: rdata/wdata/wstrb widths do not match ({data_w} bits)")
    lines = [
        "// The memory component's DRAM port, served by the compiled memory of axi_memory.h.",
        "#define HARNESS_AXI_MEM 1",
        *[f"#define D_{s} {cxx_name('dram__' + s)}" for s in AXI_SCALARS],
        f"constexpr int AXI_ADDR_W = {p['dram__araddr'].width};",
        f"constexpr int AXI_DATA_W = {data_w};",
        f"constexpr int AXI_ID_W = {p['dram__arid'].width};",
        f"constexpr int AXI_DATA_WORDS = {(data_w + 31) // 32};",
        store_fn("axi_rdata", p["dram__rdata"]),
    ]
    # ``DS_<signal>``: where AxiMemory::sample reads the manager's outputs. With the registered ``sample`` port
    # of hw.system.top.HarnessTop, its copies (values before the last rising edge); else the ports themselves.
    registered = all(f"sample__dram_{s}" in p for s in AXI_SAMPLED + ("wdata",))
    prefix = "sample__dram_" if registered else "dram__"
    lines += [f"#define DS_{s} {cxx_name(prefix + s)}" for s in AXI_SAMPLED]
    lines.append(f"#define HARNESS_AXI_SAMPLED {1 if registered else 0}")
    lines.append(load_fn("axi_wdata", p[prefix + "wdata"]))
    return "\n".join(lines) + "\n"
