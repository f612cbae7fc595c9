"""The Verilog of a configuration's system top and its compiled harness model, each built once and cached.

Two caches, both under ``build/harness/``:

* ``verilog/<key>.v`` + ``.json`` (Verilog and port description), keyed by the configuration, the miss-stage chain
  and :func:`source_digest` (every file the Verilog and the port description are made from);
* the compiled model (``emu.harness.build_model``), keyed by everything that decides the binary: that Verilog,
  the C++ driver, the headers generated from the port description and the record layouts, flags and Verilator.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path

from ..config import SystemConfig

__all__ = ["source_digest", "system_verilog", "build_system"]

_ROOT = Path(__file__).resolve().parents[2]

#: Python sources outside ``hw/`` that decide the cached Verilog and port description: the configuration's
#: translation to ``SystemParams`` and the port description of the system contract.
_EMU_SOURCES = ("emu/config.py", "emu/harness/codegen.py")


def source_digest():
    """Digest of every source the system top's Verilog and port description are made from: every ``.py`` file
    under ``hw/`` (sub-packages included), :data:`_EMU_SOURCES` and the Amaranth version."""
    h = hashlib.sha256(version("amaranth").encode())
    paths = sorted((_ROOT / "hw").rglob("*.py")) + [_ROOT / p for p in _EMU_SOURCES]
    for path in paths:
        h.update(path.relative_to(_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def system_verilog(config: SystemConfig, *, log=None):
    """Verilog and port description of ``config``'s system top, converted once per configuration.

    Amaranth's conversion of the whole system takes tens of seconds, so its result is cached under
    ``build/harness/verilog/`` keyed by the configuration and :func:`source_digest`.
    """
    from hw.system.probe import PROBE_CHAIN
    from ..harness import codegen
    from ..harness.build import HARNESS_BUILD, convert
    # The chain the C++ times: every boundary of a miss but the final cpu_resp, which is the completion
    # of the access itself (and fires for hits too).
    chain = list(PROBE_CHAIN[:-1])
    from ..config import RUNTIME_SECTIONS
    values = {section: keys for section, keys in config.to_dict().items() if section not in RUNTIME_SECTIONS}
    if values["memory"]["dram_model"] == "compiled":
        # The compiled DRAM is sized and timed (latency, read slots) at run time: the Verilog depends only on
        # the address width.
        memory = values["memory"]
        memory["paddr_width"] = config.params.mmu.paddr_width
        del memory["dram_bytes"], memory["dram_latency"], memory["read_slots"]
    # The compiled local memory of the ExCache (line_store="axi") is timed at run time too.
    del values["cache"]["local_latency"]
    key = hashlib.sha256(json.dumps([values, chain, source_digest()], sort_keys=True).encode()).hexdigest()[:20]
    folder = HARNESS_BUILD / "verilog"
    vpath, jpath = folder / f"{key}.v", folder / f"{key}.json"
    if vpath.exists() and jpath.exists():
        return vpath.read_text(), codegen.SystemPorts.from_json(json.loads(jpath.read_text()))
    from hw.system.top import HarnessTop
    if log:
        log("converting the system top to Verilog ...")
    # The compiled DRAM (emu/harness/axi_memory.h) serves the top's DRAM port; "rtl" keeps AxiDramModel inside.
    # HarnessTop: SystemTop with its reset through a register and registered samples (a faster model).
    top = HarnessTop(config.params, external_dram=config.memory.dram_model == "compiled")
    verilog, ports = convert(top, chain=chain)
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in ((vpath, verilog), (jpath, json.dumps(ports.to_json()))):
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    return verilog, ports


def build_system(config: SystemConfig, *, trace=None, log=None):
    """The compiled harness library of ``config``'s system top (built once, then cached)."""
    from ..harness import build_model
    from ..harness.pgo import system_trainer
    verilog, ports = system_verilog(config, log=log)
    # A short training run of the instrumented model for profile-guided optimisation (emu/harness/pgo.py).
    return build_model(verilog=verilog, ports=ports, trace=trace, log=log, train=system_trainer(config, ports))
