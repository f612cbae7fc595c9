"""Failure collection (sim_tests/lib/runner.py) gathers recorded VCD windows with their check and says where."""

from sim_tests.lib import runner
from sim_tests.lib.runner import SimRun

from .examples import table_vcd


def test_collected_failure_has_windows_check_and_index_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "BUILD", tmp_path / "build")
    monkeypatch.setattr(runner, "FAILURES", tmp_path / "build" / "failures")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "sim_tests/x/test_x.py::test_y (call)")
    sim = SimRun(block="x", component_factory=None, config={"n": 1}, test_module="m", gtkw_signals=["clk"])
    waves_run = sim.build_root / "verilator-waves" / "run"
    waves_run.mkdir(parents=True)
    table_vcd(waves_run / "dump.vcd", {"a": "01"})
    table_vcd(waves_run / "bad.window.vcd", {"s__valid": "110", "s__ready": "000"})

    dest = sim._collect_failure("sim_tests/x/test_x.py::test_y", 7)

    assert sorted(p.name for p in dest.iterdir()) == [
        "bad.window.check.txt", "bad.window.vcd", "config.json", "dump.gtkw", "dump.vcd", "reproduce.txt"]
    check = (dest / "bad.window.check.txt").read_text()
    assert "VIOLATION 30 ns (cycle 2) top.s__valid: valid-retracted" in check
    (line,) = (tmp_path / "build" / "failures" / "index.txt").read_text().splitlines()
    assert line == (f"sim_tests/x/test_x.py::test_y  seed=7  waves={dest / 'dump.vcd'}  gtkw={dest / 'dump.gtkw'}  "
                    "reproduce: SEED=7 WAVES=1 .venv/bin/python -m pytest sim_tests/x/test_x.py::test_y")
    out = capsys.readouterr().out
    assert f"failure artifacts in {dest}: bad.window.check.txt, bad.window.vcd" in out
    assert f"index line ({tmp_path / 'build' / 'failures' / 'index.txt'}): {line}" in out


def test_index_keeps_one_line_per_test(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "BUILD", tmp_path / "build")
    monkeypatch.setattr(runner, "FAILURES", tmp_path / "build" / "failures")
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    sim = SimRun(block="x", component_factory=None, config={}, test_module="m")
    sim._collect_failure("t::a", 1)
    sim._collect_failure("t::ab", 2)
    sim._collect_failure("t::a", 3)  # the same test failing again replaces its line (and its folder)
    index = (tmp_path / "build" / "failures" / "index.txt").read_text().splitlines()
    assert [line.split("  ")[:2] for line in index] == [["t::ab", "seed=2"], ["t::a", "seed=3"]]
    assert all("waves=none  gtkw=none" in line for line in index)
