"""Replacement policies, RTL against the golden model, in Amaranth's own simulator (no Verilator build).

The Verilator configurations cover LRU, PLRU and random with ~10^5 accesses each; this cheap check adds
FIFO and non-power-of-two associativity on a small, heavily contended geometry (two sets) so each
policy's victim choice is exercised many times, with backpressure on the outputs and idle cycles on the
inputs.
"""

import random

import pytest
from amaranth.sim import Simulator

from emu.models.excache import BackingMemory, ExCacheModel
from hw.processor.excache import ExCacheParams, ExCacheTop
from hw.protocol import MsgKind, Status
from sim_tests.excache.traffic import TrafficShape, make_traffic


def run_rtl(params, accesses, seed):
    """Run ``accesses`` through ExCacheTop in Amaranth's simulator; return [(rdata, status)]."""
    dut = ExCacheTop(params)
    mem = BackingMemory(params.line_bytes)
    wb = params.word_bytes
    got = []

    async def bench(ctx):
        rng = random.Random(seed)
        queue = list(accesses)
        rx_pending, rx_beats, hdr_cur, hdr_beats, writing, beats = [], [], None, [], None, []
        for _ in range(200 * len(accesses)):
            if len(got) == len(accesses):
                return
            ctx.set(dut.cpu_resp.ready, rng.random() > 0.3)
            ctx.set(dut.net_tx.hdr.ready, rng.random() > 0.3)
            ctx.set(dut.net_tx.data.ready, rng.random() > 0.3)
            offer = bool(queue) and rng.random() > 0.2
            ctx.set(dut.cpu_req.valid, offer)
            if offer:
                op, pid, vaddr, strb, wdata = queue[0]
                ctx.set(dut.cpu_req.payload, {"op": op, "pid": pid, "vaddr": vaddr, "strb": strb, "wdata": wdata})
            if hdr_cur is None and rx_pending:
                hdr_cur, hdr_beats = rx_pending.pop(0)
            ctx.set(dut.net_rx.hdr.valid, hdr_cur is not None)
            if hdr_cur is not None:
                ctx.set(dut.net_rx.hdr.payload, hdr_cur)
            ctx.set(dut.net_rx.data.valid, bool(rx_beats))
            if rx_beats:
                ctx.set(dut.net_rx.data.payload, rx_beats[0])
            await ctx.delay(1e-9)   # sample the handshakes just before the edge
            took_req = offer and ctx.get(dut.cpu_req.ready)
            resp = ctx.get(dut.cpu_resp.payload) if ctx.get(dut.cpu_resp.valid) and ctx.get(dut.cpu_resp.ready) else None
            txh = ctx.get(dut.net_tx.hdr.payload) if ctx.get(dut.net_tx.hdr.valid) and ctx.get(dut.net_tx.hdr.ready) else None
            txd = ctx.get(dut.net_tx.data.payload) if ctx.get(dut.net_tx.data.valid) and ctx.get(dut.net_tx.data.ready) else None
            took_rxh = hdr_cur is not None and ctx.get(dut.net_rx.hdr.ready)
            took_rxd = bool(rx_beats) and ctx.get(dut.net_rx.data.ready)
            await ctx.tick()
            if took_req:
                queue.pop(0)
            if resp is not None:
                got.append((resp.rdata, resp.status.value))
            if took_rxh:
                rx_beats.extend(hdr_beats)
                hdr_cur = None
            if took_rxd:
                rx_beats.pop(0)
            if txh is not None:
                if txh.kind == MsgKind.LINE_READ:
                    status, data = mem.read_line(txh.pid, txh.vaddr)
                    n = params.words_per_line
                    line = [{"data": int.from_bytes(data[i * wb:(i + 1) * wb], "little"), "last": i == n - 1}
                            for i in range(n)] if status == 0 else []
                    rx_pending.append(({"kind": MsgKind.LINE_READ_RESP, "status": Status(status), "pid": txh.pid,
                                        "vaddr": txh.vaddr, "length": params.line_bytes}, line))
                else:
                    writing, beats = txh, []
            if txd is not None:
                beats.append(txd.data)
                if txd.last:
                    mem.write_line(writing.pid, writing.vaddr, b"".join(b.to_bytes(wb, "little") for b in beats))
                    rx_pending.append(({"kind": MsgKind.LINE_WRITE_RESP, "status": Status.OK, "pid": writing.pid,
                                        "vaddr": writing.vaddr, "length": params.line_bytes}, []))
        raise AssertionError(f"only {len(got)} of {len(accesses)} accesses answered")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("policy,ways", [("fifo", 4), ("fifo", 3), ("lru", 3), ("random", 3), ("plru", 8)])
def test_policy_matches_model(policy, ways):
    params = ExCacheParams(line_bytes=64, sets=2, ways=ways, policy=policy)
    rng = random.Random(f"{policy}{ways}")
    accesses = make_traffic(params, 300, rng, TrafficShape(hot_fraction=2.0, cold_prob=0.05, seq_prob=0.3))
    model = ExCacheModel(line_bytes=64, sets=2, ways=ways, policy=policy, memory=BackingMemory(64))
    expected = [model.access(*a)[:2] for a in accesses]
    assert model.evictions > 30, "traffic too gentle to exercise the policy"
    got = run_rtl(params, accesses, seed=len(policy) + ways)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"access #{i} {accesses[i]}: RTL {g}, model {e}"
