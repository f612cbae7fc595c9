"""Access-by-access comparison of a run's results with the golden model of the whole system."""

from __future__ import annotations

import numpy as np

from ..errors import DisaggError
from ..models.system import ModelError
from ..workload_format import OP_READ

__all__ = ["CheckError", "check_against_golden"]


class CheckError(DisaggError):
    """The system returned something the golden model does not (a hardware or firmware bug)."""


def check_against_golden(golden, w, results, a, b, *, order=None):
    """Run accesses ``[a, b)`` of ``w`` on ``golden`` (an ``emu.models.system.SystemModel``) and compare status
    and read data with ``results``; raise :class:`CheckError` naming the first mismatch.

    ``order`` (a permutation of the rows): the order the accesses reached the memory system (several CPU
    threads); positions ``[a, b)`` of it are checked, in that order."""
    rows = np.arange(a, b) if order is None else np.asarray(order)[a:b]
    ws, rs = w[rows], results[rows]
    try:
        status, rdata = golden.run(ws)
    except ModelError as exc:
        raise DisaggError(f"golden model: {exc}") from None
    got_status = rs["status"]
    got_data = np.where(ws["op"] == OP_READ, rs["rdata"], 0)
    bad = np.flatnonzero((got_status != status) | (got_data != rdata))
    if bad.size:
        i = int(bad[0])
        row = ws[i]
        raise CheckError(
            f"access {int(rows[i])} (pid {row['pid']}, {'write' if row['op'] else 'read'} {row['size']} bytes at "
            f"{int(row['vaddr']):#x}): the system answered status {int(got_status[i])} data {int(got_data[i]):#x}, "
            f"the golden model status {int(status[i])} data {int(rdata[i]):#x} ({bad.size} mismatches in "
            f"accesses {a}..{b - 1})")
