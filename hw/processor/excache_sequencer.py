"""Who owns the ExCache's arrays, cycle by cycle: the hit pipeline, the miss path or maintenance.

::

    RUN --pipe_miss--> MISS_EVENT --taken--> WAIT_CMD <--read_done-- READ_LINE
     |  ^                                     |  |  ^ `--READ_LINE-------^
     |  `-------------- ABORT (MISS) ---------'  |  `-- MARK_CLEAN (MISS)
     |  `-- REPLAY <--fill_done-- FILL <--FILL---'
     |                             `--fill_dropped (rx_cut_through: a discarded line)--> WAIT_CMD
     |
     `--maint_busy & pipe_idle--> MAINT --flush taken--> WAIT_CMD --MARK_CLEAN/ABORT (FLUSH)--> MAINT
                                    `--walk_done--> RUN    (or straight to RUN when that was the last way)

While an event is open (WAIT_CMD .. FILL) the sequencer obeys the miss handler's commands: it pulses
the block that carries each one out (:class:`~hw.processor.line_writeback.LineWriteBack` for READ_LINE
and MARK_CLEAN, :class:`~hw.processor.line_fill.LineFill` for FILL, the hit pipeline for ABORT of a
MISS) and waits for it where the command takes more than one cycle. One event is open at a time: a
non-blocking cache (issue 13) would replace MISS_EVENT..REPLAY by miss status registers that the
pipeline allocates while it keeps running.
"""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import MissCmd, MissCmdOp, MissEvent, MissKind
from hw.processor.excache_params import ExCacheParams
from hw.protocol import Status

__all__ = ["ExCacheSequencer"]


class ExCacheSequencer(wiring.Component):
    """The controller's state machine.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    pipe_miss, pipe_idle : In(1)
        The hit pipeline's ``miss`` and ``idle``.
    maint_busy : In(1)
        A maintenance command waits.
    run : Out(1)
        The pipeline owns the arrays.
    replay, abort : Out(1)
        Pulses for the pipeline (see :class:`~hw.processor.hit_pipeline.HitPipeline`).
    abort_status : Out(Status)
    miss_info : In(MissEvent)
        The MISS event of the access in S1 (with the suggested victim).
    miss_taken : Out(1)
        Pulse: the MISS event was taken (counters, LFSR).
    flush : In(stream of MissEvent)
        FLUSH events from the maintenance walker.
    miss_event : Out(stream of MissEvent)
        Events for the miss handler.
    miss_cmd : In(stream of MissCmd)
        Its commands for the open event.
    ev_set : Out(set bits)
        Set of the open event.
    cmd_way : Out(way_bits)
        Way of the command on ``miss_cmd`` (valid with the pulses below).
    read_line, mark_clean, fill : Out(1)
        Pulses: the command is READ_LINE, MARK_CLEAN or FILL.
    read_done, fill_done : In(1)
        The line was streamed out / filled.
    fill_dropped : In(1)
        Only with ``rx_cut_through``: the fill's message was discarded by the network (nothing installed): the
        event stays open and waits for the miss handler's next command (the same FILL, for the resent line).
    walk_go : Out(1)
        Pulse: the pipeline is drained, maintenance may walk.
    flush_closed : Out(1)
        Pulse: the FLUSH event is closed (MARK_CLEAN or ABORT).
    walk_done : In(1)
        The walker's ``done``.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "pipe_miss":    In(1),
            "pipe_idle":    In(1),
            "maint_busy":   In(1),
            "run":          Out(1),
            "replay":       Out(1),
            "abort":        Out(1),
            "abort_status": Out(Status),
            "miss_info":    In(MissEvent(p)),
            "miss_taken":   Out(1),
            "flush":        In(stream.Signature(MissEvent(p))),
            "miss_event":   Out(stream.Signature(MissEvent(p))),
            "miss_cmd":     In(stream.Signature(MissCmd(p))),
            "ev_set":       Out(max(1, p.index_bits)),
            "cmd_way":      Out(p.way_bits),
            "read_line":    Out(1),
            "mark_clean":   Out(1),
            "fill":         Out(1),
            "read_done":    In(1),
            "fill_done":    In(1),
            "walk_go":      Out(1),
            "flush_closed": Out(1),
            "walk_done":    In(1),
            **({"fill_dropped": In(1)} if p.rx_cut_through else {}),
        })

    def elaborate(self, platform):
        m = Module()
        ev_kind = Signal(MissKind)
        cmd = self.miss_cmd.payload
        m.d.comb += self.cmd_way.eq(cmd.way)

        def take(event):
            m.d.sync += [ev_kind.eq(event.kind), self.ev_set.eq(event.set)]
            m.next = "WAIT_CMD"

        def close_flush():
            m.d.comb += self.flush_closed.eq(1)
            with m.If(self.walk_done):
                m.next = "RUN"
            with m.Else():
                m.next = "MAINT"

        with m.FSM(name="ctrl"):
            with m.State("RUN"):
                m.d.comb += self.run.eq(1)
                with m.If(self.pipe_miss):
                    m.next = "MISS_EVENT"
                with m.Elif(self.maint_busy & self.pipe_idle):
                    m.d.comb += self.walk_go.eq(1)
                    m.next = "MAINT"

            with m.State("MISS_EVENT"):
                m.d.comb += [self.miss_event.valid.eq(1), self.miss_event.payload.eq(self.miss_info)]
                with m.If(self.miss_event.ready):
                    m.d.comb += self.miss_taken.eq(1)
                    take(self.miss_info)

            with m.State("MAINT"):
                m.d.comb += [self.miss_event.valid.eq(self.flush.valid), self.miss_event.payload.eq(self.flush.payload),
                             self.flush.ready.eq(self.miss_event.ready)]
                with m.If(self.flush.valid & self.miss_event.ready):
                    take(self.flush.payload)
                with m.Elif(self.walk_done):
                    m.next = "RUN"

            with m.State("WAIT_CMD"):
                m.d.comb += self.miss_cmd.ready.eq(1)
                with m.If(self.miss_cmd.valid):
                    with m.Switch(cmd.op):
                        with m.Case(MissCmdOp.READ_LINE):
                            m.d.comb += self.read_line.eq(1)
                            m.next = "READ_LINE"
                        with m.Case(MissCmdOp.MARK_CLEAN):
                            m.d.comb += self.mark_clean.eq(1)
                            with m.If(ev_kind == MissKind.FLUSH):
                                close_flush()
                        with m.Case(MissCmdOp.FILL):
                            m.d.comb += self.fill.eq(1)
                            m.next = "FILL"
                        with m.Case(MissCmdOp.ABORT):
                            with m.If(ev_kind == MissKind.MISS):
                                m.d.comb += [self.abort.eq(1), self.abort_status.eq(cmd.status)]
                                m.next = "RUN"
                            with m.Else():
                                close_flush()

            with m.State("READ_LINE"):
                with m.If(self.read_done):
                    m.next = "WAIT_CMD"

            with m.State("FILL"):
                with m.If(self.fill_done):
                    m.next = "REPLAY"
                if self.params.rx_cut_through:
                    with m.Elif(self.fill_dropped):
                        m.next = "WAIT_CMD"

            with m.State("REPLAY"):
                m.d.comb += self.replay.eq(1)
                m.next = "RUN"
        return m
