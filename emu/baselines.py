"""Analytic, trace-driven baselines for slowdown plots: local memory and swap-style paging.

Both run on the same workload array the disaggregated system runs, in CPU cycles at ``Timing.clock_hz``:

* **local** (the 1x reference): memory big enough for everything. Every access costs ``local_access_cycles``
  (what an ExCache *hit* costs: the ExCache is the processor's local DRAM, so "enough local memory" is an
  ExCache that never misses) plus its think time.
* **swap** (Linux swap to SSD, to a ramdisk, and InfiniSwap): local memory of the same capacity as the
  ExCache used as a page cache of 4 KiB pages with true LRU replacement, keyed by (pid, page). A hit costs
  what a local access costs; a miss on a page seen before is a page fault costing ``fault_us`` (synchronous
  page-in, including the kernel's fault and swap path); the first touch of a page is a zero-fill fault that
  the local machine takes as well, so it costs nothing extra by default (``first_touch_us``, 0); evicting a dirty
  page costs ``dirty_evict_us`` (0 by default: Linux writes swap out asynchronously, which flatters the swap
  baselines, so their distance from disagg is conservative). :func:`rtl_charged` gives the devices charged the
  way the RTL is charged: a first touch and a dirty eviction each cost a page transfer (``fault_us``), as the
  RTL's first touch is a line miss plus the memory monitor's allocation and its dirty victim is written back
  before the next fetch.

With ``Timing.threads`` > 1 the workload is the threads' streams one after the other (as ``cpu.threads``
splits one array, :func:`emu.workloads.threads.split_stream`): the local time is the longest thread's (the
threads compute in parallel); the page cache sees the streams interleaved one access each in turn. How a
fault stalls the threads is ``Timing.stalls``: ``"all"`` (default), every fault, first touch and dirty
eviction stalls all threads, one at a time, as a miss of the blocking ExCache does; ``"own"``, it stalls only
the thread whose access faulted (the others go on, several faults overlap: the non-blocking ExCache, whose
MSHRs keep one miss of each blocking thread in flight), so the time is the longest thread's own compute plus
its own faults. Neither models queueing at the device.

Linux really uses an approximation of LRU (active/inactive lists) plus read-ahead; exact LRU without
read-ahead is the textbook model. Defaults and their sources are in ``docs/timing.md``.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from .errors import DisaggError
from .workload_format import OP_WRITE, validate

__all__ = ["DEFAULT_LOCAL_ACCESS_CYCLES", "STALLS", "Timing", "SwapDevice", "SWAP_DEVICES", "rtl_charged", "local_cycles",
           "interleave_threads", "page_cache_misses", "swap_cycles", "baseline_cycles"]


def _positive(what, value, *, zero_ok=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
            or value < 0 or (value == 0 and not zero_ok):
        raise DisaggError(f"{what} must be a {'non-negative' if zero_ok else 'positive'} number, not {value!r}")


#: Whom a fault stalls (``Timing.stalls``): all threads (blocking ExCache) or its own thread (MSHRs).
STALLS = ("all", "own")

#: Local access cost when nothing better is known: the order of the RTL ExCache's hit path, in cycles.
DEFAULT_LOCAL_ACCESS_CYCLES = 4


@dataclass(frozen=True)
class SwapDevice:
    """A paging device: name, page-fault cost and dirty-eviction cost (microseconds)."""

    name: str
    fault_us: float
    dirty_evict_us: float = 0.0
    first_touch_us: float = 0.0

    def __post_init__(self):
        _positive(f"{self.name}: fault_us", self.fault_us)
        _positive(f"{self.name}: dirty_evict_us", self.dirty_evict_us, zero_ok=True)
        _positive(f"{self.name}: first_touch_us", self.first_touch_us, zero_ok=True)


#: The three swap baselines of LegoOS's figure, with the defaults of docs/timing.md.
SWAP_DEVICES = (
    SwapDevice("linux-swap-ssd", 80.0),
    SwapDevice("linux-swap-ramdisk", 5.0),
    SwapDevice("infiniswap", 30.0),
)


def rtl_charged(devices=SWAP_DEVICES):
    """``devices`` with first touches and dirty evictions charged a page transfer each (``fault_us``), the way
    the RTL charges them (a first touch is a miss plus a page allocation; a dirty victim is written back, on
    the miss path, before the fetch)."""
    from dataclasses import replace
    return tuple(replace(d, dirty_evict_us=d.fault_us, first_touch_us=d.fault_us) for d in devices)


@dataclass(frozen=True)
class Timing:
    """Clock and costs shared by the baselines (see docs/timing.md for sources).

    Parameters
    ----------
    clock_hz : float
        Clock of the simulated system; think times and RTL cycle counts are in this clock.
    local_access_cycles : int or None
        Cost of an access served by local memory (an ExCache hit). None: measured from the RTL runs of a
        sweep (their mean ExCache hit latency); functions given None use :data:`DEFAULT_LOCAL_ACCESS_CYCLES`.
    page_size : int
        Page of the swap baselines (4096 on Linux x86).
    devices : tuple of SwapDevice
    threads : int
        Hardware threads of the CPU (``cpu.threads``): the workload is their streams one after the other.
    stalls : {"all", "own"}
        Whom a fault stalls: every thread (the blocking ExCache) or the faulting thread only (the
        non-blocking ExCache); see the module docstring.
    """

    clock_hz: float = 1e9
    local_access_cycles: int = None
    page_size: int = 4096
    devices: tuple = field(default=SWAP_DEVICES)
    threads: int = 1
    stalls: str = "all"

    def __post_init__(self):
        _positive("clock_hz", self.clock_hz)
        lac = self.local_access_cycles
        if lac is not None and (isinstance(lac, bool) or not isinstance(lac, int) or lac < 0):
            raise DisaggError(f"local_access_cycles must be a non-negative int, not {self.local_access_cycles!r}")
        ps = self.page_size
        if isinstance(ps, bool) or not isinstance(ps, int) or ps < 8 or ps & (ps - 1):
            raise DisaggError(f"page_size must be a power of two >= 8, not {ps!r}")
        if not all(isinstance(d, SwapDevice) for d in self.devices):
            raise DisaggError(f"devices must be SwapDevice objects, not {self.devices!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 1 <= self.threads <= 64:
            raise DisaggError(f"threads must be an int from 1 to 64, not {self.threads!r}")
        if self.stalls not in STALLS:
            raise DisaggError(f"stalls must be one of {', '.join(STALLS)}, not {self.stalls!r}")

    @property
    def local_cycles_per_access(self):
        lac = self.local_access_cycles
        return DEFAULT_LOCAL_ACCESS_CYCLES if lac is None else lac

    def us_to_cycles(self, us):
        return us * 1e-6 * self.clock_hz


def _thread_parts(w, threads):
    from .workloads.threads import split_stream
    return split_stream(w, threads) if threads > 1 else [w]


def interleave_threads(w, threads, *, with_thread=False):
    """The threads' streams of ``w`` (one after the other) merged one access each in turn (and, with
    ``with_thread``, the thread of each merged access)."""
    if threads <= 1:
        return (w, np.zeros(len(w), dtype=np.int64)) if with_thread else w
    parts = _thread_parts(w, threads)
    order = np.concatenate([np.arange(len(p)) for p in parts]).argsort(kind="stable")
    merged = np.concatenate(parts)[order]
    if not with_thread:
        return merged
    return merged, np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])[order]


def _thread_local_cycles(w, timing):
    return [int(p["think"].astype(np.int64).sum()) + len(p) * timing.local_cycles_per_access
            for p in _thread_parts(w, timing.threads)]


def local_cycles(w, timing=None):
    """Cycles the workload takes with enough local memory: think time plus one local access each (with
    several threads, the longest thread's)."""
    timing = timing or Timing()
    return max(_thread_local_cycles(w, timing))


def page_cache_misses(w, capacity_bytes, page_size=4096, *, thread=None, threads=1):
    """Page faults and dirty evictions of an LRU page cache of ``capacity_bytes`` over ``w``.

    Consecutive accesses to the same page are collapsed first (they always hit), so the Python LRU loop
    runs once per page change.

    Parameters
    ----------
    thread : numpy.ndarray of int, optional
        The thread (0 .. ``threads`` - 1) of each access: the counts are then per thread, each fault (and
        the dirty eviction it causes) counted for the thread whose access faulted.

    Returns
    -------
    swap_ins, dirty_evictions, first_touches : int (or, with ``thread``, lists of ``threads`` ints)
        Misses on pages seen before (they must be read back from the device), dirty pages evicted, and
        misses on pages never seen before (first touches: anonymous zero-fill faults that read nothing
        from the device and that the local baseline pays too, so they cost nothing extra here).
    """
    if isinstance(capacity_bytes, bool) or not isinstance(capacity_bytes, (int, np.integer)) \
            or capacity_bytes < page_size:
        raise DisaggError(f"page cache capacity must be an int >= one page ({page_size} B), not {capacity_bytes!r}")
    pages_cap = int(capacity_bytes) // page_size
    shift = np.uint64(page_size.bit_length() - 1)
    key = (w["vaddr"] >> shift).astype(np.int64) | (w["pid"].astype(np.int64) << np.int64(48))
    n = len(key)
    per = thread is not None
    if n == 0:
        return ([0] * threads, [0] * threads, [0] * threads) if per else (0, 0, 0)
    head = np.ones(n, dtype=bool)
    head[1:] = key[1:] != key[:-1]
    run_id = np.cumsum(head) - 1
    run_write = np.zeros(int(run_id[-1]) + 1, dtype=bool)
    np.logical_or.at(run_write, run_id, w["op"] == OP_WRITE)
    # A run's owner is the thread of its first access (the one that faults, if any).
    owners = np.asarray(thread)[head].tolist() if per else [0] * int(head.sum())
    cache = OrderedDict()       # page -> dirty
    seen = set()
    counts = [[0, 0, 0] for _ in range(threads if per else 1)]   # per thread: swap-ins, dirty, first touches
    for k, wr, t in zip(key[head].tolist(), run_write.tolist(), owners):
        if k in cache:
            cache.move_to_end(k)
            if wr:
                cache[k] = True
        else:
            counts[t][0 if k in seen else 2] += 1
            seen.add(k)
            if len(cache) >= pages_cap:
                _, dirty = cache.popitem(last=False)
                counts[t][1] += dirty
            cache[k] = wr
    if per:
        return tuple([c[i] for c in counts] for i in range(3))
    return tuple(counts[0])


def _thread_misses(w, capacity_bytes, timing):
    """Per-thread (swap_ins, dirty, first_touches) lists of the interleaved threads."""
    seen, thread = interleave_threads(w, timing.threads, with_thread=True)
    return page_cache_misses(seen, capacity_bytes, timing.page_size, thread=thread, threads=timing.threads)


def swap_cycles(w, capacity_bytes, device, timing=None, *, misses=None, thread_misses=None):
    """Cycles of ``w`` on ``device`` with a page cache of ``capacity_bytes`` (``misses``, the totals, and, with
    ``Timing.stalls == "own"``, ``thread_misses``, the per-thread lists, may be precomputed)."""
    timing = timing or Timing()

    def extra(swap_ins, dirty, first):
        return (swap_ins * timing.us_to_cycles(device.fault_us) + dirty * timing.us_to_cycles(device.dirty_evict_us)
                + first * timing.us_to_cycles(device.first_touch_us))

    if timing.stalls == "own":
        per = thread_misses or _thread_misses(w, capacity_bytes, timing)
        return max(local + int(round(extra(*m))) for local, m in zip(_thread_local_cycles(w, timing), zip(*per)))
    if misses is None:
        misses = page_cache_misses(interleave_threads(w, timing.threads), capacity_bytes, timing.page_size)
    return local_cycles(w, timing) + int(round(extra(*misses)))


def baseline_cycles(w, capacities, timing=None):
    """Local and swap cycles of ``w`` for each capacity.

    Returns
    -------
    dict
        ``{"local": int, "faults": {cap: (swap_ins, dirty, first_touches)}, "<device name>": {cap: cycles}, ...}``.
    """
    timing = timing or Timing()
    validate(w, what="baseline workload")
    out = {"local": local_cycles(w, timing), "faults": {}}
    for d in timing.devices:
        out[d.name] = {}
    seen, thread = interleave_threads(w, timing.threads, with_thread=True)
    for cap in capacities:
        per = page_cache_misses(seen, cap, timing.page_size, thread=thread, threads=timing.threads)
        m = tuple(sum(x) for x in per)
        out["faults"][cap] = m
        for d in timing.devices:
            out[d.name][cap] = swap_cycles(w, cap, d, timing, misses=m, thread_misses=per)
    return out
