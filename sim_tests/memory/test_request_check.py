"""hw.memory.request_check.RequestChecker: well-formedness, kind and announced data."""

import pytest

from hw.memory.request_check import RequestChecker
from hw.protocol import MsgKind, Status
from sim_tests.memory.helpers import PARAMS, run

LR, LW, WR, WW = MsgKind.LINE_READ, MsgKind.LINE_WRITE, MsgKind.WORD_READ, MsgKind.WORD_WRITE


@pytest.mark.parametrize("kind, vaddr, length, status, expect", [
    # (well_formed, is_write, is_line, has_data)
    (LR, 0x1000, 64, Status.OK, (1, 0, 1, 0)),
    (LW, 0x1040, 64, Status.OK, (1, 1, 1, 1)),
    (LR, 0x1004, 64, Status.OK, (0, 0, 1, 0)),            # not beat aligned
    (LR, 0x1000, 0, Status.OK, (0, 0, 1, 0)),             # empty
    (LR, 0x1FC0, 128, Status.OK, (0, 0, 1, 0)),           # crosses the page
    (WR, 0x1006, 2, Status.OK, (1, 0, 0, 0)),
    (WW, 0x1006, 4, Status.OK, (0, 1, 0, 1)),             # misaligned word
    (WR, 0x1000, 3, Status.OK, (0, 0, 0, 0)),             # odd size
    (WR, 1 << 48, 8, Status.OK, (0, 0, 0, 0)),            # beyond the 48-bit space
    (MsgKind.LINE_READ_RESP, 0, 64, Status.OK, (0, 0, 0, 1)),        # a response sent to the MMU: drained
    (MsgKind.LINE_READ_RESP, 0, 64, Status.PAGE_FAULT, (0, 0, 0, 0)),
])
def test_checks(kind, vaddr, length, status, expect):
    dut = RequestChecker(PARAMS)
    got = []

    async def bench(ctx):
        ctx.set(dut.req, {"kind": kind, "status": status, "src": 1, "pid": 2, "vaddr": vaddr, "length": length})
        got.append(tuple(ctx.get(s) for s in (dut.well_formed, dut.is_write, dut.is_line, dut.has_data)))

    run(dut, bench)
    assert got == [expect]
