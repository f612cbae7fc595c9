"""hw.lib.stream_slice: the register slices against a FIFO model, cycle for cycle, with random valid/ready
(seeded; ``--seed N`` to change it), full throughput, a bundle of streams, argument checks (amaranth.sim)."""

import random

import pytest
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import Out
from amaranth.sim import Simulator

from hw.lib.stream_slice import BundleSlice, StreamSlice
from hw.protocol import MessagePort

# What each mode is, cycle for cycle: (entries, whether s.ready may use this cycle's m.ready).
MODEL = {"full": (2, False), "forward": (1, True)}


class SliceModel:
    """A FIFO that is not fall-through: ``s.ready`` while not full (or, when ``ready_through``, while the head
    leaves this cycle), ``m.valid`` while not empty; a beat taken in cycle t is offered from t + 1."""

    def __init__(self, mode):
        self.depth, self.ready_through = MODEL[mode]
        self.q = []

    def outputs(self, m_ready):
        s_ready = len(self.q) < self.depth or (self.ready_through and m_ready and bool(self.q))
        return s_ready, bool(self.q), self.q[0] if self.q else None

    def step(self, s_valid, s_payload, m_ready):
        s_ready, m_valid, _ = self.outputs(m_ready)
        if m_valid and m_ready:
            self.q.pop(0)
        if s_valid and s_ready:
            self.q.append(s_payload)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def seed_of(request, default):
    return request.config.getoption("--seed") or default


@pytest.mark.parametrize("mode", ["full", "forward"])
@pytest.mark.parametrize("p_valid, p_ready", [(0.5, 0.5), (0.9, 0.3), (0.3, 0.9), (1.0, 1.0)])
def test_slice_matches_the_model_with_random_valid_and_ready(request, mode, p_valid, p_ready):
    seed = seed_of(request, 1800)
    rng = random.Random(seed)
    dut = StreamSlice(16, mode=mode)
    model = SliceModel(mode)
    sent, received, mismatches = [], [], []

    async def bench(ctx):
        s_valid, payload, next_value = 0, 0, 1
        for cycle in range(600):
            if not s_valid and rng.random() < p_valid:   # a producer holds valid and payload until taken
                s_valid, payload, next_value = 1, next_value, (next_value * 7 + 3) & 0xFFFF
            m_ready = int(rng.random() < p_ready)
            ctx.set(dut.s.valid, s_valid)
            ctx.set(dut.s.payload, payload)
            ctx.set(dut.m.ready, m_ready)
            want = model.outputs(m_ready)
            got_ready, got_valid = ctx.get(dut.s.ready), ctx.get(dut.m.valid)
            got = (bool(got_ready), bool(got_valid), ctx.get(dut.m.payload) if got_valid else None)
            if got != want:
                mismatches.append((cycle, got, want))
            if got_valid and m_ready:
                received.append(ctx.get(dut.m.payload))
            model.step(s_valid, payload, m_ready)
            if s_valid and got_ready:
                sent.append(payload)
                s_valid = 0
            await ctx.tick()

    run(dut, bench)
    assert not mismatches, f"seed {seed}: (cycle, (s.ready, m.valid, m.payload) got, model) {mismatches[:5]}"
    assert received == sent[:len(received)] and len(sent) - len(received) <= MODEL[mode][0], f"seed {seed}"
    assert len(received) > 50, f"seed {seed}: too little traffic to say anything ({len(received)} beats)"


@pytest.mark.parametrize("mode", ["full", "forward"])
def test_full_throughput_and_one_cycle_latency(mode):
    dut = StreamSlice(8, mode=mode)
    arrivals = []

    async def bench(ctx):
        ctx.set(dut.m.ready, 1)
        ctx.set(dut.s.valid, 1)
        for cycle in range(40):
            ctx.set(dut.s.payload, cycle)
            assert ctx.get(dut.s.ready)
            if ctx.get(dut.m.valid):
                arrivals.append((cycle, ctx.get(dut.m.payload)))
            await ctx.tick()

    run(dut, bench)
    assert arrivals == [(cycle, cycle - 1) for cycle in range(1, 40)]   # one beat per cycle, one cycle late


def test_full_slice_ready_is_registered():
    """``s.ready`` of the skid buffer does not follow this cycle's ``m.ready`` (it is a flip-flop)."""
    dut = StreamSlice(8)
    seen = []

    async def bench(ctx):
        ctx.set(dut.s.valid, 1)
        for m_ready in (0, 0, 0, 1, 0, 1, 1):
            ctx.set(dut.m.ready, 0)
            before = ctx.get(dut.s.ready)
            ctx.set(dut.m.ready, m_ready)
            seen.append((before, ctx.get(dut.s.ready)))
            await ctx.tick()

    run(dut, bench)
    assert all(a == b for a, b in seen)
    assert [a for a, _ in seen] == [1, 1, 0, 0, 1, 0, 1]   # two beats held; room again after each beat leaves


class Pair(data.StructLayout):
    def __init__(self):
        super().__init__({"a": 5, "b": 11})


def test_bundle_slice_message_port_keeps_each_stream_in_order(request):
    seed = seed_of(request, 1801)
    rng = random.Random(seed)
    dut = BundleSlice(MessagePort(64))
    sent = {"hdr": [], "data": []}
    got = {"hdr": [], "data": []}

    async def bench(ctx):
        pending = {"hdr": None, "data": None}
        for _ in range(400):
            for name in ("hdr", "data"):
                s, m = getattr(dut.s, name), getattr(dut.m, name)
                if pending[name] is None and rng.random() < 0.6:
                    pending[name] = rng.getrandbits(60)
                value = pending[name]
                ctx.set(s.valid, value is not None)
                if value is not None:
                    if name == "hdr":
                        ctx.set(s.payload.vaddr, value)
                    else:
                        ctx.set(s.payload.data, value)
                ctx.set(m.ready, rng.random() < 0.5)
            for name in ("hdr", "data"):
                s, m = getattr(dut.s, name), getattr(dut.m, name)
                if ctx.get(m.valid) and ctx.get(m.ready):
                    got[name].append(ctx.get(m.payload.vaddr if name == "hdr" else m.payload.data))
                if pending[name] is not None and ctx.get(s.ready):
                    sent[name].append(pending[name])
                    pending[name] = None
            await ctx.tick()

    run(dut, bench)
    for name in ("hdr", "data"):
        assert len(got[name]) > 50 and got[name] == sent[name][:len(got[name])], f"seed {seed}: {name}"


def test_struct_payload_passes_through():
    dut = StreamSlice(Pair(), mode="forward")
    out = []

    async def bench(ctx):
        ctx.set(dut.m.ready, 1)
        ctx.set(dut.s.valid, 1)
        ctx.set(dut.s.payload.a, 21)
        ctx.set(dut.s.payload.b, 1500)
        await ctx.tick()
        ctx.set(dut.s.valid, 0)
        out.append((ctx.get(dut.m.valid), ctx.get(dut.m.payload.a), ctx.get(dut.m.payload.b)))

    run(dut, bench)
    assert out == [(1, 21, 1500)]


@pytest.mark.parametrize("make, exc, match", [
    (lambda: StreamSlice(8, mode="skid"), ValueError, "mode must be one of 'full', 'forward', not 'skid'"),
    (lambda: StreamSlice(0), TypeError, "positive width, not 0"),
    (lambda: StreamSlice("8"), TypeError, "must be a shape"),
    (lambda: StreamSlice(True), TypeError, "must be a shape"),
    (lambda: BundleSlice(42), TypeError, "signature of streams, not 42"),
    (lambda: BundleSlice(wiring.Signature({"x": Out(8)})), TypeError, "member 'x' must be Out"),
    (lambda: BundleSlice(wiring.Signature({"x": Out(stream.Signature(8, always_ready=True))})), TypeError,
     "with valid and ready"),
    (lambda: BundleSlice(MessagePort(64), mode=None), ValueError, "not None"),
])
@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_arguments_are_checked(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
