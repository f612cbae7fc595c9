"""Workloads with data structures laid out in memory: a linked list (pointer chasing) and PageRank on a CSR graph.

Both write their data structure first (``init``), so every later read returns a value the workload itself
wrote: the pointers a chase follows are the ``data`` of earlier writes, and PageRank's ranks are computed
for real (fixed point, 32 fractional bits) and written as such.
"""

import numpy as np

from ..workload_format import OP_READ, OP_WRITE
from ._rows import assemble, think_cycles, write_values
from .synthetic import zipf_ranks

__all__ = ["pointer_chase", "pagerank", "power_law_graph", "FIXED_ONE"]

#: 1.0 in the fixed-point format PageRank writes (32 fractional bits).
FIXED_ONE = 1 << 32


def _align(x, a=4096):
    return (x + a - 1) // a * a


def pointer_chase(rng, *, nodes, node_size, n, payload, write_frac, init, base, think, pid):
    """Follow a circular linked list of ``nodes`` nodes scattered in random order over ``nodes * node_size`` bytes.

    Node i lives at ``base + i * node_size``; its first 8 bytes hold the address of the next node. The
    list order is a random permutation, so consecutive hops land on unrelated lines (no spatial locality).
    With ``init`` the workload first writes every node's next pointer (in address order, as an allocator
    initialising the list would). Then ``n`` hops each read a next pointer at the address the previous
    read returned, followed by ``payload`` reads of the node's following words; with probability
    ``write_frac`` a hop also writes the node's last word.
    """
    addr = np.uint64(base) + np.arange(nodes, dtype=np.uint64) * np.uint64(node_size)
    order = rng.permutation(nodes)
    nxt = np.empty(nodes, dtype=np.uint64)
    nxt[order] = addr[np.roll(order, -1)]

    parts = []
    if init:
        parts.append(assemble(pid, OP_WRITE, addr, 8, nxt, 0))
    visited = order[np.arange(n) % nodes]
    per_hop = 1 + payload + 1
    hop_addr = np.empty((n, per_hop), dtype=np.uint64)
    hop_op = np.full((n, per_hop), OP_READ, dtype=np.uint8)
    hop_addr[:, 0] = addr[visited]
    for k in range(1, payload + 1):
        hop_addr[:, k] = addr[visited] + np.uint64(8 * k)
    hop_addr[:, -1] = addr[visited] + np.uint64(node_size - 8)
    hop_op[:, -1] = OP_WRITE
    keep = np.ones((n, per_hop), dtype=bool)
    keep[:, -1] = rng.random(n) < write_frac
    hop_addr, hop_op = hop_addr[keep], hop_op[keep]
    parts.append(assemble(pid, hop_op, hop_addr, 8, write_values(rng, hop_addr.shape[0]), 0))
    w = np.concatenate(parts)
    w["think"] = think_cycles(rng, len(w), think)
    return w


def power_law_graph(rng, vertices, avg_degree, alpha):
    """A directed multigraph with Zipf(``alpha``)-distributed in- and out-degrees (Chung-Lu style).

    Each of ``vertices * avg_degree`` edges picks its source and destination independently by Zipf
    popularity; popularity ranks map to vertex ids through random permutations, so hubs are scattered.
    Self loops and parallel edges are kept (they occur in real web and social graphs too).

    Returns
    -------
    row_ptr : ndarray of int64, shape (vertices + 1,)
        CSR offsets of each vertex's *incoming* edges (pull-style PageRank).
    col : ndarray of int64, shape (edges,)
        Source vertex of each incoming edge, grouped by destination.
    out_deg : ndarray of int64, shape (vertices,)
    """
    edges = vertices * avg_degree
    src = rng.permutation(vertices)[zipf_ranks(rng, edges, vertices, alpha)]
    dst = rng.permutation(vertices)[zipf_ranks(rng, edges, vertices, alpha)]
    order = np.argsort(dst, kind="stable")
    col = src[order]
    in_deg = np.bincount(dst, minlength=vertices)
    row_ptr = np.concatenate([[0], np.cumsum(in_deg)])
    return row_ptr, col, np.bincount(src, minlength=vertices)


def pagerank(rng, *, vertices, avg_degree, alpha, iterations, damping, init, base, think, pid):
    """Pull-style PageRank over a generated power-law graph stored as CSR arrays in memory.

    Memory layout (each array 4 KiB aligned, from ``base``): ``row_ptr`` u64[V+1], ``col`` u32[E],
    ``out_deg`` u32[V], ``contrib`` u64[V], ``next`` u64[V]; ranks are fixed point with 32 fractional bits.
    With ``init`` the arrays are written first (contrib = 1/V / out_deg). Each iteration then runs

    * gather, for each vertex v: read row_ptr[v], row_ptr[v+1]; for each in-edge read col[e] and
      contrib[col[e]] (the random, hub-skewed reads); write next[v] = (1-d)/V + d * sum;
    * scatter, for each vertex v: read next[v], out_deg[v]; write contrib[v] = next[v] / out_deg[v].

    The values written are the real PageRank iterates, so reads return consistent data.
    """
    V = vertices
    row_ptr, col, out_deg = power_law_graph(rng, V, avg_degree, alpha)
    E = col.shape[0]
    a_row = base
    a_col = _align(a_row + 8 * (V + 1))
    a_deg = _align(a_col + 4 * E)
    a_con = _align(a_deg + 4 * V)
    a_next = _align(a_con + 8 * V)
    vid = np.arange(V, dtype=np.uint64)

    def fixed(x):
        return np.round(x * FIXED_ONE).astype(np.uint64)

    safe_deg = np.maximum(out_deg, 1)
    contrib = fixed(np.full(V, 1.0 / V) / safe_deg)
    parts = []
    if init:
        parts += [
            assemble(pid, OP_WRITE, a_row + 8 * np.arange(V + 1, dtype=np.uint64), 8, row_ptr.astype(np.uint64), 0),
            assemble(pid, OP_WRITE, a_col + 4 * np.arange(E, dtype=np.uint64), 4, col.astype(np.uint64), 0),
            assemble(pid, OP_WRITE, a_deg + 4 * vid, 4, out_deg.astype(np.uint64), 0),
            assemble(pid, OP_WRITE, a_con + 8 * vid, 8, contrib, 0),
        ]
    deg = np.diff(row_ptr)
    length = 3 + 2 * deg
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    total = int(length.sum())
    e = np.arange(E)
    edge_pos = np.repeat(start - 2 * row_ptr[:-1], deg) + 2 + 2 * e
    for _ in range(iterations):
        sums = np.zeros(V, dtype=np.uint64)
        np.add.at(sums, np.repeat(np.arange(V), deg), contrib[col])
        nxt = fixed((1.0 - damping) / V) + fixed(damping * (sums.astype(np.float64) / FIXED_ONE))
        g_addr = np.empty(total, dtype=np.uint64)
        g_size = np.empty(total, dtype=np.uint8)
        g_op = np.zeros(total, dtype=np.uint8)
        g_data = np.zeros(total, dtype=np.uint64)
        g_addr[start] = a_row + 8 * vid
        g_addr[start + 1] = a_row + 8 * (vid + 1)
        g_size[start] = g_size[start + 1] = 8
        g_addr[edge_pos] = a_col + 4 * e.astype(np.uint64)
        g_size[edge_pos] = 4
        g_addr[edge_pos + 1] = a_con + 8 * col.astype(np.uint64)
        g_size[edge_pos + 1] = 8
        end = start + length - 1
        g_addr[end] = a_next + 8 * vid
        g_size[end] = 8
        g_op[end] = OP_WRITE
        g_data[end] = nxt
        parts.append(assemble(pid, g_op, g_addr, g_size, g_data, 0))
        contrib = (nxt // safe_deg.astype(np.uint64)).astype(np.uint64)
        s_addr = np.stack([a_next + 8 * vid, a_deg + 4 * vid, a_con + 8 * vid], axis=1).ravel()
        s_size = np.tile(np.array([8, 4, 8], dtype=np.uint8), V)
        s_op = np.tile(np.array([OP_READ, OP_READ, OP_WRITE], dtype=np.uint8), V)
        s_data = np.stack([np.zeros(V, np.uint64), np.zeros(V, np.uint64), contrib], axis=1).ravel()
        parts.append(assemble(pid, s_op, s_addr, s_size, s_data, 0))
    w = np.concatenate(parts)
    w["think"] = think_cycles(rng, len(w), think)
    return w


def _stream(start, nbytes):
    """Addresses of the 8-byte words of ``[start, start + nbytes)``."""
    return np.uint64(start) + np.arange(nbytes // 8, dtype=np.uint64) * np.uint64(8)


def _merge(a, b):
    """Interleave two address streams proportionally (both keep their order)."""
    if len(a) == 0 or len(b) == 0:
        return (a if len(b) == 0 else b), np.zeros(len(a) + len(b), bool) | (len(a) == 0)
    ka = (np.arange(len(a)) + 0.5) / len(a)
    kb = (np.arange(len(b)) + 0.5) / len(b)
    order = np.argsort(np.concatenate([ka, kb]), kind="stable")
    from_b = order >= len(a)
    return np.concatenate([a, b])[order], from_b


def mltrain(rng, *, layers, layer_bytes, steps, think, base, pid):
    """Neural-network training steps over per-layer weights, gradients and activations (TensorFlow-like).

    Layer l has weights W[l] and gradients G[l] of ``layer_bytes`` each and activations A[l] of
    ``layer_bytes / 4``, laid out one after the other (4 KiB aligned). One step is

    * forward, l = 0..L-1: stream W[l] and A[l-1] (reads), write A[l];
    * backward, l = L-1..0: stream W[l] and A[l] (reads), write G[l];
    * update, l = 0..L-1: read G[l] and W[l], write W[l] (SGD).

    All accesses are 8-byte words in order inside each tensor (dense kernels), tensors interleaved in
    proportion, which is what the memory system of a dense training step sees below the CPU caches' reuse.
    The footprint is ``layers * layer_bytes * 2.25``.
    """
    act = layer_bytes // 4
    W, G, A = [], [], []
    addr = base
    for _ in range(layers):
        for lst, size in ((W, layer_bytes), (G, layer_bytes), (A, act)):
            lst.append(addr)
            addr = _align(addr + size)
    parts_addr, parts_op = [], []

    def phase(reads, write):
        r = reads[0]
        for extra in reads[1:]:
            r, _ = _merge(r, extra)
        merged, is_w = _merge(r, write)
        parts_addr.append(merged)
        parts_op.append(np.where(is_w, OP_WRITE, OP_READ).astype(np.uint8))

    for _ in range(steps):
        for l in range(layers):
            prev = _stream(A[l - 1], act) if l else np.zeros(0, np.uint64)
            phase([_stream(W[l], layer_bytes), prev], _stream(A[l], act))
        for l in reversed(range(layers)):
            phase([_stream(W[l], layer_bytes), _stream(A[l], act)], _stream(G[l], layer_bytes))
        for l in range(layers):
            rw = _stream(W[l], layer_bytes)
            phase([_stream(G[l], layer_bytes), rw], rw)
    vaddr = np.concatenate(parts_addr)
    op = np.concatenate(parts_op)
    return assemble(pid, op, vaddr, 8, write_values(rng, len(vaddr)), think_cycles(rng, len(vaddr), think))
