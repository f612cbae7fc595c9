"""Find and run the YoWASP synthesis tools (Yosys, nextpnr) installed from PyPI next to disagg.

The tools are WebAssembly builds run by ``yowasp-runtime`` (wasmtime). The first run of each tool
compiles its ``.wasm`` to machine code (about a minute for Yosys on one core) and stores the result in
YoWASP's cache: ``$YOWASP_CACHE_DIR`` if set, else the platform cache directory
(``~/.cache/YoWASP/<package>/<file>.wasm/<sha1>`` on Linux, from ``platformdirs.user_cache_dir``).
Later runs load it in well under a second. CI can keep that folder between jobs by setting
``YOWASP_CACHE_DIR`` to a cached path; disagg passes the environment through unchanged.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from ..errors import DisaggError

__all__ = ["tool_path", "tool_version", "tool_versions", "run_tool", "ToolFailed", "ToolTimeout"]


class ToolFailed(Exception):
    """A tool exited non-zero; ``log`` holds the end of its log for the caller to interpret."""

    def __init__(self, tool: str, returncode: int, log: str):
        super().__init__(f"{tool} exited with status {returncode}")
        self.tool = tool
        self.returncode = returncode
        self.log = log


class ToolTimeout(Exception):
    """A tool used more CPU time than its limit and was stopped; ``log`` holds what it wrote until then."""

    def __init__(self, tool: str, timeout: float, log: str):
        super().__init__(f"{tool} did not finish within {timeout:.0f} s of CPU time")
        self.tool = tool
        self.timeout = timeout
        self.log = log


def tool_path(package: str) -> Path:
    """The console script of YoWASP package ``package`` (same name), preferring this venv's copy."""
    here = Path(sys.executable).parent / package
    if here.exists():
        return here
    found = shutil.which(package)
    if found:
        return Path(found)
    raise DisaggError(f"{package} is not installed; run 'make setup' (or pip install {package})")


@cache
def tool_version(package: str) -> str:
    """Installed version of ``package`` from its metadata (no need to start the WebAssembly tool)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        raise DisaggError(f"{package} is not installed; run 'make setup' (or pip install {package})") from None


def tool_versions(*packages: str) -> dict[str, str]:
    """``{package: version}`` for the cache key and the report."""
    return {p: tool_version(p) for p in packages}


def _cpu_limit(seconds: float):
    """``preexec_fn`` that limits the child's CPU time: SIGXCPU at ``seconds``, SIGKILL a little later."""
    soft = max(1, int(seconds + 0.999))

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 10))
    return limit


def run_tool(package: str, args: list[str], cwd: Path, log_name: str, timeout: float | None = None) -> str:
    """Run ``package`` with ``args`` in ``cwd``; return its combined output, also written to ``cwd/log_name``.

    ``timeout`` limits the tool's **CPU time** in seconds (``RLIMIT_CPU``), not wall-clock time, so a
    limit means the same on an idle machine and on a shared one where the tool gets a fraction of a core.
    Raises :class:`ToolFailed` on a non-zero exit and :class:`ToolTimeout` when the tool used up its limit
    (the kernel stops it).
    """
    cmd = [str(tool_path(package)), *args]
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ), preexec_fn=_cpu_limit(timeout) if timeout is not None else None)
    (Path(cwd) / log_name).write_text(proc.stdout)
    if timeout is not None and proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise ToolTimeout(package, timeout, proc.stdout)
    if proc.returncode != 0:
        raise ToolFailed(package, proc.returncode, proc.stdout[-4000:])
    return proc.stdout
