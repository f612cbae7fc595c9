"""Profile-guided builds of a harness model (emu/harness/build.py, emu/harness/pgo.py) on the toy top.

A profile changes only the compiler's code layout: the model must give the same results and cycle counts as
the one built without it, and a failing training run must leave a working model built without a profile.
No wall-clock time is asserted.
"""

import os
import json
import random
import subprocess
import sys

import numpy as np
import pytest

from emu.harness import HarnessModel, RunStatus, build_model, new_results
from sim_tests.harness.test_binding import CHAIN, DEPTH, FETCH, FILL, PAGE_BYTES, PAGE_WORDS, _expected, _random_workload
from sim_tests.harness.toy_system import TOY_REGS, ToySystem
from sim_tests.lib.runner import default_seed


def _run(built, w):
    m = HarnessModel(built)
    m.reset()
    m.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    res = new_results(len(w))
    assert m.run(w, res) == RunStatus.DONE
    st = m.stats()
    m.close()
    return res, st


def _toy(fill):
    # A fill time of its own gives each test its own model (cache key), whatever else the suite built.
    return ToySystem(DEPTH, PAGE_WORDS, FETCH, fill)


def _train_toy(library):
    """A training run of the toy: a few thousand cycles through the driver, in a child process that exits."""
    code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); lib.h_create.restype = ctypes.c_void_p; "
            "h = ctypes.c_void_p(lib.h_create(None, 0, 0)); lib.h_reset(h, 4); lib.h_step(h, ctypes.c_uint64(5000))")
    subprocess.run([sys.executable, "-c", code, str(library)], check=True, capture_output=True)


def test_failed_training_falls_back_to_a_model_without_profile(monkeypatch):
    monkeypatch.setenv("DISAGG_HARNESS_PGO", "1")
    logs = []

    def failing(library):
        raise RuntimeError("the training run failed: on purpose")
    built = build_model(_toy(FILL + 7), chain=CHAIN, train=failing, log=logs.append)
    if not built.cached:
        assert any("profile-guided build skipped" in line for line in logs)
    assert json.loads((built.library.parent / "build.json").read_text())["pgo"] is False
    rng = random.Random(default_seed("harness-pgo-fallback"))
    w = _random_workload(rng, 500, DEPTH * 8 // PAGE_BYTES)
    res, st = _run(built, w)
    np.testing.assert_array_equal(res["rdata"], _expected(w))
    assert st["completed"] == len(w)


@pytest.mark.slow
def test_profile_guided_model_gives_the_same_results(monkeypatch):
    monkeypatch.setenv("DISAGG_HARNESS_PGO", "1")
    toy = _toy(FILL + 9)
    guided = build_model(toy, chain=CHAIN, train=_train_toy)
    assert json.loads((guided.library.parent / "build.json").read_text())["pgo"] is True
    assert list((guided.library.parent / "pgo").rglob("*.gcda")), "the training run wrote no profile"
    plain = build_model(_toy(FILL + 9), chain=CHAIN)
    assert plain.key != guided.key
    rng = random.Random(default_seed("harness-pgo-same"))
    w = _random_workload(rng, 2000, DEPTH * 8 // PAGE_BYTES)
    (r1, s1), (r2, s2) = _run(guided, w), _run(plain, w)
    np.testing.assert_array_equal(r1, r2)
    assert s1.tobytes() == s2.tobytes()
    np.testing.assert_array_equal(r1["rdata"], _expected(w))


def test_pgo_is_on_by_default_but_not_in_the_suite():
    from emu.harness.build import pgo_enabled
    assert pgo_enabled({})                                    # disagg run, bench, sweeps
    for value, on in (("0", False), ("1", True), ("", True)):
        assert pgo_enabled({"DISAGG_HARNESS_PGO": value}) is on
    # sim_tests/conftest.py switches it off for the whole suite, and so for every child process a test starts.
    assert os.environ.get("DISAGG_HARNESS_PGO") == "0"
    assert not pgo_enabled()
