"""pytest options shared by all simulation tests."""

import json as _json
import os as _os
import sys
import time as _time
from pathlib import Path

import pytest as _pytest

# The suite's harness models are built to be checked, not timed: no profile-guided second compile and training
# run (emu.harness.build.pgo_enabled). Set here, at import, so that every child process a test starts inherits it.
_os.environ.setdefault("DISAGG_HARNESS_PGO", "0")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pytest_addoption(parser):
    from emu.cosim.runner import SIMULATORS
    parser.addoption("--seed", type=int, default=None, help="random seed for randomized tests (default: fixed per test)")
    parser.addoption("--waves", action="store_true", default=False, help="record FST waveforms and .gtkw files")
    parser.addoption("--sim", choices=SIMULATORS, default="verilator",
                     help="simulator of the cocotb tests (default verilator; icarus needs iverilog, see "
                          "scripts/setup_system.sh)")
    parser.addoption("--cross-check", action="store_true", default=False,
                     help="re-run a failing cocotb test on the other simulator with the same seed and say whether "
                          "it passes there (always done for a failure on icarus)")
    parser.addoption("--coverage-rtl", action="store_true", default=False,
                     help="build the cocotb tests' Verilator models with line and toggle coverage; each run's "
                          "coverage.dat goes to build/coverage/<block>/ (summary: disagg coverage)")


# --- CPU time per test (for keeping the default suite inside its budget) -----------------------------------------
# With DISAGG_TEST_CPU=<file>, every test phase appends one JSON line: the test, the phase, and the CPU seconds
# used by this process and the children it waited for (Verilator and C++ builds, cocotb simulations). CPU time
# hardly depends on the machine's load, so the figures of a busy machine rank the tests as an idle one would;
# `python scripts/test_cpu_report.py <file>` prints them sorted.

def _cpu_seconds():
    t = _os.times()
    return t.user + t.system + t.children_user + t.children_system


def _record_cpu(item, phase):
    """The body of the three hook wrappers below (a generator they delegate to; not a hook itself)."""
    path = _os.environ.get("DISAGG_TEST_CPU")
    if not path:
        yield
        return
    cpu0, wall0 = _cpu_seconds(), _time.monotonic()
    yield
    line = _json.dumps({"test": item.nodeid, "phase": phase, "cpu": round(_cpu_seconds() - cpu0, 2),
                        "wall": round(_time.monotonic() - wall0, 2),
                        "worker": _os.environ.get("PYTEST_XDIST_WORKER", "main")})
    with open(path, "a") as f:
        f.write(line + "\n")


@_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _record_cpu(item, "setup")


@_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _record_cpu(item, "call")


@_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _record_cpu(item, "teardown")


# --- xdist groups --------------------------------------------------------------------------------------------------
# `make test` runs `pytest -n JOBS --dist loadgroup`: the tests of one `xdist_group` share a worker, so a model that
# several tests use is built once, and tests that hand results to each other in one process (test_system's memory
# images) find them. pytest 9.2 with pytest-xdist 3.8 silently stops grouping (pytest-dev/pytest-xdist#1386: the
# group travels in the node id, which pytest 9.2 no longer lets a plugin change), and the suite then paid for two
# builds of the 2 x 2 rack and extra runs of the system tests; pyproject.toml pins pytest below 9.2. With that pair
# installed anyway, the run stops here with one line instead of getting slower.
_LOADGROUP_BROKEN = ((9, 2), (3, 8))    # (first pytest, last pytest-xdist) of pytest-xdist#1386


def _version(text):
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def pytest_configure(config):
    if getattr(config.option, "dist", "no") != "loadgroup":
        return
    import xdist
    if _version(_pytest.__version__) >= _LOADGROUP_BROKEN[0] and _version(xdist.__version__) <= _LOADGROUP_BROKEN[1]:
        raise _pytest.UsageError(f"pytest {_pytest.__version__} with pytest-xdist {xdist.__version__} does not honour "
                                 f"--dist loadgroup (pytest-dev/pytest-xdist#1386): install the versions "
                                 f"pyproject.toml pins (make setup)")
