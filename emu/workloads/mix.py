"""Multi-process workloads: several generated streams, each with its own pid, interleaved in time slices."""

import numpy as np

__all__ = ["interleave", "mix", "default", "MIX_PATTERNS"]

#: Patterns the processes of :func:`mix` cycle through (process i runs ``MIX_PATTERNS[i % 4]``).
MIX_PATTERNS = ("zipfian", "sequential", "uniform", "strided")


def interleave(streams, quantum):
    """Merge per-process workloads round-robin, ``quantum`` accesses of each in turn.

    Within a stream the order is kept. A stream that runs out simply drops out of the rotation, as a
    finished process does.
    """
    if not streams:
        raise ValueError("interleave needs at least one stream")
    chunk = np.concatenate([np.arange(len(s)) // quantum for s in streams])
    who = np.concatenate([np.full(len(s), k) for k, s in enumerate(streams)])
    pos = np.concatenate([np.arange(len(s)) for s in streams])
    order = np.lexsort((pos, who, chunk))
    return np.concatenate(streams)[order]


def mix(rng, *, processes, n, footprint, base, quantum, write_frac, think, size):
    """``processes`` processes (pids 1..processes), process i running ``MIX_PATTERNS[i % 4]``.

    Each process gets ``n // processes`` accesses over its own ``footprint`` bytes starting at the same
    virtual ``base`` (different pids, same virtual addresses: this is what exercises the PID tags of a
    virtually-tagged cache). Processes are interleaved ``quantum`` accesses at a time.
    """
    from . import synthetic
    per = n // processes
    common = dict(n=per, footprint=footprint, base=base, size=size, write_frac=write_frac, think=think)
    streams = []
    for i in range(processes):
        pattern = MIX_PATTERNS[i % len(MIX_PATTERNS)]
        sub = np.random.default_rng(rng.integers(0, 2**63))
        if pattern == "zipfian":
            w = synthetic.zipfian(sub, object_size=64, alpha=0.99, pid=i + 1, **common)
        elif pattern == "sequential":
            w = synthetic.sequential(sub, pid=i + 1, **common)
        elif pattern == "uniform":
            w = synthetic.uniform(sub, pid=i + 1, **common)
        else:
            w = synthetic.strided(sub, stride=4096 if footprint > 4096 else 64, pid=i + 1, **common)
        streams.append(w)
    return interleave(streams, quantum)


def default(rng, *, n, think, footprint, hot):
    """The default workload: a hot set and a scan that overflows the ExCache.

    pid 1 works on a ``hot``-byte hot set (zipfian, alpha 0.99, 64-byte objects, 30 % writes); pid 2 makes
    one pass over ``footprint`` bytes at the same virtual addresses, one 8-byte access per 4 KiB page (a page
    per line of the default ExCache), half of them writes; they alternate every 64 accesses, pid 2 getting
    ``footprint / 4096`` accesses (at most half of ``n``) and pid 1 the rest. With the defaults (2 MiB hot,
    72 MiB scanned) and the default ExCache (64 MiB: 2048 sets x 8 ways x 4 KiB) the hot set stays cached
    and the scan does not fit: a run sees hits, a cold miss and a page fault per page, evictions once the
    cache is full, and dirty write-backs, with both pids in the same sets. On a small ExCache use small
    sizes (``configs/small.toml``: ``-p footprint=1048576 -p hot=65536``).
    """
    from . import synthetic
    from ._rows import DEFAULT_BASE
    a, b = (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=2))
    n_scan = min(footprint // 4096, n // 2)
    hot_set = synthetic.zipfian(a, n=n - n_scan, footprint=hot, base=DEFAULT_BASE, object_size=64, alpha=0.99,
                                size=8, write_frac=0.3, think=think, pid=1)
    scan = synthetic.strided(b, n=n_scan, footprint=footprint, base=DEFAULT_BASE, stride=4096, size=8,
                             write_frac=0.5, think=think, pid=2)
    return interleave([hot_set, scan], 64)
