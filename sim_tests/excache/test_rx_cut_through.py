"""Receive cut-through in the ExCache's fill path (``ExCacheParams.rx_cut_through``), RTL against the golden model.

The network interface with ``rx_cut_through`` hands a data-carrying message over while its frame still arrives
and settles it with ``discard`` on the last beat (``docs/netif.md``, "Cut-through"); a discarded message is
resent. The bench here plays that network: before a response it may show one or two messages that end with
``discard`` = 1, each either a corrupt copy of the response (its header, garbage beats, full or truncated) or a
corrupt header (a data-carrying kind, any tag and length), then the response itself with ``discard`` = 0. The
ExCache must install, answer and release only on a committed line, and sink everything else, so every access
is answered exactly as by :class:`emu.models.excache.ExCacheModel` (which knows nothing of the network) and the
counters agree.

One case departs from the model by design and has its own test: in the blocking controller the victim stays
valid until the install, so when a discarded fill wrote words over it and the miss then ends refused, the
victim is invalidated (a later access to it misses and fetches it again, with the right data).
"""

import random

import pytest

from emu.models.excache import OP_READ, OP_WRITE, BackingMemory, ExCacheModel
from hw.processor.excache import ExCacheParams
from hw.protocol import MsgKind, Status
from sim_tests.excache.test_excache_amaranth_sim import run_rtl
from sim_tests.excache.traffic import TrafficShape, fw_choose, make_traffic

#: Data-carrying kinds a corrupt header may claim (only those are shown before their frame is checked).
DATA_KINDS = (MsgKind.LINE_READ_RESP,) * 3 + (MsgKind.WORD_READ_RESP, MsgKind.LINE_WRITE)


def discarded(length, word_bytes, rng):
    """The beats of a message of ``length`` bytes that the network discards: 1 .. ceil(length / word_bytes)
    beats of garbage (truncated or whole), the last with ``last`` = ``discard`` = 1."""
    n = rng.randint(1, -(-length // word_bytes))
    return [{"data": rng.getrandbits(8 * word_bytes), "last": i == n - 1, "discard": i == n - 1} for i in range(n)]


def make_attempts(params, prob, counts):
    """An ``attempts`` hook for :func:`run_rtl`: with probability ``prob`` (again for a second one) a discarded
    message before a response. ``counts`` receives how many of each kind were shown.

    Before a response without data (a write-back's answer, a refused read) a corrupt header never has the
    awaited line's kind and length: in the blocking controller such a match followed by a refusal invalidates
    the victim, which the model does not do (``test_discarded_fill_then_refusal_drops_the_victim``)."""
    lb, wb = params.line_bytes, params.word_bytes

    def attempts(hdr, beats, rng):
        out = []
        while len(out) < 2 and rng.random() < prob:
            if beats and rng.random() < 0.5:
                out.append((dict(hdr), discarded(lb, wb, rng)))
                counts["copy"] += 1
                continue
            # Mostly a tag of an MSHR (one waiting for its line, one done or with a write-back open: must not be
            # written) and the line's length; sometimes any.
            tag = rng.randrange(max(2, params.mshrs)) if rng.random() < 0.7 else rng.randrange(256)
            h = {**hdr, "kind": rng.choice(DATA_KINDS), "status": Status.OK, "tag": tag,
                 "length": rng.choice((lb, lb, rng.randint(1, lb)))}
            if not beats and h["kind"] == MsgKind.LINE_READ_RESP and h["length"] == lb:
                h["length"] = lb // 2
            out.append((h, discarded(h["length"], wb, rng)))
            counts["stray"] += 1
        return out
    return attempts


def _case(params, miss_path, n, seed, prob=0.4):
    rng = random.Random(seed)
    read_fault, write_fault = (1, 0x1000 * params.line_bytes), (2, 0x2000 + params.line_bytes)
    fault_lines = [write_fault] if params.policy == "random" else [read_fault, write_fault]
    shape = TrafficShape(hot_fraction=2.0, cold_prob=0.05, seq_prob=0.3, fault_prob=0.05,
                         pids=(1, 2, 13) if miss_path == "software" else (1, 2, 3))
    accesses = make_traffic(params, n, rng, shape, fault_lines=fault_lines)

    def memory():
        return BackingMemory(params.line_bytes,
                             read_faults={read_fault: Status.PAGE_FAULT.value} if params.policy != "random" else {},
                             write_faults={write_fault: Status.PROT_FAULT.value})

    chooser = (lambda ev: fw_choose(params, ev)) if miss_path == "software" else None
    model = ExCacheModel(line_bytes=params.line_bytes, sets=params.sets, ways=params.ways, policy=params.policy,
                         memory=memory(), chooser=chooser, mshrs=params.mshrs)
    expected = [model.access(*a)[:2] for a in accesses]
    counts, stats = {"copy": 0, "stray": 0}, {}
    rtl_seed = rng.randrange(1 << 30)
    print(f"seed {seed!r} (bench seed {rtl_seed})")
    got = run_rtl(params, accesses, seed=rtl_seed, miss_path=miss_path, memory=memory(), stats=stats,
                  reorder=params.mshrs > 1, latency=30 if params.mshrs > 1 else 0,
                  attempts=make_attempts(params, prob, counts))
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"seed {seed!r}: access #{i} {accesses[i]}: RTL {g}, model {e}"
    assert stats["counters"] == model.counters(), f"seed {seed!r}: counters {stats['counters']}, model {model.counters()}"
    assert model.writebacks and model.evictions and any(s for _, s in expected), f"seed {seed!r}: traffic too gentle"
    assert counts["copy"] >= 10 and counts["stray"] >= 10, f"seed {seed!r}: too few discarded messages {counts}"
    return counts


@pytest.mark.parametrize("kw,miss_path,n", [
    (dict(sets=2, ways=3, policy="lru"), "hardware", 250),
    (dict(sets=2, ways=4, policy="plru"), "software", 300),
    (dict(sets=2, ways=3, policy="fifo", line_store="axi", local_reads=4), "hardware", 200),
    (dict(sets=4, ways=4, policy="lru", mshrs=8), "hardware", 250),
    (dict(sets=4, ways=2, policy="fifo", mshrs=4), "software", 300),
    (dict(sets=4, ways=4, policy="lru", mshrs=8, line_store="axi", local_reads=4), "hardware", 250),
], ids=["blocking", "blocking-sw", "blocking-axi", "nb8", "nb4-sw", "nb8-axi"])
def test_cut_through_fill_matches_model(kw, miss_path, n):
    """Every access as the model answers it and the same counters, with discarded copies and corrupt headers
    before the responses, 30 % backpressure, idle cycles, refused reads and write-backs (seeded; the seed is in
    every assertion message)."""
    params = ExCacheParams(line_bytes=64, rx_cut_through=True, **kw)
    _case(params, miss_path, n, seed=f"ct-{'-'.join(f'{k}{v}' for k, v in kw.items())}-{miss_path}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kw", [dict(line_bytes=512, sets=2, ways=2, policy="lru", line_store="axi", local_reads=4),
                                dict(line_bytes=256, sets=4, ways=2, policy="plru", mshrs=8),
                                dict(line_bytes=512, sets=4, ways=2, policy="lru", mshrs=4, line_store="axi",
                                     local_reads=4)],
                         ids=["blocking-axi-512", "nb8-256", "nb4-axi-512"])
def test_cut_through_fill_campaign(kw, seed):
    """Longer lines (several beats per frame to truncate), more seeds."""
    params = ExCacheParams(rx_cut_through=True, **kw)
    _case(params, "hardware", 300, seed=f"ct-campaign-{seed}")


@pytest.mark.parametrize("kw", [dict(), dict(line_store="axi")], ids=["onchip", "axi"])
def test_discarded_fill_then_refusal_drops_the_victim(kw):
    """Blocking controller: a discarded copy of an OK line (3 of its 8 words written over the clean victim), then
    the real answer is a refusal. The victim is invalidated, so its next read misses (one miss more than the model)
    and returns the right data; without the invalidation it would hit on the spoiled words."""
    params = ExCacheParams(line_bytes=64, sets=1, ways=1, rx_cut_through=True, **kw)
    refused = (1, 0x8000)
    mem = BackingMemory(64, read_faults={refused: Status.PAGE_FAULT.value})
    model_mem = BackingMemory(64, read_faults={refused: Status.PAGE_FAULT.value})
    accesses = [(OP_WRITE, 1, 0x4008, 0xFF, 0x1122334455667788),   # victim's line, dirty
                (OP_READ, 1, 0x5000, 0, 0),                        # written back, replaced: clean
                (OP_READ, 1, 0x4008, 0, 0),                        # the victim again, clean now
                (OP_READ, 1, 0x8000, 0, 0),                        # refused, after a discarded OK copy
                (OP_READ, 1, 0x4008, 0, 0)]                        # the victim: a miss, right data
    model = ExCacheModel(line_bytes=64, sets=1, ways=1, policy="lru", memory=model_mem)
    expected = [model.access(*a)[:2] for a in accesses]
    assert expected[3][1] == Status.PAGE_FAULT.value and expected[4] == (0x1122334455667788, 0)

    def attempts(hdr, beats, rng):
        if hdr["vaddr"] == refused[1] and hdr["kind"] == MsgKind.LINE_READ_RESP:
            garbage = [{"data": 0xDEAD0000 + i, "last": i == 3, "discard": i == 3} for i in range(4)]
            return [({**hdr, "status": Status.OK}, garbage)]
        return []
    stats = {}
    got = run_rtl(params, accesses, seed=5, memory=mem, stats=stats, attempts=attempts)
    assert got == expected, (got, expected)
    assert stats["counters"]["misses"] == model.counters()["misses"] + 1, (stats["counters"], model.counters())


def miss_after_last_beat(params, lead):
    """One clean read miss, no backpressure, the response's last beat there from cycle ``T``: with ``lead`` = W - 1
    (cut-through) the header comes with beat 0 and beat ``i`` at ``T - (W - 1) + i``, as off the wire; with
    ``lead`` = 0 (store and forward) the header and every beat at ``T``. Returns the cycles from ``T`` to the
    answer's handshake."""
    from amaranth.sim import Simulator

    from hw.processor.excache import ExCacheTop
    dut = ExCacheTop(params)
    w = params.words_per_line
    out = {}

    async def bench(ctx):
        ctx.set(dut.cpu_resp.ready, 1)
        ctx.set(dut.net_tx.hdr.ready, 1)
        ctx.set(dut.cpu_req.valid, 1)
        ctx.set(dut.cpu_req.payload, {"op": OP_READ, "pid": 1, "vaddr": 0x10008, "strb": 0, "wdata": 0})
        t_last = hdr = None
        beats_taken = 0
        for cycle in range(1000):
            if hdr is not None and cycle >= t_last - lead:
                ctx.set(dut.net_rx.hdr.valid, 1)
                ctx.set(dut.net_rx.hdr.payload, hdr)
            # beat i is there from cycle t_last - (w - 1) + i (cut-through) or t_last (store and forward)
            avail = t_last is not None and beats_taken < w and cycle >= t_last - min(lead, w - 1 - beats_taken)
            ctx.set(dut.net_rx.data.valid, avail)
            if avail:
                beat = {"data": beats_taken, "last": beats_taken == w - 1}
                ctx.set(dut.net_rx.data.payload, {**beat, "discard": 0} if params.rx_cut_through else beat)
            await ctx.delay(1e-9)
            took_req = ctx.get(dut.cpu_req.valid) and ctx.get(dut.cpu_req.ready)
            txh = ctx.get(dut.net_tx.hdr.payload) if ctx.get(dut.net_tx.hdr.valid) else None
            took_hdr = hdr is not None and ctx.get(dut.net_rx.hdr.valid) and ctx.get(dut.net_rx.hdr.ready)
            took_beat = avail and ctx.get(dut.net_rx.data.ready)
            answered = ctx.get(dut.cpu_resp.valid)
            await ctx.tick()
            if took_req:
                ctx.set(dut.cpu_req.valid, 0)
            if txh is not None and t_last is None:
                t_last = cycle + 40 + w   # the header comes 40 cycles after the request at the earliest
                hdr = {"kind": MsgKind.LINE_READ_RESP, "status": Status.OK, "pid": txh.pid, "vaddr": txh.vaddr,
                       "tag": txh.tag, "length": params.line_bytes}
            if took_hdr:
                hdr = None
                ctx.set(dut.net_rx.hdr.valid, 0)
            beats_taken += bool(took_beat)
            if answered:
                out["after_last"] = cycle - t_last
                return
        raise AssertionError("no answer")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out["after_last"]


@pytest.mark.parametrize("line_bytes", [64, 512])
@pytest.mark.parametrize("kw", [dict(), dict(mshrs=8)], ids=["blocking", "nb8"])
def test_cut_through_answers_soon_after_the_last_beat(kw, line_bytes):
    """The point of cut-through: the fill runs while the beats arrive, so a miss is answered a fixed few cycles
    after the last beat, where store and forward (everything offered at once after the frame's check) still
    writes W words first."""
    w = line_bytes // 8
    ct = miss_after_last_beat(ExCacheParams(line_bytes=line_bytes, rx_cut_through=True, **kw), lead=w - 1)
    sf = miss_after_last_beat(ExCacheParams(line_bytes=line_bytes, **kw), lead=0)
    print(f"{kw} {line_bytes} B: answer {ct} cycles after the last beat (cut-through), {sf} (store and forward)")
    # 7 / 3 cycles: the last beat written and the tag installed at one edge, then (blocking) REPLAY, the set's
    # tags captured, compared and loaded, S1 hits, S2 answers (6 before the ST stage of issue 18, session 12:
    # the replay's capture) / (non-blocking) the answer queue's head completes and answers.
    base = 3 if kw.get("mshrs", 1) > 1 else 7
    assert (ct, sf) == (base, base + w - 1), (ct, sf)


def test_the_setting_reaches_the_processor_netif_only():
    """``cache.rx_cut_through`` sets the ExCache's and the processor NetIf's flag (the memory side stays store and
    forward); SystemParams refuses the two disagreeing (the ExCache's net_rx is the interface's rx)."""
    from dataclasses import replace

    from emu.config import load_config
    from emu.errors import DisaggError
    from hw.system.params import SystemParams
    on, off = (load_config(None, [f"cache.rx_cut_through={v}"]).params for v in ("true", "false"))
    assert (on.excache.rx_cut_through, on.proc_netif.rx_cut_through, on.mem_netif.rx_cut_through) == (True, True, False)
    assert (off.excache.rx_cut_through, off.proc_netif.rx_cut_through) == (False, False)
    with pytest.raises(ValueError, match="rx_cut_through"):
        SystemParams(excache=replace(SystemParams().excache, rx_cut_through=True))
    with pytest.raises(TypeError, match="rx_cut_through must be a bool"):
        ExCacheParams(rx_cut_through=1)
    with pytest.raises(DisaggError):
        load_config(None, ["cache.rx_cut_through=3"])
