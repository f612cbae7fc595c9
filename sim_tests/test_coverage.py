"""Coverage: Verilator's coverage.dat read, merged per block and summarised (``emu.coverage``, ``disagg coverage``);
a coverage build of the counter end to end (``--coverage-rtl``'s path through the runner)."""

from emu.cli import main
from emu.coverage import LINE_TYPES, TOGGLE_TYPES, load_blocks, read_dat
from sim_tests.lib import runner

from .runner.test_runner import _counter


def _dat(path, verilog, points):
    """A coverage.dat as Verilator writes it: ``points`` are (line, type, comment, hits)."""
    lines = ["# SystemC::Coverage-3"]
    for line, kind, comment, hits in points:
        keys = {"f": str(verilog), "l": str(line), "n": "3", "t": kind, "page": f"v_{kind}/top", "o": comment,
                "h": "top"}
        lines.append("C '" + "".join(f"\x01{k}\x02{v}" for k, v in keys.items()) + f"' {hits}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_runs_of_a_block_are_merged(tmp_path, capsys):
    verilog = tmp_path / "top.v"
    verilog.write_text("module top;\n  if (a)\n  else\n  x <= 1;\n"
                       "  if (\\$auto$verilog_backend.cc:2355:dump_module$1 ) begin end\nendmodule\n")
    _dat(tmp_path / "cov" / "blk" / "a.dat", verilog,
         [(2, "branch", "if", 5), (3, "branch", "else", 0), (4, "line", "block", 0), (1, "toggle", "a:0->1", 1),
          (1, "toggle", "a:1->0", 0), (5, "branch", "if", 0)])   # line 5: Yosys's time-0 trigger, not counted
    _dat(tmp_path / "cov" / "blk" / "b.dat", verilog,
         [(2, "branch", "if", 0), (3, "branch", "else", 2), (4, "line", "block", 0), (1, "toggle", "a:0->1", 0),
          (1, "toggle", "a:1->0", 0)])
    assert sum(read_dat(tmp_path / "cov" / "blk" / "a.dat").values()) == 6
    cov = load_blocks(tmp_path / "cov")["blk"]
    assert cov.counts(LINE_TYPES) == (2, 3)
    assert cov.counts(TOGGLE_TYPES) == (1, 2)
    assert [(p.line, p.comment) for p in cov.uncovered()] == [(4, "block")]
    assert main(["coverage", "--dir", str(tmp_path / "cov"), "--uncovered"]) == 0
    out = capsys.readouterr().out
    assert "blk" in out and "2/3" in out and " 66.7%" in out and "1/2" in out and " 50.0%" in out
    assert "top.v:4  top  block  x <= 1;" in out and "  top: 1 / 3" in out


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["coverage", "--dir", str(tmp_path / "none")]) == 2
    assert "run the cocotb tests with 'pytest --coverage-rtl' first" in capsys.readouterr().err
    _dat(tmp_path / "blk" / "a.dat", tmp_path / "top.v", [(1, "line", "block", 1)])
    assert main(["coverage", "--dir", str(tmp_path), "--block", "other"]) == 2
    assert "no coverage of block 'other'" in capsys.readouterr().err
    (tmp_path / "blk" / "a.dat").write_text("C 'garbage 1\n")
    assert main(["coverage", "--dir", str(tmp_path)]) == 2
    assert "a.dat:1: not a Verilator coverage line" in capsys.readouterr().err
    assert main(["coverage", "--dir", str(tmp_path), "--limit", "0"]) == 2


def test_coverage_build_of_the_counter(request, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BUILD", tmp_path / "build")
    sim = _counter()
    sim.coverage = True
    sim.run(seed=3, testcase="counts", test_name="counter-coverage")
    cov = load_blocks(tmp_path / "build" / "coverage")["runner_counter"]
    covered, total = cov.counts(TOGGLE_TYPES)
    assert total >= 2 * 3 and covered >= 2 * 3        # every bit of the 3-bit count rose and fell
    assert cov.counts(LINE_TYPES)[0] > 0
    assert sim.run_dir("counts").parent.name == "verilator-coverage"


def test_closed_pipe_is_quiet(tmp_path):
    """`disagg coverage --uncovered | head -1`: the reader goes away after one line; the command stops
    without a traceback (exit 141, as a shell tool killed by SIGPIPE reports)."""
    import os
    import subprocess
    import sys
    verilog = tmp_path / "top.v"
    verilog.write_text("module top;\n" + "  x <= 1;\n" * 3000 + "endmodule\n")
    _dat(tmp_path / "cov" / "blk" / "a.dat", verilog, [(i, "line", "block", 0) for i in range(2, 3002)])
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "emu.cli", "coverage", "--dir", str(tmp_path / "cov"), "--uncovered"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err, err
