"""disagg works from an installed (non-editable) package, away from the checkout and its ``sim_tests/``.

The package is installed with ``pip install --no-deps --no-build-isolation --target TMP .`` and run with only
TMP and the environment's site-packages on the path, from a folder outside the checkout. The fast test imports
every product module of the installed copy (the cocotb leg of ``disagg bench`` included); the slow one runs
``disagg bench`` end to end on a small system (3.5 to 8.5 minutes measured with cold builds on a loaded
2-core machine).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("hw", "emu", "firmware")

# A small system builds in about a minute (the default one's 1 MiB DRAM model takes several).
SMALL_SYSTEM = [f"--set={kv}" for kv in (
    "cache.line_bytes=64", "tlb.entries=16", "tlb.ways=2", "memory.page_bytes=256", "memory.dram_bytes=32768",
    "memory.dram_latency=4", "link.latency=8", "network.window=4", "network.timeout=1024", "system.pid_width=3")]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(target, run)``: the package installed into ``target``; ``run(args)`` runs Python on that copy."""
    target = tmp_path_factory.mktemp("installed")
    cwd = tmp_path_factory.mktemp("elsewhere")
    # Built from a copy of what the package is made of: setuptools leaves build/lib and *.egg-info behind in the
    # tree it builds, and a stale build/lib would put deleted modules into the next install.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for top in PRODUCT:
        shutil.copytree(REPO / top, source / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(target), str(source)], check=True, cwd=cwd)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(target)

    def run(args, timeout=120):
        # -P: the current folder is not put on sys.path either
        return subprocess.run([sys.executable, "-P", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    return target, run


IMPORT_ALL = """
import importlib, pkgutil, sys
from pathlib import Path
target = Path(sys.argv[1])
import emu
assert Path(emu.__file__).is_relative_to(target), f"emu imported from {emu.__file__}, not the installed copy"
try:
    import sim_tests
except ImportError:
    pass
else:
    raise AssertionError(f"sim_tests is importable from {sim_tests.__file__}")
failed = []
count = 0
for top in ("hw", "emu", "firmware"):
    pkg = importlib.import_module(top)
    for info in pkgutil.walk_packages(pkg.__path__, top + "."):
        try:
            importlib.import_module(info.name)
            count += 1
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
leaked = sorted(m for m in sys.modules if m.split(".")[0] == "sim_tests")
assert not failed, "\\n".join(failed)
assert not leaked, leaked
from emu.cosim import runner
from emu.harness import build
assert runner.PACKAGE_ROOT == target, runner.PACKAGE_ROOT
assert build.DRIVER.is_file(), build.DRIVER
print(count, "modules")
"""


def test_installed_package_imports_without_the_checkout(installed):
    target, run = installed
    r = run(["-c", IMPORT_ALL, str(target)])
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[0]) > 50
    r = run(["-m", "emu.cli", "bench", "--cocotb-accesses", "0"])
    assert (r.returncode, r.stderr.strip()) == (2, "disagg: error: --cocotb-accesses must be at least 1, not 0")


@pytest.mark.slow
def test_installed_bench_runs_all_three_ways(installed):
    _, run = installed
    r = run(["-m", "emu.cli", "bench", "--workload", "zipfian", "-p", "n=1500", "-p", "footprint=16384",
             "--cocotb-accesses", "50", *SMALL_SYSTEM], timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = {line.split("  ")[0]: line.split() for line in r.stdout.splitlines()}
    assert rows["cocotb, every clock edge"][4] == "50"
    assert rows["harness (firmware, checked)"][3] == "1,500"
