"""LineWriteBack: READ_LINE streams the line under backpressure; MARK_CLEAN clears only the dirty bit."""

import random

from hw.processor.line_writeback import LineWriteBack
from sim_tests.processor.helpers import PARAMS, ArrayHarness, load_line, read_tags, simulate

WORDS = [0xC0DE_0000_0000_0000 | i for i in range(PARAMS.words_per_line)]


def test_read_line_and_mark_clean():
    wb = LineWriteBack(PARAMS)
    h = ArrayHarness(PARAMS, wb)
    beats, log = [], {}
    rng = random.Random(5)

    async def bench(ctx):
        await load_line(ctx, h, 3, 1, tag=0x77, pid=4, words=WORDS, dirty=1)
        await read_tags(ctx, h, 3)   # the sequencer's set: read it once, as a miss would
        ctx.set(wb.set, 3)
        ctx.set(wb.way, 1)
        ctx.set(wb.start, 1)
        await ctx.tick()
        ctx.set(wb.start, 0)
        ctx.set(wb.way, 0)          # the way is taken at start
        for cycle in range(200):
            ready = rng.random() < 0.4
            ctx.set(wb.wb_data.ready, ready)
            await ctx.delay(1e-9)
            if ready and ctx.get(wb.wb_data.valid):
                beat = ctx.get(wb.wb_data.payload)
                beats.append((beat.data, beat.last))
            if ctx.get(wb.done):
                log["done_at"] = cycle
                await ctx.tick()
                break
            await ctx.tick()
        log["busy"] = ctx.get(wb.busy)
        log["dirty_before"] = ctx.get(h.tags.ways[1].dirty)
        ctx.set(wb.way, 1)
        ctx.set(wb.clean, 1)
        await ctx.delay(1e-9)
        log["cleaned"] = ctx.get(wb.cleaned)
        await ctx.tick()
        ctx.set(wb.clean, 0)
        await read_tags(ctx, h, 3)
        log["after"] = ctx.get(h.tags.ways[1])

    simulate(h, bench)
    assert beats == [(w, i == len(WORDS) - 1) for i, w in enumerate(WORDS)]
    assert "done_at" in log and log["busy"] == 0
    assert log["dirty_before"] == 1 and log["cleaned"] == 1
    after = log["after"]
    assert (after.valid, after.dirty, after.tag, after.pid) == (1, 0, 0x77, 4)
