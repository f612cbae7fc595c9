"""The C++ port glue of the harness's ExCache local memory (``local_memory.h``), from the top's ``lmem`` ports.

A system top whose ExCache keeps its line data in local memory (``ExCacheParams.line_store == "axi"``) has the
ExCache's AXI4 manager port as top-level ports ``lmem__*``. :func:`port_header` writes, into ``harness_ports.h``:

* ``HARNESS_LMEM`` (1 if the top has the port, else 0), so the driver includes the compiled local memory;
* ``L_<signal>`` macros (Verilator's C++ names of the scalar AXI signals it drives) and ``LS_<signal>`` (the
  manager's outputs it reads, the ports themselves);
* ``LMEM_DATA_W``, ``LMEM_DATA_WORDS`` and the word-array copies of the data channels.
"""

from __future__ import annotations

__all__ = ["has_lmem_port", "port_header"]

#: Manager inputs the compiled local memory drives (data apart).
DRIVEN = ("arready", "awready", "wready", "rvalid", "rlast", "rid", "rresp", "bvalid", "bid", "bresp")
#: Manager outputs it reads (data apart).
SAMPLED = ("arvalid", "araddr", "arlen", "awvalid", "awaddr", "awlen", "wvalid", "wstrb", "wlast", "rready",
           "bready")


def has_lmem_port(sp) -> bool:
    """Whether the described top exposes the ExCache's local-memory port."""
    return "lmem__araddr" in sp.ports


def port_header(sp, *, cxx_name, store_fn, load_fn) -> str:
    """The lines of ``harness_ports.h`` for the ``lmem`` port of ``sp`` (a ``codegen.SystemPorts``)."""
    if not has_lmem_port(sp):
        return "#define HARNESS_LMEM 0\n"
    p = sp.ports
    missing = [s for s in DRIVEN + SAMPLED + ("wdata", "rdata") if f"lmem__{s}" not in p]
    if missing:
        raise ValueError(f"the top's lmem port lacks {', '.join(missing)}")
    data_w = p["lmem__rdata"].width
    if p["lmem__wdata"].width != data_w or p["lmem__wstrb"].width * 8 != data_w or data_w > 512:
        raise ValueError(f"lmem port: rdata/wdata/wstrb widths do not match ({data_w} bits)")
    prefix = "lmem__"
    return "\n".join([
        "// The ExCache's local-memory port, served by the compiled memory of local_memory.h.",
        "#define HARNESS_LMEM 1",
        *[f"#define L_{s} {cxx_name('lmem__' + s)}" for s in DRIVEN],
        *[f"#define LS_{s} t->{cxx_name(prefix + s)}" for s in SAMPLED],
        f"constexpr int LMEM_DATA_W = {data_w};",
        f"constexpr int LMEM_DATA_WORDS = {(data_w + 31) // 32};",
        store_fn("lmem_rdata", p["lmem__rdata"]),
        load_fn("lmem_wdata", p[prefix + "wdata"]),
    ]) + "\n"
