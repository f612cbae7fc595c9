"""ReplacementUnit: an invalid way wins, then the policy's victim; hits and fills update the state."""

import dataclasses

from hw.processor.replacement import LFSR_MASK, LFSR_SEED, init_state
from hw.processor.replacement_unit import ReplacementUnit
from sim_tests.processor.helpers import PARAMS, entry, simulate

FULL = [entry(tag=i, pid=1, valid=1) for i in range(4)]


def _run(params, steps):
    """``steps``: list of (inputs dict, name of the value to record or None) applied one per cycle."""
    dut = ReplacementUnit(params)
    got = {}

    async def bench(ctx):
        for inputs, record in steps:
            for port, value in inputs.items():
                obj = dut
                for part in port.split("."):
                    obj = getattr(obj, part)
                ctx.set(obj, value)
            await ctx.delay(1e-9)
            if record:
                got[record] = {"victim": ctx.get(dut.victim), "wr_en": ctx.get(dut.repl_wr.en),
                               "wr_set": ctx.get(dut.repl_wr.set), "wr_data": ctx.get(dut.repl_wr.data)}
            await ctx.tick()

    simulate(dut, bench)
    return got


def test_lru_victim_and_touch():
    ways = list(FULL)
    ways_one_free = FULL[:2] + [entry()] + FULL[3:]
    got = _run(PARAMS, [
        ({"ways": ways, "state": init_state(PARAMS)}, "oldest"),           # ages 0,1,2,3: way 3 is oldest
        ({"ways": ways_one_free}, "invalid"),
        ({"ways": ways, "touch.en": 1, "touch.set": 2, "touch.way": 3}, "touch"),
        ({"touch.en": 0, "installed.en": 1, "installed.way": 1}, "fill"),   # LRU ignores fills
    ])
    assert got["oldest"]["victim"] == 3
    assert got["invalid"]["victim"] == 2
    # Way 3 becomes age 0, ways 0..2 one older: ages (1, 2, 3, 0), two bits each.
    assert got["touch"] == {"victim": 3, "wr_en": 1, "wr_set": 2, "wr_data": 1 | 2 << 2 | 3 << 4 | 0 << 6}
    assert got["fill"]["wr_en"] == 0


def test_fifo_advances_on_fill_only():
    params = dataclasses.replace(PARAMS, policy="fifo")
    got = _run(params, [
        ({"ways": FULL, "state": 2, "touch.en": 1, "touch.way": 2}, "hit"),
        ({"touch.en": 0, "installed.en": 1, "installed.set": 1, "installed.way": 2}, "fill"),
        ({"state": 3, "installed.way": 3}, "wrap"),
        ({"state": 3, "installed.way": 0}, "elsewhere"),
    ])
    assert got["hit"]["victim"] == 2 and got["hit"]["wr_en"] == 0
    assert got["fill"] == {"victim": 2, "wr_en": 1, "wr_set": 1, "wr_data": 3}
    assert got["wrap"]["wr_data"] == 0
    assert got["elsewhere"]["wr_data"] == 3


def test_random_victim_follows_the_lfsr():
    params = dataclasses.replace(PARAMS, policy="random")
    got = _run(params, [({"ways": FULL}, "seed"), ({"advance": 1}, None), ({"advance": 0}, "next")])
    nxt = (LFSR_SEED >> 1) ^ LFSR_MASK if LFSR_SEED & 1 else LFSR_SEED >> 1
    assert got["seed"]["victim"] == (LFSR_SEED * 4) >> 16
    assert got["next"]["victim"] == (nxt * 4) >> 16
