"""LineFill: beats land word by word, the tag is installed with the last one, evictions are flagged."""

import random

import pytest

from hw.processor.line_fill import LineFill
from sim_tests.processor.helpers import PARAMS, ArrayHarness, load_line, read_tags, simulate

WORDS = [0xF111_0000_0000_0000 | i for i in range(PARAMS.words_per_line)]


@pytest.mark.parametrize("replaces_valid", [False, True])
def test_fill(replaces_valid):
    fill = LineFill(PARAMS)
    h = ArrayHarness(PARAMS, fill)
    log = {"installed": []}
    rng = random.Random(int(replaces_valid))

    async def bench(ctx):
        if replaces_valid:
            await load_line(ctx, h, 2, 3, tag=0x5, pid=1, words=[0] * len(WORDS))
        await read_tags(ctx, h, 2)
        ctx.set(fill.set, 2)
        ctx.set(fill.tag, 0x99)
        ctx.set(fill.pid, 6)
        ctx.set(fill.way, 3)
        ctx.set(fill.start, 1)
        await ctx.tick()
        ctx.set(fill.start, 0)
        sent = 0
        while sent < len(WORDS):
            valid = rng.random() < 0.5
            ctx.set(fill.fill_data.valid, valid)
            ctx.set(fill.fill_data.payload, {"data": WORDS[sent], "last": 0})
            await ctx.delay(1e-9)
            if ctx.get(fill.installed.en):
                log["installed"].append((sent, ctx.get(fill.installed.set), ctx.get(fill.installed.way),
                                         ctx.get(fill.evicted), ctx.get(fill.done)))
            if valid and ctx.get(fill.fill_data.ready):
                sent += 1
            await ctx.tick()
        ctx.set(fill.fill_data.valid, 0)
        log["busy"] = ctx.get(fill.busy)
        await read_tags(ctx, h, 2)
        log["entry"] = ctx.get(h.tags.ways[3])
        for i in range(len(WORDS)):
            ctx.set(h.read_data.set, 2)
            ctx.set(h.read_data.way, 3)
            ctx.set(h.read_data.word, i)
            ctx.set(h.read_data.en, 1)
            await ctx.tick()
            log.setdefault("words", []).append(ctx.get(h.data.rdata))

    simulate(h, bench)
    assert log["installed"] == [(len(WORDS) - 1, 2, 3, int(replaces_valid), 1)]
    assert log["busy"] == 0
    e = log["entry"]
    assert (e.valid, e.dirty, e.tag, e.pid) == (1, 0, 0x99, 6)
    assert log["words"] == WORDS
