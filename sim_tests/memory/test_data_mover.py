"""hw.memory.data_mover.DataMover: line and word writes and reads, drain, backpressure (on the DRAM model), and
seeded random accesses of up to a page as several AXI bursts (a random-stall AXI subordinate)."""

import os
import random

import pytest

from hw.memory.data_mover import DataMover
from hw.memory.params import MMUParams
from sim_tests.memory.helpers import PARAMS, run, with_dram


async def access(ctx, dut, rng, *, paddr, write, line, length, beats=()):
    """Run one access with random idle/backpressure; return the data beats read (as (data, last))."""
    ctx.set(dut.start, 1)
    ctx.set(dut.paddr, paddr)
    ctx.set(dut.write, write)
    ctx.set(dut.line, line)
    ctx.set(dut.length, length)
    await ctx.tick()
    ctx.set(dut.start, 0)
    beats, out, hdr = list(beats), [], 0
    for _ in range(1000):
        ctx.set(dut.rx_data.valid, bool(beats) and rng.random() < 0.7)
        if beats:
            ctx.set(dut.rx_data.payload.data, beats[0])
            ctx.set(dut.rx_data.payload.last, len(beats) == 1)
        ctx.set(dut.tx_data.ready, rng.random() < 0.7)
        ctx.set(dut.hdr_ready, rng.random() < 0.7)
        done = ctx.get(dut.done)
        took = ctx.get(dut.rx_data.valid) and ctx.get(dut.rx_data.ready)
        if ctx.get(dut.tx_data.valid) and ctx.get(dut.tx_data.ready):
            out.append((ctx.get(dut.tx_data.payload.data), ctx.get(dut.tx_data.payload.last)))
        hdr += ctx.get(dut.hdr_valid) and ctx.get(dut.hdr_ready)
        await ctx.tick()
        if took:
            beats.pop(0)
        if done:
            ctx.set(dut.rx_data.valid, 0)
            assert not beats and hdr == (0 if write else 1)
            return out
    raise AssertionError("access did not finish")


def test_lines_words_and_drain():
    dut = DataMover(PARAMS)
    m, _ = with_dram(dut, "mem")
    rng = random.Random(7)
    line = [rng.getrandbits(64) for _ in range(8)]
    got = {}

    async def bench(ctx):
        await access(ctx, dut, rng, paddr=0x240, write=1, line=1, length=64, beats=line)
        got["line"] = await access(ctx, dut, rng, paddr=0x240, write=0, line=1, length=64)
        # A 2-byte word at byte 6 of the first beat: only those bytes change.
        await access(ctx, dut, rng, paddr=0x246, write=1, line=0, length=2, beats=[0xFFFF_FFFF_FFFF_BEEF])
        got["word"] = await access(ctx, dut, rng, paddr=0x246, write=0, line=0, length=2)
        got["beat0"] = await access(ctx, dut, rng, paddr=0x240, write=0, line=0, length=8)
        # Drain: consume beats up to the last one, no DRAM access.
        ctx.set(dut.drain, 1)
        await ctx.tick()
        ctx.set(dut.drain, 0)
        drained = 0
        for last in (0, 0, 1):
            ctx.set(dut.rx_data.valid, 1)
            ctx.set(dut.rx_data.payload.last, last)
            assert ctx.get(dut.rx_data.ready) and ctx.get(dut.mem.req) == 0
            drained += 1
            got["drain_done"] = ctx.get(dut.done)
            await ctx.tick()
        ctx.set(dut.rx_data.valid, 0)
        got["drained"] = drained

    run(m, bench)
    assert got["line"] == [(d, int(i == 7)) for i, d in enumerate(line)]
    assert got["word"] == [(0xBEEF, 1)]
    expect0 = (line[0] & ~(0xFFFF << 48)) | (0xBEEF << 48)
    assert got["beat0"] == [(expect0, 1)]
    assert got["drained"] == 3 and got["drain_done"] == 1


class RandomAxi:
    """A behavioural AXI subordinate on a BurstSignature port, stepped once per cycle by the bench: random
    ready/valid stalls on all five channels (B responses sometimes hundreds of cycles late), up to two read addresses accepted ahead of their data, a byte
    memory, and the burst rules checked (at most 256 beats, never across a 4 KiB boundary, ``wlast`` on a
    burst's last beat, an address payload stable while it waits for ready)."""

    def __init__(self, port, rng, beat_bytes, size, stall):
        self.port, self.rng, self.bb, self.stall = port, rng, beat_bytes, stall
        self.mem = bytearray(rng.randbytes(size))
        self.ar, self.aw = [], []            # accepted bursts: [address, beats left]
        self.b_owed = []                     # cycle from which each owed B response may be given
        self.cycle = 0
        self.rvalid = self.bvalid = False
        self.waiting = {}                    # channel -> payload offered last cycle without ready
        self.bursts = []                     # (kind, address, beats)

    def _burst(self, kind, addr, beats):
        assert 1 <= beats <= 256, (kind, addr, beats)
        assert addr % 4096 + beats * self.bb <= 4096, f"{kind} burst at {addr:#x} of {beats} beats crosses 4 KiB"
        self.bursts.append((kind, addr, beats))

    def drive(self, ctx):
        port, go = self.port, lambda: self.rng.random() >= self.stall
        ctx.set(port.arready, len(self.ar) < 2 and go())
        ctx.set(port.awready, len(self.aw) < 1 and go())
        ctx.set(port.wready, bool(self.aw) and go())
        self.rvalid = bool(self.ar) and (self.rvalid or go())
        ctx.set(port.rvalid, self.rvalid)
        if self.ar:
            addr, left = self.ar[0]
            ctx.set(port.rdata, int.from_bytes(self.mem[addr:addr + self.bb], "little"))
            ctx.set(port.rlast, left == 1)
        self.cycle += 1
        self.bvalid = bool(self.b_owed) and self.b_owed[0] <= self.cycle and (self.bvalid or go())
        ctx.set(port.bvalid, self.bvalid)

    def sample(self, ctx):
        """Handshakes of this cycle (call after every input of the cycle is set)."""
        port = self.port
        for ch, fields in (("ar", ("araddr", "arlen")), ("aw", ("awaddr", "awlen"))):
            valid, ready = ctx.get(getattr(port, ch + "valid")), ctx.get(getattr(port, ch + "ready"))
            payload = tuple(ctx.get(getattr(port, f)) for f in fields)
            if ch in self.waiting:
                assert valid and payload == self.waiting[ch], f"{ch} changed while waiting for ready"
            self.waiting.pop(ch, None)
            if valid and ready:
                self._burst(ch, payload[0], payload[1] + 1)
                getattr(self, ch).append([payload[0], payload[1] + 1])
            elif valid:
                self.waiting[ch] = payload
        if self.rvalid and ctx.get(port.rready):
            self.ar[0][0] += self.bb
            self.ar[0][1] -= 1
            if self.ar[0][1] == 0:
                self.ar.pop(0)
            self.rvalid = False
        if ctx.get(port.wvalid) and ctx.get(port.wready):
            addr, left = self.aw[0]
            assert ctx.get(port.wlast) == (left == 1), "wlast must mark a burst's last beat"
            data, strb = ctx.get(port.wdata), ctx.get(port.wstrb)
            for i in range(self.bb):
                if strb >> i & 1:
                    self.mem[addr + i] = data >> (8 * i) & 0xFF
            self.aw[0] = [addr + self.bb, left - 1]
            if left == 1:
                self.aw.pop(0)
                # Sometimes late, so that an earlier burst's B is still owed when the last burst's data ends.
                self.b_owed.append(self.cycle + (self.rng.randrange(600) if self.rng.random() < 0.3 else 0))
        if self.bvalid and ctx.get(port.bready):
            self.b_owed.pop(0)
            self.bvalid = False


@pytest.mark.parametrize("data_width,page_bytes", [(64, 4096), (256, 16384)])
def test_random_lines_and_words_with_backpressure(data_width, page_bytes):
    """Seeded random line (up to a whole page, 4 KiB and more, several bursts) and word accesses against
    a byte-array reference, with stalls on every AXI channel, the data streams and the header."""
    seed = int(os.environ.get("DISAGG_SEED", "1"))
    rng = random.Random(seed * 31 + data_width)
    params = MMUParams(tlb_entries=8, tlb_ways=2, pid_width=3, paddr_width=16, data_width=data_width,
                       page_bytes=page_bytes, pt_buckets_log2=2, pt_max_probes=2)
    dut = DataMover(params)
    bb = params.beat_bytes
    axi = RandomAxi(dut.mem, rng, bb, 1 << 16, stall=0.3)
    ref = bytearray(axi.mem)
    counts = {"line_read": 0, "line_write": 0, "word": 0, "bursts": 0}

    async def one(ctx, paddr, write, line, length, data):
        # The start cycle is stepped on the subordinate too: a read asks for its first burst in it.
        ctx.set(dut.paddr, paddr)
        ctx.set(dut.write, write)
        ctx.set(dut.line, line)
        ctx.set(dut.length, length)
        if line:
            beats = [int.from_bytes(data[i:i + bb], "little") for i in range(0, length, bb)] if write else []
        else:
            beats = [int.from_bytes(data, "little")] if write else []
        out, hdr, rx_valid = [], 0, False
        for k in range(40 * (length // bb + 8) + 2000):
            ctx.set(dut.start, k == 0)
            axi.drive(ctx)
            rx_valid = bool(beats) and (rx_valid or rng.random() < 0.7)
            ctx.set(dut.rx_data.valid, rx_valid)
            if beats:
                ctx.set(dut.rx_data.payload.data, beats[0])
                ctx.set(dut.rx_data.payload.last, len(beats) == 1)
            ctx.set(dut.tx_data.ready, rng.random() < 0.7)
            ctx.set(dut.hdr_ready, rng.random() < 0.7)
            axi.sample(ctx)
            done = ctx.get(dut.done)
            if rx_valid and ctx.get(dut.rx_data.ready):
                beats.pop(0)
                rx_valid = False
            if ctx.get(dut.tx_data.valid) and ctx.get(dut.tx_data.ready):
                assert hdr == 1, "a data beat before the response header"
                out.append((ctx.get(dut.tx_data.payload.data), ctx.get(dut.tx_data.payload.last)))
            hdr += ctx.get(dut.hdr_valid) and ctx.get(dut.hdr_ready)
            await ctx.tick()
            if done:
                ctx.set(dut.rx_data.valid, 0)
                assert not beats and hdr == (0 if write else 1)
                assert not axi.ar and not axi.aw and not axi.b_owed, "done before DRAM finished"
                return out
        raise AssertionError(f"access paddr={paddr:#x} write={write} line={line} length={length} did not finish "
                             f"(seed {seed})")

    async def bench(ctx):
        for _ in range(60):
            kind = rng.random()
            if kind < 0.6:
                length = bb << rng.randrange(0, (params.max_line_bytes // bb).bit_length())
                length = min(length, params.max_line_bytes)
                if rng.random() < 0.3:
                    length = params.max_line_bytes
                paddr = rng.randrange(0, 1 << 16, length) if rng.random() < 0.7 else \
                    rng.randrange(0, (1 << 16) // page_bytes) * page_bytes + rng.randrange(0, page_bytes - length + 1, bb)
                write = rng.random() < 0.5
                data = rng.randbytes(length)
                before = len(axi.bursts)
                out = await one(ctx, paddr, write, 1, length, data)
                counts["bursts"] += len(axi.bursts) - before
                if write:
                    ref[paddr:paddr + length] = data
                    counts["line_write"] += 1
                else:
                    want = [(int.from_bytes(ref[paddr + i:paddr + i + bb], "little"), int(i == length - bb))
                            for i in range(0, length, bb)]
                    assert out == want, f"line read at {paddr:#x} of {length} bytes (seed {seed})"
                    counts["line_read"] += 1
                covered = sum(b for _, _, b in axi.bursts[before:]) * bb
                assert covered == length and axi.bursts[before][1] == paddr
            else:
                length = rng.choice((1, 2, 4, 8))
                paddr = rng.randrange(0, 1 << 16, length)
                write = rng.random() < 0.5
                data = rng.randbytes(length)
                out = await one(ctx, paddr, write, 0, length, data)
                if write:
                    ref[paddr:paddr + length] = data
                else:
                    assert out == [(int.from_bytes(ref[paddr:paddr + length], "little"), 1)], \
                        f"word read at {paddr:#x} (seed {seed})"
                counts["word"] += 1
        assert axi.mem == ref

    run(dut, bench)
    assert counts["line_read"] and counts["line_write"] and counts["word"]
    assert counts["bursts"] > counts["line_read"] + counts["line_write"], counts   # some lines took several bursts


def test_first_ar_in_the_start_cycle_header_in_the_next():
    """A line read asks for its first burst in the cycle it starts (from the inputs) and offers its response
    header in the next (issue 13: the frame's header beats then go out while DRAM prepares the first beat).
    An address not taken at once stays valid with the same address and length until it is; the header is
    offered exactly once either way, and the beats pass as they come."""
    dut = DataMover(PARAMS)
    seen = {}

    async def bench(ctx):
        for stall in (0, 3):
            ctx.set(dut.paddr, 0x200)
            ctx.set(dut.write, 0)
            ctx.set(dut.line, 1)
            ctx.set(dut.length, 64)
            ctx.set(dut.hdr_ready, 1)
            ctx.set(dut.tx_data.ready, 1)
            log = []
            for cycle in range(30):                  # cycle 0: the start cycle
                ctx.set(dut.start, cycle == 0)
                ctx.set(dut.mem.arready, cycle >= stall)
                ctx.set(dut.mem.rvalid, cycle >= stall + 3)
                ar = (ctx.get(dut.mem.arvalid), ctx.get(dut.mem.araddr), ctx.get(dut.mem.arlen))
                log.append((ar[0] and ctx.get(dut.mem.arready), ctx.get(dut.hdr_valid),
                            ctx.get(dut.tx_data.valid) and ctx.get(dut.tx_data.ready), ar))
                done = ctx.get(dut.done)
                await ctx.tick()
                if done:
                    break
            ctx.set(dut.mem.rvalid, 0)
            seen[stall] = log
            await ctx.tick()

    run(dut, bench)
    for stall, log in seen.items():
        assert [i for i, (_, h, _, _) in enumerate(log) if h] == [1], (stall, log)      # next cycle, once
        assert [i for i, (a, _, _, _) in enumerate(log) if a] == [stall], (stall, log)
        assert all(ar == (1, 0x200, 7) for _, _, _, ar in log[:stall + 1]), (stall, log)   # held until taken
        assert not any(ar[0] for _, _, _, ar in log[stall + 1:]), (stall, log)
        assert sum(d for _, _, d, _ in log) == 8 and log[max(stall + 3, 2)][2], (stall, log)   # beats as they come


def _sequence(dut, reqs, axi, rng, ask_early, ready_prob=1.0):
    """A bench playing the responder for ``reqs`` [(paddr, write, line, length, data)]: each is started in the
    cycle after the previous one's ``done``; while one runs the inputs show the next one and ``next_read``
    says whether it is a read (if ``ask_early``). ``axi`` has ``drive(ctx)``/``sample(ctx)`` (None: the
    subordinate runs on its own). Fills ``result`` with the beats read per request and the cycle of each done."""
    bb = dut.params.beat_bytes
    result = {"out": [], "done": []}

    def show(ctx, r):
        paddr, write, line, length, _ = r
        ctx.set(dut.paddr, paddr)
        ctx.set(dut.write, write)
        ctx.set(dut.line, line)
        ctx.set(dut.length, length)

    async def bench(ctx):
        cycle = 0
        for i, r in enumerate(reqs):
            paddr, write, line, length, data = r
            nxt = reqs[i + 1] if i + 1 < len(reqs) else None
            beats = ([int.from_bytes(data[j:j + bb], "little") for j in range(0, length, bb)] if line
                     else [int.from_bytes(data, "little")]) if write else []
            out, rx_valid = [], False
            for k in range(20000):
                # Cycle 0 starts the request (the subordinate runs in it too); then the inputs show the next.
                show(ctx, r if k == 0 or nxt is None else nxt)
                ctx.set(dut.start, k == 0)
                ctx.set(dut.next_read, k > 0 and ask_early and nxt is not None and not nxt[1])
                if axi is not None:
                    axi.drive(ctx)
                rx_valid = bool(beats) and (rx_valid or rng.random() < ready_prob)
                ctx.set(dut.rx_data.valid, rx_valid)
                if beats:
                    ctx.set(dut.rx_data.payload.data, beats[0])
                    ctx.set(dut.rx_data.payload.last, len(beats) == 1)
                ctx.set(dut.tx_data.ready, rng.random() < ready_prob)
                ctx.set(dut.hdr_ready, rng.random() < ready_prob)
                if axi is not None:
                    axi.sample(ctx)
                done = ctx.get(dut.done)
                if rx_valid and ctx.get(dut.rx_data.ready):
                    beats.pop(0)
                    rx_valid = False
                if ctx.get(dut.tx_data.valid) and ctx.get(dut.tx_data.ready):
                    out.append((ctx.get(dut.tx_data.payload.data), ctx.get(dut.tx_data.payload.last)))
                await ctx.tick()
                cycle += 1
                if done and k > 0:
                    break
            else:
                raise AssertionError(f"request {i} {r[:4]} did not finish; previous {reqs[i - 1][:4] if i else None}; axi ar {getattr(axi, 'ar', None)} bursts {getattr(axi, 'bursts', [])[-4:]}")
            ctx.set(dut.rx_data.valid, 0)
            ctx.set(dut.next_read, 0)
            result["out"].append(out)
            result["done"].append(cycle)

    return bench, result


def _reads(rng, n, length, words=False):
    reqs = []
    for _ in range(n):
        if words and rng.random() < 0.3:
            ln = rng.choice((1, 2, 4, 8))
            reqs.append((rng.randrange(0, 1 << 16, ln), 0, 0, ln, b""))
        else:
            reqs.append((rng.randrange(0, 1 << 16, length), 0, 1, length, b""))
    return reqs


@pytest.mark.parametrize("read_slots,periods", [(1, (13, 13)), (4, (13, 10))])
def test_next_read_asked_early_on_the_dram_model(read_slots, periods):
    """Back-to-back 64-byte line reads on the RTL DRAM model (first beat latency + 1 cycles after AR).
    Unpipelined (one read slot: the next AR only after the last beat) a line takes 1 + latency + 8 cycles
    (its first AR goes in the cycle it starts), and ``next_read`` makes no difference there. With the pipelined model (4 slots) the
    early AR is accepted while the current line streams and its latency passes meanwhile: 10 cycles per
    line (the mover's IDLE and READ_HDR, then 8 beats), fewer than the 12 wire beats of its frame. The data
    is the same either way."""
    got, outs = {}, {}
    for early in (False, True):
        dut = DataMover(PARAMS)
        m, _ = with_dram(dut, "mem", latency=4, read_slots=read_slots)
        rng = random.Random(5)
        lines = [rng.randrange(0, 1 << 16, 64) for _ in range(12)]
        data = {a: rng.randbytes(64) for a in lines}
        # The lines are written first (so the reads return something to compare), then read back to back.
        reqs = [(a, 1, 1, 64, data[a]) for a in data] + [(a, 0, 1, 64, b"") for a in lines]
        bench, result = _sequence(dut, reqs, None, rng, ask_early=early)
        run(m, bench)
        done = result["done"][len(data):]
        got[early] = set(b - a for a, b in zip(done, done[1:]))
        outs[early] = result["out"][len(data):]
        for a, out in zip(lines, outs[early]):
            assert out == [(int.from_bytes(data[a][i:i + 8], "little"), int(i == 56)) for i in range(0, 64, 8)]
    assert outs[False] == outs[True]
    assert (got[False], got[True]) == ({periods[0]}, {periods[1]}), got


@pytest.mark.parametrize("seed", [1, 2])
def test_next_read_random_with_stalls(seed):
    """Random line reads (up to a page: several bursts) and words, some writes between them, with ``next_read``
    on a random-stall subordinate that accepts two read addresses ahead: every read returns the memory's bytes,
    the early address obeys the AXI rules (the subordinate checks stability), and every burst is asked once."""
    rng = random.Random(seed)
    params = MMUParams(tlb_entries=8, tlb_ways=2, pid_width=3, paddr_width=16, data_width=64, page_bytes=4096,
                       pt_buckets_log2=2, pt_max_probes=2)
    dut = DataMover(params)
    bb = params.beat_bytes
    axi = RandomAxi(dut.mem, rng, bb, 1 << 16, stall=0.3)
    ref = bytearray(axi.mem)
    reqs = []
    for _ in range(40):
        x = rng.random()
        if x < 0.15:
            ln = 64 << rng.randrange(4)
            reqs.append((rng.randrange(0, 1 << 16, ln), 1, 1, ln, rng.randbytes(ln)))
        elif x < 0.3:
            ln = rng.choice((1, 2, 4, 8))
            reqs.append((rng.randrange(0, 1 << 16, ln), 0, 0, ln, b""))
        else:
            ln = bb << rng.randrange((4096 // bb).bit_length())
            reqs.append((rng.randrange(0, 1 << 16, ln), 0, 1, ln, b""))
    bench, result = _sequence(dut, reqs, axi, rng, ask_early=True, ready_prob=0.7)
    run(dut, bench)
    for i, ((paddr, write, line, length, data), out) in enumerate(zip(reqs, result["out"])):
        if write:
            ref[paddr:paddr + length] = data
        elif line:
            want = [(int.from_bytes(ref[paddr + j:paddr + j + bb], "little"), int(j == length - bb))
                    for j in range(0, length, bb)]
            assert out == want, f"seed {seed}: request {i}: line read at {paddr:#x} of {length} bytes"
        else:
            assert out == [(int.from_bytes(ref[paddr:paddr + length], "little"), 1)], f"seed {seed}: request {i}"
    assert axi.mem == ref, f"seed {seed}"
    reads = [b for b in axi.bursts if b[0] == "ar"]
    assert sum(b[2] for b in reads) * bb == sum(r[3] if r[2] else bb for r in reqs if not r[1]), f"seed {seed}"
