"""MaintenanceWalker: flush events for the dirty lines in scope, invalidation by pid, walk timing."""

import pytest

from hw.processor.excache_layouts import MaintOp, MissKind
from hw.processor.maintenance import MaintenanceWalker
from sim_tests.processor.helpers import PARAMS, ArrayHarness, load_line, read_tags, simulate

# (set, way, tag, pid, dirty)
LINES = [(0, 0, 0x10, 1, 1), (0, 1, 0x11, 2, 1), (0, 2, 0x12, 1, 0), (3, 3, 0x13, 1, 1)]


def _walk(op, pid):
    walker = MaintenanceWalker(PARAMS)
    h = ArrayHarness(PARAMS, walker)
    log = {"events": []}

    async def bench(ctx):
        for set_, way, tag, lpid, dirty in LINES:
            await load_line(ctx, h, set_, way, tag, lpid, [0], dirty=dirty)
        ctx.set(walker.start, 1)
        ctx.set(walker.op, MaintOp.NONE)
        await ctx.tick()
        log["busy_after_none"] = ctx.get(walker.busy)
        ctx.set(walker.op, op)
        ctx.set(walker.pid, pid)
        await ctx.tick()
        ctx.set(walker.op, MaintOp.INVALIDATE_PID)   # a second command while busy is ignored
        await ctx.tick()
        ctx.set(walker.start, 0)
        ctx.set(walker.go, 1)
        await ctx.tick()
        ctx.set(walker.go, 0)
        close_in = None                               # the handler closes an event 4 cycles after it
        ctx.set(walker.flush.ready, 1)
        for cycle in range(300):
            ctx.set(walker.flush_closed, close_in == 0)
            await ctx.delay(1e-9)
            if ctx.get(walker.flush.valid):
                ev = ctx.get(walker.flush.payload)
                log["events"].append((ev.kind, ev.set, ev.way, ev.pid, ev.vaddr, ev.victim_dirty))
                close_in = 4
            done = ctx.get(walker.done)
            await ctx.tick()
            if done:
                log["cycles"] = cycle + 1
                break
            if close_in is not None:
                close_in = close_in - 1 if close_in > 0 else None
        ctx.set(walker.flush_closed, 0)
        log["busy"] = ctx.get(walker.busy)
        for set_ in (0, 3):
            await read_tags(ctx, h, set_)
            log[set_] = [ctx.get(h.tags.ways[w].valid) for w in range(PARAMS.ways)]

    simulate(h, bench)
    assert log["busy_after_none"] == 0 and log["busy"] == 0
    return log


def _vaddr(set_, tag):
    return (tag << (PARAMS.offset_bits + PARAMS.index_bits)) | (set_ << PARAMS.offset_bits)


@pytest.mark.parametrize("op,pid,expected", [
    (MaintOp.FLUSH_PID, 1, [(0, 0, 1, 0x10), (3, 3, 1, 0x13)]),
    (MaintOp.FLUSH_ALL, 9, [(0, 0, 1, 0x10), (0, 1, 2, 0x11), (3, 3, 1, 0x13)]),
])
def test_flush_offers_each_dirty_line_in_scope(op, pid, expected):
    log = _walk(op, pid)
    assert log["events"] == [(MissKind.FLUSH, s, w, p, _vaddr(s, t), 1) for s, w, p, t in expected]
    # one READ and one LOAD per set and one SCAN per way, plus FLUSH + CLOSE(4 cycles) + re-SCAN per event
    assert log["cycles"] == PARAMS.sets * (2 + PARAMS.ways) + 5 * len(expected)
    assert log[0] == [1, 1, 1, 0] and log[3] == [0, 0, 0, 1]   # flushing leaves lines valid


def test_invalidate_drops_the_pids_lines():
    log = _walk(MaintOp.INVALIDATE_PID, 1)
    assert log["events"] == []
    assert log["cycles"] == PARAMS.sets * 3                  # READ + LOAD + one SCAN per set
    assert log[0] == [0, 1, 0, 0] and log[3] == [0, 0, 0, 0]
