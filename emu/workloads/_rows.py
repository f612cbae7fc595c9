"""Helpers shared by the workload generators: assembling rows, think time, write data, access sizes."""

import numpy as np

from ..workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE

__all__ = ["DEFAULT_BASE", "assemble", "think_cycles", "write_values", "pick_sizes", "pick_ops", "aligned_offsets"]

#: Default virtual base address of a generated region: 1 MiB, above the customary unmapped low pages and
#: small enough for any virtual address width the system is built with (>= 21 bits).
DEFAULT_BASE = 0x10_0000

_SIZES = np.array([1, 2, 4, 8], dtype=np.uint8)


def assemble(pid, op, vaddr, size, data, think):
    """Build a workload array from columns (scalars broadcast).

    Parameters
    ----------
    pid, op, vaddr, size, data, think : array_like or int
        The columns of :data:`emu.workload_format.WORKLOAD_DTYPE`; ``data`` is masked to the low ``size`` bytes.
    """
    vaddr = np.asarray(vaddr, dtype=np.uint64)
    n = vaddr.shape[0]
    w = np.zeros(n, dtype=WORKLOAD_DTYPE)
    w["pid"] = pid
    w["op"] = op
    w["vaddr"] = vaddr
    w["size"] = size
    w["think"] = think
    data = np.broadcast_to(np.asarray(data, dtype=np.uint64), (n,))
    bits = w["size"].astype(np.uint64) * np.uint64(8)
    # (1 << 64) overflows, so build the mask as ~0 >> (64 - bits).
    mask = np.uint64(0xFFFF_FFFF_FFFF_FFFF) >> (np.uint64(64) - bits)
    w["data"] = np.where(w["op"] == OP_WRITE, data & mask, 0)
    return w


def think_cycles(rng, n, mean):
    """Per-access think time: geometric with the given mean (``mean`` = 0 gives all zeros).

    A geometric distribution is the discrete analogue of exponential inter-arrival times: the CPU issues a
    memory access after each non-memory instruction with a fixed probability.
    """
    if mean <= 0:
        return np.zeros(n, dtype=np.uint32)
    t = rng.geometric(1.0 / (mean + 1.0), size=n) - 1
    return np.minimum(t, np.iinfo(np.uint32).max).astype(np.uint32)


def write_values(rng, n):
    """Random 64-bit values for writes (masked to the access size by :func:`assemble`)."""
    return rng.integers(0, 2**64, size=n, dtype=np.uint64)


def pick_sizes(rng, n, size):
    """Access sizes: ``size`` in 1/2/4/8 for all accesses, or 0 for a uniform mix of 1, 2, 4 and 8."""
    if size == 0:
        return _SIZES[rng.integers(0, 4, size=n)]
    return np.full(n, size, dtype=np.uint8)


def pick_ops(rng, n, write_frac):
    """Read/write ops with a fraction ``write_frac`` of writes (Bernoulli per access)."""
    if write_frac <= 0:
        return np.full(n, OP_READ, dtype=np.uint8)
    return np.where(rng.random(n) < write_frac, OP_WRITE, OP_READ).astype(np.uint8)


def aligned_offsets(rng, offsets, sizes, granule):
    """Place an access of ``sizes`` bytes inside each ``granule``-byte slot starting at ``offsets``.

    Chooses a random size-aligned position within the slot, so the access never crosses the slot (nor a
    cache line, since slots are powers of two no larger than... a line or a multiple of it).
    """
    sizes64 = sizes.astype(np.uint64)
    slots = np.uint64(granule) // sizes64
    pos = (rng.random(offsets.shape[0]) * slots).astype(np.uint64)
    return offsets.astype(np.uint64) + pos * sizes64
