"""The workload format every part of disagg shares: a numpy structured array of accesses.

One row is one access by the CPU to the ExCache's CPU port:

========  ======  ==============================================================
field     dtype   meaning
========  ======  ==============================================================
pid       u2      process id (allocated by the processor monitor; 0 is reserved)
op        u1      :data:`OP_READ` (0) or :data:`OP_WRITE` (1)
vaddr     u8      virtual byte address, aligned to ``size``
size      u1      bytes accessed: 1, 2, 4 or 8
data      u8      value written (little-endian, low ``size`` bytes); ignored for reads
think     u4      cycles the CPU computes before issuing this access
========  ======  ==============================================================

Generators (``emu/workloads/``), trace importers and the harness all produce or consume this dtype.
"""

import numpy as np

from .errors import DisaggError

__all__ = ["WORKLOAD_DTYPE", "OP_READ", "OP_WRITE", "empty", "validate"]

OP_READ = 0
OP_WRITE = 1

WORKLOAD_DTYPE = np.dtype([
    ("pid", np.uint16),
    ("op", np.uint8),
    ("vaddr", np.uint64),
    ("size", np.uint8),
    ("data", np.uint64),
    ("think", np.uint32),
])


def empty(n):
    """A zeroed workload of ``n`` accesses."""
    return np.zeros(n, dtype=WORKLOAD_DTYPE)


def validate(w, *, what="workload", vaddr_width=48):
    """Check a workload array; raise :class:`DisaggError` naming the first bad row."""
    if not isinstance(w, np.ndarray) or w.dtype != WORKLOAD_DTYPE:
        raise DisaggError(f"{what}: expected a numpy array of WORKLOAD_DTYPE, not {getattr(w, 'dtype', type(w))!r}")
    checks = [
        (~np.isin(w["op"], (OP_READ, OP_WRITE)), "op must be 0 (read) or 1 (write)"),
        (~np.isin(w["size"], (1, 2, 4, 8)), "size must be 1, 2, 4 or 8"),
        ((w["vaddr"] % np.maximum(w["size"], 1).astype(np.uint64)) != 0, "vaddr must be aligned to size"),
        ((w["vaddr"] >> np.uint64(vaddr_width)) != 0, f"vaddr must fit in {vaddr_width} bits"),
        (w["pid"] == 0, "pid 0 is reserved"),
    ]
    for bad, message in checks:
        idx = np.flatnonzero(bad)
        if idx.size:
            raise DisaggError(f"{what}: access {int(idx[0])}: {message}")
    return w
