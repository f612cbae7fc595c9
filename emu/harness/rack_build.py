"""Compile a rack (``hw.system.rack.RackTop``) into a shared library: Verilated model + ``rack_driver.cpp``.

The same toolchain, flags and cache discipline as the single system's model (:mod:`emu.harness.build`): no
``--public-flat-rw``, no VPI; the cache key is the SHA-256 of the Verilog, the driver and the headers it
includes, the generated headers, the flags and the Verilator version; a model lives in
``build/harness/rack-<key>/librack.so``. Verilator's run-time library is shared with the system models.

The Verilog of a configuration is cached too (``build/harness/verilog/rack-<key>.v``), keyed by the
``RackParams`` and :func:`emu.system.model_cache.source_digest`, because converting a 4 x 4 rack with
Amaranth takes tens of seconds.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..toolchain import verilator_bin, verilator_root
from . import build as _build
from . import codegen, rack_codegen
from .verilog_init import compact_initialisers

__all__ = ["BuiltRack", "build_rack", "rack_verilog"]

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "rack_driver.cpp"
#: What the driver includes from its own folder (the compiled DRAM).
DRIVER_HEADERS = (HERE / "axi_memory.h",)
#: Version of the cached port description (``rack_codegen.RackPorts``): raise it when describe_rack changes.
PORTS_VERSION = 1


@dataclass(frozen=True)
class BuiltRack:
    """A compiled rack: its library, port description and how it was obtained."""
    library: Path
    ports: rack_codegen.RackPorts
    key: str
    cached: bool
    seconds: float

    def describe_build(self) -> str:
        return "cached" if self.cached else f"built in {self.seconds:.1f} s"


def _verilog_params(params):
    """The parameters that decide the Verilog: the DRAM is compiled (sized and timed at run time)."""
    return replace(params, dram_bytes=1 << params.mmu.paddr_width, dram_latency=0)


def rack_verilog(params, *, log=None):
    """Verilog (module ``top``) and :class:`rack_codegen.RackPorts` of ``RackTop(params, external_dram=True)``,
    converted once per configuration and cached."""
    from amaranth.back import verilog as amaranth_verilog

    from hw.system.rack import RackTop
    from ..system.model_cache import source_digest
    vparams = _verilog_params(params)
    key = hashlib.sha256(json.dumps([vparams.as_dict(), source_digest(), PORTS_VERSION], sort_keys=True,
                                    default=str).encode()).hexdigest()[:20]
    folder = _build.HARNESS_BUILD / "verilog"
    vpath, jpath = folder / f"rack-{key}.v", folder / f"rack-{key}.json"
    if vpath.exists() and jpath.exists():
        return vpath.read_text(), rack_codegen.RackPorts.from_json(json.loads(jpath.read_text()))
    if log:
        log(f"converting the {params.processors} x {params.memories} rack to Verilog ...")
    top = RackTop(vparams, external_dram=True)
    enabled = gc.isenabled()
    gc.disable()         # most of a conversion's time is the cyclic collector walking the elaboration graph
    try:
        ports = rack_codegen.describe_rack(top)
        verilog = amaranth_verilog.convert(top, name="top", emit_src=False)
    finally:
        if enabled:
            gc.enable()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = vpath.with_suffix(".tmp")
    tmp.write_text(verilog)
    os.replace(tmp, vpath)
    jpath.write_text(json.dumps(ports.to_json()))
    return verilog, ports


def build_rack(params, *, log=None) -> BuiltRack:
    """Compile the rack of ``params`` (a ``hw.system.rack_params.RackParams``), or reuse it."""
    t0 = time.monotonic()
    verilog, ports = rack_verilog(params, log=log)
    verilog = compact_initialisers(verilog)
    rack_h = rack_codegen.generate_rack_header(ports)
    axi_h = rack_codegen.generate_axi_header(ports)
    records_h = codegen.generate_records_header()
    driver = DRIVER.read_text() + "".join(h.read_text() for h in DRIVER_HEADERS)
    version = _build._verilator_version()
    vflags = list(_build.VERILATOR_FLAGS)
    h = hashlib.sha256()
    for part in (verilog, driver, rack_h, axi_h, records_h, repr(vflags),
                 repr((_build.OPT_FAST, _build.OPT_SLOW, _build.OPT_GLOBAL, _build.CXXFLAGS, _build.CXX)), version):
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:20]
    out_dir = _build.HARNESS_BUILD / f"rack-{key}"
    library = out_dir / "librack.so"
    with _build._Lock(_build.HARNESS_BUILD / f"rack-{key}.lock"):
        if library.exists():
            return BuiltRack(library, ports, key, True, time.monotonic() - t0)
        if log:
            log(f"building the Verilated {params.processors} x {params.memories} rack {key} ...")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        obj = out_dir / "obj"
        obj.mkdir(parents=True)
        (out_dir / "top.v").write_text(verilog)
        (out_dir / "rack_ports.h").write_text(rack_h)
        (out_dir / "harness_ports.h").write_text(axi_h)
        (out_dir / "harness_records.h").write_text(records_h)
        _build._run([str(verilator_bin()), *vflags, "-Mdir", str(obj), str(out_dir / "top.v")], out_dir, "verilator")
        _build._run(["make", "-s", "-f", "Vtop.mk", "libVtop.a", *_build._make_vars(None)], obj,
                    "compiling the Verilated rack")
        runtime = _build._runtime_library(obj, None, version)
        root = verilator_root()
        tmp = out_dir / "librack.so.tmp"
        _build._run([_build.CXX, *_build.CXXFLAGS, *_build.OPT_FAST.split(), "-shared", "-fvisibility=hidden",
                     "-DVM_TRACE=0", f"-I{obj}", f"-I{out_dir}", f"-I{root / 'include'}",
                     f"-I{root / 'include' / 'vltstd'}", str(DRIVER), str(obj / "libVtop.a"), str(runtime),
                     "-o", str(tmp), "-lz", "-pthread"], out_dir, "linking the rack library")
        os.replace(tmp, library)
        for f in obj.glob("*.o"):
            f.unlink()
        seconds = time.monotonic() - t0
        (out_dir / "build.json").write_text(json.dumps({"seconds": seconds}))
        return BuiltRack(library, ports, key, False, seconds)
