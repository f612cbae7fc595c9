"""A whole sweep: the grid, the points not yet done, the Dask run, the rows."""

from __future__ import annotations

import sys

from ..baselines import Timing
from ..errors import DisaggError
from .engine import Engine
from .grid import grid, point_config
from .rows import build_rows
from .store import ResultStore, point_key, workload_digest

__all__ = ["SweepResult", "run_sweep"]


class SweepResult(list):
    """The rows of a sweep (a list of dicts, in grid order), with :attr:`timing` and run counts."""

    def __init__(self, rows, timing, *, ran, resumed, failed, where):
        super().__init__(rows)
        self.timing, self.ran, self.resumed, self.failed, self.where = timing, ran, resumed, failed, where


def run_sweep(workload, axes, *, base_config=None, out=None, resume=False, cluster=None, workers=None,
              timing=None, check=True, progress=True, run_fn=None, processes=True, log=None) -> SweepResult:
    """Run ``workload`` at every point of the grid of ``axes``; return the rows.

    Parameters
    ----------
    workload : ndarray of WORKLOAD_DTYPE
    axes : list of Axis
        The grid (see :func:`emu.sweeps.grid.grid`); the first axis varies slowest.
    base_config : SystemConfig, optional
        What the points modify (default: the built-in configuration).
    out : path, optional
        Folder of ``points.jsonl`` (results written as each point finishes); None keeps them in memory.
    resume : bool
        Skip the points already in ``out/points.jsonl`` with the same inputs.
    cluster, workers, processes :
        See :class:`emu.sweeps.engine.Engine`.
    timing : Timing, optional
        Clock and baseline costs; ``local_access_cycles=None`` (default) uses the measured mean hit latency.
    run_fn : callable, optional
        ``run_fn(config, workload, check=...) -> stats`` (default: the harness); picklable by reference when
        the workers are processes.
    """
    from ..config import SystemConfig
    from ..workload_format import validate
    validate(workload, what="sweep workload")
    timing = timing or Timing()
    base_config = base_config if base_config is not None else SystemConfig()
    points = grid(axes)
    configs, records, errors = [], [None] * len(points), 0
    for i, p in enumerate(points):
        try:
            configs.append(point_config(base_config, p))
        except DisaggError as exc:
            configs.append(None)
            records[i] = {"status": "error", "error": str(exc), "point": p.label()}
            errors += 1
    if errors == len(points):
        first = f"point {points[0].label()}: {records[0]['error']}"
        raise DisaggError(first if len(points) == 1 else f"every point of the sweep is impossible; {first}")
    digest = workload_digest(workload)
    fn_name = "harness" if run_fn is None else f"{run_fn.__module__}.{run_fn.__qualname__}"
    keys = [point_key(c.to_dict(), digest, check, fn_name) if c is not None else None for c in configs]
    if len(set(k for k in keys if k)) != sum(1 for k in keys if k):
        raise DisaggError("two points of the sweep are the same configuration")
    store = ResultStore(out, resume=resume) if out is not None else None
    index = {k: i for i, k in enumerate(keys) if k}
    resumed = 0
    if store is not None:
        for k, rec in store.done.items():
            if k in index:
                records[index[k]] = rec
                resumed += 1
    todo = [(k, configs[i].to_dict(), configs[i].source) for i, k in enumerate(keys) if k and records[i] is None]

    def on_done(key, rec):
        rec = dict(rec, key=key, point=points[index[key]].label())
        records[index[key]] = rec
        if store is not None:
            store.add(rec)
        if rec["status"] != "ok" and log:
            log(f"point {rec['point']} failed: {rec['error']}")

    where, bar, engine = "nothing to run", None, None
    try:
        if todo:
            engine = Engine(cluster, workers=workers, processes=processes)
            where = engine.where
            if log:
                log(f"sweep: {len(todo)} of {len(points)} points on the {where}"
                    + (f" ({resumed} done before)" if resumed else ""))
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point",
                           file=sys.stderr)
            engine.run(workload, todo, check=check, run_fn=run_fn, on_done=on_done, bar=bar)
    finally:
        if bar is not None:
            bar.close()
        if engine is not None:
            engine.close()
        if store is not None:
            store.close()
    rows, timing = build_rows(workload, points, configs, records, timing)
    failed = sum(1 for r in records if r["status"] != "ok")
    return SweepResult(rows, timing, ran=len(todo), resumed=resumed, failed=failed, where=where)
