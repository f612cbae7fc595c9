"""hw.memory.responder.Responder: what it starts for each translated request, and the response header."""

from hw.memory.responder import Responder
from hw.protocol import MsgKind, Status
from sim_tests.memory.helpers import PARAMS, run

ENTRY = {"kind": MsgKind.WORD_WRITE, "src": 1, "tag": 0x5A, "pid": 2, "vaddr": 0x3008, "length": 8,
         "paddr": 0x7008, "is_write": 1, "is_line": 0, "has_data": 1}


def serve(status, **over):
    """One queue entry; returns the cycle of each event (entry offered in cycle 0) and the response header."""
    dut = Responder(PARAMS)
    events = {}

    async def bench(ctx):
        ctx.set(dut.node_id, 9)
        ctx.set(dut.tx_hdr.ready, 1)
        ctx.set(dut.queue.valid, 1)
        ctx.set(dut.queue.payload, dict(ENTRY, status=status, **over))
        for cycle in range(10):
            for name in ("queue.ready", "access_start", "drain", "tx_hdr.valid", "prot_fault_event",
                         "response_event", "idle"):
                obj = dut
                for part in name.split("."):
                    obj = getattr(obj, part)
                if ctx.get(obj):
                    events.setdefault(name, cycle)
            if ctx.get(dut.access_start):
                events["mover"] = (ctx.get(dut.paddr), ctx.get(dut.write), ctx.get(dut.line), ctx.get(dut.length))
            if ctx.get(dut.tx_hdr.valid):
                events["hdr"] = ctx.get(dut.tx_hdr.payload)
            started = ctx.get(dut.access_start) or ctx.get(dut.drain)
            await ctx.tick()
            ctx.set(dut.queue.valid, 0)
            ctx.set(dut.node_id, 3)                     # sampled when the entry was taken
            ctx.set(dut.mover_done, started)            # a mover that finishes in the cycle after its start

    run(dut, bench)
    return events


def test_ok_write_is_carried_out_then_answered():
    ev = serve(Status.OK)
    assert ev["queue.ready"] == 0 and ev["access_start"] == 0 and ev["mover"] == (0x7008, 1, 0, 8)
    assert ev["tx_hdr.valid"] == 2 and ev["response_event"] == 2 and "drain" not in ev
    hdr = ev["hdr"]
    assert (hdr.kind, hdr.status, hdr.src, hdr.dst, hdr.tag, hdr.pid, hdr.vaddr, hdr.length) == (
        MsgKind.WORD_WRITE_RESP, Status.OK, 9, 1, 0x5A, 2, 0x3008, 0)


def test_rejections_drain_and_answer():
    ev = serve(Status.PROT_FAULT)
    assert ev["prot_fault_event"] == 0 and ev["drain"] == 0 and ev["tx_hdr.valid"] == 2
    assert ev["hdr"].status == Status.PROT_FAULT and "access_start" not in ev
    ev = serve(Status.BAD_REQUEST, kind=MsgKind.WORD_READ, is_write=0, has_data=0)
    assert ev["hdr"].status == Status.BAD_REQUEST and ev["hdr"].kind == MsgKind.WORD_READ_RESP
    assert "drain" not in ev and "prot_fault_event" not in ev and ev["tx_hdr.valid"] == 1
    ev = serve(Status.PAGE_FAULT, kind=MsgKind.LINE_WRITE, is_line=1, length=64)
    assert ev["drain"] == 0 and ev["hdr"].kind == MsgKind.LINE_WRITE_RESP and ev["hdr"].length == 0
