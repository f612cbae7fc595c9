"""Which accesses of a run the ExCache counted as hits: its golden model replayed in the CPU port's order.

The ExCache's ``hits`` and ``misses`` counters say how many, not which. The compiled driver times each access
(``results["missed"]``: a miss-stage strobe while the access was the oldest in flight), which is exact for the
blocking ExCache but not for the non-blocking one: with several misses open, a hit answered behind a miss (in
request order) sees the miss's strobes, and a merged access or a miss whose strobes came while an older access
was the oldest is timed as a hit. Per-thread hits and misses (``docs/system.md``, "CPU threads") therefore come
from :class:`ExCacheReplay`: ``emu.models.excache.ExCacheModel`` with the run's geometry, policy and ``mshrs``,
fed every access in the order the port took them (``t_issue``), which decides every hit, miss and victim in that
order as the RTL does (``docs/excache.md``, "Non-blocking controller"), so its per-access verdicts add up to the
hardware counters. What the model cannot know it is told:

* an access answered with a fault was refused by the memory side (or failed by firmware): its line read is
  refused with that status (a hit is never answered with a fault);
* software miss path: the ways the processor monitor chose (``ProcessorMonitor.misses``, in the order of the
  miss events);
* a process's exit flushes and invalidates its lines (``ProcessorMonitor.exit_process``).

Data is not modelled (lines read as zeros, writes change nothing but the dirty bit): only tags, valid and dirty
bits and the replacement state matter for which access hits. Left out: a refused write-back (a write into a
read-only region, which the golden check refuses to predict) counts as acknowledged here.
"""

from __future__ import annotations

import numpy as np

from ..models.excache import STATUS_OK, ExCacheModel

__all__ = ["ExCacheReplay"]


class _Backing:
    """The memory side as the replay sees it: a read is refused with the status of the access being replayed."""

    def __init__(self, line_bytes):
        self.zeros = bytes(line_bytes)
        self.status = STATUS_OK

    def read_line(self, pid, line_vaddr):
        return (STATUS_OK, self.zeros) if self.status == STATUS_OK else (self.status, None)

    def write_line(self, pid, line_vaddr, data):
        return STATUS_OK


class ExCacheReplay:
    """The ExCache of one booted system, replayed access by access (its state carries over between runs).

    Parameters
    ----------
    excache : hw.processor.excache_params.ExCacheParams
    miss_records : list, optional
        Software miss path: the processor monitor's ``misses`` (``MissRecord``, appended as it serves miss
        events); the replay takes their ways in order. None: the hardware miss path (the suggested victim).
    """

    def __init__(self, excache, miss_records=None):
        self.backing = _Backing(excache.line_bytes)
        self.records = miss_records
        self.next_record = 0
        self.model = ExCacheModel(line_bytes=excache.line_bytes, sets=excache.sets, ways=excache.ways,
                                  data_width=excache.data_width, vaddr_width=excache.vaddr_width,
                                  pid_width=excache.pid_width, policy=excache.policy, memory=self.backing,
                                  chooser=None if miss_records is None else self._choose, mshrs=excache.mshrs)

    def _choose(self, event):
        records, k = self.records, self.next_record
        line = self.model.line_bytes
        if k < len(records):
            r = records[k]
            if r.pid == event["pid"] and r.set == event["set"] and r.vaddr // line == event["vaddr"] // line:
                self.next_record = k + 1
                return None if r.failed else r.way
        # No miss event of the RTL stands for this one: the model misses again on a line whose fetch was
        # refused, where the RTL merged the access into that fetch (the refused way is the invalid one).
        return event["way"]

    def run(self, w, results, rows):
        """Replay rows ``rows`` of workload ``w`` (in that order; ``results`` of the run); return a bool array
        over ``rows``: True where the ExCache counted a hit."""
        model, backing = self.model, self.backing
        ops, pids, vaddrs = w["op"][rows].tolist(), w["pid"][rows].tolist(), w["vaddr"][rows].tolist()
        statuses = results["status"][rows].tolist()
        hit = np.zeros(len(ops), dtype=bool)
        access = model.access
        for i, (op, pid, vaddr, status) in enumerate(zip(ops, pids, vaddrs, statuses)):
            backing.status = status
            hit[i] = access(1 if op else 0, pid, vaddr)[2]
        backing.status = STATUS_OK
        return hit

    def exit_process(self, pid):
        """``pid`` exited: its lines were flushed and invalidated."""
        self.model.flush_pid(pid)
        self.model.invalidate_pid(pid)
