"""pytest options shared by all simulation tests."""

import sys
from pathlib import Path

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
