"""ExCacheSequencer: who owns the arrays in each cycle, and which block each command goes to.

Each step is one clock cycle: the inputs set before the edge and the outputs expected in that cycle
(outputs not named are expected 0).
"""

import pytest

from hw.processor.excache_layouts import MissCmdOp, MissKind
from hw.processor.excache_sequencer import ExCacheSequencer
from hw.protocol import Status
from sim_tests.processor.helpers import PARAMS, simulate

PULSES = ("run", "replay", "abort", "miss_taken", "read_line", "mark_clean", "fill", "walk_go", "flush_closed")
MISS = {"kind": MissKind.MISS, "set": 2, "way": 1, "pid": 5}
FLUSH = {"kind": MissKind.FLUSH, "set": 3, "way": 2, "pid": 7}


def cmd(op, way=0, status=Status.OK):
    return {"miss_cmd.valid": 1, "miss_cmd.payload": {"op": op, "way": way, "status": status}}


NO_CMD = {"miss_cmd.valid": 0}

MISS_SERVED = [
    ({"miss_info": MISS}, {"run"}),
    ({"pipe_miss": 1}, {"run"}),                                    # RUN sees the miss
    ({"pipe_miss": 0, "miss_event.ready": 0}, {"event"}),           # MISS_EVENT offered ...
    ({"miss_event.ready": 1}, {"event", "miss_taken"}),             # ... and taken
    ({**cmd(MissCmdOp.READ_LINE, way=3)}, {"cmd_ready", "read_line"}),
    ({**NO_CMD}, set()),                                            # READ_LINE: wait for read_done
    ({"read_done": 1}, set()),
    ({"read_done": 0, **cmd(MissCmdOp.MARK_CLEAN, way=3)}, {"cmd_ready", "mark_clean"}),
    ({**cmd(MissCmdOp.FILL, way=3)}, {"cmd_ready", "fill"}),        # MARK_CLEAN of a MISS stays in WAIT_CMD
    ({**NO_CMD}, set()),
    ({"fill_done": 1}, set()),
    ({"fill_done": 0}, {"replay"}),
    ({}, {"run"}),
]

MISS_ABORTED = [
    ({"pipe_miss": 1, "miss_info": MISS, "miss_event.ready": 1}, {"run"}),
    ({"pipe_miss": 0}, {"event", "miss_taken"}),
    ({**cmd(MissCmdOp.ABORT, status=Status.PROT_FAULT)}, {"cmd_ready", "abort"}),
    ({**NO_CMD}, {"run"}),
]

MAINT = [
    ({"maint_busy": 1, "pipe_idle": 0}, {"run"}),                   # waits for the pipeline to drain
    ({"pipe_idle": 1}, {"run", "walk_go"}),
    ({"flush.valid": 1, "flush.payload": FLUSH, "miss_event.ready": 0}, {"event"}),   # forwarded
    ({"miss_event.ready": 1}, {"event"}),
    ({"flush.valid": 0, **cmd(MissCmdOp.ABORT)}, {"cmd_ready", "flush_closed"}),   # ABORT of a FLUSH
    ({**NO_CMD}, set()),                                            # back in MAINT
    ({"flush.valid": 1}, {"event"}),
    ({"flush.valid": 0, **cmd(MissCmdOp.MARK_CLEAN, way=2), "walk_done": 1}, {"cmd_ready", "mark_clean",
                                                                              "flush_closed"}),
    ({**NO_CMD, "walk_done": 0, "maint_busy": 0}, {"run"}),         # the last way: straight to RUN
]


@pytest.mark.parametrize("steps", [MISS_SERVED, MISS_ABORTED, MAINT], ids=["miss", "abort", "maint"])
def test_sequencer(steps):
    dut = ExCacheSequencer(PARAMS)
    got = []

    async def bench(ctx):
        for inputs, _ in steps:
            for port, value in inputs.items():
                obj = dut
                for part in port.split("."):
                    obj = getattr(obj, part)
                ctx.set(obj, value)
            await ctx.delay(1e-9)
            seen = {name for name in PULSES if ctx.get(getattr(dut, name))}
            if ctx.get(dut.miss_event.valid):
                seen.add("event")
                got_ev = ctx.get(dut.miss_event.payload)
                seen.add(("kind", got_ev.kind, got_ev.set, got_ev.pid))
            if ctx.get(dut.miss_cmd.ready):
                seen.add("cmd_ready")
            if ctx.get(dut.abort):
                seen.add(("status", ctx.get(dut.abort_status)))
            for name in ("read_line", "mark_clean", "fill"):
                if name in seen:
                    seen.add(("way", ctx.get(dut.cmd_way), ctx.get(dut.ev_set)))
            got.append(seen)
            await ctx.tick()

    simulate(dut, bench)
    for i, ((inputs, expected), seen) in enumerate(zip(steps, got)):
        assert {s for s in seen if isinstance(s, str)} == expected, f"step {i}: {inputs}"
    events = {s for seen in got for s in seen if isinstance(s, tuple) and s[0] == "kind"}
    ways = {s for seen in got for s in seen if isinstance(s, tuple) and s[0] == "way"}
    if steps is MAINT:
        assert events == {("kind", MissKind.FLUSH, 3, 7)} and ways == {("way", 2, 3)}
    else:
        assert events == {("kind", MissKind.MISS, 2, 5)}
    if steps is MISS_SERVED:
        assert ways == {("way", 3, 2)}
    if steps is MISS_ABORTED:
        assert ("status", Status.PROT_FAULT) in got[2]
