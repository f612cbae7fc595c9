"""The ``sort`` check of issue 17: a real program's lackey trace on the default system (no configuration
overrides: the 64 MiB ExCache in 4 KiB lines, line data in local memory), on the small on-chip ExCache
(configs/small.toml) and with LegoOS-style 4 KiB lines in 16 sets x 4 ways in both line stores; hits, misses,
evictions and write-backs compared with an independent cache model written here (not the golden model).

Conventions (those of ``emu.traces.lackey``): each lackey data access is split into naturally aligned pieces
of at most 8 bytes; ``M`` (modify) is a read then a write of the same piece; instruction fetches only add
think time. The ExCache is write-back and write-allocate, one pid, tags per (pid, line); ``hits`` counts the
first look-up of each access (a replay after a fill is not counted again), so hits + misses = accesses.

Slow (a quarter of a million accesses through the whole RTL system, and the default model's build).
"""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from emu.config import SMALL_CACHE, default_config
from emu.system.runner import run_workload
from emu.traces import load_trace
from emu.workload_format import OP_WRITE

TRACE = Path(__file__).parent / "data" / "sort400.lackey.xz"


def lru_cache_model(workload, *, line_bytes, sets, ways):
    """An in-order, write-back, write-allocate, true-LRU set-associative cache: its counters."""
    hits = misses = evictions = writebacks = 0
    lines = [OrderedDict() for _ in range(sets)]      # tag -> dirty, least recently used first
    line_no = (workload["vaddr"] // np.uint64(line_bytes)).astype(np.uint64)
    for pid, ln, op in zip(workload["pid"].tolist(), line_no.tolist(), workload["op"].tolist()):
        s = lines[ln % sets]
        key = (pid, ln)
        if key in s:
            hits += 1
            s.move_to_end(key)
        else:
            misses += 1
            if len(s) == ways:
                _, dirty = s.popitem(last=False)
                evictions += 1
                writebacks += dirty
            s[key] = False
        if op == OP_WRITE:
            s[key] = True
    return {"hits": hits, "misses": misses, "evictions": evictions, "writebacks": writebacks}


def test_model_on_a_known_sequence():
    from emu.workload_format import empty
    w = empty(6)
    w["pid"] = 1
    w["size"] = 8
    # 2 sets x 1 way, 64-byte lines: lines 0, 2, 0 collide in set 0; the write makes line 0 dirty.
    w["vaddr"] = [0, 128, 8, 0, 64, 128]
    w["op"] = [1, 0, 0, 0, 0, 0]
    assert lru_cache_model(w, line_bytes=64, sets=2, ways=1) == \
        {"hits": 1, "misses": 5, "evictions": 3, "writebacks": 1}


SIXTEEN_BY_FOUR = ["cache.line_bytes=4096", "cache.sets=16", "cache.ways=4"]


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [[], list(SMALL_CACHE), SIXTEEN_BY_FOUR,
                                       [*SIXTEEN_BY_FOUR, "cache.line_store=onchip"]],
                         ids=["default", "small-onchip", "4KiB-lines-16x4-axi", "4KiB-lines-16x4-onchip"])
def test_sort_trace_on_the_default_system(overrides):
    w = load_trace(TRACE)
    config = default_config().with_overrides(overrides)
    c = config.cache
    expected = lru_cache_model(w, line_bytes=c.line_bytes, sets=c.sets, ways=c.ways)
    s = run_workload(config, w, check=True)
    assert s["check"]["checked"] == len(w) and not s["faults"]
    got = {k: s["processor"][k] for k in ("hits", "misses", "evictions", "writebacks")}
    assert got == expected
    assert expected["misses"] > 0                                    # the comparison is not vacuous
    if overrides:
        # The default 64 MiB ExCache holds the whole trace (99 pages): only cold misses. The small ones evict.
        assert expected["evictions"] > 0 and expected["writebacks"] > 0
