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
from hw.processor.hit_pipeline import hit_latency
from hw.protocol import MsgKind, Status
from hw.processor.registers import register_map
from sim_tests.excache.traffic import TrafficShape, fw_choose, make_traffic

REGS = register_map()


class AxiSubordinate:
    """A local memory on the ``lmem`` port: reads and writes in order, several of each in flight, random
    ready (``bp``), first beat ``latency`` cycles late plus random gaps. Checks that a valid holds with its
    payload until its ready."""

    def __init__(self, port, params, rng, bp=0.3, latency=(0, 6), b_gaps=0.0, b_latency=None, r_gaps=0.2):
        self.port, self.p, self.rng, self.bp, self.latency = port, params, rng, bp, latency
        self.r_gaps = r_gaps
        self.b_latency = latency if b_latency is None else b_latency
        self.b_gaps = b_gaps     # probability per cycle that a due B response is held back (B idle cycles)
        self.b_offered = False
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
            self.rvalid = r is not None and r[0] <= self.cycle and rnd() >= self.r_gaps
        ctx.set(a.rvalid, self.rvalid)
        if self.rvalid:
            ctx.set(a.rdata, self.mem.get(r[1], 0))
            ctx.set(a.rlast, r[2] == 1)
        if not self.b_offered:
            self.bvalid = bool(self.bresp) and self.bresp[0] <= self.cycle and not (
                self.b_gaps and rnd() < self.b_gaps)
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
                self.bresp.append(self.cycle + self.rng.randint(*self.b_latency))
        if "aw" in moves:
            addr, length = moves["aw"]
            self.writes.append([addr, length + 1])
            self.aw_bursts += 1
        self.b_offered = self.bvalid and not ctx.get(a.bready)
        if self.bvalid and ctx.get(a.bready):
            self.bresp.pop(0)


def run_rtl(params, accesses, seed, miss_path="hardware", *, memory=None, reorder=False, stats=None, latency=0,
            attempts=None, local_timing=None):
    """Run ``accesses`` through ExCacheTop in Amaranth's simulator; return [(rdata, status)].

    ``memory``: the responder's BackingMemory (faults); ``reorder``: line read responses may overtake each
    other (never a write-back's response: the memory side's order, ``docs/mmu.md``); ``stats``: a dict that
    receives the most requests outstanding at once (``outstanding``) and the cycles run (``cycles``);
    ``latency``: a response is offered no earlier than this many cycles after its request; the counter
    registers read at the end go into ``stats["counters"]``. In software mode a firmware written here serves
    every miss through the CSRs with :func:`sim_tests.excache.traffic.fw_choose`.

    ``local_timing``: keyword arguments of the local memory (:class:`AxiSubordinate`: ``latency``, ``b_latency``).

    ``params.rx_cut_through``: ``net_rx`` is a verdict port; each response's beats carry ``discard`` = 0, its
    beats come with random gaps (an offered beat held until taken), and ``attempts(hdr, beats, rng)`` (if given)
    returns the messages the network shows before it, each ``(hdr, beats)`` ending with ``last`` = ``discard`` = 1
    (a corrupt or truncated frame, resent: ``sim_tests/excache/test_rx_cut_through.py``).
    """
    ct = params.rx_cut_through
    # Gaps between a line's beats (with cut-through, and for the non-blocking controller's local-memory store,
    # where a fill's AXI burst may pause between beats while word writes wait).
    rx_gaps = params.mshrs > 1 and params.line_store == "axi"
    dut = ExCacheTop(params, miss_path=miss_path)
    mem = memory if memory is not None else BackingMemory(params.line_bytes)
    wb = params.word_bytes
    got = []
    local = None

    async def bench(ctx):
        nonlocal local
        rng = random.Random(seed)
        if params.line_store == "axi":
            # The non-blocking controller's stores also see B responses held back (its reads wait for them).
            local = AxiSubordinate(dut.lmem, params, random.Random(seed + 1),
                                   b_gaps=0.3 if params.mshrs > 1 else 0.0, **(local_timing or {}))
        queue = list(accesses)
        rx_pending, rx_beats, hdr_cur, hdr_beats, writing, beats = [], [], None, [], None, []
        ct_rng, rx_now, hdr_real, rx_held = random.Random(seed + 7), [], False, False
        outstanding = most = 0
        last_progress = cycle = 0
        fw_state, fw_regs, csr = 0, [], dut.csr
        fw_reads = ("ev_info", "ev_vaddr_lo", "ev_vaddr_hi")
        for cycle in range(200 * len(accesses) + 40 * params.words_per_line * len(accesses)):
            if len(got) == len(accesses):
                break
            if cycle - last_progress > 4000 + 20 * params.words_per_line:
                raise AssertionError(f"seed {seed}: no answer for {cycle - last_progress} cycles after "
                                     f"{len(got)} of {len(accesses)} accesses")
            ctx.set(dut.cpu_resp.ready, rng.random() > 0.3)
            ctx.set(dut.net_tx.hdr.ready, rng.random() > 0.3)
            ctx.set(dut.net_tx.data.ready, rng.random() > 0.3)
            offer = bool(queue) and rng.random() > 0.2
            ctx.set(dut.cpu_req.valid, offer)
            if offer:
                op, pid, vaddr, strb, wdata = queue[0]
                ctx.set(dut.cpu_req.payload, {"op": op, "pid": pid, "vaddr": vaddr, "strb": strb, "wdata": wdata})
            if hdr_cur is None and not rx_now and rx_pending and rx_pending[0][2] <= cycle:
                h, line, _ = rx_pending.pop(0)
                if ct:
                    line = [{**b, "discard": 0} for b in line]
                    rx_now = [*(attempts(h, line, ct_rng) if attempts else []), (h, line)]
                else:
                    rx_now = [(h, line)]
            if hdr_cur is None and rx_now:
                hdr_cur, hdr_beats = rx_now.pop(0)
                hdr_real = not rx_now
            ctx.set(dut.net_rx.hdr.valid, hdr_cur is not None)
            if hdr_cur is not None:
                ctx.set(dut.net_rx.hdr.payload, hdr_cur)
            rx_offer = bool(rx_beats) and (not (ct or rx_gaps) or rx_held or ct_rng.random() > 0.2)
            ctx.set(dut.net_rx.data.valid, rx_offer)
            if rx_beats:
                ctx.set(dut.net_rx.data.payload, rx_beats[0])
            if local:
                local.drive(ctx)
            # Software miss path: the test firmware (CSR reads: data in the cycle after r_stb).
            ctx.set(csr.r_stb, 0)
            ctx.set(csr.w_stb, 0)
            if miss_path == "software":
                if fw_state:
                    fw_regs.append(ctx.get(csr.r_data))
                if fw_state == 0 and ctx.get(dut.irq):
                    fw_state, fw_regs = 1, []
                if 1 <= fw_state <= len(fw_reads):
                    ctx.set(csr.addr, REGS.addr(fw_reads[fw_state - 1]))
                    ctx.set(csr.r_stb, 1)
                    fw_state += 1
                elif fw_state == len(fw_reads) + 1:
                    info, lo, hi = fw_regs[:3]
                    event = {"pid": info >> 16, "vaddr": lo | hi << 32, "way": (info >> 8) & 0xFF,
                             "victim_valid": info >> 2 & 1}
                    way = fw_choose(params, event)
                    ctx.set(csr.addr, REGS.addr("miss_cmd"))
                    ctx.set(csr.w_data, (1 | int(Status.PAGE_FAULT.value) << 16) if way is None else way << 8)
                    ctx.set(csr.w_stb, 1)
                    fw_state += 1
                elif fw_state > len(fw_reads) + 1:
                    fw_state = 0 if fw_state == len(fw_reads) + 3 else fw_state + 1
            await ctx.delay(1e-9)   # sample the handshakes just before the edge
            if local:
                local.sample(ctx)
            took_req = offer and ctx.get(dut.cpu_req.ready)
            resp = ctx.get(dut.cpu_resp.payload) if ctx.get(dut.cpu_resp.valid) and ctx.get(dut.cpu_resp.ready) else None
            txh = ctx.get(dut.net_tx.hdr.payload) if ctx.get(dut.net_tx.hdr.valid) and ctx.get(dut.net_tx.hdr.ready) else None
            txd = ctx.get(dut.net_tx.data.payload) if ctx.get(dut.net_tx.data.valid) and ctx.get(dut.net_tx.data.ready) else None
            took_rxh = hdr_cur is not None and ctx.get(dut.net_rx.hdr.ready)
            took_rxd = rx_offer and ctx.get(dut.net_rx.data.ready)
            rx_held = rx_offer and not took_rxd
            await ctx.tick()
            if resp is not None:
                last_progress = cycle
            if took_req:
                queue.pop(0)
            if resp is not None:
                got.append((resp.rdata, resp.status.value))
            if took_rxh:
                rx_beats.extend(hdr_beats)
                hdr_cur = None
                outstanding -= hdr_real
            if took_rxd:
                rx_beats.pop(0)
            if txh is not None:
                outstanding += 1
                most = max(most, outstanding)
                if txh.kind == MsgKind.LINE_READ:
                    status, data = mem.read_line(txh.pid, txh.vaddr)
                    n = params.words_per_line
                    line = [{"data": int.from_bytes(data[i * wb:(i + 1) * wb], "little"), "last": i == n - 1}
                            for i in range(n)] if status == 0 else []
                    resp = ({"kind": MsgKind.LINE_READ_RESP, "status": Status(status), "pid": txh.pid,
                             "vaddr": txh.vaddr, "tag": txh.tag, "length": params.line_bytes}, line, cycle + latency)
                    if reorder:
                        # Among the read responses behind the last write-back's: anywhere.
                        first = max([i + 1 for i, (h, _, _) in enumerate(rx_pending)
                                     if h["kind"] == MsgKind.LINE_WRITE_RESP], default=0)
                        rx_pending.insert(rng.randint(first, len(rx_pending)), resp)
                    else:
                        rx_pending.append(resp)
                else:
                    writing, beats = txh, []
            if txd is not None:
                beats.append(txd.data)
                if txd.last:
                    wstatus = mem.write_line(writing.pid, writing.vaddr,
                                             b"".join(b.to_bytes(wb, "little") for b in beats))
                    rx_pending.append(({"kind": MsgKind.LINE_WRITE_RESP, "status": Status(wstatus), "pid": writing.pid,
                                        "vaddr": writing.vaddr, "tag": writing.tag, "length": params.line_bytes},
                                       [], cycle + latency))
        if stats is not None:
            counters = {}
            for name in ("hits", "misses", "evictions", "writebacks"):
                ctx.set(csr.addr, REGS.addr(name))
                ctx.set(csr.r_stb, 1)
                await ctx.tick()
                ctx.set(csr.r_stb, 0)
                await ctx.delay(1e-9)
                counters[name] = ctx.get(csr.r_data)
            stats.update(outstanding=most, cycles=cycle, counters=counters)
        if len(got) != len(accesses):
            raise AssertionError(f"seed {seed}: only {len(got)} of {len(accesses)} accesses answered")

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


# ---- the non-blocking controller (mshrs > 1) --------------------------------------------------------------

def _nb_case(policy, ways, sets, mshrs, miss_path, n, line_store="onchip", line_bytes=64):
    params = ExCacheParams(line_bytes=line_bytes, sets=sets, ways=ways, policy=policy, mshrs=mshrs,
                           line_store=line_store, local_reads=4)
    seed = f"nb-{policy}{ways}x{sets}m{mshrs}{miss_path}" + ("" if line_store == "onchip" else f"-{line_store}{line_bytes}")
    rng = random.Random(seed)
    read_fault, write_fault = (1, 0x1000 * 64), (2, 0x2040)
    # random: a refused line's repeated misses step the model's LFSR more often than the RTL's (emu/models/excache.py)
    fault_lines = [write_fault] if policy == "random" else [read_fault, write_fault]
    shape = TrafficShape(hot_fraction=2.0, cold_prob=0.05, seq_prob=0.3, fault_prob=0.05,
                         pids=(1, 2, 13) if miss_path == "software" else (1, 2, 3))
    accesses = make_traffic(params, n, rng, shape, fault_lines=fault_lines)

    def memory():
        return BackingMemory(line_bytes, read_faults={read_fault: Status.PAGE_FAULT.value} if policy != "random" else {},
                             write_faults={write_fault: Status.PROT_FAULT.value})

    chooser = (lambda ev: fw_choose(params, ev)) if miss_path == "software" else None
    model = ExCacheModel(line_bytes=line_bytes, sets=sets, ways=ways, policy=policy, memory=memory(), chooser=chooser,
                         mshrs=mshrs)
    expected = [model.access(*a)[:2] for a in accesses]
    stats = {}
    got = run_rtl(params, accesses, seed=rng.randrange(1 << 30), miss_path=miss_path, memory=memory(), reorder=True,
                  stats=stats, latency=30)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"seed {seed!r}: access #{i} {accesses[i]}: RTL {g}, model {e}"
    assert stats["counters"] == model.counters(), f"seed {seed!r}: counters {stats['counters']}, model {model.counters()}"
    assert model.writebacks and model.evictions and any(s for _, s in expected), "traffic too gentle"
    return stats


@pytest.mark.parametrize("policy,ways,sets,mshrs,miss_path", [
    ("lru", 4, 4, 8, "hardware"), ("fifo", 3, 2, 2, "hardware"), ("lru", 1, 8, 8, "hardware"),
    ("plru", 4, 4, 4, "software"),
])
def test_non_blocking_matches_model(policy, ways, sets, mshrs, miss_path):
    """The non-blocking controller against the model, access by access and by its counters: read responses
    reordered (matched by tag), latency 30, backpressure and idle cycles, refused reads and write-backs,
    homonyms; several LINE_READs in flight."""
    stats = _nb_case(policy, ways, sets, mshrs, miss_path, 250)
    assert stats["outstanding"] > 2, stats


@pytest.mark.parametrize("policy,ways,sets,mshrs,miss_path,line_bytes,n", [
    ("lru", 4, 4, 8, "hardware", 64, 250), ("plru", 4, 4, 4, "software", 64, 250), ("lru", 1, 8, 8, "hardware", 64, 200),
    ("lru", 2, 4, 4, "hardware", 256, 100),
    pytest.param("lru", 2, 4, 4, "hardware", 4096, 60, marks=pytest.mark.slow),   # ~2 min
])
def test_non_blocking_axi_matches_model(policy, ways, sets, mshrs, miss_path, line_bytes, n):
    """The non-blocking controller with its lines in local memory (``line_store="axi"``) against the model: as
    above, and the local memory's AR/AW/W ready held low 30 % of the cycles, R and B beats held back (idle cycles),
    first beats 0-6 cycles late; read hits, completions, victims' line reads and fills share the port (256 B
    lines: 32-beat bursts; 4 KiB lines, slow: two 256-beat bursts per line move)."""
    stats = _nb_case(policy, ways, sets, mshrs, miss_path, n, line_store="axi", line_bytes=line_bytes)
    assert stats["outstanding"] > 2, stats


def test_non_blocking_axi_keeps_read_write_order():
    """Write, read, write, read of one word, now and then a miss into another set, B responses late: a read hit that
    waits for an earlier write's (or a fill's) B response (the store orders a read after the writes it took) is
    not overtaken by the write hit behind it."""
    from emu.models.excache import OP_READ, OP_WRITE
    params = ExCacheParams(line_bytes=64, sets=4, ways=2, mshrs=4, line_store="axi", local_reads=4)
    x = 0x40 * 4 * 100          # set 0
    accesses = [(OP_READ, 1, x, 0, 0)]
    for i in range(30):
        if i % 5 == 0:
            accesses.append((OP_READ, 1, 0x40 * (1 + i % 3) + 0x40 * 4 * (200 + i), 0, 0))   # a miss in set 1..3
        accesses += [(OP_WRITE, 1, x + 8, 0xFF, 0x1000 + i), (OP_READ, 1, x + 8, 0, 0),
                     (OP_WRITE, 1, x + 8, 0xFF, 0x2000 + i), (OP_READ, 1, x + 8, 0, 0)]
    model = ExCacheModel(line_bytes=64, sets=4, ways=2, policy="lru", memory=BackingMemory(64), mshrs=4)
    expected = [model.access(*a)[:2] for a in accesses]
    for seed in range(2):
        # B responses late (8-20 cycles): read hits wait for them while write hits come behind.
        got = run_rtl(params, accesses, seed=seed, latency=10, reorder=True, local_timing={"b_latency": (8, 20)})
        for i, (g, e) in enumerate(zip(got, expected)):
            assert g == e, f"seed {seed}: access #{i} {accesses[i]}: RTL {g}, model {e}"


def run_timed(params, accesses, latency, wait_at=(), local_latency=0):
    """``accesses`` offered back to back (access ``i`` in ``wait_at`` only once every earlier one is answered), no
    backpressure, the memory answering each request ``latency`` cycles after its header (or its last beat), in
    order; returns (accept cycles, answer cycles, LINE_READ header cycles). With ``line_store="axi"`` the local
    memory takes every request at once and answers ``local_latency`` cycles late, without gaps."""
    dut = ExCacheTop(params)
    local = (AxiSubordinate(dut.lmem, params, random.Random(0), bp=0, latency=(local_latency,) * 2, r_gaps=0)
             if params.line_store == "axi" else None)
    mem = BackingMemory(params.line_bytes)
    wb = params.word_bytes
    accepted, answered, reads = [], [], []

    async def bench(ctx):
        queue = list(accesses)
        sched, beats, hdr, writing, wbeats = [], [], None, None, []
        ctx.set(dut.cpu_resp.ready, 1)
        ctx.set(dut.net_tx.hdr.ready, 1)
        ctx.set(dut.net_tx.data.ready, 1)
        for cycle in range(20_000):
            if len(answered) == len(accesses):
                return
            offer = bool(queue) and not (len(accesses) - len(queue) in wait_at and len(answered) < len(accesses) - len(queue))
            ctx.set(dut.cpu_req.valid, offer)
            if offer:
                op, pid, vaddr, strb, wdata = queue[0]
                ctx.set(dut.cpu_req.payload, {"op": op, "pid": pid, "vaddr": vaddr, "strb": strb, "wdata": wdata})
            if hdr is None and sched and sched[0][0] <= cycle:
                _, hdr, line = sched.pop(0)
            ctx.set(dut.net_rx.hdr.valid, hdr is not None)
            if hdr is not None:
                ctx.set(dut.net_rx.hdr.payload, hdr)
            ctx.set(dut.net_rx.data.valid, bool(beats))
            if beats:
                ctx.set(dut.net_rx.data.payload, beats[0])
            if local:
                local.drive(ctx)
            await ctx.delay(1e-9)
            if local:
                local.sample(ctx)
            took_req = offer and ctx.get(dut.cpu_req.ready)
            resp = ctx.get(dut.cpu_resp.valid)
            txh = ctx.get(dut.net_tx.hdr.payload) if ctx.get(dut.net_tx.hdr.valid) else None
            txd = ctx.get(dut.net_tx.data.payload) if ctx.get(dut.net_tx.data.valid) else None
            took_rxh = hdr is not None and ctx.get(dut.net_rx.hdr.ready)
            took_rxd = bool(beats) and ctx.get(dut.net_rx.data.ready)
            await ctx.tick()
            if took_req:
                queue.pop(0)
                accepted.append(cycle)
            if resp:
                answered.append(cycle)
            if took_rxh:
                beats.extend(line)
                hdr = None
            if took_rxd:
                beats.pop(0)
            if txh is not None and txh.kind == MsgKind.LINE_READ:
                reads.append(cycle)
                _, data = mem.read_line(txh.pid, txh.vaddr)
                n = params.words_per_line
                sched.append((cycle + latency, {"kind": MsgKind.LINE_READ_RESP, "status": Status.OK, "pid": txh.pid,
                                                "vaddr": txh.vaddr, "tag": txh.tag, "length": params.line_bytes},
                              [{"data": int.from_bytes(data[i * wb:(i + 1) * wb], "little"), "last": i == n - 1}
                               for i in range(n)]))
            elif txh is not None:
                writing, wbeats = txh, []
            if txd is not None:
                wbeats.append(txd.data)
                if txd.last:
                    sched.append((cycle + latency, {"kind": MsgKind.LINE_WRITE_RESP, "status": Status.OK,
                                                    "pid": writing.pid, "vaddr": writing.vaddr, "tag": writing.tag,
                                                    "length": params.line_bytes}, []))
        raise AssertionError(f"only {len(answered)} of {len(accesses)} answered")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return accepted, answered, reads


#: Cycles of a clean miss of the non-blocking controller beyond one per line beat and the memory's latency
#: (the blocking controller's: 12, ``test_miss_latency.py``).
NB_MISS_OVERHEAD = 7


@pytest.mark.parametrize("mshrs", [1, 8])
@pytest.mark.parametrize("local_latency", [0, 4])
def test_axi_hit_latency(mshrs, local_latency):
    """Local-memory store: back-to-back read hits at one per cycle, answered HIT_LATENCY + L cycles after
    acceptance by the blocking controller and one cycle later by the non-blocking one (its read request is
    registered before AR: docs/excache.md); a write hit is posted: HIT_LATENCY in both (this local memory takes a
    W beat only after its AW, so writes go one per two cycles)."""
    from emu.models.excache import OP_READ, OP_WRITE
    params = ExCacheParams(line_bytes=64, sets=64, ways=4, mshrs=mshrs, line_store="axi", local_reads=8)
    w = params.words_per_line
    reads = [(OP_READ, 1, 0x10000 + 8 * i, 0, 0) for i in range(w)]
    writes = [(OP_WRITE, 1, 0x10000 + 8 * i, 0xFF, i) for i in range(w)]
    acc, ans, _ = run_timed(params, reads[:1] + reads + writes + reads, 20, wait_at={1, 1 + w, 1 + 2 * w},
                            local_latency=local_latency)
    lat = [a - b for a, b in zip(ans, acc)]
    assert lat[1:1 + w] == [hit_latency(params, local_latency)] * w, lat
    assert acc[w] - acc[1] == w - 1, acc
    assert lat[1 + w] == hit_latency(params, write=True), lat


@pytest.mark.parametrize("mshrs", [1, 8])
def test_non_blocking_latencies(mshrs):
    """Hit latency (4 blocking, 3 non-blocking) at one per cycle behind a filled line; a clean miss W + overhead +
    memory latency; with
    8 MSHRs, 8 misses to 8 sets are all on the wire before the first answer (one round trip for all)."""
    from emu.models.excache import OP_READ
    params = ExCacheParams(line_bytes=64, sets=64, ways=4, mshrs=mshrs)
    w, lat = params.words_per_line, 32
    line = [(OP_READ, 1, 0x10000 + 8 * i, 0, 0) for i in range(w)]
    acc, ans, reads = run_timed(params, line[:1] + line, lat, wait_at={1})
    miss = ans[0] - acc[0]
    hits = [a - b for a, b in zip(ans[1:], acc[1:])]
    assert hits == [hit_latency(params)] * w and acc[-1] - acc[1] == w - 1, (hits, acc)
    overhead = NB_MISS_OVERHEAD if mshrs > 1 else 12
    assert miss == w + overhead + lat, miss
    misses = [(OP_READ, 1, 0x20000 + params.line_bytes * s, 0, 0) for s in range(8)]
    acc, ans, reads = run_timed(params, misses, lat)
    if mshrs > 1:
        assert len(reads) == 8 and reads[-1] < reads[0] + lat, reads
        # one round trip for all, then one line per W + 1 cycles (the fills: docs/excache.md, "Timing")
        assert ans[-1] - acc[0] == w + overhead + lat + 7 * (w + 1), (acc, ans)
    else:
        assert ans[-1] - acc[0] >= 8 * (w + lat), (acc, ans)
