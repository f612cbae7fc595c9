"""Build a Verilog design with cocotb's runner and run a cocotb test module on it; judge the run by its results.

The core both ``disagg bench`` (its cocotb leg) and the test suite (``sim_tests/lib/runner.py``, which adds
per-configuration Verilog generation, pytest options and failure collection) run cocotb with:

* one build folder per simulator and variant under ``build_root`` (``verilator``, ``verilator-waves``,
  ``icarus`` ...), built under a file lock so two processes testing one configuration build it once;
* one run folder per test case, so concurrent runs of one build do not share a ``results.xml``;
* the verdict of a run read from its ``results.xml`` (:func:`emu.cosim.results.verdict`): a run that
  executed no test, or not the named one, fails, where cocotb's runner would count it as passed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..toolchain import ToolchainError, apply_verilator_env, fst_available
from .results import read_results, verdict

__all__ = ["SIMULATORS", "PUBLIC", "CocotbRun", "Outcome", "run_dir_name", "check_simulator"]

#: Simulators the runner drives (names of cocotb_tools.runner.get_runner).
SIMULATORS = ("verilator", "icarus")

#: The folder that holds the ``emu`` package (the checkout, or site-packages of an installed copy): put on the
#: simulator's PYTHONPATH so product test modules (``emu.cosim.bench_top``) import wherever disagg is installed.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

#: Verilator build flags of every cocotb build: warnings are the lint test's job (rtl/lint_waivers.vlt);
#: X-initialisation as fast as the harness (the RTL resets every register it relies on).
VERILATOR_ARGS = ["-Wno-fatal", "-O3", "--x-assign", "fast", "--x-initial", "fast"]


#: What a Verilator build makes visible to cocotb (``CocotbRun.public``): ``"all"`` is cocotb's runner as shipped
#: (``--public-flat-rw``: every signal of every module public, 3.3x the C++ of the 2 x 2 rack and 2.7x its build
#: CPU, docs/decisions.md); ``"ports"`` only the top module's signals (a Verilator configuration file), enough for a
#: test bench that drives and samples the top's ports.
PUBLIC = ("all", "ports")

#: The configuration file of ``public="ports"``.
PORTS_VLT = """`verilator_config
public_flat_rw -module "{toplevel}" -var "*"
"""


#: Waveform dumping for Icarus builds with waves, in Verilog-2005 (see :meth:`CocotbRun.build`): FST into the
#: file named by the ``+dumpfile_path=`` plusarg (cocotb's runner passes ``-fst`` when a test records waves).
ICARUS_DUMP = """module disagg_iverilog_dump();
  reg [8*1024-1:0] path;
  initial begin
    if ($value$plusargs("dumpfile_path=%s", path)) $dumpfile(path);
    else $dumpfile("dump.fst");
    $dumpvars(0, {toplevel});
  end
endmodule
"""


def _write_if_changed(path: Path, text: str):
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check_simulator(sim: str) -> None:
    """Raise :class:`~emu.toolchain.ToolchainError` (one line) if ``sim`` is unknown or not installed."""
    if sim not in SIMULATORS:
        raise ToolchainError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    if sim == "verilator":
        apply_verilator_env()
    elif shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise ToolchainError("Icarus Verilog (iverilog, vvp) is not installed: run scripts/setup_system.sh "
                             "as root, or apt-get install iverilog")


def run_dir_name(testcase) -> str:
    """Folder name of a run of ``testcase`` (``run`` for the whole module)."""
    if not testcase:
        return "run"
    names = [testcase] if isinstance(testcase, str) else list(testcase)
    return "run-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in "+".join(names))[:80]


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Outcome:
    """How one cocotb run went: ``reason`` is ``None`` when it passed, else one line saying why not."""
    reason: str | None
    test_dir: Path
    results_xml: Path
    exit_code: int

    @property
    def passed(self) -> bool:
        return self.reason is None

    @property
    def failed_in_simulation(self) -> bool:
        """Whether a test or the simulator failed (as opposed to a run that selected no test):
        the case where a re-run with waves shows something."""
        if not self.results_xml.is_file():
            return True
        return any(c.outcome == "failed" for c in read_results(self.results_xml)) or self.exit_code != 0


@dataclass
class CocotbRun:
    """A cocotb test module on one Verilog design with one simulator.

    Parameters
    ----------
    build_root : Path
        Folder of this design's builds (one sub-folder per simulator and variant).
    test_module : str
        Dotted name of the cocotb test module.
    toplevel : str
        Verilog module name of the top.
    sim : str
        One of :data:`SIMULATORS`.
    build_args : list of str
        Extra build arguments for the simulator (Verilator flags when ``sim`` is ``verilator``).
    python_path : list of str
        Folders the test module imports from (before :data:`PACKAGE_ROOT` on the simulator's PYTHONPATH).
    coverage : bool
        Verilator line and toggle coverage (``--coverage-line --coverage-toggle``, a build of its own): each run
        leaves ``coverage.dat`` in its run folder (read by :mod:`emu.coverage`).
    public : str
        Verilator only, one of :data:`PUBLIC`: ``"all"`` (cocotb's default) or ``"ports"`` (only the top module's
        signals are visible to the test module: a smaller, faster model, for benches that use ports only).
    """
    build_root: Path
    test_module: str
    toplevel: str = "dut"
    sim: str = "verilator"
    build_args: list = field(default_factory=list)
    python_path: list = field(default_factory=list)
    coverage: bool = False
    public: str = "all"

    def __post_init__(self):
        if self.sim not in SIMULATORS:
            raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {self.sim!r}")
        if self.coverage and self.sim != "verilator":
            raise ValueError(f"coverage needs Verilator, not {self.sim}")
        if self.public not in PUBLIC:
            raise ValueError(f"public must be one of {', '.join(PUBLIC)}, not {self.public!r}")
        self._built = {}    # build folder -> the cocotb runner that built it (a test runs on that object)

    def build_dir(self, *, waves: bool = False) -> Path:
        return Path(self.build_root) / (self.sim + ("-waves" if waves else "") + ("-coverage" if self.coverage else ""))

    def run_dir(self, testcase=None, *, waves: bool = False) -> Path:
        """The folder a run of ``testcase`` executes in (its ``results.xml`` and outputs land there)."""
        return self.build_dir(waves=waves) / run_dir_name(testcase)

    def run_lock(self, testcase=None, *, waves: bool = False) -> Path:
        """The lock file a run of ``testcase`` holds from its start to its verdict (see :meth:`test`)."""
        run_dir = self.run_dir(testcase, waves=waves)
        return run_dir.parent / f".{run_dir.name}.lock"

    def _runner(self):
        check_simulator(self.sim)
        from cocotb_tools.runner import get_runner
        runner = get_runner(self.sim)
        if self.sim == "verilator" and self.public == "ports":
            # cocotb's Verilator runner always passes --public-flat-rw, and Verilator has no option to take it
            # back: drop it from the command the runner builds (the top's signals come from PORTS_VLT instead).
            command = runner._build_command

            def without_public_flat_rw():
                cmds = command()
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
                return cmds
            runner._build_command = without_public_flat_rw
        return runner

    def build(self, sources, *, waves: bool = False) -> Path:
        """Build ``sources`` (Verilog files) unless the build is up to date; return the build folder."""
        runner = self._runner()
        build_dir = self.build_dir(waves=waves)
        self._built[build_dir] = runner
        sources = [Path(s) for s in sources]
        if self.sim == "verilator":
            args = [*VERILATOR_ARGS, *self.build_args]
            if waves:
                args += ["--trace-structs"] + (["--trace-fst"] if fst_available() else [])
            if self.coverage:
                args += ["--coverage-line", "--coverage-toggle"]
            if self.public == "ports":
                vlt = Path(self.build_root) / f"public-ports-{self.toplevel}.vlt"
                _write_if_changed(vlt, PORTS_VLT.format(toplevel=self.toplevel))
                args.append(str(vlt))
        else:
            # The generated Verilog is Verilog-2005 and relies on a declaration initialiser being a time-0 event
            # (Yosys's "dump_module" registers in every always @*): read as SystemVerilog (cocotb's -g2012) the
            # initialisers run before time 0, and combinational outputs stay X until an input changes. A later
            # -g overrides the earlier one. cocotb's waves module is SystemVerilog, so ours is Verilog-2005.
            args = ["-g2005", *self.build_args]
            if waves:
                dump = build_dir / "disagg_iverilog_dump.v"
                _write_if_changed(dump, ICARUS_DUMP.format(toplevel=self.toplevel))
                sources.append(dump)
                args += ["-s", "disagg_iverilog_dump"]
        with _file_lock(Path(self.build_root) / ".build.lock"):
            # cocotb's Icarus build is skipped when sim.vvp is newer than the sources, whatever the arguments:
            # rebuild when they change.
            stamp = build_dir / "disagg_build_args.json"
            stamp_text = json.dumps([args, [str(p) for p in sources]])
            changed = not stamp.exists() or stamp.read_text() != stamp_text
            runner.build(sources=sources, hdl_toplevel=self.toplevel, build_dir=build_dir, build_args=args,
                         waves=waves and self.sim == "verilator", timescale=("1ns", "1ps"),
                         always=changed and self.sim == "icarus")
            _write_if_changed(stamp, stamp_text)
        return build_dir

    def test(self, *, seed: int, testcase=None, waves: bool = False, env: dict | None = None,
             stale=()) -> Outcome:
        """Run the test module (or ``testcase``) on the build made by :meth:`build` and judge the run.

        ``stale`` names glob patterns of an earlier run's outputs in the run folder, removed before this run
        starts (under the same lock as the run, so a concurrent run's outputs are never touched). With
        ``waves`` an earlier run's ``dump.*`` always is.
        """
        build_dir = self.build_dir(waves=waves)
        if build_dir not in self._built:
            raise RuntimeError(f"build(waves={waves}) must come before test(waves={waves})")
        runner = self._built[build_dir]
        test_dir = self.run_dir(testcase, waves=waves)
        test_dir.mkdir(parents=True, exist_ok=True)
        # Two runs of one test module on one build (pytest-xdist's workers, two benches) share this folder and
        # its results.xml, which cocotb's runner deletes when a run starts: one run at a time, or a run that
        # starts as another ends deletes the other's results before they are judged (a CI run saw "no results
        # file" after its simulation ended with exit code 0).
        with _file_lock(self.run_lock(testcase, waves=waves)):
            for pattern in [*stale, *(["dump.*"] if waves else [])]:
                for old in test_dir.glob(pattern):
                    old.unlink()
            return self._test_in(runner, build_dir, test_dir, testcase=testcase, seed=seed, waves=waves, env=env)

    def _test_in(self, runner, build_dir, test_dir, *, testcase, seed, waves, env) -> Outcome:
        results_xml = test_dir / "results.xml"
        env = dict(env or {})
        paths = [*self.python_path, *env.pop("PYTHONPATH", "").split(os.pathsep), str(PACKAGE_ROOT),
                 *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(str(p) for p in paths if p))
        # Icarus writes its waves into the build folder unless told otherwise: put them with the run's outputs,
        # under the name Verilator uses.
        plusargs = [f"+dumpfile_path={test_dir / 'dump.fst'}"] if waves and self.sim == "icarus" else []
        exit_code = 0
        try:
            # Under pytest cocotb's runner exits on a failed test; elsewhere only on a failed simulator.
            runner.test(hdl_toplevel=self.toplevel, test_module=self.test_module, testcase=testcase, seed=seed,
                        extra_env=env, waves=waves, build_dir=build_dir, test_dir=test_dir,
                        results_xml=str(results_xml), plusargs=plusargs)
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return Outcome(verdict(results_xml, testcase=testcase, exit_code=exit_code), test_dir, results_xml,
                       exit_code)
