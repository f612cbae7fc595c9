"""The CPU cache filter against a brute-force, access-by-access reference."""

from collections import OrderedDict

import numpy as np
import pytest

from emu.errors import DisaggError
from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from emu.workloads import generate
from emu.workloads.cpu_cache import CacheLevel, CpuCaches, filter_workload


class _Level:
    def __init__(self, level):
        self.sets = [OrderedDict() for _ in range(level.sets)]   # key -> dirty, LRU first
        self.ways = level.ways

    def access(self, key, write, full_line):
        """Returns (hit, fetch, dirty victim or None)."""
        s = self.sets[key % len(self.sets)]
        victim = None
        if key in s:
            s.move_to_end(key)
            hit, fetch = True, False
        else:
            hit, fetch = False, not full_line
            if len(s) == self.ways:
                old, dirty = s.popitem(last=False)
                victim = old if dirty else None
            s[key] = False
        if write:
            s[key] = True
        return hit, fetch, victim


def reference(w, caches):
    l1, llc = _Level(caches.l1), _Level(caches.llc)
    line_shift = caches.l1.line.bit_length() - 1
    out, clock, last, values = [], 0, 0, {}
    stats = dict(l1_hits=0, l1_misses=0, llc_hits=0, llc_misses=0)

    def llc_access(key, is_wb):
        hit, fetch, victim = llc.access(key, is_wb, is_wb)
        if victim is not None:
            out.append((OP_WRITE, victim, values.get(victim, 0), 0))
        return hit, fetch

    for pid, op, a, d, t in zip(w["pid"].tolist(), w["op"].tolist(), w["vaddr"].tolist(), w["data"].tolist(),
                                w["think"].tolist()):
        key = (pid << 48) | (a >> line_shift)
        clock += t
        hit, _, victim = l1.access(key, op == OP_WRITE, False)
        if hit:
            stats["l1_hits"] += 1
            clock += caches.l1_hit_cycles
        else:
            stats["l1_misses"] += 1
            if victim is not None:
                llc_access(victim, True)
            h, fetch = llc_access(key, False)
            if h:
                stats["llc_hits"] += 1
                clock += caches.llc_hit_cycles
            else:
                stats["llc_misses"] += 1
                out.append((OP_READ, key, 0, clock - last))
                last = clock
        if op == OP_WRITE:
            values[key] = d
    return out, stats, clock, clock - last


@pytest.mark.parametrize("seed", range(6))
def test_matches_reference(seed):
    rng = np.random.default_rng(seed)
    caches = CpuCaches(CacheLevel(256, 2, 64), CacheLevel(1024, 4, 64), l1_hit_cycles=3, llc_hit_cycles=11)
    parts = [generate("mix", seed=seed, n=1500, processes=3, footprint=2048, quantum=int(rng.integers(1, 30))),
             generate("sequential", seed=seed, n=700, footprint=4096, pid=2),
             generate("pointer_chase", seed=seed, nodes=40, n=300)]
    w = np.concatenate(parts)
    f, stats = filter_workload(w, caches)
    ref, ref_stats, clock, tail = reference(w, caches)
    got = [(int(o), (int(p) << 48) | (int(a) >> 6), int(d), int(t))
           for o, p, a, d, t in zip(f["op"], f["pid"], f["vaddr"], f["data"], f["think"])]
    assert got == ref
    for k, v in ref_stats.items():
        assert stats[k] == v, k
    assert stats["cpu_cycles"] == clock and stats["tail_cycles"] == tail
    assert stats["fills"] == ref_stats["llc_misses"]
    assert (f["size"] == 8).all() and ((f["vaddr"] % 64) == 0).all()


def test_sequential_scan_fills_each_line_once():
    w = generate("sequential", n=4096, footprint=4096 * 8, write_frac=0.0, think=0.0)
    f, stats = filter_workload(w)
    assert stats["fills"] == 4096 * 8 // 64 and stats["llc_writebacks"] == 0
    assert stats["l1_hits"] == 4096 - 512


def test_empty_and_bad_geometry():
    f, stats = filter_workload(np.zeros(0, WORKLOAD_DTYPE))
    assert len(f) == 0 and stats["cpu_cycles"] == 0
    with pytest.raises(DisaggError, match="power of two"):
        CacheLevel(3000, 4, 64)
    with pytest.raises(DisaggError, match="cannot have 3 ways"):
        CacheLevel(4096, 3, 64)
    with pytest.raises(DisaggError, match="line sizes must match"):
        CpuCaches(CacheLevel(4096, 4, 64), CacheLevel(65536, 4, 128))
    with pytest.raises(DisaggError, match="at least the CPU line"):
        filter_workload(generate("uniform", n=10), excache_line=32)
