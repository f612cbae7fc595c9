"""The cocotb runner fails loudly: a run that executed nothing, not the named test, or a failing test fails.

The verdict is read from cocotb's ``results.xml`` (``emu.cosim.results``); the last tests run it end to end
on a counter under Verilator, including the case that used to pass silently: a misspelled ``testcase``.
"""

import pytest

from emu.cosim.results import read_results, verdict
from sim_tests.lib import runner
from sim_tests.lib.runner import SimRun, run_cocotb

from .counter import Counter

CASE = '<testcase classname="m" name="{name}" time="0.0">{body}</testcase>'


def _results(tmp_path, *cases):
    """A results.xml as cocotb 2.1 writes it, with the given (name, body) test cases."""
    path = tmp_path / "results.xml"
    if cases:
        body = "".join(CASE.format(name=n, body=b) for n, b in cases)
        text = f'<testsuites name="cocotb tests"><testsuite name="m" tests="{len(cases)}">{body}</testsuite></testsuites>'
    else:
        text = '<testsuites name="cocotb tests" />'   # what cocotb writes when the filter matched nothing
    path.write_text("<?xml version='1.0' encoding='utf-8'?>\n" + text)
    return path


def test_passing_run(tmp_path):
    path = _results(tmp_path, ("a", ""), ("b", ""))
    assert [c.outcome for c in read_results(path)] == ["passed", "passed"]
    assert verdict(path) is None
    assert verdict(path, testcase="b") is None
    assert verdict(path, testcase=["a", "b"]) is None


def test_no_test_run_fails(tmp_path):
    assert "ran no test" in verdict(_results(tmp_path))


def test_misspelled_testcase_fails(tmp_path):
    assert verdict(_results(tmp_path), testcase="rnadom_traffic") == (
        "cocotb testcase 'rnadom_traffic' did not run (misspelled or skipped?); tests run: none")
    # the filter is a suffix match: a longer name that ran does not stand for the one asked for
    assert "'traffic' did not run" in verdict(_results(tmp_path, ("random_traffic", "")), testcase="traffic")


def test_skipped_tests_do_not_count(tmp_path):
    path = _results(tmp_path, ("a", '<skipped message="Test was skipped" />'))
    assert read_results(path)[0].outcome == "skipped"
    assert "ran no test" in verdict(path)
    assert "'a' did not run" in verdict(path, testcase="a")


def test_failure_and_error_fail(tmp_path):
    path = _results(tmp_path, ("a", ""), ("b", '<failure message="boom&#10;assert False" type="AssertionError"/>'),
                    ("c", '<error message="crash" />'))
    assert verdict(path) == "2 of 3 cocotb tests failed: b, c (first: boom)"


def test_missing_results_and_simulator_exit_fail(tmp_path):
    assert "ended abnormally (exit code 139)" in verdict(tmp_path / "results.xml", exit_code=139)
    assert "simulator exited with code 3" in verdict(_results(tmp_path, ("a", "")), exit_code=3)


def _counter(sim=None, **env):
    return SimRun(block="runner_counter", component_factory=lambda cfg: Counter(cfg["width"]), config={"width": 3},
                  test_module="sim_tests.runner.cocotb_counter", gtkw_signals=["clk", "rst", "count"], extra_env=env,
                  sim=sim)


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_cocotb_run_passes(request, sim):
    run_cocotb(request, _counter(sim))
    assert [c.name for c in read_results(_counter(sim).run_dir() / "results.xml")] == ["counts", "fails_when_asked"]


def test_cocotb_misspelled_testcase_fails(request):
    """The case cocotb's runner passes with only a warning ("No tests left after filtering")."""
    with pytest.raises(AssertionError, match=r"on verilator: cocotb testcase 'conuts' did not run \(misspelled"):
        run_cocotb(request, _counter(), testcase="conuts")


def test_cocotb_failing_test_fails_with_seed_and_artifacts(request, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "FAILURES", tmp_path / "failures")   # keep build/failures/ for real failures
    with pytest.raises(AssertionError, match=r"failed on verilator with seed \d+: 1 of 1 cocotb tests failed: "
                                             r"fails_when_asked \(first: failing as asked") as failure:
        run_cocotb(request, _counter(DISAGG_RUNNER_FAIL="1"), testcase="fails_when_asked")
    (folder,) = [p for p in (tmp_path / "failures").iterdir() if p.is_dir()]
    assert "not checked on icarus (run: SEED=" in str(failure.value)
    assert {"results.xml", "reproduce.txt", "dump.gtkw"} <= {p.name for p in folder.iterdir()}
    assert "::test_cocotb_failing_test_fails_with_seed_and_artifacts  seed=" in (tmp_path / "failures" / "index.txt").read_text()


def test_cocotb_failure_on_one_simulator_only_is_reported_as_such(request, tmp_path, monkeypatch):
    """A failure on Icarus is re-run on Verilator with the same seed; the message says it passes there."""
    monkeypatch.setattr(runner, "FAILURES", tmp_path / "failures")
    with pytest.raises(AssertionError, match=r"failed on icarus with seed \d+: 1 of 1 cocotb tests failed: "
                                             r"fails_when_asked .*; it PASSES on verilator with the same seed: a "
                                             r"failure on icarus only"):
        run_cocotb(request, _counter("icarus", DISAGG_RUNNER_FAIL="icarus"), testcase="fails_when_asked")
    with pytest.raises(AssertionError, match=r"failed on icarus .*; it fails on verilator too with the same seed "
                                             r"\(1 of 1 cocotb tests failed"):
        run_cocotb(request, _counter("icarus", DISAGG_RUNNER_FAIL="1"), testcase="fails_when_asked")


def test_sim_is_validated():
    with pytest.raises(ValueError, match="sim must be one of verilator, icarus or None, not 'vcs'"):
        _counter("vcs")


def test_public_is_validated():
    from emu.cosim.runner import CocotbRun
    with pytest.raises(ValueError, match="public must be one of all, ports, not 'some'"):
        CocotbRun(build_root="unused", test_module="m", public="some")


def test_ports_build_makes_only_the_top_public(request):
    """The suite's builds (``public="ports"``) leave out cocotb's --public-flat-rw and mark only the top's
    signals public; the counter bench, which uses the ports, passes on it (test_cocotb_run_passes)."""
    run = _counter()
    assert run.public == "ports"
    run_cocotb(request, run)
    verilated = (run.cocotb_run().build_dir() / "Vtop__verFiles.dat").read_text()
    assert "--public-flat-rw" not in verilated and f"public-ports-{run.toplevel}.vlt" in verilated


def test_runs_of_one_folder_take_turns(request):
    """Two runs of one module on one build share a run folder and its results.xml (pytest-xdist's workers ran two
    tests of test_netif_pair at once and one found no results file): a run waits for the folder's lock."""
    import threading

    from emu.cosim.runner import _file_lock
    sim = _counter()
    run_cocotb(request, sim)                                   # built, and a results.xml of its own
    results = sim.run_dir() / "results.xml"
    before = results.stat().st_mtime_ns
    outcome = {}

    def run():
        try:
            sim.run(seed=1)
            outcome["it"] = "passed"
        except AssertionError as exc:
            outcome["it"] = str(exc)

    with _file_lock(sim.cocotb_run().run_lock()):
        waiting = threading.Thread(target=run)
        waiting.start()
        waiting.join(timeout=3)
        assert waiting.is_alive() and not outcome, "the run did not wait for the folder's lock"
        assert results.stat().st_mtime_ns == before              # nor touched the other run's results
    waiting.join()
    assert outcome["it"] == "passed"
    assert results.stat().st_mtime_ns != before
