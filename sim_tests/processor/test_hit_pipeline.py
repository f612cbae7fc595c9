"""HitPipeline on real arrays: 4-cycle hits (HIT_LATENCY) at one per cycle, write hits, a miss stalls, abort, replay."""

from hw.processor.excache_layouts import CpuOp
from hw.processor.hit_pipeline import HIT_LATENCY, HitPipeline
from hw.protocol import Status
from sim_tests.processor.helpers import PARAMS, ArrayHarness, load_line, simulate

TAG, PID, SET, WAY = 0x1234, 1, 1, 2
WORDS = [0x0101_0101_0000_0000 * (i + 1) + i for i in range(PARAMS.words_per_line)]


def vaddr(tag, set_, word):
    p = PARAMS
    return (tag << (p.offset_bits + p.index_bits)) | (set_ << p.offset_bits) | (word << p.byte_bits)


def req(op, tag, word, wdata=0, strb=0, set_=SET, pid=PID):
    return {"op": op, "pid": pid, "vaddr": vaddr(tag, set_, word), "strb": strb, "wdata": wdata}


def test_hit_pipeline():
    pipe = HitPipeline(PARAMS)
    h = ArrayHarness(PARAMS, pipe)
    log = {"accepted": [], "answered": [], "hits": 0}

    async def cycle(ctx, n=1):
        for _ in range(n):
            await ctx.delay(1e-9)
            now = log.setdefault("cycle", 0)
            if ctx.get(pipe.cpu_req.valid) and ctx.get(pipe.cpu_req.ready):
                log["accepted"].append(now)
            if ctx.get(pipe.cpu_resp.valid) and ctx.get(pipe.cpu_resp.ready):
                r = ctx.get(pipe.cpu_resp.payload)
                log["answered"].append((now, r.rdata, r.status))
            log["hits"] += ctx.get(pipe.hit)
            await ctx.tick()
            log["cycle"] = now + 1

    async def bench(ctx):
        await load_line(ctx, h, SET, WAY, TAG, PID, WORDS)
        ctx.set(pipe.run, 1)
        ctx.set(pipe.cpu_resp.ready, 1)
        ctx.set(pipe.cpu_req.valid, 1)
        for i in range(PARAMS.words_per_line):          # eight back-to-back read hits
            ctx.set(pipe.cpu_req.payload, req(CpuOp.READ, TAG, i))
            await cycle(ctx)
        ctx.set(pipe.cpu_req.payload, req(CpuOp.WRITE, TAG, 3, wdata=0xFFFF_FFFF_FFFF_BEEF, strb=0b11))
        await cycle(ctx)
        ctx.set(pipe.cpu_req.payload, req(CpuOp.READ, TAG, 3))
        await cycle(ctx)
        ctx.set(pipe.cpu_req.valid, 0)
        await cycle(ctx, 3)
        log["dirty"] = ctx.get(h.tags.ways[WAY].dirty)

        # A miss: the pipeline stops with the access in S1; abort answers it with the given status.
        ctx.set(pipe.cpu_req.valid, 1)
        ctx.set(pipe.cpu_req.payload, req(CpuOp.READ, TAG + 1, 0))
        await cycle(ctx)
        # Two hits are accepted behind it (into ST and S0), then nothing: they wait behind the miss.
        ctx.set(pipe.cpu_req.payload, req(CpuOp.READ, TAG, 0))
        await cycle(ctx, 4)
        log["miss"] = ctx.get(pipe.miss), ctx.get(pipe.cpu_req.ready), ctx.get(pipe.s1.vaddr)
        ctx.set(pipe.cpu_req.valid, 0)
        ctx.set(pipe.run, 0)
        ctx.set(pipe.abort, 1)
        ctx.set(pipe.abort_status, Status.PAGE_FAULT)
        await cycle(ctx)
        ctx.set(pipe.abort, 0)
        ctx.set(pipe.run, 1)
        await cycle(ctx, 8)                                   # ST and S0 read their sets again, then hit
        ctx.set(pipe.cpu_req.valid, 1)

        # Another miss, filled behind the pipeline's back, then replayed: it hits and is not counted.
        ctx.set(pipe.cpu_req.payload, req(CpuOp.READ, TAG + 2, 5, set_=0))
        await cycle(ctx)
        ctx.set(pipe.cpu_req.valid, 0)
        await cycle(ctx, 3)                                   # in S1 (accept, ST, S1), a miss
        ctx.set(pipe.run, 0)
        hits_before = log["hits"]
        await load_line(ctx, h, 0, 0, TAG + 2, PID, [w ^ 0xAA for w in WORDS])
        ctx.set(pipe.replay, 1)
        await cycle(ctx)
        ctx.set(pipe.replay, 0)
        ctx.set(pipe.run, 1)
        await cycle(ctx, 4)                                   # capture, compare and load, hit, answer
        log["replay_hits"] = log["hits"] - hits_before
        log["idle"] = ctx.get(pipe.idle)

    simulate(h, bench)
    acc, ans = log["accepted"], log["answered"]
    n = PARAMS.words_per_line
    assert acc[:n + 2] == list(range(acc[0], acc[0] + n + 2)), "one access accepted per cycle"
    assert [c for c, _, _ in ans[:n + 2]] == [a + HIT_LATENCY for a in acc[:n + 2]], "hit latency"
    assert [d for _, d, _ in ans[:n]] == WORDS
    assert ans[n][1:] == (0, Status.OK)                                   # a write answers 0
    assert ans[n + 1][1] == (WORDS[3] & ~0xFFFF) | 0xBEEF
    assert log["dirty"] == 1
    assert log["miss"] == (1, 0, vaddr(TAG + 1, SET, 0))
    assert ans[n + 2][1:] == (0, Status.PAGE_FAULT)
    assert ans[n + 3][1:] == ans[n + 4][1:] == (WORDS[0], Status.OK)
    assert ans[n + 5][1:] == (WORDS[5] ^ 0xAA, Status.OK)
    assert log["replay_hits"] == 0 and log["hits"] == n + 4
    assert log["idle"] == 1 and len(ans) == n + 6
