"""MissHandler: a dirty victim's write-back does not stall the fetch; a refused write-back drops the line.

The handler alone, with the controller's side (``miss_cmd``, ``wb_data``, ``fill_data``, ``query``) and the
network side driven by the test, every stream with random ready/valid gaps. The order of what the handler does
is recorded as a list of events and compared with the protocol of ``hw/processor/miss_handler.py``.
"""

import random
from dataclasses import replace

import pytest

from hw.processor.excache_layouts import MissCmdOp, MissKind
from hw.processor.miss_handler import MissHandler
from hw.protocol import MsgKind, Status
from sim_tests.processor.helpers import PARAMS, simulate

W = PARAMS.words_per_line
VICTIM = {"tag": 0x3C, "pid": 5, "valid": 1, "dirty": 1}


def _run(wb_status, rd_status, kind=MissKind.MISS, seed=0, params=PARAMS):
    """Serve one event with a dirty victim; return the handler's events in order and the drained beats."""
    dut = MissHandler(params)
    rng = random.Random(seed)
    log = []
    rx_queue = []        # (header, beats) the memory will answer, in request order
    state = {"wb_sent": 0, "fill": 0}

    async def bench(ctx):
        ctx.set(dut.mem_node, 7)
        ctx.set(dut.query, VICTIM)
        ctx.set(dut.miss_event.valid, 1)
        ctx.set(dut.miss_event.payload, {"kind": kind, "pid": 2, "vaddr": 0x12340, "set": 1, "way": 3,
                                         "victim_valid": 1, "victim_dirty": 1})
        rx_hdr, rx_beats = None, []
        for _ in range(400):
            ready = {name: rng.random() > 0.3 for name in ("tx_hdr", "tx_data", "cmd", "fill")}
            ctx.set(dut.net_tx.hdr.ready, ready["tx_hdr"])
            ctx.set(dut.net_tx.data.ready, ready["tx_data"])
            ctx.set(dut.miss_cmd.ready, ready["cmd"])
            ctx.set(dut.fill_data.ready, ready["fill"])
            wb_valid = state["wb_sent"] < W and rng.random() > 0.3
            ctx.set(dut.wb_data.valid, wb_valid)
            ctx.set(dut.wb_data.payload, {"data": 0xA0 + state["wb_sent"], "last": state["wb_sent"] == W - 1})
            if rx_hdr is None and rx_queue:
                rx_hdr, rx_beats = rx_queue.pop(0)
            hdr_valid = rx_hdr is not None and rng.random() > 0.3
            ctx.set(dut.net_rx.hdr.valid, hdr_valid)
            if hdr_valid:
                ctx.set(dut.net_rx.hdr.payload, rx_hdr)
            beat_valid = bool(rx_beats) and rx_hdr is None and rng.random() > 0.3
            ctx.set(dut.net_rx.data.valid, beat_valid)
            if beat_valid:
                ctx.set(dut.net_rx.data.payload, {"data": rx_beats[0], "last": len(rx_beats) == 1})
            await ctx.delay(1e-9)
            event_taken = ctx.get(dut.miss_event.valid) and ctx.get(dut.miss_event.ready)
            if ctx.get(dut.net_tx.hdr.valid) and ready["tx_hdr"]:
                h = ctx.get(dut.net_tx.hdr.payload)
                log.append((h.kind, h.pid, h.vaddr, h.dst))
                if h.kind == MsgKind.LINE_READ:
                    beats = [0xF0 + i for i in range(W)] if rd_status == Status.OK else []
                    rx_queue.append(({"kind": MsgKind.LINE_READ_RESP, "status": rd_status}, beats))
            if ctx.get(dut.net_tx.data.valid) and ready["tx_data"]:
                b = ctx.get(dut.net_tx.data.payload)
                log.append(("beat", b.data, b.last))
                if b.last:
                    rx_queue.append(({"kind": MsgKind.LINE_WRITE_RESP, "status": wb_status}, []))
            if ctx.get(dut.wb_data.valid) and ctx.get(dut.wb_data.ready):
                state["wb_sent"] += 1
            if ctx.get(dut.miss_cmd.valid) and ready["cmd"]:
                c = ctx.get(dut.miss_cmd.payload)
                log.append((c.op, c.way, c.status))
            if hdr_valid and ctx.get(dut.net_rx.hdr.ready):
                log.append(("resp", rx_hdr["kind"]))
                rx_hdr = None
            if beat_valid and ctx.get(dut.net_rx.data.ready):
                if ctx.get(dut.fill_data.valid) and ready["fill"]:
                    state["fill"] += 1
                else:
                    log.append(("dropped", rx_beats[0]))
                rx_beats.pop(0)
            await ctx.tick()
            if event_taken:
                ctx.set(dut.miss_event.valid, 0)

    simulate(dut, bench)
    return log, state


def _victim_vaddr():
    p = PARAMS
    return (VICTIM["tag"] << (p.offset_bits + p.index_bits)) | (1 << p.offset_bits)


WRITE_BACK = [(MsgKind.LINE_WRITE, VICTIM["pid"], _victim_vaddr(), 7), (MissCmdOp.READ_LINE, 3, Status.OK)] + \
             [("beat", 0xA0 + i, i == W - 1) for i in range(W)]
FETCH = (MsgKind.LINE_READ, 2, 0x12340, 7)


@pytest.mark.parametrize("seed", range(4))
def test_fetch_follows_the_write_back_without_waiting(seed):
    log, state = _run(Status.OK, Status.OK, seed=seed)
    # The LINE_READ leaves before the LINE_WRITE is answered: two requests outstanding.
    assert log == WRITE_BACK + [FETCH, ("resp", MsgKind.LINE_WRITE_RESP), (MissCmdOp.MARK_CLEAN, 3, Status.OK),
                                ("resp", MsgKind.LINE_READ_RESP), (MissCmdOp.FILL, 3, Status.OK)]
    assert state["fill"] == W


@pytest.mark.parametrize("seed", range(4))
def test_refused_write_back_drops_the_fetched_line(seed):
    log, state = _run(Status.PROT_FAULT, Status.OK, seed=seed)
    # Nothing marked clean or filled; the line's beats are taken and dropped; the access gets the write's status.
    assert log == WRITE_BACK + [FETCH, ("resp", MsgKind.LINE_WRITE_RESP), ("resp", MsgKind.LINE_READ_RESP)] + \
        [("dropped", 0xF0 + i) for i in range(W)] + [(MissCmdOp.ABORT, 3, Status.PROT_FAULT)]
    assert state["fill"] == 0


def test_refused_write_back_and_fetch_answer_the_write_backs_status():
    log, _ = _run(Status.PROT_FAULT, Status.PAGE_FAULT)
    assert log[-3:] == [("resp", MsgKind.LINE_WRITE_RESP), ("resp", MsgKind.LINE_READ_RESP),
                        (MissCmdOp.ABORT, 3, Status.PROT_FAULT)]


def test_flush_waits_for_its_write_back():
    log, _ = _run(Status.OK, Status.OK, kind=MissKind.FLUSH)
    assert log == WRITE_BACK + [("resp", MsgKind.LINE_WRITE_RESP), (MissCmdOp.MARK_CLEAN, 3, Status.OK)]


@pytest.mark.parametrize("seed", range(4))
def test_without_overlap_the_fetch_waits_for_the_write_backs_answer(seed):
    # overlap_writeback=False (the rack: the two answers may come from two memory components in either order).
    log, state = _run(Status.OK, Status.OK, seed=seed, params=replace(PARAMS, overlap_writeback=False))
    assert log == WRITE_BACK + [("resp", MsgKind.LINE_WRITE_RESP), (MissCmdOp.MARK_CLEAN, 3, Status.OK), FETCH,
                                ("resp", MsgKind.LINE_READ_RESP), (MissCmdOp.FILL, 3, Status.OK)]
    assert state["fill"] == W


def test_without_overlap_a_refused_write_back_sends_no_fetch():
    log, state = _run(Status.PROT_FAULT, Status.OK, params=replace(PARAMS, overlap_writeback=False))
    assert log == WRITE_BACK + [("resp", MsgKind.LINE_WRITE_RESP), (MissCmdOp.ABORT, 3, Status.PROT_FAULT)]
    assert state["fill"] == 0
