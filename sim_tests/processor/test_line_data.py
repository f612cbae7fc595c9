"""LineData: (set, way, word) addressing and byte enables."""

from hw.processor.line_data import LineData
from sim_tests.processor.helpers import PARAMS, simulate


def test_line_data_addresses_and_strobes():
    dut = LineData(PARAMS)
    got = {}
    places = [(s, w, word) for s in range(PARAMS.sets) for w in range(PARAMS.ways) for word in (0, 7)]

    async def bench(ctx):
        for i, (s, w, word) in enumerate(places):
            ctx.set(dut.wr.set, s)
            ctx.set(dut.wr.way, w)
            ctx.set(dut.wr.word, word)
            ctx.set(dut.wr.data, 0x1111_0000_0000_0000 * (i % 15 + 1) + i)
            ctx.set(dut.wr.en, 0xFF)
            await ctx.tick()
        # Byte-enabled overwrite of the low two bytes of one word.
        ctx.set(dut.wr.set, 1)
        ctx.set(dut.wr.way, 2)
        ctx.set(dut.wr.word, 7)
        ctx.set(dut.wr.data, 0xFFFF_FFFF_FFFF_ABCD)
        ctx.set(dut.wr.en, 0b11)
        await ctx.tick()
        ctx.set(dut.wr.en, 0)
        for s, w, word in places:
            ctx.set(dut.rd.set, s)
            ctx.set(dut.rd.way, w)
            ctx.set(dut.rd.word, word)
            ctx.set(dut.rd.en, 1)
            await ctx.tick()
            got[s, w, word] = ctx.get(dut.rdata)
        ctx.set(dut.rd.en, 0)
        await ctx.tick()
        got["held"] = ctx.get(dut.rdata)

    simulate(dut, bench)
    for i, place in enumerate(places):
        expected = 0x1111_0000_0000_0000 * (i % 15 + 1) + i
        if place == (1, 2, 7):
            expected = (expected & ~0xFFFF) | 0xABCD
        assert got[place] == expected, place
    assert got["held"] == got[places[-1]]
