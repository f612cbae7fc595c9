"""Seeded rack workloads shared by the fast rack, the cocotb rack and their comparison.

Everything here depends only on a ``random.Random`` and the arguments, never on a bench, so the compiled rack
(:class:`emu.rack.bench.FastRackBench`) and the cocotb rack (:class:`emu.cosim.rack_bench.RackBench`) can be given
exactly the same accesses.
"""

from __future__ import annotations

import numpy as np

from ..workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE

__all__ = ["random_accesses", "layout_of", "per_processor", "PARITY_PROCESSES"]

#: The comparison run (``sim_tests/rack/test_fast_rack.py``): per process its replication factor; two processes
#: per processor component of a 2 x 2 rack, one of them replicated.
PARITY_PROCESSES = (1, 1, 2, 1)


def layout_of(page_bytes):
    """Two regions per process: 8 pages at page 16 and 4 pages at page 1024 (several rack regions apart)."""
    return [(16 * page_bytes, 8 * page_bytes), (1024 * page_bytes, 4 * page_bytes)]


def random_accesses(rng, pid, n, layout, *, writes=0.4, outside=0.03):
    """``n`` random accesses of ``pid`` inside ``layout`` (the first 2 KiB of each region, so lines are evicted and
    written back) and a fraction ``outside`` outside every region (PAGE_FAULT); think time 0."""
    w = np.zeros(n, dtype=WORKLOAD_DTYPE)
    for k in range(n):
        size = rng.choice((1, 2, 4, 8))
        if rng.random() < outside:
            vaddr = 0x7F_0000 + rng.randrange(0, 4096, size)
        else:
            base, length = rng.choice(layout)
            vaddr = base + rng.randrange(0, min(length, 2048) // size) * size
        op = OP_WRITE if rng.random() < writes else OP_READ
        w[k] = (pid, op, vaddr, size, rng.getrandbits(8 * size) if op == OP_WRITE else 0, 0)
    return w


def per_processor(rng, node_of, pids, layouts, n_per_process, processor_nodes, **kw):
    """One workload per processor component: the accesses of its processes, shuffled together."""
    out = []
    for node in processor_nodes:
        own = [pid for pid in pids if node_of(pid) == node]
        parts = [random_accesses(rng, pid, n_per_process, layouts[pid], **kw) for pid in own]
        w = np.concatenate(parts) if parts else np.zeros(0, dtype=WORKLOAD_DTYPE)
        order = list(range(len(w)))
        rng.shuffle(order)         # (shuffling the array itself would swap views of its rows)
        out.append(w[order])
    return out
