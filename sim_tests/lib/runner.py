"""Build and run a cocotb test module against Verilator (or Icarus), one build folder per configuration.

The flow every block's tests follow (verilog-axi style):

* The Amaranth component of one configuration is converted to Verilog in
  ``build/sim/<block>/<config_id>/<toplevel>.v`` (rewritten only when it changes, so Verilator's
  build is reused).
* The configuration travels to the cocotb test module as JSON in ``DISAGG_CONFIG``, and the seed in
  ``DISAGG_SEED``, so the test builds its golden model with the same parameters.
* Seeds are fixed per test by default (CI is reproducible); ``--seed N`` on pytest or ``SEED=N``
  overrides. The seed is printed on failure.
* Waveforms: ``--waves`` on pytest or ``WAVES=1`` records FST plus a ``.gtkw`` save file. A failing
  test is re-run once with the same seed and waves on, and its FST, ``.gtkw``, seed and a one-line
  reproduce command are gathered in ``build/failures/<test>/`` with a line in
  ``build/failures/index.txt``. VCD windows the test recorded (``*.window.vcd``, see
  ``sim_tests/lib/vcd_window.py``) are gathered too, each with its protocol check in
  ``*.window.check.txt``; the folder and the index line are printed with the failure.
* A run passes only if every test it was asked for ran and passed (``emu.cosim.results.verdict`` on its
  ``results.xml``): a misspelled ``testcase`` fails instead of passing with nothing run.

The build and the run themselves are the product's (``emu.cosim.runner.CocotbRun``, which ``disagg bench``
uses too); this module adds the Verilog generation per configuration, the pytest options and the failure
collection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from emu.cosim.runner import SIMULATORS, CocotbRun, Outcome
from emu.gtkw import write_gtkw  # noqa: F401  (re-exported: tests import it from here)

__all__ = ["REPO", "BUILD", "SimRun", "run_cocotb", "default_seed", "write_gtkw", "config_id"]

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
FAILURES = BUILD / "failures"


def default_seed(name: str) -> int:
    """A fixed seed per test name, so CI runs are reproducible; ``SEED`` in the environment overrides."""
    if os.environ.get("SEED"):
        return int(os.environ["SEED"])
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def config_id(config: dict) -> str:
    """Short stable name for a configuration (its folder under build/sim/<block>/)."""
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _dump_in(folder: Path) -> Path | None:
    for name in ("dump.fst", "dump.vcd"):
        if (folder / name).exists():
            return folder / name
    return None


def _write_if_changed(path: Path, text: str):
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@dataclass
class SimRun:
    """One cocotb run of one configuration of one block.

    Parameters
    ----------
    block : str
        Block name, the folder under ``build/sim/``.
    component_factory : callable
        ``component_factory(config) -> amaranth component`` for the configuration.
    config : dict
        JSON-serialisable configuration passed to both the factory and the test (``DISAGG_CONFIG``).
    test_module : str
        Dotted name of the cocotb test module (importable from the repository root).
    toplevel : str
        Verilog module name of the generated top.
    gtkw_signals : list of str
        Signals to show in the ``.gtkw`` save file.
    extra_sources : list of Path
        Further Verilog files (for example a wrapper).
    build_args : list of str
        Extra Verilator arguments.
    sim : str or None
        Simulator (``verilator`` or ``icarus``, see ``emu.cosim.runner.SIMULATORS``); ``None``: the one pytest's
        ``--sim`` names in :func:`run_cocotb`, Verilator elsewhere.
    coverage : bool
        Build with Verilator line and toggle coverage (``--coverage-rtl`` on pytest): each run's ``coverage.dat``
        is kept as ``build/coverage/<block>/<test>.dat`` for ``disagg coverage``.
    public : str
        What the Verilator build makes visible to the test module (``emu.cosim.runner.PUBLIC``): ``"ports"`` (the
        default: the benches drive and sample the top's ports only, and the model builds in about a third of the
        CPU time) or ``"all"`` (cocotb's ``--public-flat-rw``, for a bench that reads signals inside the design).
    """
    block: str
    component_factory: object
    config: dict
    test_module: str
    toplevel: str = "dut"
    gtkw_signals: list = field(default_factory=list)
    extra_sources: list = field(default_factory=list)
    build_args: list = field(default_factory=list)
    extra_env: dict = field(default_factory=dict)
    sim: str | None = None
    coverage: bool = False
    public: str = "ports"

    @property
    def build_root(self) -> Path:
        return BUILD / "sim" / self.block / config_id(self.config)

    def generate(self) -> Path:
        path = self.build_root / f"{self.toplevel}.v"
        text = amaranth_verilog.convert(self.component_factory(self.config), name=self.toplevel, emit_src=False)
        _write_if_changed(path, text)
        (self.build_root / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True))
        return path

    def __post_init__(self):
        if self.sim is not None and self.sim not in SIMULATORS:
            raise ValueError(f"sim must be one of {', '.join(SIMULATORS)} or None, not {self.sim!r}")

    @property
    def simulator(self) -> str:
        return self.sim or "verilator"

    def cocotb_run(self) -> CocotbRun:
        """The product's runner core on this configuration's build folder."""
        sim = self.simulator
        return CocotbRun(build_root=self.build_root, test_module=self.test_module, toplevel=self.toplevel,
                         sim=sim, build_args=self.build_args if sim == "verilator" else [],
                         python_path=[str(REPO)], coverage=self.coverage, public=self.public)

    def run(self, *, testcase=None, seed: int, waves: bool = False, test_name: str = "", cross_check=None):
        """Run the tests; raise AssertionError naming seed, simulator and artifacts unless every test ran and passed.

        A failure is then run on the other simulator with the same seed (``cross_check``; by default only a
        failure on Icarus, since a Verilator build of a large design takes minutes), and the message says
        whether it passes there: a failure on one simulator only is a simulator difference or a race in the
        test bench, not a plain RTL bug. Without the check the message says how to run it.
        """
        env = {
            "DISAGG_CONFIG": json.dumps(self.config, sort_keys=True),
            "DISAGG_SEED": str(seed),
            **self.extra_env,
        }
        name = test_name or self.block
        outcome = self._run_once(testcase=testcase, seed=seed, waves=waves, env=env)
        if self.coverage:
            self._keep_coverage(outcome, name)
        if outcome.passed:
            return
        if not outcome.failed_in_simulation:
            # Nothing ran (a misspelled or skipped testcase): no waveform to gather.
            raise AssertionError(f"{name} on {self.simulator}: {outcome.reason}")
        # Re-run with waves so the failure leaves a waveform, then gather the evidence in one place.
        if not waves:
            try:
                self._run_once(testcase=testcase, seed=seed, waves=True, env=env)
            except Exception as exc:  # the failure matters more than a missing waveform
                print(f"re-run with waves failed: {exc}")
        where = self._collect_failure(name, seed)
        other = self._other_simulator_note(testcase=testcase, seed=seed, env=env,
                                           check=self.simulator == "icarus" if cross_check is None else cross_check)
        raise AssertionError(f"{name} failed on {self.simulator} with seed {seed}: {outcome.reason}; {other}; "
                             f"waveform and reproduce command in {where}")

    def _other_simulator_note(self, *, testcase, seed, env, check) -> str:
        """What the same run does on the other simulator, or how to find out."""
        other = "verilator" if self.simulator == "icarus" else "icarus"
        if not check:
            node = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0] or "<test>"
            return (f"not checked on {other} (run: SEED={seed} pytest --sim {other} {node}, or pass "
                    f"--cross-check)")
        try:
            twin = dataclasses.replace(self, sim=other, coverage=False)
            outcome = twin._run_once(testcase=testcase, seed=seed, waves=False, env=env)
        except Exception as exc:  # a missing simulator, a build error: say so, the failure stands
            return f"could not check on {other}: {exc}"
        if outcome.passed:
            return (f"it PASSES on {other} with the same seed: a failure on {self.simulator} only (a difference between "
                    f"the simulators' reading of the Verilog, or a race in the test bench)")
        return f"it fails on {other} too with the same seed ({outcome.reason})"

    def _keep_coverage(self, outcome: Outcome, name: str):
        dat = outcome.test_dir / "coverage.dat"
        if not dat.exists():
            print(f"no coverage.dat in {outcome.test_dir}")
            return
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        dest = BUILD / "coverage" / self.block / f"{safe}.dat"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(dat, dest)
        print(f"coverage of this run: {dest} (summary: disagg coverage)")

    def _run_once(self, *, testcase, seed, waves, env) -> Outcome:
        core = self.cocotb_run()
        # pytest-xdist may run two tests of one configuration at once: one builds, the other waits (a lock).
        core.build([self.generate(), *self.extra_sources], waves=waves)
        self._last_testcase = testcase
        # An earlier run's VCD windows (sim_tests/lib/vcd_window.py) go, and with waves its dump.
        outcome = core.test(testcase=testcase, seed=seed, waves=waves, env=env, stale=("*.window.vcd",))
        if waves:
            self._save_waves(outcome.test_dir)
        return outcome

    def run_dir(self, testcase=None, *, waves: bool = False) -> Path:
        """The folder a run of ``testcase`` executes in (where its ``results.xml`` and outputs land)."""
        return self.cocotb_run().run_dir(testcase, waves=waves)

    def _save_waves(self, test_dir: Path) -> Path | None:
        dump = _dump_in(test_dir)
        if dump is None:
            return None
        write_gtkw(dump, test_dir / "dump.gtkw", self.gtkw_signals, self.toplevel)
        return dump

    def _collect_failure(self, test_name: str, seed: int) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in test_name)
        dest = FAILURES / safe
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        testcase = getattr(self, "_last_testcase", None)
        run_dir = self.run_dir(testcase, waves=True)
        dump = _dump_in(run_dir)
        files = []
        if dump is not None:
            shutil.copy(dump, dest / dump.name)
            write_gtkw(dest / dump.name, dest / "dump.gtkw", self.gtkw_signals, self.toplevel)
            files += [dump.name, "dump.gtkw"]
        for log in ("results.xml",):
            if (run_dir / log).exists():
                shutil.copy(run_dir / log, dest / log)
        _collect_windows(run_dir, self.run_dir(testcase), dest)
        (dest / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True))
        node = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
        sim = f" --sim {self.simulator}" if self.simulator != "verilator" else ""
        reproduce = f"SEED={seed} WAVES=1 .venv/bin/python -m pytest {shlex.quote(node)}{sim}" if node else ""
        (dest / "reproduce.txt").write_text(f"seed: {seed}\n{reproduce}\n")
        FAILURES.mkdir(parents=True, exist_ok=True)
        line = (f"{test_name}  seed={seed}  waves={dest / files[0] if files else 'none'}  "
                f"gtkw={dest / 'dump.gtkw' if files else 'none'}  reproduce: {reproduce}")
        _index_replace(FAILURES / "index.txt", f"{test_name}  ", line)
        print(f"failure artifacts in {dest}: {', '.join(sorted(p.name for p in dest.iterdir()))}\n"
              f"index line ({FAILURES / 'index.txt'}): {line}")
        return dest


def _index_replace(index: Path, prefix: str, line: str):
    """Append ``line`` to the index, dropping earlier lines of the same test (their folder was replaced).

    Under a lock, because pytest-xdist workers may collect failures at the same time.
    """
    import fcntl
    with open(index, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        kept = [old for old in f.read().splitlines() if old and not old.startswith(prefix)]
        f.seek(0)
        f.truncate()
        f.write("".join(old + "\n" for old in kept) + line + "\n")


def _collect_windows(run_dir: Path, plain_run_dir: Path, dest: Path):
    """Copy the recorded VCD windows (``*.window.vcd``) of the failing run, each with its protocol check.

    The waves re-run records the same windows (same seed); if it could not run, the first run's are used.
    """
    windows = sorted(run_dir.glob("*.window.vcd")) or sorted(plain_run_dir.glob("*.window.vcd"))
    for window in windows:
        shutil.copy(window, dest / window.name)
        try:
            from emu.waves import check_file
            text = "\n".join(check_file(dest / window.name).lines())
        except Exception as exc:  # a DisaggError for an unusable window; the test's failure matters more
            text = f"not checked: {exc}"
        (dest / (window.name[: -len(".vcd")] + ".check.txt")).write_text(text + "\n")


def run_cocotb(request, sim: SimRun, *, testcase=None):
    """Run ``sim`` from a pytest test; seed, waves, simulator and cross-check come from the pytest options (see
    conftest). A ``SimRun`` built with ``sim=`` keeps its simulator; otherwise ``--sim`` chooses it."""
    name = request.node.nodeid
    seed = request.config.getoption("--seed")
    seed = default_seed(name) if seed is None else seed
    waves = request.config.getoption("--waves") or os.environ.get("WAVES", "") not in ("", "0")
    if sim.sim is None:
        sim = dataclasses.replace(sim, sim=request.config.getoption("--sim"))
    if request.config.getoption("--coverage-rtl") and sim.simulator == "verilator":
        sim = dataclasses.replace(sim, coverage=True)
    cross_check = True if request.config.getoption("--cross-check") else None
    print(f"seed={seed} sim={sim.sim} (reproduce with SEED={seed})")
    sim.run(testcase=testcase, seed=seed, waves=waves, test_name=name, cross_check=cross_check)
