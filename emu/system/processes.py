"""The processes of a run: their pids, address spaces and lifetimes within the workload."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DisaggError

__all__ = ["Process", "default_processes", "touched_regions", "as_process"]


@dataclass
class Process:
    """A process of a run.

    Parameters
    ----------
    pid : int
        The pid as written in the workload. The processor monitor allocates the real pid; the harness
        rewrites the workload's rows of this process to it (``stats["processes"]`` lists the mapping).
    regions : list of (vaddr, length[, writable]), optional
        Its address space; default: every page the workload touches with this pid, writable.
    start_at : int
        The process is created once accesses ``[0, start_at)`` completed (0: before the first access).
    exit_at : int, optional
        The process exits once accesses ``[0, exit_at)`` completed; later accesses with its pid fault.
    """
    pid: int
    regions: list = None
    start_at: int = 0
    exit_at: int = None
    real_pid: int = field(default=None, repr=False)


def touched_regions(vaddrs, page_bytes):
    """The pages ``vaddrs`` touch, as writable ``(vaddr, length, True)`` regions of consecutive pages."""
    pages = np.unique(np.asarray(vaddrs, dtype=np.uint64) // np.uint64(page_bytes)).astype(np.int64)
    if pages.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(pages) != 1)
    starts = np.concatenate(([pages[0]], pages[breaks + 1]))
    ends = np.concatenate((pages[breaks], [pages[-1]])) + 1
    return [(int(s) * page_bytes, int(e - s) * page_bytes, True) for s, e in zip(starts, ends)]


def default_processes(workload, page_bytes) -> list:
    """One process per pid of ``workload``, created at the start, mapping the pages it touches."""
    out = []
    for pid in np.unique(workload["pid"]).tolist():
        rows = workload["pid"] == pid
        out.append(Process(pid, touched_regions(workload["vaddr"][rows], page_bytes)))
    return out


def as_process(p):
    """A fresh :class:`Process` from a caller's ``Process`` (copied: a run fills in ``real_pid``) or dict."""
    if isinstance(p, Process):
        return Process(p.pid, None if p.regions is None else list(p.regions), p.start_at, p.exit_at)
    if isinstance(p, dict):
        return Process(**p)
    raise DisaggError(f"a process must be emu.system.processes.Process or a dict of its fields, not {p!r}")
