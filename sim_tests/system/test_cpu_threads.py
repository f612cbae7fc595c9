"""The CPU model with several hardware threads (``cpu.threads``; docs/system.md, "CPU threads").

Each thread issues its own stream in order with its own think times; the streams interleave at the CPU port;
every access is still checked against the golden model (in the order the port issued them); statistics per
thread add up to the run's.
"""

import json

import numpy as np
import pytest

from emu.cli import main
from emu.config import SMALL_CACHE, default_config, small_config
from emu.errors import DisaggError
from emu.system.processes import Process
from emu.system.runner import SystemRunner
from emu.workload_format import empty
from emu.workloads import generate
from emu.workloads.threads import combine, generate_streams, split_stream


def _runner(threads, *extra):
    # The small on-chip ExCache (configs/small.toml): a model that builds fast, shared with the other system tests.
    return SystemRunner(small_config([f"cpu.threads={threads}", *extra]))


def test_streams_split_and_combine():
    w = generate("uniform", seed=1, n=10)
    parts = split_stream(w, 3)
    assert [len(p) for p in parts] == [4, 3, 3]
    both, bounds = combine(parts)
    assert bounds.tolist() == [0, 4, 7, 10] and np.array_equal(both, w)
    a, b = generate_streams("uniform", 2, seed=5, n=50)
    assert np.array_equal(a, generate("uniform", seed=5, n=50)) and np.array_equal(b, generate("uniform", seed=6, n=50))
    with pytest.raises(DisaggError, match="1 to 64 threads"):
        split_stream(w, 0)


@pytest.mark.parametrize("text", ["cpu.threads=0", "cpu.threads=65"])
def test_thread_count_is_validated(text):
    with pytest.raises(DisaggError, match="cpu.threads must be from 1 to 64"):
        default_config().with_overrides([text])


@pytest.mark.parametrize("miss_path, mshrs", [("hardware", 1), ("hardware", 8), ("software", 8)],
                         ids=["blocking", "nb8", "nb8-software"])
def test_four_threads_interleave_and_are_checked(miss_path, mshrs):
    # With 8 MSHRs a hit answered behind an open miss (in request order) and an access merged into a fetch
    # are hits of the ExCache's counter whatever the driver's timing saw: the per-thread figures must add up.
    streams = generate_streams("zipfian", 4, seed=3, n=1500, think=6.0)
    runner = _runner(4, f"system.miss_path={miss_path}", f"cache.mshrs={mshrs}")
    try:
        s = runner.run(streams, check=True)
    finally:
        runner.close()
    assert s["check"]["checked"] == 6000 and not s["faults"]
    assert s["cpu"]["threads"] == 4 and len(s["threads"]) == 4
    t = s["threads"]
    assert [x["accesses"] for x in t] == [1500] * 4
    assert sum(x["hits"] for x in t) == s["processor"]["hits"]
    assert sum(x["misses"] for x in t) == s["processor"]["misses"]
    assert sum(x["think_cycles"] for x in t) == s["cpu"]["think_cycles"]
    assert sum(x["reads"] for x in t) == s["reads"] and sum(x["writes"] for x in t) == s["writes"]
    assert max(x["finish_cycle"] for x in t) <= s["cycles"]
    if mshrs > 1:   # several misses were open at once (else this case would not test the non-blocking cache)
        assert s["latency"]["misses_timed"] != s["processor"]["misses"], (s["latency"], s["processor"])


def test_per_thread_order_think_times_and_interleaving():
    streams = generate_streams("uniform", 3, seed=9, n=400, think=5.0)
    runner = _runner(3)
    try:
        runner.run(streams, check=True)
        w, res, bounds = runner.last_run
    finally:
        runner.close()
    assert res["done"].all() and (res["status"] == 0).all()
    issue = res["t_issue"].astype(np.int64)
    assert len(np.unique(issue)) == len(w)           # one request per cycle on the port
    for k in range(3):
        a, b = int(bounds[k]), int(bounds[k + 1])
        assert np.array_equal(w["vaddr"][a:b], streams[k]["vaddr"])
        gaps = np.diff(issue[a:b])
        # In order, and each access waits its own think time after the one before it was issued.
        assert (gaps >= w["think"][a + 1:b].astype(np.int64) + 1).all()
    # Interleaved: every thread issues its first access before any thread issues its last.
    firsts = [issue[int(bounds[k])] for k in range(3)]
    lasts = [issue[int(bounds[k + 1]) - 1] for k in range(3)]
    assert max(firsts) < min(lasts)


def test_a_trace_is_split_and_processes_must_live_for_the_whole_run():
    w = generate("sequential", seed=1, n=900)
    runner = _runner(3)
    try:
        s = runner.run(w, check=True)
        assert [x["accesses"] for x in s["threads"]] == [300, 300, 300]
        with pytest.raises(DisaggError, match="every process lives for the whole run"):
            runner.run(w, [Process(int(w["pid"][0]), start_at=10)])
        with pytest.raises(DisaggError, match="2 access streams for a CPU of 3 threads"):
            runner.run([w, w])
    finally:
        runner.close()


def test_one_thread_is_the_plain_cpu():
    w = generate("zipfian", seed=4, n=1200)
    out = []
    for workload in (w, [w]):    # a fresh system each time (a second run would start with a warm cache)
        runner = _runner(1)
        try:
            out.append(runner.run(workload))
        finally:
            runner.close()
    a, b = out
    assert len(a["threads"]) == 1 and a["threads"][0]["accesses"] == 1200
    assert a["cycles"] == b["cycles"] and a["latency"] == b["latency"]


def test_disagg_run_with_threads(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["run", "--quiet", "--workload", "uniform", "-p", "n=300", "--set", "cpu.threads=2",
                 *[f"--set={s}" for s in SMALL_CACHE], "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CPU threads (2)" in text
    s = json.loads(out.read_text())
    assert [t["accesses"] for t in s["threads"]] == [300, 300] and s["check"]["checked"] == 600


def test_an_empty_thread_stream_is_fine():
    w = generate("uniform", seed=2, n=200)
    runner = _runner(2)
    try:
        s = runner.run([w, empty(0)])
    finally:
        runner.close()
    assert [t["accesses"] for t in s["threads"]] == [200, 0] and s["check"]["checked"] == 200
