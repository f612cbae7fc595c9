"""Scaling a workload's footprint and the cache sizes together.

RTL runs cannot hold LegoOS's 0.9 GB working set (the default memory component has 1 MiB of DRAM, and a
run simulates every cycle), so an experiment is run at ``1/factor`` scale: footprint / factor and every
cache size / factor. Two ways, both keep the *ratio* of cache size to footprint, which is what decides
the miss ratio of a cache with LRU-like replacement:

1. **Generated workloads** (:func:`scale_params`): the size parameters of the generator are divided by
   ``factor`` (``footprint``, ``nodes``, ``vertices``, ``layer_bytes``) and so is the number of accesses
   ``n`` (accesses per byte stay the same, so the run makes the same number of passes over its data).
   Parameters that are not sizes (skew, write fraction, think time, object size) are kept.
2. **Traces** (:func:`sample_pages`): spatially hashed sampling (as in SHARDS, Waldspurger et al., FAST'15):
   keep the accesses of the pages whose hash falls below ``1/factor``, and renumber the kept pages densely
   per process (in address order) so the footprint shrinks too. Every access of a kept page is kept, so
   locality within a page (and within a cache line) is exact; the sampled trace is a statistical 1/factor
   sample of accesses, misses and think time alike, so time ratios (slowdowns) carry over.

:func:`scale_size` divides a cache size and checks it stays a whole power of two.
"""

import numpy as np

from ..errors import DisaggError
from ..workload_format import validate

__all__ = ["SIZE_PARAMS", "COUNT_PARAMS", "scale_params", "scale_size", "sample_pages"]

#: Generator parameters that are byte sizes of the footprint, divided by the factor.
SIZE_PARAMS = ("footprint", "layer_bytes")
#: Generator parameters that are counts of footprint elements or of accesses, divided by the factor.
COUNT_PARAMS = ("n", "nodes", "vertices")


def _check_factor(factor):
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1 or factor & (factor - 1):
        raise DisaggError(f"scale factor must be a power of two >= 1, not {factor!r}")


def scale_params(name, params, factor):
    """Parameters of workload ``name`` at ``1/factor`` scale (``params`` default to the registry's).

    Every footprint size and count in :data:`SIZE_PARAMS` / :data:`COUNT_PARAMS` is divided by ``factor``
    (rounded down to a multiple of 8 for byte sizes, at least 1 for counts); the result is validated.
    """
    from . import WORKLOADS, resolve_params
    _check_factor(factor)
    full = resolve_params(name, **params)
    out = dict(full)
    for k in WORKLOADS[name].params:
        if k in SIZE_PARAMS:
            out[k] = max(8, full[k] // factor // 8 * 8)
        elif k in COUNT_PARAMS:
            out[k] = max(1, full[k] // factor)
    return resolve_params(name, **out)


def scale_size(size, factor):
    """``size / factor`` for a cache size; it must divide exactly."""
    _check_factor(factor)
    if size % factor:
        raise DisaggError(f"cache size {size} does not divide by the scale factor {factor}")
    return size // factor


def sample_pages(w, factor, *, seed=0, page_size=4096, base=0x10_0000):
    """Keep the accesses of a hashed ``1/factor`` sample of (pid, page), with pages renumbered densely.

    Parameters
    ----------
    w : ndarray of WORKLOAD_DTYPE
    factor : int
        Power of two; 1 returns a copy.
    seed : int
        Seed of the page hash (different seeds pick different samples).
    page_size : int
        Sampling granule (keep it >= the largest cache line of interest).
    base : int
        Virtual address the first kept page of each process is moved to.
    """
    validate(w, what="workload to scale")
    _check_factor(factor)
    if factor == 1:
        return w.copy()
    shift = np.uint64(page_size.bit_length() - 1)
    page = w["vaddr"] >> shift
    key = page ^ (w["pid"].astype(np.uint64) << np.uint64(40))
    # splitmix64 finaliser as the hash: cheap, well mixed, vectorized.
    with np.errstate(over="ignore"):
        h = key + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    keep = (h % np.uint64(factor)) == 0
    out = w[keep].copy()
    if len(out) == 0:
        return out
    kp = page[keep]
    pid = out["pid"].astype(np.uint64)
    # Dense renumbering per pid, in address order.
    combo = (pid << np.uint64(44)) | kp
    uniq, inv = np.unique(combo, return_inverse=True)
    first_of_pid = np.searchsorted(uniq >> np.uint64(44), uniq >> np.uint64(44), side="left")
    dense = (np.arange(len(uniq)) - first_of_pid).astype(np.uint64)
    offset = out["vaddr"] & np.uint64(page_size - 1)
    out["vaddr"] = np.uint64(base) + (dense[inv] << shift) + offset
    return validate(out, what="scaled workload")
