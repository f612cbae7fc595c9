"""The hardware miss handler: serves the controller's miss events over the message network.

For each event it chooses a way (the controller's suggestion, or in software mode the way firmware
writes), writes the victim back if it is valid and dirty, fetches the missing line and fills it::

    MISS:  [victim dirty]  LINE_WRITE hdr + beats -.
                            LINE_READ hdr  <--------'  (sent without waiting for the write's answer)
                           [victim dirty]  LINE_WRITE_RESP -> MARK_CLEAN
                            LINE_READ_RESP -> FILL + beats   (controller replays)
    FLUSH:                 LINE_WRITE hdr + beats -> LINE_WRITE_RESP -> MARK_CLEAN
    any response with status != OK  -> ABORT(status)   (a MISS is answered with that status, nothing filled)

A dirty victim's write-back does not stall the fetch (issue 13): the LINE_READ follows the LINE_WRITE's last
beat, so two requests are outstanding and the wire round trip of the write-back overlaps the fetch's. The
network interface delivers in order and the memory side never lets a later request overtake a write-back
(``docs/mmu.md``, "Ordering"), so the first header on ``net_rx`` answers the LINE_WRITE and the second the
LINE_READ. A refused write-back is handled as before the overlap: the victim
stays dirty, the line answering the LINE_READ is taken and dropped (its beats drained), and the access is
answered with the write-back's status. Otherwise one request is outstanding, and the next header on
``net_rx`` is its response.

With ``rx_cut_through`` (``net_rx`` a verdict port) a header that announces data beats may be a guess of the
network interface, confirmed or discarded by the ``discard`` bit of its last beat; every other header is
final. So a data-carrying header is the awaited line only if it is a LINE_READ_RESP, OK, of ``line_bytes``,
with the LINE_READ's ``tag``, and no write-back answer is awaited before it::

    RD_RESP --line--> FILL_CMD -> FILL_DATA --last, discard 0--> IDLE      (the fill installed the line)
                                            '--last, discard 1--> RD_RESP   (nothing installed; wait again)
    RD_RESP / WB_RESP --any other data-carrying header--> SINK_* --last--> back (beats taken, nothing done)
    DRAIN (behind a refused write-back) --last, discard 1--> RD_RESP; discard 0 --> ABORT

A committed data-carrying message that answers nothing (a protocol error) is sunk the same way.
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import MissCmd, MissCmdOp, MissEvent, MissKind, VictimState
from hw.processor.excache_params import ExCacheParams
from hw.protocol import DataBeat, MessagePort, MsgKind, Status, NODE_ID_WIDTH, TAG_WIDTH, carries_data

__all__ = ["MissHandler", "FwAction"]


class FwAction:
    """Values of the software-mode command's ``action`` field."""
    FILL = 0  #: write back the chosen way if dirty, fetch and fill the line, replay the access
    FAIL = 1  #: answer the access with the given status; nothing is written back or filled


class MissHandler(wiring.Component):
    """Executes miss and flush events.

    Parameters
    ----------
    params : ExCacheParams
    software : bool
        If true, MISS events wait for a firmware command (``fw_stb``) choosing the way or failing the
        access; FLUSH events are always served directly.

    Attributes
    ----------
    miss_event : In(stream of MissEvent)
        Events from the controller.
    miss_cmd : Out(stream of MissCmd)
        Commands to the controller.
    wb_data : In(stream of DataBeat)
        Line words from the controller (READ_LINE), forwarded to ``net_tx.data``.
    fill_data : Out(stream of DataBeat)
        Line words for the controller (FILL), forwarded from ``net_rx.data``.
    query_way : Out(way_bits)
        Way whose state the controller shows on ``query``.
    query : In(VictimState)
    net_tx : Out(MessagePort)
        LINE_READ and LINE_WRITE requests.
    net_rx : In(MessagePort)
        LINE_READ_RESP (with line data when OK) and LINE_WRITE_RESP.
    mem_node : In(8)
        ``dst`` of the requests (node id of the memory component).
    event : Out(MissEvent)
        The last event taken (held until the next one).
    pending : Out(1)
        Software mode: a MISS event waits for firmware.
    fw_stb : In(1)
        Software mode: pulse with the firmware's command (ignored unless ``pending``, and ignored if
        ``fw_action`` is FILL with ``fw_way >= ways``).
    fw_action : In(1)
        :class:`FwAction` value.
    fw_way : In(8)
    fw_status : In(Status)
        Status of a FAIL command.
    """

    def __init__(self, params, *, software=False):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        if not isinstance(software, bool):
            raise TypeError(f"software must be a bool, not {software!r}")
        self.params = p = params
        self.software = software
        super().__init__({
            "miss_event": In(stream.Signature(MissEvent(p))),
            "miss_cmd":   Out(stream.Signature(MissCmd(p))),
            "wb_data":    In(stream.Signature(DataBeat(p.data_width))),
            "fill_data":  Out(stream.Signature(DataBeat(p.data_width, p.rx_cut_through))),
            "query_way":  Out(p.way_bits),
            "query":      In(VictimState(p)),
            "net_tx":     Out(MessagePort(p.data_width)),
            "net_rx":     In(MessagePort(p.data_width, verdict=p.rx_cut_through)),
            "mem_node":   In(NODE_ID_WIDTH),
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
        ev = self.event
        way = Signal(p.way_bits)
        status = Signal(Status)
        tag = Signal(TAG_WIDTH)
        wb_open = Signal()     # MISS: the victim's LINE_WRITE is not answered yet (the LINE_READ is sent)
        wb_failed = Signal()   # ... and it was refused: drop the line, answer with `status`
        # The requests' destination, sampled once per miss: a header waiting for ready must not change when
        # firmware rewrites `mem_node` meanwhile (found by the handshake proof, hw/processor/excache_formal.py).
        dst = Signal(NODE_ID_WIDTH)
        m.d.comb += self.query_way.eq(way)

        victim_vaddr = Cat(Const(0, p.offset_bits), ev.set[:p.index_bits], self.query.tag)
        line_vaddr = Cat(Const(0, p.offset_bits), ev.vaddr[p.offset_bits:])

        hdr = self.net_tx.hdr.payload

        def header(kind, pid, vaddr):
            # Driven only while a header is offered: a constant-only comb assignment becomes an empty
            # `always @*` in the Verilog, which Verilator never evaluates (ALWNEVER).
            m.d.comb += [self.net_tx.hdr.valid.eq(1), hdr.kind.eq(kind), hdr.status.eq(Status.OK),
                         hdr.src.eq(0), hdr.dst.eq(dst), hdr.tag.eq(tag), hdr.pid.eq(pid),
                         hdr.vaddr.eq(vaddr), hdr.length.eq(p.line_bytes)]

        def send_cmd(op, next_state, cmd_status=Status.OK):
            m.d.comb += [self.miss_cmd.valid.eq(1), self.miss_cmd.payload.op.eq(op),
                         self.miss_cmd.payload.way.eq(way), self.miss_cmd.payload.status.eq(cmd_status)]
            with m.If(self.miss_cmd.ready):
                m.next = next_state

        def wb_answer():
            with m.If(self.net_rx.hdr.payload.status == Status.OK):
                m.next = "CLEAN_CMD"
            with m.Else():
                m.d.sync += status.eq(self.net_rx.hdr.payload.status)
                m.next = "ABORT"

        with m.FSM(name="handler"):
            with m.State("IDLE"):
                m.d.comb += self.miss_event.ready.eq(1)
                with m.If(self.miss_event.valid):
                    m.d.sync += [ev.eq(self.miss_event.payload), way.eq(self.miss_event.payload.way)]
                    if self.software:
                        with m.If(self.miss_event.payload.kind == MissKind.MISS):
                            m.next = "WAIT_FW"
                        with m.Else():
                            m.next = "CHECK"
                    else:
                        m.next = "CHECK"

            if self.software:
                with m.State("WAIT_FW"):
                    m.d.comb += self.pending.eq(1)
                    with m.If(self.fw_stb):
                        with m.If(self.fw_action == FwAction.FAIL):
                            m.d.sync += status.eq(self.fw_status)
                            m.next = "ABORT"
                        with m.Elif(self.fw_way < p.ways):
                            m.d.sync += way.eq(self.fw_way)
                            m.next = "CHECK"

            with m.State("CHECK"):
                m.d.sync += [dst.eq(self.mem_node), wb_open.eq(0), wb_failed.eq(0)]
                with m.If(self.query.valid & self.query.dirty):
                    m.next = "WB_HDR"
                with m.Else():
                    m.next = "RD_HDR"

            with m.State("WB_HDR"):
                header(MsgKind.LINE_WRITE, self.query.pid, victim_vaddr)
                with m.If(self.net_tx.hdr.ready):
                    m.d.sync += tag.eq(tag + 1)
                    m.next = "WB_CMD"

            with m.State("WB_CMD"):
                send_cmd(MissCmdOp.READ_LINE, "WB_DATA")

            with m.State("WB_DATA"):
                m.d.comb += [self.net_tx.data.valid.eq(self.wb_data.valid), self.net_tx.data.payload.eq(self.wb_data.payload),
                             self.wb_data.ready.eq(self.net_tx.data.ready)]
                with m.If(self.wb_data.valid & self.wb_data.ready & self.wb_data.payload.last):
                    if p.overlap_writeback:
                        with m.If(ev.kind == MissKind.FLUSH):
                            m.next = "WB_RESP"
                        with m.Else():
                            m.d.sync += wb_open.eq(1)
                            m.next = "RD_HDR"
                    else:
                        # The answers may come from two memory components in either order: wait for this one.
                        m.next = "WB_RESP"

            with m.State("WB_RESP"):
                m.d.comb += self.net_rx.hdr.ready.eq(1)
                with m.If(self.net_rx.hdr.valid):
                    if p.rx_cut_through:
                        with m.If(self._speculative()):
                            m.next = "SINK_WB"   # not a LINE_WRITE_RESP: that one carries no data
                        with m.Else():
                            wb_answer()
                    else:
                        wb_answer()

            with m.State("CLEAN_CMD"):
                with m.If(ev.kind == MissKind.FLUSH):
                    send_cmd(MissCmdOp.MARK_CLEAN, "IDLE")
                with m.Else():
                    send_cmd(MissCmdOp.MARK_CLEAN, "RD_RESP" if p.overlap_writeback else "RD_HDR")

            with m.State("RD_HDR"):
                header(MsgKind.LINE_READ, ev.pid, line_vaddr)
                with m.If(self.net_tx.hdr.ready):
                    m.d.sync += tag.eq(tag + 1)
                    m.next = "RD_RESP"

            self._read_response(m, send_cmd, status, tag, wb_open, wb_failed)

            with m.State("ABORT"):
                send_cmd(MissCmdOp.ABORT, "IDLE", status)

            if p.rx_cut_through:
                for name, back in (("SINK_WB", "WB_RESP"), ("SINK_RD", "RD_RESP")):
                    with m.State(name):
                        # A data-carrying message that is not the one awaited: its beats are taken, up to the
                        # last (a discarded one may be shorter than its header says).
                        m.d.comb += self.net_rx.data.ready.eq(1)
                        with m.If(self.net_rx.data.valid & self.net_rx.data.payload.last):
                            m.next = back
        return m

    def _speculative(self):
        """Cut-through: the header on ``net_rx`` announces data beats, so it is final only with its last beat."""
        h = self.net_rx.hdr.payload
        return carries_data(h.kind, h.status) & (h.length != 0)

    def _read_response(self, m, send_cmd, status, tag, wb_open, wb_failed):
        """The states after the LINE_READ: its answer (or, first, the victim's LINE_WRITE_RESP) and the fill."""
        p = self.params
        rx = self.net_rx
        rh = rx.hdr.payload
        rx_ok = rh.status == Status.OK
        end = rx.data.valid & rx.data.ready & rx.data.payload.last
        discard = rx.data.payload.discard if p.rx_cut_through else 0

        def answer():
            with m.If(wb_open):
                # The victim's LINE_WRITE_RESP (answered first: the requests' order).
                m.d.sync += wb_open.eq(0)
                with m.If(rx_ok):
                    m.next = "CLEAN_CMD"
                with m.Else():
                    m.d.sync += [status.eq(rh.status), wb_failed.eq(1)]
            with m.Elif(wb_failed):
                with m.If(rx_ok):
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "ABORT"
            with m.Elif(rx_ok):
                m.next = "FILL_CMD"
            with m.Else():
                m.d.sync += status.eq(rh.status)
                m.next = "ABORT"

        with m.State("RD_RESP"):
            m.d.comb += rx.hdr.ready.eq(1)
            with m.If(rx.hdr.valid):
                if p.rx_cut_through:
                    # The awaited line: no write-back answer due first, and the LINE_READ's kind, tag, length.
                    line = (~wb_open & (rh.kind == MsgKind.LINE_READ_RESP) & rx_ok & (rh.length == p.line_bytes)
                            & (rh.tag == (tag - 1)[:TAG_WIDTH]))
                    with m.If(self._speculative() & ~line):
                        m.next = "SINK_RD"
                    with m.Else():
                        answer()
                else:
                    answer()

        with m.State("DRAIN"):
            # The line fetched behind a refused write-back: taken and dropped (resent if discarded).
            m.d.comb += rx.data.ready.eq(1)
            with m.If(rx.data.valid & rx.data.payload.last):
                m.next = "ABORT"
                if p.rx_cut_through:
                    with m.If(discard):
                        m.next = "RD_RESP"

        with m.State("FILL_CMD"):
            send_cmd(MissCmdOp.FILL, "FILL_DATA")

        with m.State("FILL_DATA"):
            m.d.comb += [self.fill_data.valid.eq(rx.data.valid), self.fill_data.payload.eq(rx.data.payload),
                         rx.data.ready.eq(self.fill_data.ready)]
            with m.If(end):
                # Cut-through: a discarded line left nothing installed (LineFill's `dropped`): wait for it again.
                m.next = "IDLE"
                if p.rx_cut_through:
                    with m.If(discard):
                        m.next = "RD_RESP"

