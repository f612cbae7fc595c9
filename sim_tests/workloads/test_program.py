"""``emu.program.trace_program`` and ``disagg run --program``: a real program under valgrind lackey."""

import json
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emu.cli import main
from emu.errors import DisaggError
from emu.program import trace_program
from emu.traces import load_trace
from emu.workload_format import OP_WRITE

DATA = Path(__file__).parent / "data"
# valgrind is a dependency of the test machine (scripts/setup_system.sh installs it): not skipped if missing.


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """lackey_tiny.cc compiled without libc: 512 stores and 512 loads of one 4 KiB array, exit status 3."""
    if platform.machine() != "x86_64":
        pytest.skip("lackey_tiny.cc uses x86-64 system calls")
    exe = tmp_path_factory.mktemp("tiny") / "tiny"
    subprocess.run(["g++", "-O1", "-static", "-nostdlib", "-fno-exceptions", "-fno-asynchronous-unwind-tables",
                    "-o", str(exe), str(DATA / "lackey_tiny.cc")], check=True)
    return exe


def test_program_accesses_status_and_output(tiny):
    r = trace_program([str(tiny)])
    assert r.status == 3 and r.stdout == b"tiny done\n" and r.stderr == b""
    w = r.workload
    # The loops: 512 8-byte stores, then 512 8-byte loads, of one array (lackey: S then L lines).
    assert len(w) == 1024
    assert (w["op"][:512] == OP_WRITE).all() and (w["op"][512:] != OP_WRITE).all()
    assert (w["size"] == 8).all()
    assert np.array_equal(w["vaddr"][:512], w["vaddr"][512:])
    assert (np.diff(w["vaddr"][:512].astype(np.int64)) == 8).all()
    assert "exited with status 3" in r.report() and "tiny done" in r.report()


@pytest.mark.parametrize("suffix", [".lackey", ".lackey.zst"])
def test_saved_trace_replays_to_the_same_workload(tiny, tmp_path, suffix):
    saved = tmp_path / ("t" + suffix)
    r = trace_program([str(tiny)], save_trace=saved, seed=5)
    assert saved.exists() and r.saved_trace == saved
    assert np.array_equal(load_trace(saved, seed=5), r.workload)


def test_max_accesses_stops_the_program(tiny):
    r = trace_program(str(tiny), max_accesses=100)
    assert r.stopped and len(r.workload) == 100 and "stopped after 100 accesses" in r.report()


def test_missing_program_is_one_line(tmp_path):
    with pytest.raises(DisaggError, match="made no data access under valgrind .exit status 127.: valgrind: "
                                          ".*no_such_program_x: command not found") as e:
        trace_program("no_such_program_x --flag")
    assert "\n" not in str(e.value)
    with pytest.raises(DisaggError, match="needs a command"):
        trace_program("   ")


def test_cli_run_program(tiny, tmp_path, capsys):
    """``disagg run --program`` end to end on the small harness configuration (model shared with the harness tests)."""
    from sim_tests.harness.test_out_of_memory import _small_sets
    saved = tmp_path / "tiny.lackey.xz"
    code = main(["run", "--program", str(tiny), "--save-trace", str(saved), "--quiet", "--json",
                 str(tmp_path / "s.json"), *_small_sets()])
    out = capsys.readouterr().out
    assert code == 0
    assert f"program {tiny}: exited with status 3; 1,024 data accesses" in out
    assert "| tiny done" in out and f"trace kept in {saved}" in out
    assert "all 1,024 accesses match the golden model" in out
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["program"]["status"] == 3 and s["accesses"] == 1024
    assert len(load_trace(saved)) == 1024


def test_save_trace_needs_program(capsys):
    assert main(["run", "--save-trace", "x.lackey", "--workload", "sequential"]) == 2
    assert "--save-trace applies to --program" in capsys.readouterr().err


def test_committed_sort_trace():
    """data/sort400.lackey.xz: a real lackey trace, made with ``disagg run --program`` machinery as

    ``awk 'BEGIN{for(i=1;i<=400;i++) printf "%06d %d\\n", (i*7919)%100003, i}' > sort-input.txt`` and
    ``LC_ALL=C trace_program(['sort', 'sort-input.txt'], save_trace=...)`` (valgrind 3.19, Debian 12 sort).
    """
    w = load_trace(DATA / "sort400.lackey.xz")
    assert len(w) == 251_585
    assert len(np.unique(w["vaddr"] // np.uint64(4096))) == 99


def test_cli_sweep_program(tiny, tmp_path, capsys):
    """``disagg sweep --program``: the program traced once, its accesses run at every point (the small RTL
    sweep's system and sizes, so the models are shared with test_sweep_rtl)."""
    from sim_tests.workloads.test_sweep_rtl import SMALL_SYSTEM
    out, saved = tmp_path / "sweep", tmp_path / "tiny.lackey.gz"
    rc = main(["sweep", "--program", str(tiny), "--save-lackey", str(saved), "--sizes", "4K,8K", "--jobs", "1",
               "--quiet", "--out", str(out), *SMALL_SYSTEM])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"program {tiny}: exited with status 3; 1,024 data accesses" in captured.out
    doc = json.loads((out / "sweep.json").read_text())
    assert {r["size"] for r in doc["rows"]} == {4096, 8192}
    assert all(r["stat_accesses"] == 1024 for r in doc["rows"])
    assert doc["meta"]["program"]["status"] == 3 and doc["meta"]["program"]["command"] == [str(tiny)]
    assert len(load_trace(saved)) == 1024


@pytest.mark.parametrize("argv, message", [
    (["--save-lackey", "x.lackey", "--workload", "uniform"], "--save-lackey applies to --program"),
    (["--program", "true", "--trace", "x.lackey"], "--program and --trace are alternatives"),
    (["--program", "true", "-p", "n=3"], "-p/--param applies to --workload"),
])
def test_sweep_program_options_are_checked(argv, message, capsys):
    assert main(["sweep", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
