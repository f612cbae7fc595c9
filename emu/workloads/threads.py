"""Access streams of a CPU with several hardware threads (``cpu.threads``; docs/system.md, "CPU threads").

Each thread has its own stream of accesses with its own think times; the harness interleaves them at the
CPU port. Where the streams come from:

* a generator (``disagg run --workload``): the generator run once per thread with the same parameters and
  seed ``seed + k`` for thread ``k``, so each thread draws its own accesses (``n`` accesses each) over the
  same address space: the threads of one program sharing its data;
* one given stream (a trace, a program, a ``.npy``): split into ``threads`` consecutive parts of (nearly)
  equal length, thread ``k`` the ``k``-th part: the program's phases run concurrently, every access once.

:func:`combine` concatenates streams into one workload array and the row bounds of each thread.
"""

from __future__ import annotations

import numpy as np

from ..errors import DisaggError
from ..workload_format import WORKLOAD_DTYPE

__all__ = ["MAX_THREADS", "generate_streams", "split_stream", "combine"]

#: Most hardware threads of the CPU model.
MAX_THREADS = 64


def _check_threads(threads):
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= MAX_THREADS:
        raise DisaggError(f"the CPU model has 1 to {MAX_THREADS} threads, not {threads!r}")
    return int(threads)


def generate_streams(name, threads, *, seed=0, **params):
    """One stream per thread of generator ``name``: thread ``k`` with seed ``seed + k``."""
    from . import generate
    return [generate(name, seed=seed + k, **params) for k in range(_check_threads(threads))]


def split_stream(workload, threads):
    """``workload`` cut into ``threads`` consecutive parts (the first ones one access longer if it does not divide)."""
    threads = _check_threads(threads)
    return list(np.array_split(np.asarray(workload), threads))


def combine(streams):
    """``(workload, bounds)``: the streams one after the other, thread ``k`` in rows ``bounds[k]..bounds[k+1]``."""
    streams = list(streams)
    if not streams:
        raise DisaggError("a CPU model needs at least one thread's stream")
    for k, s in enumerate(streams):
        if not isinstance(s, np.ndarray) or s.dtype != WORKLOAD_DTYPE:
            raise DisaggError(f"the stream of thread {k} must be an array of WORKLOAD_DTYPE")
    bounds = np.concatenate(([0], np.cumsum([len(s) for s in streams]))).astype(np.uint64)
    return np.concatenate(streams), bounds
