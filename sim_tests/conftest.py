"""pytest options shared by all simulation tests."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None, help="random seed for randomized tests (default: fixed per test)")
    parser.addoption("--waves", action="store_true", default=False, help="record FST waveforms and .gtkw files")
