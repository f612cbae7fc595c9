"""TagLookup: a hit needs valid, the same pid and the same tag; the lowest matching way wins."""

import pytest

from hw.processor.tag_lookup import TagLookup
from sim_tests.processor.helpers import PARAMS, entry, simulate

WAYS = [entry(tag=7, pid=1, valid=0), entry(tag=7, pid=2, valid=1), entry(tag=7, pid=1, valid=1, dirty=1),
        entry(tag=9, pid=1, valid=1)]


@pytest.mark.parametrize("pid,tag,hit,way", [(1, 7, 1, 2), (2, 7, 1, 1), (1, 9, 1, 3), (3, 7, 0, 0), (1, 8, 0, 0)])
def test_tag_lookup(pid, tag, hit, way):
    dut = TagLookup(PARAMS)
    got = []

    async def bench(ctx):
        ctx.set(dut.ways, WAYS)
        ctx.set(dut.pid, pid)
        ctx.set(dut.tag, tag)
        await ctx.delay(1e-9)
        got.append((ctx.get(dut.hit), ctx.get(dut.hit_way)))

    simulate(dut, bench, clock=False)
    assert got == [(hit, way)]
