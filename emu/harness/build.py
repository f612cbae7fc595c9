"""Compile a system top into a shared library (Verilated model + C++ driver), cached per configuration.

The cache key is the SHA-256 of everything that decides the binary: the Verilog of the top, the driver
source, the generated headers, the Verilator and compiler flags and the Verilator version. A model
lives in ``build/harness/<key>/libharness.so``; a second build of the same configuration only hashes.

Verilator's own run-time library (``libverilated.a``) depends only on the Verilator version, the
flags and whether tracing is on, so it is built once per such combination under
``build/harness/runtime-<key>/`` and shared by all models.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from ..errors import DisaggError
from ..toolchain import fst_available, verilator_bin, verilator_env, verilator_root
from . import codegen
from .verilog_init import compact_initialisers

__all__ = ["BuiltModel", "build_model", "convert", "HARNESS_BUILD", "VERILATOR_FLAGS"]

REPO = Path(__file__).resolve().parents[2]
HARNESS_BUILD = REPO / "build" / "harness"
DRIVER = Path(__file__).resolve().parent / "driver.cpp"
#: C++ the driver includes from its own folder (the compiled DRAM of a top with a DRAM port).
DRIVER_HEADERS = (Path(__file__).resolve().parent / "axi_memory.h", Path(__file__).resolve().parent / "local_memory.h")

#: Verilator warnings of Yosys's Verilog style, waived by name: constants narrower than what they are
#: compared with (WIDTHEXPAND), shifts wider than their target (WIDTHTRUNC), ``case`` statements after a
#: default assignment (CASEINCOMPLETE), unsigned comparisons with 0 (UNSIGNED). None of them costs speed.
WAIVED_WARNINGS = ["WIDTHEXPAND", "WIDTHTRUNC", "CASEINCOMPLETE", "UNSIGNED"]
#: Warnings that stop the build: the ones that cost speed (a combinational loop through a signal, which
#: Verilator evaluates until it settles), to be fixed in hw/ when they appear, not hidden. Other warnings
#: (none occurs in the default or test configurations today) are reported and do not stop it.
FATAL_WARNINGS = ["UNOPTFLAT", "UNOPT"]
#: Verilator flags of every harness model: fast code, no X handling, and neither --public-flat-rw nor
#: VPI (they make models several times slower and builds longer).
VERILATOR_FLAGS = ["--cc", "-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                   *(f"-Wno-{w}" for w in WAIVED_WARNINGS), *(f"-Werror-{w}" for w in FATAL_WARNINGS),
                   "--top-module", "top", "--prefix", "Vtop"]
#: Optimisation of the model's hot code, of its constructors, of the run-time library and of the driver.
OPT_FAST = "-O2"
OPT_SLOW = "-O0"   # constructors and initial settling run once; not worth compile time
OPT_GLOBAL = "-O2"
#: ``-fvisibility=hidden``: the model's functions are internal to ``libharness.so`` (only the driver's ``h_*``
#: entry points are exported), so the eval functions call each other directly instead of through the PLT and
#: small ones are inlined; measured 1.11x. ``-flto=auto``: the model, Verilator's run-time library and the
#: driver optimised together at link time (the driver's per-cycle calls into the model inlined); 1.08x on top
#: (docs/harness.md, "Each change and its effect").
CXXFLAGS = ["-std=c++20", "-fPIC", "-fvisibility=hidden", "-flto=auto"]
#: The C++ compiler of the model, the run-time library and the driver.
CXX = "g++"
#: Profile-guided optimisation (:mod:`emu.harness.pgo`) of models whose builder gives a training run: an
#: instrumented build, the training run, then the build with the profile; measured 1.07-1.16x cycles/CPU-s
#: (docs/harness.md, "Each change and its effect"). On by default since its build of the default configuration,
#: training included, takes 1.04x the reference's CPU time (issue 12's limit is 1.2x); ``DISAGG_HARNESS_PGO=0``
#: switches it off. The test suite sets ``DISAGG_HARNESS_PGO=0`` (``sim_tests/conftest.py``): it builds many models
#: and would pay a second compile and a training run for each (:func:`pgo_enabled`).
PGO_FLAGS_GENERATE = "-fprofile-generate={dir} -fprofile-update=single"
PGO_FLAGS_USE = "-fprofile-use={dir} -fprofile-partial-training -Wno-missing-profile"


def pgo_enabled(environ=None) -> bool:
    """Whether models with a training run are built with profile-guided optimisation.

    ``DISAGG_HARNESS_PGO`` decides when set (``0`` off, anything else on); unset or empty, the default is on. The
    test suite sets it to ``0`` (``sim_tests/conftest.py``): its models are built to be checked, not timed.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    return env.get("DISAGG_HARNESS_PGO", "") != "0"


#: Write runs of equal memory initialisers as loops before Verilating (:mod:`emu.harness.verilog_init`): the
#: same model, built in a time that does not grow with the depth of the memories (issue 17).
COMPACT_INITIALISERS = True


@dataclass(frozen=True)
class BuiltModel:
    """A compiled model: its library, its port description and how it was obtained."""
    library: Path
    ports: codegen.SystemPorts
    key: str
    cached: bool
    seconds: float
    trace: str | None
    first_build_seconds: float = 0.0


    def describe_build(self) -> str:
        return "cached" if self.cached else f"built in {self.seconds:.1f} s"


def _verilator_version() -> str:
    out = subprocess.run([str(verilator_bin()), "--version"], env=verilator_env(), capture_output=True, text=True)
    return out.stdout.strip()


def _trace_kind(trace) -> str | None:
    if trace in (None, False, ""):
        return None
    if trace not in ("fst", "vcd", True):
        raise DisaggError(f"waveform format must be 'fst' or 'vcd', not {trace!r}")
    if trace is True or trace == "fst":
        return "fst" if fst_available() else "vcd"
    return "vcd"


def _run(cmd, cwd, what):
    proc = subprocess.run(cmd, cwd=cwd, env=verilator_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise DisaggError(f"{what} failed in {cwd}:\n" + "\n".join(tail))
    return proc


class _Lock:
    """An exclusive file lock, so that two processes building the same model do not collide."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _make_vars(trace, profile=""):
    return [f"CXX={CXX}", f"OPT_FAST={OPT_FAST} {profile}".rstrip(), f"OPT_SLOW={OPT_SLOW}", f"OPT_GLOBAL={OPT_GLOBAL}",
            f"USER_CPPFLAGS={' '.join(CXXFLAGS)}", "VM_PARALLEL_BUILDS=0"]


def _runtime_library(obj_dir: Path, trace, version) -> Path:
    """Verilator's run-time library for these flags, built once and shared between models."""
    key = hashlib.sha256(repr((version, trace, CXXFLAGS, OPT_GLOBAL, CXX)).encode()).hexdigest()[:16]
    lib = HARNESS_BUILD / f"runtime-{key}" / "libverilated.a"
    with _Lock(HARNESS_BUILD / f"runtime-{key}.lock"):
        if not lib.exists():
            _run(["make", "-s", "-f", "Vtop.mk", "libverilated.a", *_make_vars(trace)], obj_dir,
                 "building Verilator's run-time library")
            lib.parent.mkdir(parents=True, exist_ok=True)
            tmp = lib.with_suffix(".tmp")
            shutil.copy(obj_dir / "libverilated.a", tmp)
            os.replace(tmp, lib)
    return lib


def convert(component, *, chain=None) -> tuple[str, codegen.SystemPorts]:
    """Verilog text (module ``top``) and port description of ``component``.

    Amaranth's conversion of a whole system is slow (tens of seconds) and most of that time is Python's
    cyclic garbage collector walking the elaboration graph, so it is paused meanwhile.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ports = codegen.describe(component, chain)
        verilog = amaranth_verilog.convert(component, name="top", emit_src=False)
    finally:
        if gc_was_enabled:
            gc.enable()
    return verilog, ports


def build_model(component=None, *, chain=None, trace=None, verilog: str | None = None, ports=None,
                log=None, train=None) -> BuiltModel:
    """Compile ``component`` (a top following the system contract) into a shared library, or reuse it.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component, optional
        The top. Its Verilog module is named ``top``. Not needed if ``verilog`` and ``ports`` are given.
    chain : list of str, optional
        Probe strobes forming the miss-stage chain (default: all, in layout order).
    trace : {None, "fst", "vcd"}
        Build the waveform variant (FST falls back to VCD without liblz4).
    verilog, ports : optional
        The result of :func:`convert` if the caller already has it (a conversion cache).
    log : callable, optional
        Called with progress lines (``print`` for the command line).
    train : callable, optional
        ``train(library)`` runs an instrumented build of the model (e.g. :func:`emu.harness.pgo.system_trainer`)
        and exits: the model is then compiled with the profile it wrote (when :func:`pgo_enabled`, never with
        waveforms). If the training fails the model is built without a profile.
    """
    trace = _trace_kind(trace)
    t0 = time.monotonic()
    if verilog is None or ports is None:
        verilog, ports = convert(component, chain=chain)
    if COMPACT_INITIALISERS:
        verilog = compact_initialisers(verilog)
    ports_h = codegen.generate_header(ports)
    records_h = codegen.generate_records_header()
    driver = DRIVER.read_text() + "".join(h.read_text() for h in DRIVER_HEADERS)
    version = _verilator_version()
    vflags = VERILATOR_FLAGS + ({"fst": ["--trace-fst", "--trace-structs"],
                                 "vcd": ["--trace", "--trace-structs"]}.get(trace, []))
    pgo = train is not None and trace is None and pgo_enabled()
    h = hashlib.sha256()
    for part in (verilog, driver, ports_h, records_h, repr(vflags), repr((OPT_FAST, OPT_SLOW, OPT_GLOBAL, CXXFLAGS, CXX)),
                 version, PGO_FLAGS_USE if pgo else ""):
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:20]
    out_dir = HARNESS_BUILD / key
    library = out_dir / "libharness.so"
    with _Lock(HARNESS_BUILD / f"{key}.lock"):
        if library.exists():
            try:
                first = json.loads((out_dir / "build.json").read_text())["seconds"]
            except (OSError, ValueError, KeyError):
                first = 0.0
            return BuiltModel(library, ports, key, True, time.monotonic() - t0, trace, first)
        if log:
            log(f"building the Verilated model {key} ({'waves ' + trace if trace else 'no waves'}) ...")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        obj = out_dir / "obj"
        obj.mkdir(parents=True)
        (out_dir / "top.v").write_text(verilog)
        (out_dir / "harness_ports.h").write_text(ports_h)
        (out_dir / "harness_records.h").write_text(records_h)
        _run([str(verilator_bin()), *vflags, "-Mdir", str(obj), str(out_dir / "top.v")], out_dir, "verilator")
        runtime = None
        profile = ""
        if pgo:
            # Instrumented build, training run, then the build below with the profile. The profile's file
            # names follow the objects' paths, so both builds compile the same files in the same folder and
            # link to the same output name.
            prof_dir = out_dir / "pgo"
            gen = PGO_FLAGS_GENERATE.format(dir=prof_dir)
            try:
                _run(["make", "-s", "-f", "Vtop.mk", "libVtop.a", *_make_vars(trace, gen)], obj,
                     "compiling the instrumented model")
                runtime = _runtime_library(obj, trace, version)
                trained = out_dir / "libharness-train.so"
                os.replace(_link(obj, out_dir, runtime, trace, gen), trained)
                t_train = time.monotonic()
                train(trained)
                if log:
                    log(f"  profile-guided build: training run {time.monotonic() - t_train:.1f} s")
                profile = PGO_FLAGS_USE.format(dir=prof_dir)
            except (DisaggError, RuntimeError, OSError) as exc:
                if log:
                    log(f"  profile-guided build skipped ({str(exc).splitlines()[0][:200]}); building without a profile")
            for f in list(obj.glob("*.o")) + list(obj.glob("*.a")):
                f.unlink()
            (out_dir / "libharness-train.so").unlink(missing_ok=True)
        _run(["make", "-s", "-f", "Vtop.mk", "libVtop.a", *_make_vars(trace, profile)], obj,
             "compiling the Verilated model")
        if runtime is None:
            runtime = _runtime_library(obj, trace, version)
        tmp = _link(obj, out_dir, runtime, trace, profile)
        os.replace(tmp, library)
        # The objects are not needed once linked; keep the sources for debugging.
        for f in obj.glob("*.o"):
            f.unlink()
        seconds = time.monotonic() - t0
        (out_dir / "build.json").write_text(json.dumps({"seconds": seconds, "trace": trace, "pgo": bool(profile)}))
        return BuiltModel(library, ports, key, False, seconds, trace, seconds)


def _link(obj: Path, out_dir: Path, runtime: Path, trace, profile: str) -> Path:
    """Link the driver, the model and the run-time library into ``out_dir/libharness.so.tmp``."""
    root = verilator_root()
    defines = [f"-DVM_TRACE={1 if trace else 0}", f"-DVM_TRACE_FST={1 if trace == 'fst' else 0}",
               f"-DVM_TRACE_VCD={1 if trace == 'vcd' else 0}",
               f"-DHARNESS_TRACE_FST={1 if trace == 'fst' else 0}",
               f"-DHARNESS_TRACE_VCD={1 if trace == 'vcd' else 0}"]
    libs = ["-lz", "-pthread"] + (["-llz4"] if trace == "fst" and fst_available() else [])
    tmp = out_dir / "libharness.so.tmp"
    _run([CXX, *CXXFLAGS, *OPT_FAST.split(), *profile.split(), "-shared", "-fvisibility=hidden", *defines,
          f"-I{obj}", f"-I{out_dir}", f"-I{root / 'include'}", f"-I{root / 'include' / 'vltstd'}",
          str(DRIVER), str(obj / "libVtop.a"), str(runtime), "-o", str(tmp), *libs],
         out_dir, "linking the harness library")
    return tmp
