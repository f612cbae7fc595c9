"""A sweep on a separately started Dask cluster, with a worker killed mid-sweep, equals the local sweep."""

from __future__ import annotations

import time

from .cluster import LoopbackCluster
from .common import deterministic, disagg, finish, records_of, rows_of, sweep_args


def test_cluster_sweep_survives_a_dead_worker_and_matches_local(tmp_path):
    local = tmp_path / "local"
    code, out = finish(disagg(sweep_args(local, extra=["--workers", "2"])))
    assert code == 0, out
    assert "4 of 4 points on the local cluster of 2 workers" in out

    with LoopbackCluster(tmp_path, workers=["a", "b"]) as cluster:
        addr = cluster.workers()
        proc = disagg(sweep_args(tmp_path / "remote", extra=["--cluster", cluster.address]))
        try:
            # Kill worker a while it runs a point (its first one), so the point must be redone elsewhere.
            client, held, deadline = cluster.client(), [], time.monotonic() + 300
            while not held:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "worker a never got a point"
                held = [k for k in client.processing().get(addr["a"], ()) if str(k).startswith("disagg-point-")]
                time.sleep(0.1)
            time.sleep(0.5)
            held = [k for k in client.processing().get(addr["a"], ()) if str(k).startswith("disagg-point-")]
            done_before = {r["key"] for r in records_of(tmp_path / "remote")} \
                if (tmp_path / "remote" / "points.jsonl").exists() else set()
            cluster.kill("a")
            code, out = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0, out
    assert held, "worker a held no point when it was killed"
    records = {r["key"]: r for r in records_of(tmp_path / "remote")}
    assert len(records) == 4 and all(r["status"] == "ok" for r in records.values())
    for key in held:
        rec = records[key.removeprefix("disagg-point-")]
        if rec["key"] not in done_before:
            assert rec["worker"] == addr["b"], rec["worker"]      # redone on the surviving worker
    assert deterministic(rows_of(tmp_path / "remote")) == deterministic(rows_of(local))
