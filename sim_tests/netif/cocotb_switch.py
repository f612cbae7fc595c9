"""cocotb test of the Switch alone, with AXI-Stream sources and sinks on every port (idle and
backpressure on all of them): routing by destination, per-source order, drops of unroutable and
spoofed frames, counters."""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from firmware import protocol_codec as codec
from sim_tests.lib.streams import axis_sink, axis_source
from sim_tests.netif.msgs import reset

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))


def pause_gen(rng, prob):
    while True:
        yield rng.random() < prob


@cocotb.test()
async def routing(dut):
    rng = random.Random(SEED)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ids = CFG["node_ids"]
    n = len(ids)
    # The switch's tready is combinational from its arbitration state, so the falling-edge drivers
    # (sim_tests/lib/streams.py) are used rather than cocotbext-axi (see cocotb_wire.py).
    srcs = [axis_source(dut, f"s_axis__{i}", dut.clk, idle_prob=0.3, rng=random.Random(rng.random()))
            for i in range(n)]
    got = [[] for _ in range(n)]
    partial = [[] for _ in range(n)]

    def collector(o):
        def on_beat(beat):
            partial[o].append(beat)
            if beat[2]:
                got[o].append(codec.from_beats(partial[o]))
                partial[o].clear()
        return on_beat
    # The sinks deliver through their callbacks; the list only keeps them alive for the whole test.
    _sinks = [axis_sink(dut, f"m_axis__{i}", dut.clk, backpressure_prob=0.3, rng=random.Random(rng.random()),
                        callback=collector(i)) for i in range(n)]
    await reset(dut, dut.clk)
    expect = {(i, o): [] for i in range(n) for o in range(n)}
    routed = unroutable = spoofed = 0
    for k in range(CFG["n_frames"]):
        i = rng.randrange(n)
        src = ids[i] if rng.random() > 0.1 else rng.choice([x for x in range(256) if x != ids[i]])
        dst = ids[rng.randrange(n)] if rng.random() > 0.1 else rng.choice([x for x in range(256) if x not in ids])
        f = codec.Frame(dst=dst, src=src, kind=1, seq=k % 65536, length=rng.randrange(0, 65))
        f.payload = rng.randbytes(f.length)
        raw = codec.encode(f)
        if src != ids[i]:
            spoofed += 1
        elif dst not in ids:
            unroutable += 1
        else:
            routed += 1
            expect[(i, ids.index(dst))].append(raw)
        for beat in codec.to_beats(raw):
            srcs[i].send_nowait(beat)
    while not all(s.idle() for s in srcs):
        await ClockCycles(dut.clk, 100)
    await ClockCycles(dut.clk, 200)
    for o in range(n):
        # Frames from one input keep their order; inputs interleave frame by frame.
        for i in range(n):
            mine = [g for g in got[o] if codec.decode(g).src == ids[i]]
            assert mine == expect[(i, o)], f"output {o}: frames from input {i} differ"
        assert len(got[o]) == sum(len(expect[(i, o)]) for i in range(n))
    assert int(dut.frames_routed.value) == routed
    assert int(dut.dropped_unroutable.value) == unroutable
    assert int(dut.dropped_spoofed.value) == spoofed
    dut._log.info("switch: %d routed, %d unroutable, %d spoofed", routed, unroutable, spoofed)
