"""hw.memory.fault_queue.FaultQueue against a plain-Python model, cycle by cycle, with random pushes,
firmware answers, takes, pops and re-arms (as the translator would issue them), and its page match and hint."""

import os
import random
from collections import deque

import pytest

from hw.memory.fault_queue import HEAD_NONE, HEAD_REFUSE, HEAD_REPLAY, FaultQueue
from hw.memory.params import MMUParams
from hw.memory.registers import FAULT_REFUSE, FAULT_REPLAY
from hw.protocol import MsgKind
from sim_tests.memory.helpers import run


@pytest.mark.parametrize("slots", [1, 3, 4])
def test_fault_queue_random(slots):
    seed = int(os.environ.get("DISAGG_SEED", "1"))
    rng = random.Random(seed * 100 + slots)
    p = MMUParams(tlb_entries=8, tlb_ways=2, pid_width=3, paddr_width=16, fault_slots=slots)
    dut = FaultQueue(p)
    counts = {"push": 0, "pop": 0, "rearm": 0, "match": 0, "answered": 0, "hint": 0, "no_hint": 0}

    async def bench(ctx):
        q = deque()               # model: (kind, pid, vaddr, tag)
        shown, cmd, busy = True, HEAD_NONE, False
        for cycle in range(3000):
            where = f"seed {seed} slots {slots} cycle {cycle}"
            # Outputs against the model.
            assert ctx.get(dut.empty) == (not q) and ctx.get(dut.full) == (len(q) == slots), where
            assert ctx.get(dut.room2) == (len(q) + 2 <= slots), where
            assert ctx.get(dut.room3) == (len(q) + 3 <= slots), where
            assert ctx.get(dut.has_write) == any(k in (MsgKind.LINE_WRITE, MsgKind.WORD_WRITE) for k, *_ in q), where
            pending = bool(q) and shown
            assert ctx.get(dut.fault.pending) == pending, where
            assert ctx.get(dut.head_cmd) == cmd, where
            if q:
                k, pid, vaddr, tag = q[0]
                head = ctx.get(dut.head)
                assert (head.kind, head.pid, head.vaddr, head.tag) == (k, pid, vaddr, tag), where
                assert (ctx.get(dut.fault.pid), ctx.get(dut.fault.vaddr)) == (pid, vaddr), where
            # Same-page match for a random key (often one that is parked).
            if q and rng.random() < 0.5:
                _, mpid, mvaddr, _ = rng.choice(list(q))
                mvpn = mvaddr >> p.page_bits
            else:
                mpid, mvpn = rng.randrange(8), rng.randrange(4)
            ctx.set(dut.match_pid, mpid)
            ctx.set(dut.match_vpn, mvpn)
            want = any(pid == mpid and vaddr >> p.page_bits == mvpn for _, pid, vaddr, _ in q)
            assert ctx.get(dut.match) == want, where
            counts["match"] += want
            # The hint: some parked request's vpn ends in the key (any pid); vpns here are below 4, so a key
            # with a high bit set never hits.
            hkey = rng.choice([mvpn, rng.randrange(4), rng.randrange(1 << len(dut.hint_key))])
            ctx.set(dut.hint_key, hkey)
            hint = any(vaddr >> p.page_bits == hkey for _, _, vaddr, _ in q)
            assert ctx.get(dut.hint) == hint, where
            counts["hint"] += hint
            counts["no_hint"] += not hint
            # This cycle's inputs (the translator's protocol: take/pop/rearm only on an answered/busy head).
            push = len(q) < slots and rng.random() < 0.3
            entry = (rng.choice([MsgKind.LINE_READ, MsgKind.WORD_READ, MsgKind.LINE_READ, MsgKind.WORD_WRITE]),
                     rng.randrange(8), rng.randrange(4) << p.page_bits | rng.randrange(0, 4096, 8), rng.randrange(256))
            resolve = rng.random() < 0.2
            rcmd = rng.choice([FAULT_REPLAY, FAULT_REFUSE, 0, 3])
            take = pop = rearm = False
            if cmd == HEAD_REFUSE and rng.random() < 0.5:
                pop = True
            elif cmd == HEAD_REPLAY and rng.random() < 0.5:
                take = True
            elif busy and rng.random() < 0.3:
                pop, rearm = (True, False) if rng.random() < 0.6 else (False, True)
            ctx.set(dut.push, push)
            ctx.set(dut.push_hdr, {"kind": entry[0], "pid": entry[1], "vaddr": entry[2], "tag": entry[3]})
            ctx.set(dut.fault.resolve, resolve)
            ctx.set(dut.fault.resolve_cmd, rcmd)
            ctx.set(dut.take, take)
            ctx.set(dut.pop, pop)
            ctx.set(dut.rearm, rearm)
            assert ctx.get(dut.fault_event) == (push or rearm), where
            await ctx.tick()
            # The model's edge.
            if resolve and pending and rcmd in (FAULT_REPLAY, FAULT_REFUSE):
                shown, cmd = False, rcmd
                counts["answered"] += 1
            if take:
                cmd, busy = HEAD_NONE, True
            if rearm:
                shown, cmd, busy = True, HEAD_NONE, False
                counts["rearm"] += 1
            if pop:
                q.popleft()
                shown, cmd, busy = True, HEAD_NONE, False
                counts["pop"] += 1
            if push:
                q.append(entry)
                counts["push"] += 1
        ctx.set(dut.push, 0)

    run(dut, bench)
    assert min(counts.values()) > 20, counts
