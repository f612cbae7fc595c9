"""cocotb test of the Switch alone, with cocotbext-axi sources and sinks on every port (idle and
backpressure on all of them): routing by destination, per-source order, drops of unroutable and
spoofed frames, counters."""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from firmware import protocol_codec as codec
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
    srcs = [AxiStreamSource(AxiStreamBus.from_prefix(dut, f"s_axis__{i}_"), dut.clk, dut.rst) for i in range(n)]
    sinks = [AxiStreamSink(AxiStreamBus.from_prefix(dut, f"m_axis__{i}_"), dut.clk, dut.rst) for i in range(n)]
    for s in srcs + sinks:
        s.set_pause_generator(pause_gen(random.Random(rng.random()), 0.3))
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
        await srcs[i].send(AxiStreamFrame(raw))
    for s in srcs:
        await s.wait()
    await ClockCycles(dut.clk, 200)
    for o in range(n):
        got = []
        while not sinks[o].empty():
            got.append(bytes(sinks[o].recv_nowait().tdata))
        # Frames from one input keep their order; inputs interleave frame by frame.
        for i in range(n):
            mine = [g for g in got if codec.decode(g).src == ids[i]]
            assert mine == expect[(i, o)], f"output {o}: frames from input {i} differ"
        assert len(got) == sum(len(expect[(i, o)]) for i in range(n))
    assert int(dut.frames_routed.value) == routed
    assert int(dut.dropped_unroutable.value) == unroutable
    assert int(dut.dropped_spoofed.value) == spoofed
    dut._log.info("switch: %d routed, %d unroutable, %d spoofed", routed, unroutable, spoofed)
