"""LocalReadPort: an R beat is never taken before the route of its read is known.

A line longer than 256 words is read as several AR bursts and the store takes the request (the route FIFO is
written) only with its last AR; a memory that holds AR's ready low for a few cycles returns the first burst's
beats before that. Such beats must wait: taken without a route they were lost, and the victim's write-back
waited forever for the rest of its line (``nb4swaxi``, session 12).
"""

from hw.processor.excache_params import ExCacheParams
from hw.processor.local_read_port import LocalReadPort
from sim_tests.processor.helpers import simulate

PARAMS = ExCacheParams(line_bytes=4096, sets=4, ways=4, mshrs=4, line_store="axi", local_reads=4)


def test_beats_wait_for_their_route():
    dut = LocalReadPort(PARAMS)
    seen = []

    async def bench(ctx):
        ctx.set(dut.line_ready, 1)
        ctx.set(dut.req.en, 1)
        ctx.set(dut.req.line, 1)
        ctx.set(dut.req.set, 2)
        ctx.set(dut.req.way, 1)
        assert ctx.get(dut.req.ready)
        await ctx.tick()
        ctx.set(dut.req.en, 0)
        assert ctx.get(dut.store.en) and ctx.get(dut.store.line)
        # The first burst's beats are back while the store has not taken the request (its last AR is held).
        ctx.set(dut.rvalid, 1)
        ctx.set(dut.rdata, 0xABCD)
        for _ in range(4):
            assert not ctx.get(dut.rready), "an R beat taken with no route"
            assert not ctx.get(dut.line_valid) and not ctx.get(dut.word_valid)
            await ctx.tick()
        ctx.set(dut.store.ready, 1)
        await ctx.tick()
        ctx.set(dut.store.ready, 0)
        assert not ctx.get(dut.store.en)
        for _ in range(3):
            seen.append((ctx.get(dut.rready), ctx.get(dut.line_valid), ctx.get(dut.word_valid)))
            await ctx.tick()

    simulate(dut, bench)
    assert seen == [(1, 1, 0)] * 3
