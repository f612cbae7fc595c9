"""Responses of the non-blocking ExCache: each header on ``net_rx`` finds its MSHR by its ``tag``.

::

    LINE_WRITE_RESP (tag k)  OK      --> k's write-back closed (counted: write-back, eviction)
                             refused --> k wb_failed; the victim's tag entry written back valid and dirty
                                         (its words are still in the way: nothing is lost)
    LINE_READ_RESP  (tag k)  OK      --> LineFill: the beats into k's way, tag installed --> k done, ok
                             OK, k wb_failed --> beats drained --> k done, refused (the write-back's status)
                             refused --> k done, refused (the response's status)

Responses may come in any order between MSHRs (the memory side answers in decision order); for one MSHR
the LINE_WRITE_RESP comes before the LINE_READ_RESP (the memory side never lets a request overtake a
write-back, ``docs/mmu.md``; the non-blocking controller needs ``overlap_writeback``, i.e. one memory
component). One message is taken at a time; a line's beats are written as they arrive.

With ``rx_cut_through`` (``net_rx`` a verdict port, ``docs/excache.md`` "Receive cut-through") a header that
announces data may be a guess of the network interface, settled by ``discard`` on its last beat; a header
without data is final. A data-carrying header is taken as the line of MSHR k only if it is a LINE_READ_RESP,
OK, of ``line_bytes``, and k is allocated, not done and has no write-back answer pending (so k's way holds no
line anyone may read: the victim was invalidated when k was allocated, its words are already out, and a refused
write-back, whose words must stay, is answered before); anything else goes to SINK::

    IDLE --line of k--> FILL --last, discard 0 (LineFill done)--> k done, ok
                             '--last, discard 1 (LineFill dropped)--> IDLE (k still waits; the way stays invalid)
    IDLE --line of k, k wb_failed--> DRAIN --last--> discard 0: k done, refused; discard 1: IDLE
    IDLE --other data-carrying header--> SINK --last--> IDLE
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import TagWriteSignature
from hw.processor.excache_params import ExCacheParams
from hw.processor.mshr_file import MshrView
from hw.protocol import DataBeat, MessagePort, MsgKind, Status, carries_data

__all__ = ["ResponseReceiver"]


class ResponseReceiver(wiring.Component):
    """Takes the responses of the MSHRs' requests.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    net_rx : In(MessagePort)
        LINE_WRITE_RESP / LINE_READ_RESP (+ beats).
    rx_idx : Out(range(mshrs))
        The MSHR the current response belongs to (its header's ``tag``).
    rx : In(MshrView)
        Its state.
    rx_valid : In(1)
        Entry ``rx_idx`` is allocated.
    wb_ack, fill_done, read_fail : Out(1)
        Pulses for :class:`~hw.processor.mshr_file.MshrFile` (entry ``rx_idx``).
    rx_status : Out(Status)
        Status of the response (with ``wb_ack`` and ``read_fail``).
    fill_start : Out(1)
        Pulse: :class:`~hw.processor.line_fill.LineFill` takes the line into ``rx.way``.
    fill_data : Out(stream of DataBeat)
        The line's beats, forwarded from ``net_rx.data``.
    fill_end : In(1)
        LineFill's ``done`` (its last beat written, the tag installed).
    fill_dropped : In(1)
        Only with ``rx_cut_through``: LineFill's ``dropped`` (the line was discarded, nothing installed).
    reval : Out(TagWriteSignature)
        A refused write-back's victim written back into its way (valid, dirty).
    took_hdr : Out(1)
        A header is taken in this cycle.
    wb_ok : Out(1)
        Pulse: a write-back was acknowledged (counters: a write-back and an eviction).
    busy : Out(1)
        A response's beats are being taken.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "net_rx":     In(MessagePort(p.data_width, verdict=p.rx_cut_through)),
            "rx_idx":     Out(range(p.mshrs)),
            "rx":         In(MshrView(p)),
            "rx_valid":   In(1),
            "wb_ack":     Out(1),
            "fill_done":  Out(1),
            "read_fail":  Out(1),
            "rx_status":  Out(Status),
            "fill_start": Out(1),
            "fill_data":  Out(stream.Signature(DataBeat(p.data_width, p.rx_cut_through))),
            "fill_end":   In(1),
            **({"fill_dropped": In(1)} if p.rx_cut_through else {}),
            "reval":      Out(TagWriteSignature(p)),
            "took_hdr":   Out(1),
            "wb_ok":      Out(1),
            "busy":       Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        idx = Signal.like(self.rx_idx)
        hdr = self.net_rx.hdr
        k = hdr.payload.tag[:len(idx)] if len(idx) else Const(0, 1)
        ok = hdr.payload.status == Status.OK
        e = self.rx

        with m.FSM(name="receiver") as fsm:
            with m.State("IDLE"):
                m.d.comb += [hdr.ready.eq(1), self.rx_idx.eq(k), self.rx_status.eq(hdr.payload.status),
                             self.took_hdr.eq(hdr.valid)]
                with m.If(hdr.valid):
                    m.d.sync += idx.eq(k)
                    if p.rx_cut_through:
                        h = hdr.payload
                        line = ((h.kind == MsgKind.LINE_READ_RESP) & ok & (h.length == p.line_bytes)
                                & (h.tag < p.mshrs) & self.rx_valid & ~e.done & ~e.wb_open)
                        with m.If(carries_data(h.kind, h.status) & (h.length != 0) & ~line):
                            m.next = "SINK"
                        with m.Else():
                            self._answer(m, ok)
                    else:
                        self._answer(m, ok)
            with m.State("FILL"):
                m.d.comb += [self.rx_idx.eq(idx),
                             self.fill_data.valid.eq(self.net_rx.data.valid),
                             self.fill_data.payload.eq(self.net_rx.data.payload),
                             self.net_rx.data.ready.eq(self.fill_data.ready)]
                with m.If(self.fill_end):
                    m.d.comb += self.fill_done.eq(1)
                    m.next = "IDLE"
                if p.rx_cut_through:
                    with m.If(self.fill_dropped):
                        m.next = "IDLE"
            with m.State("DRAIN"):
                # The line fetched behind a refused write-back: taken and dropped.
                m.d.comb += [self.rx_idx.eq(idx), self.net_rx.data.ready.eq(1)]
                with m.If(self.net_rx.data.valid & self.net_rx.data.payload.last):
                    # Cut-through: a discarded one is resent; the refusal is answered with the committed one.
                    settled = ~self.net_rx.data.payload.discard if p.rx_cut_through else 1
                    m.d.comb += [self.read_fail.eq(settled), self.rx_status.eq(Status.OK)]
                    m.next = "IDLE"
            if p.rx_cut_through:
                with m.State("SINK"):
                    # A data-carrying message that is no MSHR's awaited line: its beats taken up to the last.
                    m.d.comb += self.net_rx.data.ready.eq(1)
                    with m.If(self.net_rx.data.valid & self.net_rx.data.payload.last):
                        m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m

    def _answer(self, m, ok):
        """A response header for MSHR ``rx_idx`` (final, or with cut-through its awaited line)."""
        p = self.params
        hdr, e = self.net_rx.hdr, self.rx
        with m.If(hdr.payload.kind == MsgKind.LINE_WRITE_RESP):
            m.d.comb += [self.wb_ack.eq(1), self.wb_ok.eq(ok)]
            with m.If(~ok):
                m.d.comb += [self.reval.set.eq(e.set), self.reval.en.bit_select(e.way, 1).eq(1)]
                for i in range(p.ways):
                    m.d.comb += self.reval.data[i].eq(
                        Cat(e.victim.tag, e.victim.pid, Const(1, 1), Const(1, 1)))
        with m.Elif(hdr.payload.kind == MsgKind.LINE_READ_RESP):
            with m.If(~ok):
                m.d.comb += self.read_fail.eq(1)
            with m.Elif(e.wb_failed):
                m.next = "DRAIN"
            with m.Else():
                m.d.comb += self.fill_start.eq(1)
                m.next = "FILL"
