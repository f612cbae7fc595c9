"""Requests of the non-blocking ExCache: each allocated MSHR's LINE_WRITE (dirty victim) and LINE_READ.

Allocated entries are served in allocation order, one message at a time on ``net_tx``::

    entry k allocated --> queue of entry numbers --> [victim dirty]  LINE_WRITE hdr (tag k), victim's words
                                                                     (streamed by LineWriteBack) --.
                                                     LINE_READ hdr (tag k)  <---------------------'
                                                     (not waiting for the LINE_WRITE_RESP, nor for any answer)

The header's ``tag`` is the MSHR number, the response receiver's key. The victim's words are read out of the
reserved way before its LINE_READ is sent, so its fill (which needs that LINE_READ's answer) cannot overwrite
them first.
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.processor.excache_params import ExCacheParams
from hw.processor.mshr_file import MshrView
from hw.protocol import NODE_ID_WIDTH, DataBeat, MessagePort, MsgKind, Status

__all__ = ["RequestSender"]


class RequestSender(wiring.Component):
    """Sends the requests of allocated MSHRs.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    push : In(1)
        Pulse: MSHR ``push_idx`` was allocated (its requests are queued).
    push_idx : In(range(mshrs))
    tx_idx : Out(range(mshrs))
        The entry being sent.
    tx : In(MshrView)
        Its state (from :class:`~hw.processor.mshr_file.MshrFile`).
    mem_node : In(NODE_ID_WIDTH)
        ``dst`` of the requests (sampled per entry).
    wb_start : Out(1)
        Pulse: stream the victim's line (``wb_set``, ``wb_way``) on ``wb_data``.
    wb_set : Out(set bits)
    wb_way : Out(way_bits)
    wb_data : In(stream of DataBeat)
        The victim's words, forwarded to ``net_tx.data``.
    net_tx : Out(MessagePort)
        LINE_WRITE / LINE_READ requests.
    busy : Out(1)
        Requests are queued or being sent.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "push":     In(1),
            "push_idx": In(range(p.mshrs)),
            "tx_idx":   Out(range(p.mshrs)),
            "tx":       In(MshrView(p)),
            "mem_node": In(NODE_ID_WIDTH),
            "wb_start": Out(1),
            "wb_set":   Out(max(1, p.index_bits)),
            "wb_way":   Out(p.way_bits),
            "wb_data":  In(stream.Signature(DataBeat(p.data_width))),
            "net_tx":   Out(MessagePort(p.data_width)),
            "busy":     Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.order = order = SyncFIFO(width=len(self.push_idx), depth=p.mshrs)
        m.d.comb += [order.w_en.eq(self.push), order.w_data.eq(self.push_idx)]
        idx = self.tx_idx
        e = self.tx
        dst = Signal(NODE_ID_WIDTH)
        hdr = self.net_tx.hdr.payload
        m.d.comb += [self.wb_set.eq(e.set), self.wb_way.eq(e.way)]
        index = e.set[:p.index_bits] if p.index_bits else Const(0, 0)
        victim_vaddr = Cat(Const(0, p.offset_bits), index, e.victim.tag)
        line_vaddr = Cat(Const(0, p.offset_bits), index, e.tag)

        def header(kind, pid, vaddr):
            m.d.comb += [self.net_tx.hdr.valid.eq(1), hdr.kind.eq(kind), hdr.status.eq(Status.OK),
                         hdr.src.eq(0), hdr.dst.eq(dst), hdr.tag.eq(idx), hdr.pid.eq(pid),
                         hdr.vaddr.eq(vaddr), hdr.length.eq(p.line_bytes)]

        with m.FSM(name="sender") as fsm:
            with m.State("IDLE"):
                m.d.comb += order.r_en.eq(1)
                with m.If(order.r_rdy):
                    m.d.sync += [idx.eq(order.r_data), dst.eq(self.mem_node)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(e.victim.valid & e.victim.dirty):
                    m.next = "WB_HDR"
                with m.Else():
                    m.next = "RD_HDR"
            with m.State("WB_HDR"):
                header(MsgKind.LINE_WRITE, e.victim.pid, victim_vaddr)
                with m.If(self.net_tx.hdr.ready):
                    m.d.comb += self.wb_start.eq(1)
                    m.next = "WB_DATA"
            with m.State("WB_DATA"):
                m.d.comb += [self.net_tx.data.valid.eq(self.wb_data.valid),
                             self.net_tx.data.payload.eq(self.wb_data.payload),
                             self.wb_data.ready.eq(self.net_tx.data.ready)]
                with m.If(self.wb_data.valid & self.wb_data.ready & self.wb_data.payload.last):
                    m.next = "RD_HDR"
            with m.State("RD_HDR"):
                header(MsgKind.LINE_READ, e.pid, line_vaddr)
                with m.If(self.net_tx.hdr.ready):
                    m.next = "IDLE"
        m.d.comb += self.busy.eq(order.r_rdy | ~fsm.ongoing("IDLE"))
        return m
