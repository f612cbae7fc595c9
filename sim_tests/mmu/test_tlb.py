"""The TLB alone (Amaranth's simulator) against a plain-Python model, cycle by cycle.

Random lookups, fills and invalidations of all three modes, back to back and in the cycles around one
another, on a small key space (so that hits, evictions and invalidation matches are frequent). The
model is the TLB's contract (``hw/memory/tlb.py``): state changes at clock edges; a lookup presented
in cycle T is answered in T + 1 against the state of T + 1; a fill in cycle F picks its way from the
state of F; an invalidation in cycle T is in effect from T + 1; no fill in an invalidation cycle.
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

    def fill(self, pid, vpn, val):
        s = self.index(pid, vpn)
        free = [w for w in range(self.ways) if not self.valid[s][w]]
        if free:
            w = free[0]
        else:
            w = self.victim[s]
            self.victim[s] = (w + 1) % self.ways
        self.valid[s][w], self.tag[s][w], self.val[s][w] = True, (pid, vpn), val

    def invalidate(self, mode, pid, vpn):
        for s in range(self.sets):
            for w in range(self.ways):
                t = self.tag[s][w]
                if (mode == INV_ALL or (mode == INV_PID and t is not None and t[0] == pid)
                        or (mode == INV_ONE and t == (pid, vpn))):
                    self.valid[s][w] = False


@pytest.mark.parametrize("entries, ways", [(16, 4), (8, 2), (4, 1), (3, 3)])
def test_tlb_random(entries, ways):
    seed = int(os.environ.get("DISAGG_SEED", "1"))
    cycles = 3000
    rng = random.Random(seed * 1000 + entries * 10 + ways)
    pid_width, vpn_width, pfn_width = 2, 4, 5
    dut = TLB(entries, ways, pid_width, vpn_width, pfn_width)
    model = TLBModel(entries, ways)
    resident = set()
    counts = {"hits": 0, "misses": 0, "inv": 0, "fills": 0}

    async def bench(ctx):
        pending = None                          # key looked up in the last cycle
        fills = []
        for cycle in range(cycles):
            # This cycle's inputs.
            inv = rng.random() < 0.12
            lookup = rng.random() < 0.6
            recent = fills[-2 * entries:]
            lk = rng.choice(recent) if recent and rng.random() < 0.6 else (rng.randrange(4), rng.randrange(16))
            fill = not inv and rng.random() < 0.35
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
            # The answer to last cycle's lookup, against this cycle's state.
            if pending is not None:
                want = model.lookup(*pending)
                got_hit = ctx.get(dut.lk_hit)
                got = (ctx.get(dut.lk_pfn), ctx.get(dut.lk_r), ctx.get(dut.lk_w)) if got_hit else None
                assert got == want, f"seed {seed} cycle {cycle}: lookup {pending} gave {got}, model {want}"
                counts["hits" if want else "misses"] += 1
            # The edge.
            if fill:
                model.fill(*fk, fv)
                resident.add(fk)
                fills.append(fk)
                counts["fills"] += 1
            if inv:
                model.invalidate(mode, *ik)
                counts["inv"] += 1
            pending = lk if lookup else None
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # The traffic exercised what it is meant to.
    assert counts["hits"] > 100 and counts["misses"] > 100 and counts["inv"] > 100, counts
