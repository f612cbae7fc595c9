"""Software miss path of the non-blocking ExCache: a miss event waits in the ``ev_*`` registers for firmware.

::

    S1 miss --miss_event--> [latched: event, pending, irq] --firmware writes miss_cmd--> decision --> S1
                                                            (FILL way < ways | FAIL status)

The event is the one the blocking controller shows (same registers, same ``miss_cmd``), so the processor
monitor serves both controllers unchanged. One event is open at a time (S1 waits for its decision); the
MSHRs allocated before it keep fetching meanwhile, and hits before it were answered: firmware's time
overlaps the wire's.
"""

from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import MissEvent
from hw.processor.excache_params import ExCacheParams
from hw.processor.miss_handler import FwAction
from hw.processor.nb_pipeline import MissDecision
from hw.protocol import Status

__all__ = ["FirmwareMissPort"]


class FirmwareMissPort(wiring.Component):
    """Latches miss events for firmware and turns its ``miss_cmd`` write into a decision.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    miss_event : In(stream of MissEvent)
        The pipeline's miss (taken when no event is pending).
    decision : Out(stream of MissDecision)
        Firmware's answer.
    event : Out(MissEvent)
        The last event taken (the ``ev_*`` registers).
    pending : Out(1)
        An event waits for firmware (``status.miss_pending``, ``irq``).
    fw_stb : In(1)
        Pulse: firmware wrote ``miss_cmd`` (ignored unless ``pending``; a FILL with ``fw_way >= ways`` is ignored).
    fw_action : In(1)
        :class:`~hw.processor.miss_handler.FwAction`.
    fw_way : In(8)
    fw_status : In(Status)
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "miss_event": In(stream.Signature(MissEvent(p))),
            "decision":   Out(stream.Signature(MissDecision(p))),
            "event":      Out(MissEvent(p)),
            "pending":    Out(1),
            "fw_stb":     In(1),
            "fw_action":  In(1),
            "fw_way":     In(8),
            "fw_status":  In(Status),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        with m.FSM(name="fw_port"):
            with m.State("IDLE"):
                m.d.comb += self.miss_event.ready.eq(1)
                with m.If(self.miss_event.valid):
                    m.d.sync += self.event.eq(self.miss_event.payload)
                    m.next = "WAIT_FW"
            with m.State("WAIT_FW"):
                m.d.comb += self.pending.eq(1)
                with m.If(self.fw_stb):
                    with m.If(self.fw_action == FwAction.FAIL):
                        m.d.sync += [self.decision.payload.fail.eq(1), self.decision.payload.status.eq(self.fw_status)]
                        m.next = "DECIDED"
                    with m.Elif(self.fw_way < p.ways):
                        m.d.sync += [self.decision.payload.fail.eq(0), self.decision.payload.way.eq(self.fw_way)]
                        m.next = "DECIDED"
            with m.State("DECIDED"):
                m.d.comb += self.decision.valid.eq(1)
                with m.If(self.decision.ready):
                    m.next = "IDLE"
        return m
