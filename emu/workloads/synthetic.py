"""Synthetic access patterns: sequential scan, strided, uniform random and zipfian (hot set).

Every generator takes a numpy ``Generator`` first and keyword parameters documented in the registry
(:data:`emu.workloads.WORKLOADS`); all are vectorized and deterministic under the generator's seed.
Addresses lie in ``[base, base + footprint)``; an access of ``s`` bytes is aligned to ``s``.
"""

import numpy as np

from ._rows import aligned_offsets, assemble, pick_ops, pick_sizes, think_cycles, write_values

__all__ = ["sequential", "strided", "uniform", "zipfian", "zipf_ranks"]


def _finish(rng, pid, vaddr_slots, granule, n, size, write_frac, think):
    sizes = pick_sizes(rng, n, size)
    vaddr = aligned_offsets(rng, vaddr_slots, sizes, granule) if size == 0 else vaddr_slots
    return assemble(pid, pick_ops(rng, n, write_frac), vaddr, sizes, write_values(rng, n), think_cycles(rng, n, think))


def sequential(rng, *, n, footprint, base, size, write_frac, think, pid):
    """Scan ``footprint`` bytes front to back in ``max(size, 8)``-byte steps, wrapping around, for ``n`` accesses."""
    step = max(size, 8)
    i = np.arange(n, dtype=np.uint64)
    slots = np.uint64(base) + (i * np.uint64(step)) % np.uint64(footprint)
    return _finish(rng, pid, slots, step, n, size, write_frac, think)


def strided(rng, *, n, footprint, base, stride, size, write_frac, think, pid):
    """Walk ``footprint`` with a fixed ``stride``; each wrap-around shifts the start by 8 bytes.

    The shift makes successive passes touch the bytes between the strides (as a column-major walk over a
    row-major matrix does), so a large stride defeats spatial locality and every line is eventually visited.
    """
    i = np.arange(n, dtype=np.uint64)
    pos = i * np.uint64(stride)
    passes = pos // np.uint64(footprint)
    slots = np.uint64(base) + (pos % np.uint64(footprint) + passes * np.uint64(8)) % np.uint64(footprint)
    return _finish(rng, pid, slots, 8, n, size, write_frac, think)


def uniform(rng, *, n, footprint, base, size, write_frac, think, pid):
    """Independent uniformly random 8-byte slots in the footprint."""
    slots = np.uint64(base) + rng.integers(0, footprint // 8, size=n, dtype=np.uint64) * np.uint64(8)
    return _finish(rng, pid, slots, 8, n, size, write_frac, think)


def zipf_ranks(rng, n, items, alpha):
    """``n`` draws of ranks 0..items-1 from a bounded Zipf law, P(rank k) proportional to 1/(k+1)**alpha."""
    weights = 1.0 / np.arange(1, items + 1, dtype=np.float64) ** alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), items - 1)


def zipfian(rng, *, n, footprint, base, object_size, alpha, size, write_frac, think, pid):
    """A hot set: objects of ``object_size`` bytes drawn from a Zipf(``alpha``) popularity law.

    Popularity ranks are mapped to object slots through a random permutation, so the hot objects are
    scattered over the footprint instead of packed at its start (as a heap would place them). Inside an
    object each access hits a random aligned 8-byte word.
    """
    objects = footprint // object_size
    ranks = zipf_ranks(rng, n, objects, alpha)
    placement = rng.permutation(objects).astype(np.uint64)
    words = rng.integers(0, object_size // 8, size=n, dtype=np.uint64)
    slots = np.uint64(base) + placement[ranks] * np.uint64(object_size) + words * np.uint64(8)
    return _finish(rng, pid, slots, 8, n, size, write_frac, think)
