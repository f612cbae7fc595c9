"""The non-blocking ExCache with its lines in local memory: a way freed by a completion and refilled at once.

Regression of the ``nb4swaxi`` campaign's failure (session 12, seed 1373006429, access #6850): the last waiter of
MSHR k completes at the answer queue's head by *requesting* its word read, and k (with its way) is released in
that cycle; the read is only held in :class:`~hw.processor.local_read_port.LocalReadPort` while the store
waits for the B response of k's fill. The next miss to the set then reserves the same way, its line arrives,
and its fill's burst was taken while the read was still held, so the read returned the new line's word.
The store now takes no write that opens a burst while a read is held (``hw/processor/line_store_axi.py``).

Here every access is a miss to set 0 of a direct-mapped cache (so each one reuses the way of the one before
and waits in S1 for its MSHR to be released) and B responses come 40-60 cycles late (so the completion's read
is held over the next line's round trip). Amaranth simulator, a few seconds.
"""

from emu.models.excache import BackingMemory, ExCacheModel, OP_READ, OP_WRITE
from hw.processor.excache import ExCacheParams
from sim_tests.excache.test_excache_amaranth_sim import run_rtl


def _accesses():
    line = 0x80                      # 64 B lines, 2 sets: line i of set 0 at i * 0x80
    out = []
    for i in range(10):
        vaddr = line * i + 8 * (i % 8)
        if i % 3 == 2:               # a write now and then: the completion's write, then a dirty victim
            out.append((OP_WRITE, 1, vaddr, 0xFF, 0x1111_0000 + i))
        out.append((OP_READ, 1, vaddr, 0, 0))
    return out


def test_completion_read_not_overtaken_by_the_next_fill_of_its_way():
    params = ExCacheParams(line_bytes=64, sets=2, ways=1, mshrs=2, line_store="axi", local_reads=4)
    accesses = _accesses()
    model = ExCacheModel(line_bytes=64, sets=2, ways=1, policy=params.policy, memory=BackingMemory(64), mshrs=2)
    expected = [model.access(*a)[:2] for a in accesses]
    for seed in range(2):
        got = run_rtl(params, accesses, seed=seed, local_timing={"b_latency": (40, 60)})
        for i, (g, e) in enumerate(zip(got, expected)):
            assert g == e, f"seed {seed}: access #{i} {accesses[i]}: RTL {g}, model {e}"
