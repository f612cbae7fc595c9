"""The TLB alone (Amaranth's simulator) against a plain-Python model, cycle by cycle.

Random lookups, fills and invalidations of all three modes, back to back and in the cycles around one
another, on a small key space (so that hits, evictions and invalidation matches are frequent). The
model is the TLB's contract (``hw/memory/tlb.py``): state changes at clock edges; a lookup presented
in cycle T is compared in T + 1 against the state of T + 1 and answered in T + 2; a fill requested in cycle F picks its way
from the state of F (counting the entries an invalidation in F - 1 removes as occupied) and is written at
the edge ending F + 1, unless an invalidation in F drops it; no fill and no lookup in F + 1 (``lk_busy``); an
invalidation in cycle T is in effect from T + 1; the lookups presented in T - 1 and T are flagged stale, the
one of T answered as if the invalidation had not happened yet.
"""

import os
import random

import pytest
from amaranth.sim import Simulator

from hw.memory.tlb import INV_ALL, INV_ONE, INV_PID, TLB


class TLBModel:
    def __init__(self, entries, ways):
        self.sets, self.ways = entries // ways, ways
        self.valid = [[False] * ways for _ in range(self.sets)]
        self.tag = [[None] * ways for _ in range(self.sets)]
        self.val = [[None] * ways for _ in range(self.sets)]
        self.victim = [0] * self.sets

    def index(self, pid, vpn):
        return (vpn ^ pid) % self.sets

    def lookup(self, pid, vpn):
        s = self.index(pid, vpn)
        for w in range(self.ways):
            if self.valid[s][w] and self.tag[s][w] == (pid, vpn):
                return self.val[s][w]
        return None

    def choose(self, pid, vpn, occupied=()):
        """The way a fill takes: ``occupied`` are (set, way) of entries removed at the last edge, which the
        choice still counts. Returns (set, way, advance the victim pointer)."""
        s = self.index(pid, vpn)
        free = [w for w in range(self.ways) if not self.valid[s][w] and (s, w) not in occupied]
        return (s, free[0], False) if free else (s, self.victim[s], True)

    def write(self, s, w, key, val, advance):
        if advance:
            self.victim[s] = (w + 1) % self.ways
        self.valid[s][w], self.tag[s][w], self.val[s][w] = True, key, val

    def invalidate(self, mode, pid, vpn):
        """Returns the (set, way) of the valid entries removed."""
        killed = set()
        for s in range(self.sets):
            for w in range(self.ways):
                t = self.tag[s][w]
                if (mode == INV_ALL or (mode == INV_PID and t is not None and t[0] == pid)
                        or (mode == INV_ONE and t == (pid, vpn))):
                    if self.valid[s][w]:
                        killed.add((s, w))
                    self.valid[s][w] = False
        return killed


@pytest.mark.parametrize("entries, ways", [(16, 4), (8, 2), (4, 1), (3, 3)])
def test_tlb_random(entries, ways):
    seed = int(os.environ.get("DISAGG_SEED", "1"))
    cycles = 3000
    rng = random.Random(seed * 1000 + entries * 10 + ways)
    pid_width, vpn_width, pfn_width = 2, 4, 5
    dut = TLB(entries, ways, pid_width, vpn_width, pfn_width)
    model = TLBModel(entries, ways)
    resident = set()
    counts = {"hits": 0, "misses": 0, "stale": 0, "inv": 0, "fills": 0}

    async def bench(ctx):
        pending = None                          # key looked up in the last cycle
        due = None                              # (key, answer, stale) compared in the last cycle
        stale_answer = None                     # its answer before an invalidation in its strobe cycle
        killed = set()                          # entries removed at the last edge
        pending_fill = None                     # requested in the last cycle, written at this edge
        fills = []
        for cycle in range(cycles):
            # This cycle's inputs.
            inv = rng.random() < 0.12
            lookup = pending_fill is None and rng.random() < 0.6
            recent = fills[-2 * entries:]
            lk = rng.choice(recent) if recent and rng.random() < 0.6 else (rng.randrange(4), rng.randrange(16))
            fill = pending_fill is None and rng.random() < 0.35
            # The caller guarantees a filled key is absent (as the model has it in this cycle).
            fk = (rng.randrange(4), rng.randrange(16))
            if fill and model.lookup(*fk) is not None:
                fill = False
            fv = (rng.randrange(32), rng.randrange(2), rng.randrange(2))
            mode = rng.choice([INV_ONE, INV_ONE, INV_PID, INV_ALL, 3])
            if mode == INV_ONE and resident and rng.random() < 0.7:
                ik = rng.choice(sorted(resident))
            else:
                ik = (rng.randrange(4), rng.randrange(16))
            ctx.set(dut.lk_stb, lookup)
            ctx.set(dut.lk_pid, lk[0])
            ctx.set(dut.lk_vpn, lk[1])
            ctx.set(dut.fill, fill)
            ctx.set(dut.fill_pid, fk[0])
            ctx.set(dut.fill_vpn, fk[1])
            ctx.set(dut.fill_pfn, fv[0])
            ctx.set(dut.fill_r, fv[1])
            ctx.set(dut.fill_w, fv[2])
            ctx.set(dut.inv, inv)
            ctx.set(dut.inv_mode, mode)
            ctx.set(dut.inv_pid, ik[0])
            ctx.set(dut.inv_vpn, ik[1])
            assert ctx.get(dut.lk_busy) == (pending_fill is not None), f"seed {seed} cycle {cycle}: lk_busy"
            # The answer to the lookup of two cycles ago, compared in the last cycle against its state.
            if due is not None:
                key, want, stale = due
                got_hit = ctx.get(dut.lk_hit)
                got = (ctx.get(dut.lk_pfn), ctx.get(dut.lk_r), ctx.get(dut.lk_w)) if got_hit else None
                assert got == want, f"seed {seed} cycle {cycle}: lookup {key} gave {got}, model {want}"
                assert ctx.get(dut.lk_stale) == stale, f"seed {seed} cycle {cycle}: lk_stale"
                counts["stale" if stale else "hits" if want else "misses"] += 1
            # Last cycle's lookup is compared in this cycle, against this cycle's state; stale if an
            # invalidation was requested in its strobe cycle (answered as before it) or in this one.
            due = None
            if pending is not None:
                want = stale_answer[0] if stale_answer is not None else model.lookup(*pending)
                due = (pending, want, stale_answer is not None or inv)
            # The edge.
            if pending_fill is not None:
                model.write(*pending_fill)
            pending_fill = None
            if fill and not inv:
                pending_fill = model.choose(*fk, killed)[:2] + (fk, fv, model.choose(*fk, killed)[2])
                resident.add(fk)
                fills.append(fk)
                counts["fills"] += 1
            stale_answer = (model.lookup(*lk),) if lookup and inv else None
            killed = set()
            if inv:
                killed = model.invalidate(mode, *ik)
                counts["inv"] += 1
            pending = lk if lookup else None
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # The traffic exercised what it is meant to.
    assert counts["hits"] > 100 and counts["misses"] > 100 and counts["inv"] > 100, counts
