"""Access-by-access comparison of a run's results with the golden model of the whole system."""

from __future__ import annotations

import numpy as np

from ..errors import DisaggError
from ..models.system import ModelError
from ..workload_format import OP_READ

__all__ = ["CheckError", "check_against_golden"]


class CheckError(DisaggError):
    """The system returned something the golden model does not (a hardware or firmware bug)."""


def check_against_golden(golden, w, results, a, b):
    """Run accesses ``[a, b)`` of ``w`` on ``golden`` (an ``emu.models.system.SystemModel``) and compare status
    and read data with ``results``; raise :class:`CheckError` naming the first mismatch."""
    try:
        status, rdata = golden.run(w[a:b])
    except ModelError as exc:
        raise DisaggError(f"golden model: {exc}") from None
    got_status = results["status"][a:b]
    got_data = np.where(w["op"][a:b] == OP_READ, results["rdata"][a:b], 0)
    bad = np.flatnonzero((got_status != status) | (got_data != rdata))
    if bad.size:
        i = int(bad[0])
        row = w[a + i]
        raise CheckError(
            f"access {a + i} (pid {row['pid']}, {'write' if row['op'] else 'read'} {row['size']} bytes at "
            f"{int(row['vaddr']):#x}): the system answered status {int(got_status[i])} data {int(got_data[i]):#x}, "
            f"the golden model status {int(status[i])} data {int(rdata[i]):#x} ({bad.size} mismatches in "
            f"accesses {a}..{b - 1})")
