"""hw.memory.sequencer.RequestSequencer: the order of the sub-components' work and the response header."""

from hw.memory.sequencer import RequestSequencer
from hw.protocol import MsgKind, Status
from sim_tests.memory.helpers import PARAMS, run

REQ = {"kind": MsgKind.WORD_WRITE, "src": 1, "dst": 4, "tag": 0x5A, "pid": 2, "vaddr": 0x3008, "length": 8}


def serve(checks, tlb_hit, tlb_w=1):
    """One request; returns the cycle of each event (request taken in cycle 0) and the response header."""
    dut = RequestSequencer(PARAMS)
    events = {}

    async def bench(ctx):
        for name, value in checks.items():
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.tlb_hit, tlb_hit)
        ctx.set(dut.tlb_pfn, 0x7)
        ctx.set(dut.tlb_r, 1)
        ctx.set(dut.tlb_w, tlb_w)
        ctx.set(dut.node_id, 9)
        ctx.set(dut.tx_hdr.ready, 1)
        ctx.set(dut.rx_hdr.valid, 1)
        ctx.set(dut.rx_hdr.payload, REQ)
        for cycle in range(12):
            for name in ("rx_hdr.ready", "access_start", "walk_start", "drain", "tx_hdr.valid",
                         "tlb_hit_event", "tlb_miss_event", "prot_fault_event", "response_event"):
                obj = dut
                for part in name.split("."):
                    obj = getattr(obj, part)
                if ctx.get(obj):
                    events.setdefault(name, cycle)
            if ctx.get(dut.access_start):
                events["paddr"] = ctx.get(dut.paddr)
            if ctx.get(dut.tx_hdr.valid):
                events["hdr"] = ctx.get(dut.tx_hdr.payload)
            started = ctx.get(dut.access_start) or ctx.get(dut.drain)
            await ctx.tick()
            ctx.set(dut.rx_hdr.valid, 0)
            ctx.set(dut.mover_done, started)          # a mover that finishes in the cycle after its start

    run(dut, bench)
    return events


OK = dict(well_formed=1, owned=1, is_write=1, is_line=0, has_data=1)


def test_tlb_hit_write_is_accessed_then_answered():
    ev = serve(OK, tlb_hit=1)
    assert ev["rx_hdr.ready"] == 0 and ev["tlb_hit_event"] == 1 and ev["access_start"] == 1
    assert ev["paddr"] == 0x7 << PARAMS.page_bits | 0x008
    assert ev["tx_hdr.valid"] == 3 and ev["response_event"] == 3 and "walk_start" not in ev
    hdr = ev["hdr"]
    assert (hdr.kind, hdr.status, hdr.src, hdr.dst, hdr.tag, hdr.length) == (
        MsgKind.WORD_WRITE_RESP, Status.OK, 9, 1, 0x5A, 0)


def test_miss_starts_the_walker():
    ev = serve(OK, tlb_hit=0)
    assert ev["tlb_miss_event"] == 1 and ev["walk_start"] == 1 and "access_start" not in ev


def test_rejections_drain_and_answer():
    ev = serve(dict(OK, owned=0), tlb_hit=1)
    assert ev["prot_fault_event"] == 2 and ev["drain"] == 2 and ev["tx_hdr.valid"] == 4
    assert ev["hdr"].status == Status.PROT_FAULT and "access_start" not in ev
    ev = serve(OK, tlb_hit=1, tlb_w=0)                       # read-only page written
    assert ev["hdr"].status == Status.PROT_FAULT
    ev = serve(dict(OK, well_formed=0, has_data=0), tlb_hit=1)
    assert ev["hdr"].status == Status.BAD_REQUEST and "drain" not in ev and ev["tx_hdr.valid"] == 3
