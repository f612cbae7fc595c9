"""AxiLineStore (non-blocking controller, ``mshrs`` > 1): a held read is not overtaken by a write opening a burst.

A read held on ``rd`` was requested before any write the store has not taken yet, and may be of the way such a
write fills (a completion's read releases its MSHR; the next miss of the set may reserve the same way and
receive its line while the read waits for a B response). The beats of a burst already open are still taken:
the B response the read waits for needs them.
"""

from hw.processor.excache_params import ExCacheParams
from hw.processor.line_store_axi import AxiLineStore
from sim_tests.processor.helpers import simulate

PARAMS = ExCacheParams(line_bytes=64, sets=4, ways=2, mshrs=2, line_store="axi")


def test_held_read_before_a_burst_after_an_open_burst():
    dut = AxiLineStore(PARAMS)
    axi, wr, rd = dut.axi, dut.wr, dut.rd
    log = []

    def offer_line_word(ctx, set_, way, word):
        ctx.set(wr.set, set_)
        ctx.set(wr.way, way)
        ctx.set(wr.word, word)
        ctx.set(wr.line, 1)
        ctx.set(wr.data, 0x100 * set_ + word)
        ctx.set(wr.en, 0xFF)

    async def bench(ctx):
        ctx.set(axi.awready, 1)
        ctx.set(axi.wready, 1)
        ctx.set(dut.rready, 1)
        # A fill of (set 0, way 1) opens its burst with word 0.
        offer_line_word(ctx, 0, 1, 0)
        assert ctx.get(wr.ready)
        await ctx.tick()
        # A read of (set 1, way 0) is held from now on; AR stays low (the burst is in flight).
        ctx.set(rd.set, 1)
        ctx.set(rd.way, 0)
        ctx.set(rd.word, 3)
        ctx.set(rd.en, 1)
        for word in range(1, 8):          # the open burst's beats are still taken
            offer_line_word(ctx, 0, 1, word)
            assert ctx.get(wr.ready), f"beat {word} of the open burst refused"
            assert not ctx.get(axi.arvalid)
            await ctx.tick()
        # The next fill, into the held read's way, would open a burst: refused while the read is held, through
        # the B response and until AR is taken.
        offer_line_word(ctx, 1, 0, 0)
        for _ in range(3):
            assert not ctx.get(wr.ready), "a burst opened before the held read"
            await ctx.tick()
        ctx.set(axi.bvalid, 1)
        await ctx.tick()
        ctx.set(axi.bvalid, 0)
        assert ctx.get(axi.arvalid) and not ctx.get(wr.ready)
        ctx.set(axi.arready, 1)
        assert ctx.get(rd.ready)
        log.append(("ar", ctx.get(axi.araddr), ctx.get(axi.arlen)))
        await ctx.tick()
        ctx.set(rd.en, 0)
        ctx.set(axi.arready, 0)
        assert not ctx.get(wr.ready), "a write taken before the read's data came back"
        ctx.set(axi.rvalid, 1)
        ctx.set(axi.rlast, 1)
        await ctx.tick()
        ctx.set(axi.rvalid, 0)
        assert ctx.get(wr.ready), "the fill's burst still refused once the read is done"
        await ctx.tick()
        ctx.set(wr.en, 0)
        log.append(("aw", ctx.get(axi.awvalid), ctx.get(axi.awaddr), ctx.get(axi.awlen)))

    simulate(dut, bench)
    line_bytes, ways = PARAMS.line_bytes, PARAMS.ways
    assert log == [("ar", (1 * ways + 0) * line_bytes + 3 * 8, 0), ("aw", 1, (1 * ways + 0) * line_bytes, 7)]
