"""hw.lib.counter: counting, amounts, priority of clear/load over inc, wrap-around, the registered increment
(amaranth.sim, deterministic traces and a seeded random comparison against a model)."""

import random

import pytest
from amaranth.sim import Simulator

from hw.lib.counter import Counter, CounterBank

PRIORITY_INPUTS = [  # (inc, clear, load, load_value) per cycle
    (1, 0, 0, 0), (5, 0, 0, 0), (7, 0, 1, 9), (3, 1, 1, 2), (7, 0, 0, 0), (7, 0, 0, 0), (4, 0, 0, 0), (0, 0, 0, 0),
]


def counter_model(inputs, width, registered):
    """The count after each clock edge: clear over load over inc, wrap at 2**width; a registered counter adds
    the increment of the previous cycle, which a clear or load drops."""
    value, pending, out = 0, 0, []
    for inc, clear, load, load_value in inputs:
        step = pending if registered else inc
        value = 0 if clear else load_value if load else (value + step) % (1 << width)
        pending = 0 if (clear or load) else inc
        out.append(value)
    return out


def run_counter(dut, inputs):
    trace = []

    async def bench(ctx):
        for inc, clear, load, value in inputs:
            ctx.set(dut.inc, inc)
            ctx.set(dut.clear, clear)
            ctx.set(dut.load, load)
            ctx.set(dut.load_value, value)
            await ctx.tick()
            trace.append(ctx.get(dut.value))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace


def test_counter_priority_and_wrap_unregistered():
    # 1, 6, load 9 (inc ignored), clear (load ignored), 7, 14, 18 wraps to 2, 2
    assert run_counter(Counter(4, step_width=3, registered=False), PRIORITY_INPUTS) == [1, 6, 9, 0, 7, 14, 2, 2]


def test_counter_priority_and_wrap_registered():
    # Every increment one edge later; the 5 of the cycle before the load and the 3 of the clear's cycle are
    # lost as above, so after the last increment the count is the same (2).
    assert run_counter(Counter(4, step_width=3), PRIORITY_INPUTS) == [0, 1, 9, 0, 0, 7, 14, 2]


@pytest.mark.parametrize("registered", [True, False])
def test_counter_matches_model_on_random_inputs(registered, request):
    seed = request.config.getoption("--seed") or 18
    rng = random.Random(seed)
    inputs = [(rng.randrange(8), int(rng.random() < 0.05), int(rng.random() < 0.05), rng.randrange(256))
              for _ in range(400)]
    got = run_counter(Counter(8, step_width=3, registered=registered), inputs)
    assert got == counter_model(inputs, 8, registered), f"seed {seed}"


@pytest.mark.parametrize("registered, counts", [(True, (1, 16)), (False, (2, 19))])
def test_bank_counts_each_name_and_clears_all(registered, counts):
    dut = CounterBank(["hits", "bytes"], width=16, step_widths={"bytes": 4}, registered=registered)
    got = {}

    async def bench(ctx):
        for hit, nbytes in [(1, 8), (0, 8), (1, 3)]:
            ctx.set(dut.inc.hits, hit)
            ctx.set(dut.inc.bytes, nbytes)
            await ctx.tick()
        ctx.set(dut.inc.hits, 0)
        ctx.set(dut.inc.bytes, 0)
        got["counts"] = (ctx.get(dut.count.hits), ctx.get(dut.count.bytes))
        await ctx.tick()
        got["later"] = (ctx.get(dut.count.hits), ctx.get(dut.count.bytes))
        ctx.set(dut.clear, 1)
        await ctx.tick()
        got["cleared"] = (ctx.get(dut.count.hits), ctx.get(dut.count.bytes))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == {"counts": counts, "later": (2, 19), "cleared": (0, 0)}


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Counter(0), ValueError, "width"),
    (lambda: Counter(8, step_width=9), ValueError, "step_width"),
    (lambda: Counter(True), TypeError, "width must be an integer, not True"),
    (lambda: Counter(8, registered="yes"), TypeError, "registered must be a bool, not 'yes'"),
    (lambda: CounterBank([]), TypeError, "identifiers"),
    (lambda: CounterBank(["a", "a"]), ValueError, "unique"),
    (lambda: CounterBank(["a"], step_widths={"b": 2}), ValueError, "unknown"),
    (lambda: CounterBank(["a"], registered=None), TypeError, "registered must be a bool, not None"),
])
@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_arguments_are_checked(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
