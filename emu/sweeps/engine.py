"""Run the points of a sweep on Dask (``dask.distributed``): a local cluster by default, or any scheduler.

Each point is one Dask task (:func:`run_point`) that runs one simulation in a worker process with one
thread (a simulation is single-threaded C++; one thread per worker keeps one simulation per core). The
workload is scattered once to every worker, each task carries its configuration as a plain dict, and the
model is built where the task runs, through the harness's content-keyed model cache (``build/harness``):
once per configuration and machine, shared by the workers of that machine.

Failures, as Dask handles them (no scheduling here):

* a worker that dies (killed, out of memory, a crash in the model) loses its task; the scheduler gives
  it to another worker (up to ``distributed.scheduler.allowed-failures`` times, default 3, after which
  the point is reported as failed with :class:`distributed.KilledWorker`);
* a point that fails for its own reason (an impossible configuration, a golden-model mismatch) returns
  its error as its result, is not retried, and the other points go on.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from ..errors import DisaggError

__all__ = ["Engine", "run_point", "check_address"]

# Seconds between updates of the progress bar's running count.
_POLL = 0.5


def harness_run(config, workload, check=True):
    """The default run function: :func:`emu.system.runner.run_workload` (imported on the worker)."""
    from ..system.runner import run_workload
    return run_workload(config, workload, check=check)


def run_point(config_values: dict, source: str, workload, check: bool, run_fn=None) -> dict:
    """One point, on a worker: rebuild the configuration, run, return a JSON-ready record.

    A :class:`~emu.errors.DisaggError` (which a golden-model mismatch is) is the point's own failure and
    comes back as ``{"status": "error", "error": ...}``; anything else propagates to Dask.
    """
    from ..config import SystemConfig
    from .store import jsonable
    t0 = time.monotonic()
    where = _worker_name()
    try:
        config = SystemConfig(config_values, source=source)
        stats = (run_fn or harness_run)(config, workload, check=check)
    except DisaggError as exc:
        return {"status": "error", "error": str(exc), "worker": where, "seconds": time.monotonic() - t0}
    return {"status": "ok", "stats": jsonable(stats), "worker": where, "seconds": time.monotonic() - t0}


def _worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def check_address(address):
    """A one-line error unless ``address`` looks like a Dask scheduler address."""
    if not isinstance(address, str) or not address.startswith(_SCHEMES) or not address.split("://", 1)[1]:
        raise DisaggError(f"--cluster must be a scheduler address like tcp://HOST:8786, not {address!r}")


_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")


class Engine:
    """A Dask client on a local cluster or on an existing scheduler.

    Parameters
    ----------
    cluster : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); default: start a local cluster.
    workers : int, optional
        Local cluster only: worker processes (default: one per core of this machine).
    processes : bool
        Local cluster only: workers are processes (default) or threads of this process (for run functions
        that cannot be pickled by reference; tests).
    """

    def __init__(self, cluster=None, *, workers=None, processes=True):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise DisaggError(f"dask.distributed is not installed ({exc}); pip install 'distributed'") from None
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise DisaggError(f"workers must be a positive int, not {workers!r}")
        self._cluster = None
        if cluster is not None:
            if workers is not None:
                raise DisaggError("--workers applies to the local cluster; an existing cluster has its own workers")
            check_address(cluster)
            try:
                self.client = Client(cluster, timeout="15s")
            except (OSError, TimeoutError) as exc:
                raise DisaggError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
            self.where = f"Dask scheduler {cluster}"
        else:
            n = workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                         dashboard_address=None, silence_logs=logging.ERROR, memory_limit=0)
            self.client = Client(self._cluster)
            self.where = f"local cluster of {n} worker{'s' if n != 1 else ''}"

    def close(self):
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def n_workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def run(self, workload, tasks, *, check=True, run_fn=None, on_done=None, bar=None):
        """Run ``tasks`` (``[(key, config_values, source)]``); call ``on_done(key, record)`` as each finishes.

        ``bar`` (a tqdm bar) advances per point and shows the running and finished counts. Returns when every
        point has a record (an error record for points Dask gave up on).
        """
        from distributed import wait
        if not tasks:
            return
        if self.n_workers() == 0:
            raise DisaggError(f"{self.where} has no workers")
        data = self.client.scatter(workload, broadcast=True)
        futures = {}
        for key, values, source in tasks:
            fut = self.client.submit(run_point, values, source, data, check, run_fn, key=f"disagg-point-{key}",
                                     pure=False)
            futures[fut] = key
        pending, finished, failed = set(futures), 0, 0
        shown = None
        try:
            while pending:
                try:
                    done, pending = wait(pending, timeout=_POLL, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                for fut in done:
                    rec = self._record(fut)
                    finished += 1
                    failed += rec["status"] != "ok"
                    if on_done:
                        on_done(futures[fut], rec)
                    fut.release()
                if bar is not None:
                    state = (self._running(pending), finished, failed)
                    if state != shown:
                        bar.set_postfix_str(f"running {state[0]}, finished {finished}"
                                            + (f", failed {failed}" if failed else ""), refresh=False)
                        shown = state
                    bar.update(len(done)) if done else bar.refresh()
        finally:
            if pending:
                self.client.cancel(list(pending))

    def _running(self, pending) -> int:
        if not pending:
            return 0
        keys = {f.key for f in pending}
        try:
            # A worker's "processing" set also holds the tasks queued on it: count at most its threads.
            threads = self.client.nthreads()
            return sum(min(threads.get(w, 1), sum(1 for k in ks if k in keys))
                       for w, ks in self.client.processing().items())
        except (OSError, TimeoutError):
            return 0

    @staticmethod
    def _record(fut) -> dict:
        if fut.status == "finished":
            return fut.result()
        exc = fut.exception()
        name = type(exc).__name__
        if name == "KilledWorker":
            msg = "the workers running this point died every time it was tried (distributed.KilledWorker)"
        else:
            msg = f"{name}: {exc}"
        return {"status": "error", "error": msg, "worker": None, "seconds": None}
