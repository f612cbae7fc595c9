"""``disagg sweep --resume`` runs only the points that were missing; Ctrl-C stops a sweep with exit status 130
and keeps the points that finished."""

from __future__ import annotations

import signal
import time

from .common import GRID, disagg, finish, records_of, rows_of, sweep_args

#: Accesses per point of the resume test.
N = 12_000
#: Accesses per point of the Ctrl-C test: long enough (about 10 s a point on the harness of session 8) that
#: the three points after the first cannot finish while the interrupt is handled. With 40,000 (about 1 s a
#: point) the fresh-clone suite of session 8 saw all four finish and the sweep exit 0, twice.
N_INTERRUPTED = 400_000


def test_resume_recomputes_only_the_missing_points(tmp_path):
    out = tmp_path / "sweep"
    # Half of the grid first (same axes, one value of cpu.max_outstanding): the same keys as the full grid's.
    half = [a if a != "cpu.max_outstanding=1,2" else "cpu.max_outstanding=1" for a in GRID]
    args = sweep_args(out, n=N, extra=["--workers", "1"])
    code, text = finish(disagg([a for a in args if a not in GRID] + half))
    assert code == 0, text
    before = {r["key"]: r for r in records_of(out)}
    assert len(before) == 2 and all(r["status"] == "ok" for r in before.values())

    code, text = finish(disagg(sweep_args(out, n=N, extra=["--workers", "1", "--resume"])))
    assert code == 0, text
    assert "2 of 4 points on the local cluster of 1 worker (2 done before)" in text
    after = {r["key"]: r for r in records_of(out)}
    assert len(after) == 4 and all(r["status"] == "ok" for r in after.values())
    for key, rec in before.items():
        assert after[key] == rec                   # kept as it was: not run again
    rows = rows_of(out)
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert len({r["cycles"] for r in rows}) == 4

    # Without --resume the folder's results are started afresh.
    code, text = finish(disagg(sweep_args(out, n=3000, extra=["--workers", "1", "--sizes", "4K"])))
    assert code == 0, text
    assert "4 of 4 points" in text and len(records_of(out)) == 4


def test_ctrl_c_stops_the_sweep_and_keeps_the_finished_points(tmp_path):
    out = tmp_path / "sweep"
    jsonl = out / "points.jsonl"
    proc = disagg(sweep_args(out, n=N_INTERRUPTED, extra=["--workers", "1"]))
    try:
        deadline = time.monotonic() + 400
        while not (jsonl.exists() and len(jsonl.read_text().splitlines()) >= 1):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the sweep finished no point in time"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)            # Ctrl-C
        code, text = finish(proc, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130, text
    assert "disagg: interrupted" in text
    kept = records_of(out)
    assert 1 <= len(kept) < 4 and all(r["status"] == "ok" for r in kept)
