"""Replacement policies and line stores, RTL against the golden model, in Amaranth's own simulator (no build).

The Verilator configurations cover LRU, PLRU and random with ~10^5 accesses each; this cheap check adds
FIFO and non-power-of-two associativity on a small, heavily contended geometry (two sets) so each
policy's victim choice is exercised many times, with backpressure on the outputs and idle cycles on the
inputs; and the local-memory line store (``line_store="axi"``) against an AXI4 subordinate written here, with
random ready, latency and R/B gaps, checking that AXI valids hold with their payload until ready.
"""

import random

import pytest
from amaranth.sim import Simulator

from emu.models.excache import BackingMemory, ExCacheModel
from hw.processor.excache import ExCacheParams, ExCacheTop
from hw.protocol import MsgKind, Status
from sim_tests.excache.traffic import TrafficShape, make_traffic


class AxiSubordinate:
    """A local memory on the ``lmem`` port: reads and writes in order, several of each in flight, random
    ready (``bp``), first beat ``latency`` cycles late plus random gaps. Checks that a valid holds with its
    payload until its ready."""

    def __init__(self, port, params, rng, bp=0.3, latency=(0, 6)):
        self.port, self.p, self.rng, self.bp, self.latency = port, params, rng, bp, latency
        self.mem = {}
        self.cycle = 0
        self.reads, self.writes, self.bresp = [], [], []   # [due, addr, beats left], [addr, len], [due]
        self.held = {}
        self.ar_bursts = self.aw_bursts = 0
        self.r_offered = False

    def drive(self, ctx):
        a, rnd = self.port, self.rng.random
        self.ready = {"ar": rnd() > self.bp, "aw": rnd() > self.bp, "w": bool(self.writes) and rnd() > self.bp}
        for ch in ("ar", "aw", "w"):
            ctx.set(getattr(a, f"{ch}ready"), self.ready[ch])
        r = self.reads[0] if self.reads else None
        if not self.r_offered:   # an offered beat stays until taken (AXI); gaps only delay the next one
            self.rvalid = r is not None and r[0] <= self.cycle and rnd() > 0.2
        ctx.set(a.rvalid, self.rvalid)
        if self.rvalid:
            ctx.set(a.rdata, self.mem.get(r[1], 0))
            ctx.set(a.rlast, r[2] == 1)
        self.bvalid = bool(self.bresp) and self.bresp[0] <= self.cycle
        ctx.set(a.bvalid, self.bvalid)

    def _check_held(self, ctx, ch, fields):
        a = self.port
        valid = ctx.get(getattr(a, f"{ch}valid"))
        now = tuple(ctx.get(getattr(a, f"{ch}{f}")) for f in fields)
        if ch in self.held:
            assert valid and now == self.held[ch], f"{ch}valid fell or its payload changed before {ch}ready"
        return valid, now

    def sample(self, ctx):
        """After the delay before the edge: the handshakes of this cycle."""
        a, p = self.port, self.p
        wb = p.word_bytes
        self.cycle += 1
        lo, hi = self.latency
        moves = {}
        for ch, fields in (("ar", ("addr", "len")), ("aw", ("addr", "len")), ("w", ("data", "strb", "last"))):
            valid, now = self._check_held(ctx, ch, fields)
            self.held.pop(ch, None)
            if valid and self.ready[ch]:
                moves[ch] = now
            elif valid:
                self.held[ch] = now
        if "ar" in moves:
            addr, length = moves["ar"]
            assert addr % wb == 0 and addr // 4096 == (addr + length * wb) // 4096, "AR burst crosses 4 KiB"
            self.reads.append([self.cycle + self.rng.randint(lo, hi), addr, length + 1])
            self.ar_bursts += 1
        self.r_offered = self.rvalid and not ctx.get(a.rready)
        if self.rvalid and ctx.get(a.rready):
            r = self.reads[0]
            r[1] += wb
            r[2] -= 1
            if not r[2]:
                self.reads.pop(0)
        if "w" in moves:
            data, strb, last = moves["w"]
            w = self.writes[0]
            old = self.mem.get(w[0], 0)
            for i in range(wb):
                if strb >> i & 1:
                    old = old & ~(0xFF << 8 * i) | (data & (0xFF << 8 * i))
            self.mem[w[0]] = old
            w[0] += wb
            w[1] -= 1
            assert bool(last) == (w[1] == 0), "wlast not on the burst's last beat"
            if last:
                self.writes.pop(0)
                self.bresp.append(self.cycle + self.rng.randint(lo, hi))
        if "aw" in moves:
            addr, length = moves["aw"]
            self.writes.append([addr, length + 1])
            self.aw_bursts += 1
        if self.bvalid and ctx.get(a.bready):
            self.bresp.pop(0)


def run_rtl(params, accesses, seed, miss_path="hardware"):
    """Run ``accesses`` through ExCacheTop in Amaranth's simulator; return [(rdata, status)]."""
    dut = ExCacheTop(params, miss_path=miss_path)
    mem = BackingMemory(params.line_bytes)
    wb = params.word_bytes
    got = []
    local = None

    async def bench(ctx):
        nonlocal local
        rng = random.Random(seed)
        if params.line_store == "axi":
            local = AxiSubordinate(dut.lmem, params, random.Random(seed + 1))
        queue = list(accesses)
        rx_pending, rx_beats, hdr_cur, hdr_beats, writing, beats = [], [], None, [], None, []
        for _ in range(200 * len(accesses) + 40 * params.words_per_line * len(accesses)):
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
            if local:
                local.drive(ctx)
            await ctx.delay(1e-9)   # sample the handshakes just before the edge
            if local:
                local.sample(ctx)
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
    if local:
        assert local.ar_bursts and local.aw_bursts, "the local memory saw no reads or no writes"
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


@pytest.mark.parametrize("line_bytes,sets,ways,policy", [(64, 2, 3, "lru"), (4096, 1, 2, "plru")])
def test_axi_line_store_matches_model(line_bytes, sets, ways, policy):
    """The local-memory line store under random AXI timing gives the model's answers (4 KiB lines: two
    256-beat bursts per line move)."""
    params = ExCacheParams(line_bytes=line_bytes, sets=sets, ways=ways, policy=policy, line_store="axi",
                           local_reads=4)
    rng = random.Random(f"axi{line_bytes}")
    n = 300 if line_bytes == 64 else 40
    accesses = make_traffic(params, n, rng, TrafficShape(hot_fraction=2.0, cold_prob=0.05, seq_prob=0.3))
    model = ExCacheModel(line_bytes=line_bytes, sets=sets, ways=ways, policy=policy,
                         memory=BackingMemory(line_bytes))
    expected = [model.access(*a)[:2] for a in accesses]
    assert model.evictions > 3 and model.writebacks > 0, "traffic too gentle to move lines"
    got = run_rtl(params, accesses, seed=line_bytes)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"access #{i} {accesses[i]}: RTL {g}, model {e}"
