"""``disagg sweep --resume`` after an interrupted sweep runs only the points that were missing."""

from __future__ import annotations

import signal
import time

from .common import disagg, finish, records_of, rows_of, sweep_args


#: Accesses per point: long enough that the last three points cannot finish between the test seeing the first
#: point's line and its Ctrl-C being handled (with 12,000 the fresh-clone run of session 5 saw all four finish;
#: in session 8, with the harness 1.7x faster, the last two finished before the Ctrl-C of a test that waited for
#: the second point's line: it now interrupts after the first).
N = 40_000


def test_resume_recomputes_only_the_missing_points(tmp_path):
    out = tmp_path / "sweep"
    jsonl = out / "points.jsonl"
    proc = disagg(sweep_args(out, n=N, extra=["--workers", "1"]))
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
    before = {r["key"]: r for r in records_of(out)}
    assert 1 <= len(before) < 4 and all(r["status"] == "ok" for r in before.values())

    code, text = finish(disagg(sweep_args(out, n=N, extra=["--workers", "1", "--resume"])))
    assert code == 0, text
    assert f"{4 - len(before)} of 4 points on the local cluster of 1 worker ({len(before)} done before)" in text
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
