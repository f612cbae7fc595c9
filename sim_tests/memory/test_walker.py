"""hw.memory.walker.PageTableWalker: hashing, bucket evaluation, probing, giving up, poisoning, timing."""

import random

from emu.models.mmu import MMUModel
from firmware.page_table import bucket_hash
from hw.memory.params import MAX_BUCKETS_LOG2, MMUParams
from hw.memory.walker import PageTableWalker
from sim_tests.memory.helpers import PARAMS, ReadResponder, run

BASE = 0x4000
BUCKET_BYTES = PARAMS.bucket_bytes      # 64: 8 beats of 8 bytes


def entry(pid, vpn, pfn, r=1, w=1):
    return [1 | pid << 8 | vpn << 24, r | w << 1 | pfn << 8]


def table(entries):
    """``{bucket: [(slot, (pid, vpn, pfn, r, w)), ...]}`` -> words for the responder; other slots empty."""
    words = {}
    for bucket, slots in entries.items():
        for slot, e in slots:
            w0, w1 = entry(*e)
            first = (BASE + bucket * BUCKET_BYTES + slot * 16) // 8
            words[first], words[first + 1] = w0, w1
    return words


def full_bucket(pid):
    """Four valid entries that do not match (pid, vpn 1000..1003)."""
    return [(k, (pid, 1000 + k, 1)) for k in range(4)]


def walk(words, pid, vpn, *, inv_at=None, gap=0, params=PARAMS, buckets_log2=None):
    dut = PageTableWalker(params)
    resp = ReadResponder(dut.mem, words, params.beat_bytes, gap=gap)
    out = {}

    async def bench(ctx):
        ctx.set(dut.pt_base, BASE)
        ctx.set(dut.pt_buckets_log2, params.pt_buckets_log2 if buckets_log2 is None else buckets_log2)
        ctx.set(dut.pt_max_probes, params.pt_max_probes)
        ctx.set(dut.start, 1)
        ctx.set(dut.pid, pid)
        ctx.set(dut.vpn, vpn)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.pid, 0)                   # sampled at start, with the configuration: later changes
        ctx.set(dut.vpn, 0)                   # do not matter (a firmware write while a bucket address waits)
        ctx.set(dut.pt_base, BASE + 0x100000)
        ctx.set(dut.pt_buckets_log2, 0)
        ctx.set(dut.pt_max_probes, 1)
        cycles = 1
        walks = 0
        while not ctx.get(dut.done):
            assert cycles < 200, f"no done after {cycles} cycles, bursts {resp.bursts}"
            walks += ctx.get(dut.walk_started)
            ctx.set(dut.inv, cycles == inv_at)
            await ctx.tick()
            cycles += 1
        out.update(cycles=cycles, found=ctx.get(dut.found), pfn=ctx.get(dut.pfn), r=ctx.get(dut.r),
                   w=ctx.get(dut.w), fill=ctx.get(dut.fill), fill_key=(ctx.get(dut.fill_pid), ctx.get(dut.fill_vpn)),
                   walks=walks)
        await ctx.tick()
        out["idle_after"] = ctx.get(dut.done) == 0 and ctx.get(dut.mem.req) == 0

    run(dut, bench, processes=[resp.process])
    out["bursts"] = resp.bursts
    return out


def test_hit_in_home_bucket_timing():
    pid, vpn = 3, 0x25
    home = bucket_hash(pid, vpn, PARAMS.pt_buckets_log2)
    out = walk(table({home: [(0, (pid, 0x99, 7)), (2, (pid, vpn, 5, 1, 0))]}), pid, vpn)
    assert out["bursts"] == [(BASE + home * BUCKET_BYTES, 8)]
    assert (out["found"], out["pfn"], out["r"], out["w"], out["fill"]) == (1, 5, 1, 0, 1)
    assert out["fill_key"] == (pid, vpn) and out["walks"] == 1 and out["idle_after"]
    # start, hash, AR, 8 beats, compare (registered), decide: done in the 12th cycle after start (the
    # registered compare, added for FPGA timing, is one cycle more than the former single evaluation).
    assert out["cycles"] == 12


def test_full_bucket_probes_the_next_one():
    pid, vpn = 1, 0x7
    home = bucket_hash(pid, vpn, PARAMS.pt_buckets_log2)
    nxt = (home + 1) % (1 << PARAMS.pt_buckets_log2)
    out = walk(table({home: full_bucket(pid), nxt: [(1, (pid, vpn, 9))]}), pid, vpn, gap=2)
    assert [a for a, _ in out["bursts"]] == [BASE + home * BUCKET_BYTES, BASE + nxt * BUCKET_BYTES]
    assert (out["found"], out["pfn"]) == (1, 9)


def test_gives_up_on_empty_entry_or_after_max_probes():
    pid, vpn = 2, 0x11
    home = bucket_hash(pid, vpn, PARAMS.pt_buckets_log2)
    out = walk(table({home: [(0, (pid, 0x12, 1))]}), pid, vpn)      # slots 1..3 empty: stop at once
    assert len(out["bursts"]) == 1 and out["found"] == 0 and out["fill"] == 0
    everything_full = {b: full_bucket(pid) for b in range(1 << PARAMS.pt_buckets_log2)}
    out = walk(table(everything_full), pid, vpn)
    assert len(out["bursts"]) == PARAMS.pt_max_probes and out["found"] == 0


def test_invalidation_during_the_walk_poisons_the_fill():
    pid, vpn = 3, 0x25
    home = bucket_hash(pid, vpn, PARAMS.pt_buckets_log2)
    out = walk(table({home: [(0, (pid, vpn, 4))]}), pid, vpn, inv_at=5)
    assert (out["found"], out["pfn"], out["fill"]) == (1, 4, 0)


def test_large_tables_hash_alike_in_walker_firmware_and_model():
    """Tables of up to 2**24 buckets: the walker reads the home bucket that the firmware encoder and the golden
    model compute (three separate implementations of the hash), for random keys, with the probe going on."""
    params = MMUParams(tlb_entries=8, tlb_ways=2, pid_width=16, paddr_width=40, pt_max_probes=2)
    rng = random.Random(17)
    model = MMUModel(page_bytes=params.page_bytes, pid_width=16, vaddr_width=48, paddr_width=40, data_width=64,
                     bucket_entries=4, dram_bytes=1 << 12)
    homes = set()
    for log2 in (16, 17, 20, MAX_BUCKETS_LOG2):
        model.set_page_table(buckets_log2=log2)
        for _ in range(3):
            pid, vpn = rng.randrange(1 << 16), rng.randrange(1 << 36)
            home = bucket_hash(pid, vpn, log2)
            assert home == model._home(pid, vpn)
            homes.add(home >> 16)
            nxt = (home + 1) % (1 << log2)
            found = table({home: full_bucket(pid), nxt: [(3, (pid, vpn, 0x1234))]})
            out = walk(found, pid, vpn, params=params, buckets_log2=log2)
            assert [a for a, _ in out["bursts"]] == [BASE + home * BUCKET_BYTES, BASE + nxt * BUCKET_BYTES]
            assert (out["found"], out["pfn"]) == (1, 0x1234)
    assert len(homes) > 1, "bits above 15 of the hash never used"
