"""Seeded CPU traffic for the ExCache tests, with tunable locality (so hit rates are realistic)."""

from __future__ import annotations

from dataclasses import dataclass

from emu.models.excache import OP_READ, OP_WRITE

__all__ = ["TrafficShape", "make_traffic", "fw_choose", "FAIL_PID"]

#: Software-mode tests: the firmware fails every miss of this pid (a process without an address space).
FAIL_PID = 13


@dataclass(frozen=True)
class TrafficShape:
    """Locality of generated traffic.

    hot_fraction : hot (pid, line) pairs as a fraction of the cache's lines
    homonym_prob : fraction of hot pairs reusing another hot line's vaddr under a random pid (homonyms)
    seq_prob     : probability the next access is the next word of the current line (wrapping)
    cold_prob    : probability of a line outside the hot set (one-off, usually a miss)
    write_prob   : probability an access is a write
    partial_prob : probability a write has a random (partial) strobe
    fault_prob   : probability of an access to one of the faulting lines
    pids         : process ids used (hot sets are shared, so the same vaddr appears under several pids)
    """
    hot_fraction: float = 0.5
    homonym_prob: float = 0.25
    seq_prob: float = 0.6
    cold_prob: float = 0.01
    write_prob: float = 0.3
    partial_prob: float = 0.2
    fault_prob: float = 0.0005
    pids: tuple = (1, 2, 3)


def make_traffic(params, n, rng, shape=TrafficShape(), fault_lines=()):
    """``n`` accesses ``(op, pid, vaddr, strb, wdata)`` for ``params`` (an ExCacheParams)."""
    lb, wbytes = params.line_bytes, params.word_bytes
    wpl = params.words_per_line
    line_space = params.vaddr_width - params.offset_bits
    lines = params.sets * params.ways
    pids = shape.pids
    hot = []
    for _ in range(max(1, int(lines * shape.hot_fraction))):
        if hot and rng.random() < shape.homonym_prob:
            hot.append((pids[rng.randrange(len(pids))], hot[rng.randrange(len(hot))][1]))
        else:
            hot.append((pids[rng.randrange(len(pids))], rng.getrandbits(line_space)))
    full = (1 << wbytes) - 1
    out = []
    (pid, line), word = hot[0], 0
    rand, randrange, getrandbits = rng.random, rng.randrange, rng.getrandbits
    for _ in range(n):
        r = rand()
        if r < shape.seq_prob:
            word = word + 1 if word + 1 < wpl else 0   # stay in the line (streams are cold accesses)
        elif r < shape.seq_prob + shape.fault_prob and fault_lines:
            pid, vline = fault_lines[randrange(len(fault_lines))]
            line, word = vline // lb, randrange(wpl)
        elif r < shape.seq_prob + shape.fault_prob + shape.cold_prob:
            pid, line, word = pids[randrange(len(pids))], getrandbits(line_space), randrange(wpl)
        else:
            (pid, line), word = hot[randrange(len(hot))], randrange(wpl)
        vaddr = line * lb + word * wbytes + randrange(wbytes)
        if rand() < shape.write_prob:
            strb = getrandbits(wbytes) if rand() < shape.partial_prob else full
            out.append((OP_WRITE, pid, vaddr, strb, getrandbits(8 * wbytes)))
        else:
            out.append((OP_READ, pid, vaddr, 0, 0))
    return out


def fw_choose(params, event):
    """The test firmware's victim choice in software mode (the model mirrors it).

    Fails every miss of :data:`FAIL_PID`; takes the suggested way when it is free; otherwise, for one
    tag in four, the way after the suggested one (deliberately not the hardware's choice), else the
    suggested way (so the hit rate stays that of the hardware policy).
    """
    if event["pid"] == FAIL_PID:
        return None
    tag = event["vaddr"] >> (params.offset_bits + params.index_bits)
    if event["victim_valid"] and tag % 4 == 0:
        return (event["way"] + 1) % params.ways
    return event["way"]
