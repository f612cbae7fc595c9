"""Workload generators: deterministic under their seed, valid, and doing what their docs say."""

import numpy as np
import pytest

from emu.errors import DisaggError
from emu.workload_format import OP_READ, OP_WRITE, validate
from emu.workloads import generate, list_workloads, parse_params, resolve_params
from emu.workloads.structured import FIXED_ONE, power_law_graph

SMALL = {
    "default": dict(n=5000),
    "sequential": dict(n=3000, footprint=8192),
    "strided": dict(n=3000, footprint=8192, stride=1024),
    "uniform": dict(n=3000, footprint=8192, size=0),
    "zipfian": dict(n=3000, footprint=8192),
    "mix": dict(n=4000, processes=3, footprint=4096, quantum=7),
    "pointer_chase": dict(nodes=64, n=500),
    "pagerank": dict(vertices=200, iterations=2),
    "mltrain": dict(layers=3, layer_bytes=1024, steps=1),
}


def test_every_registered_workload_is_covered():
    assert set(SMALL) == set(list_workloads())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_deterministic_and_valid(name):
    a = generate(name, seed=3, **SMALL[name])
    b = generate(name, seed=3, **SMALL[name])
    c = generate(name, seed=4, **SMALL[name])
    assert len(a) > 0
    validate(a)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # Writes carry data masked to their size; reads carry none.
    assert (a["data"][a["op"] == OP_READ] == 0).all()
    assert set(np.unique(a["op"])) <= {OP_READ, OP_WRITE}


def test_default_workload_shape():
    w = generate("default")
    assert 190_000 <= len(w) <= 210_000
    assert set(np.unique(w["pid"])) == {1, 2}
    # Against the default ExCache (64 MiB in 4 KiB lines): the hot set fits, the scan overflows it.
    from emu.config import default_config
    ex = default_config().params.excache
    assert ex.line_bytes == 4096
    def lines(pid):
        return np.unique(w["vaddr"][w["pid"] == pid] >> np.uint64(12))
    hot, scan = lines(1), lines(2)
    assert len(hot) * 4096 <= ex.capacity_bytes // 16
    assert ex.capacity_bytes < (len(hot) + len(scan)) * 4096 <= 1.25 * ex.capacity_bytes
    assert len(scan) == (w["pid"] == 2).sum() == (72 << 20) // 4096        # one access per page, one pass
    assert 0.4 < (w["op"][w["pid"] == 2] == OP_WRITE).mean() < 0.6         # dirty lines to write back
    assert 0.05 < (w["op"] == OP_WRITE).mean() < 0.5


def test_sequential_and_strided_addresses():
    w = generate("sequential", n=10, footprint=32, base=4096, size=8, write_frac=0.0)
    assert w["vaddr"].tolist() == [4096 + 8 * (i % 4) for i in range(10)]
    w = generate("strided", n=6, footprint=64, stride=32, base=4096)
    assert w["vaddr"].tolist() == [4096, 4096 + 32, 4096 + 8, 4096 + 40, 4096 + 16, 4096 + 48]


def test_mixed_sizes_are_aligned_and_in_range():
    w = generate("uniform", n=5000, footprint=4096, base=8192, size=0)
    assert set(np.unique(w["size"])) == {1, 2, 4, 8}
    assert ((w["vaddr"] % w["size"]) == 0).all()
    assert w["vaddr"].min() >= 8192 and w["vaddr"].max() < 8192 + 4096


def test_zipfian_is_skewed():
    w = generate("zipfian", n=20000, footprint=64 * 1024, object_size=64, alpha=1.2)
    counts = np.sort(np.bincount((w["vaddr"] - w["vaddr"].min()) // 64))[::-1]
    assert counts[:10].sum() > 0.3 * len(w)     # the hot set dominates
    flat = generate("zipfian", n=20000, footprint=64 * 1024, object_size=64, alpha=0.0)
    flat_counts = np.sort(np.bincount((flat["vaddr"] - flat["vaddr"].min()) // 64))[::-1]
    assert flat_counts[:10].sum() < 0.02 * len(flat)


def test_write_fraction_and_think_mean():
    w = generate("uniform", n=50000, write_frac=0.25, think=10.0)
    assert abs((w["op"] == OP_WRITE).mean() - 0.25) < 0.01
    assert abs(w["think"].mean() - 10.0) < 0.3


def test_mix_interleaves_processes_in_quanta():
    w = generate("mix", n=40, processes=2, footprint=4096, quantum=5)
    assert w["pid"].tolist() == ([1] * 5 + [2] * 5) * 4


def test_pointer_chase_reads_follow_written_pointers():
    nodes = 50
    w = generate("pointer_chase", nodes=nodes, n=120, payload=0, write_frac=0.0, node_size=64)
    init, chase = w[:nodes], w[nodes:]
    assert (init["op"] == OP_WRITE).all() and (chase["op"] == OP_READ).all()
    memory = dict(zip(init["vaddr"].tolist(), init["data"].tolist()))
    hops = chase["vaddr"].tolist()
    assert all(memory[a] == b for a, b in zip(hops, hops[1:]))
    assert len(set(hops[:nodes])) == nodes      # a single cycle through every node


def _replay(w):
    """Reference memory: replay writes, return the value each read sees (0 if never written)."""
    mem, seen = {}, []
    for op, a, s, d in zip(w["op"].tolist(), w["vaddr"].tolist(), w["size"].tolist(), w["data"].tolist()):
        if op == OP_WRITE:
            mem[(a, s)] = d
        else:
            seen.append(mem.get((a, s), 0))
    return seen


def test_pagerank_computes_pagerank():
    V = 300
    w = generate("pagerank", vertices=V, avg_degree=6, iterations=30, seed=5, think=0.0)
    row_ptr, col, out_deg = power_law_graph(np.random.default_rng(5), V, 6, 0.8)
    # Float reference with the same dangling-node treatment (contribution 0 from out-degree-0 vertices).
    rank = np.full(V, 1.0 / V)
    for _ in range(30):
        contrib = np.where(out_deg > 0, rank / np.maximum(out_deg, 1), 0.0)
        sums = np.add.reduceat(np.append(contrib[col], 0.0), row_ptr[:-1]) * (np.diff(row_ptr) > 0)
        rank = 0.15 / V + 0.85 * sums
    # The last iteration's gather writes next[v] for v in order: they are the 8-byte writes just before
    # the final scatter phase (3 accesses per vertex).
    gather_writes = w[:-3 * V][(w[:-3 * V]["op"] == OP_WRITE) & (w[:-3 * V]["size"] == 8)][-V:]
    got = gather_writes["data"].astype(np.float64) / FIXED_ONE
    assert np.allclose(got, rank, rtol=1e-3, atol=1e-7)
    # Every read of row_ptr/col returns what init wrote (the structure in memory is the real graph).
    seen = _replay(w[: 2 * (V + 1) + 3 * len(col) + 2 * V + 2 * V])
    assert seen[:2] == [row_ptr[0], row_ptr[1]]


def test_mltrain_footprint_and_phases():
    w = generate("mltrain", layers=2, layer_bytes=4096, steps=1, think=0.0)
    pages = np.unique(w["vaddr"] >> np.uint64(12))
    assert len(pages) == 2 * (1 + 1 + 1)       # W, G and A of each layer (A is 1 KiB, one page)
    assert (w["op"] == OP_WRITE).sum() == 2 * (1024 // 8) + 2 * (4096 // 8) + 2 * (4096 // 8)


@pytest.mark.parametrize("bad, message", [
    (dict(name="nope"), "unknown workload 'nope'"),
    (dict(name="zipfian", foo=1), "has no parameter 'foo'"),
    (dict(name="zipfian", n=0), "parameter n must be >= 1, not 0"),
    (dict(name="zipfian", n=1.5), "parameter n must be an int, not 1.5"),
    (dict(name="zipfian", n=True), "parameter n must be an int, not True"),
    (dict(name="zipfian", alpha="x"), "parameter alpha must be a number, not 'x'"),
    (dict(name="zipfian", size=3), "parameter size must be one of"),
    (dict(name="zipfian", footprint=100), "footprint must be a multiple of 8"),
    (dict(name="zipfian", footprint=1000, object_size=64), "multiple of object_size"),
    (dict(name="uniform", base=100), "base must be a multiple of 4096"),
    (dict(name="pointer_chase", init=1), "parameter init must be a bool, not 1"),
    (dict(name="pointer_chase", node_size=16, payload=1), "node_size must hold"),
    (dict(name="zipfian", seed=-1), "seed must be a non-negative int"),
])
def test_bad_parameters_are_one_line_errors(bad, message):
    name = bad.pop("name")
    with pytest.raises(DisaggError, match=message.replace("(", r"\(")) as e:
        generate(name, **bad)
    assert "\n" not in str(e.value)


def test_parse_params():
    assert parse_params("zipfian", ["footprint=64K", "alpha=1.5", "n=0x100", "size=4"]) == \
        {"footprint": 65536, "alpha": 1.5, "n": 256, "size": 4}
    assert parse_params("pagerank", ["init=false"]) == {"init": False}
    for bad in (["footprint"], ["footprint=abc"], ["nope=1"], ["init=maybe"]):
        with pytest.raises(DisaggError):
            parse_params("pagerank" if "init" in bad[0] else "zipfian", bad)
    assert resolve_params("default")["n"] == 200_000
