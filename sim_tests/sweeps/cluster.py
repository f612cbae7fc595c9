"""A real Dask cluster for tests: a scheduler and workers as separate processes on 127.0.0.1.

Started with the ``dask scheduler`` / ``dask worker`` command-line programs (as ``python -m
distributed.cli.*``, so the test's interpreter is used), with this checkout on their ``PYTHONPATH`` (the
workers "have disagg installed"). :meth:`LoopbackCluster.close` kills every process it started, and the
context manager calls it even when the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class LoopbackCluster:
    """``with LoopbackCluster(tmp_path, workers=["a", "b"]) as c:`` ... ``c.address``, ``c.kill("a")``."""

    def __init__(self, folder, workers, *, timeout=60):
        self.folder = Path(folder)
        self.timeout = timeout
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.worker_names = list(workers)
        self.address = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _spawn(self, name, args):
        log = open(self.folder / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", *args], env=self.env, cwd=self.folder,
                                            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _start(self):
        sched_file = self.folder / "scheduler.json"
        self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(sched_file)])
        deadline = time.monotonic() + self.timeout
        while not sched_file.exists() or not sched_file.read_text().strip():
            self._alive("scheduler")
            if time.monotonic() > deadline:
                raise TimeoutError("the Dask scheduler did not start")
            time.sleep(0.2)
        self.address = json.loads(sched_file.read_text())["address"]
        for name in self.worker_names:
            self._spawn(name, ["distributed.cli.dask_worker", self.address, "--name", name, "--nthreads", "1",
                               "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"])
        self.client()     # waits for the workers

    def _alive(self, name):
        code = self.procs[name].poll()
        if code is not None:
            log = (self.folder / f"{name}.log").read_text()[-2000:]
            raise RuntimeError(f"{name} exited with status {code}:\n{log}")

    def client(self):
        """A client of the cluster, once every worker has joined."""
        from distributed import Client
        if getattr(self, "_client", None) is None:
            self._client = Client(self.address, timeout="30s")
            self._client.wait_for_workers(len(self.worker_names), timeout=self.timeout)
        return self._client

    def workers(self) -> dict:
        """Worker name -> address."""
        info = self.client().scheduler_info(n_workers=-1)["workers"]
        return {w["name"]: addr for addr, w in info.items()}

    def kill(self, name):
        """SIGKILL one worker (no nanny restarts it) and wait for it."""
        self.procs[name].kill()
        self.procs[name].wait(timeout=30)

    def close(self):
        client = getattr(self, "_client", None)
        if client is not None:
            try:
                client.close(timeout=5)
            except Exception:      # the scheduler may already be gone; the processes are killed below
                pass
            self._client = None
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
