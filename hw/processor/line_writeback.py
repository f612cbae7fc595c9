"""Write-back: stream a line out to the miss handler, and mark it clean once memory acknowledged it."""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import DataReadSignature, TagSet, TagWriteSignature
from hw.processor.excache_params import ExCacheParams
from hw.protocol import DataBeat

__all__ = ["LineWriteBack"]


class LineWriteBack(wiring.Component):
    """READ_LINE and MARK_CLEAN of the miss path.

    On chip, the line is read one word per cycle while ``wb_data`` takes it (the data store's held output is
    the beat on offer, so a stalled beat needs no buffer). With the local-memory store it is one line read
    request, and the store's read data goes out as it comes (``rready`` = ``wb_data.ready``). The line's
    state is unchanged until ``clean``.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    start : In(1)
        Pulse: a READ_LINE command for way ``way`` (taken at this edge).
    clean : In(1)
        Pulse: a MARK_CLEAN command for way ``way``: its dirty bit is cleared at this edge.
    way : In(way_bits)
    set : In(set bits)
        The set of the open event (held while busy).
    ways : In(TagSet)
        The set's entries as last read (the clean write keeps the other fields).
    rdata : In(data_width)
    rvalid : In(1)
    rready : Out(1)
        The data store's read data.
    data_rd : Out(DataReadSignature)
    tag_wr : Out(TagWriteSignature)
    wb_data : Out(stream of DataBeat)
        The line, word 0 first, ``last`` on the final word.
    busy : Out(1)
    done : Out(1)
        Pulse: the last word is taken.
    cleaned : Out(1)
        Pulse with the clean write (a write-back completed, for the counters).
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "start":   In(1),
            "clean":   In(1),
            "way":     In(p.way_bits),
            "set":     In(max(1, p.index_bits)),
            "ways":    In(TagSet(p)),
            "rdata":   In(p.data_width),
            "rvalid":  In(1),
            "rready":  Out(1),
            "data_rd": Out(DataReadSignature(p)),
            "tag_wr":  Out(TagWriteSignature(p)),
            "wb_data": Out(stream.Signature(DataBeat(p.data_width))),
            "busy":    Out(1),
            "done":    Out(1),
            "cleaned": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        way = Signal(p.way_bits)
        ctr = Signal(p.word_bits + 1)
        if p.line_store == "onchip":
            self._stream_onchip(m, way, ctr)
        else:
            self._stream_local(m, way, ctr)

        with m.If(self.clean):
            m.d.comb += [self.tag_wr.set.eq(self.set), self.tag_wr.en.bit_select(self.way, 1).eq(1),
                         self.cleaned.eq(1)]
            for i in range(p.ways):
                m.d.comb += [self.tag_wr.data[i].eq(self.ways[i]), self.tag_wr.data[i].dirty.eq(0)]
        return m

    def _stream_onchip(self, m, way, ctr):
        p = self.params
        wb_valid = Signal()
        wb_last = Signal()
        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), way.eq(self.way), ctr.eq(0), wb_valid.eq(0)]
        with m.If(self.busy):
            more = ctr != p.words_per_line
            issue = more & (~wb_valid | self.wb_data.ready)
            m.d.comb += [
                self.data_rd.set.eq(self.set), self.data_rd.way.eq(way), self.data_rd.word.eq(ctr),
                self.data_rd.en.eq(issue),
                self.wb_data.valid.eq(wb_valid),
                self.wb_data.payload.data.eq(self.rdata),
                self.wb_data.payload.last.eq(wb_last),
            ]
            with m.If(issue):
                m.d.sync += [ctr.eq(ctr + 1), wb_valid.eq(1), wb_last.eq(ctr == p.words_per_line - 1)]
            with m.Elif(self.wb_data.ready):
                m.d.sync += wb_valid.eq(0)
            with m.If(wb_valid & self.wb_data.ready & wb_last):
                m.d.sync += [wb_valid.eq(0), self.busy.eq(0)]
                m.d.comb += self.done.eq(1)

    def _stream_local(self, m, way, ctr):
        p = self.params
        requesting = Signal()   # the line read request waits for the store
        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), way.eq(self.way), ctr.eq(0), requesting.eq(1)]
        with m.If(self.busy):
            last = ctr == p.words_per_line - 1
            m.d.comb += [
                self.data_rd.set.eq(self.set), self.data_rd.way.eq(way), self.data_rd.word.eq(0),
                self.data_rd.line.eq(1), self.data_rd.en.eq(requesting),
                self.wb_data.valid.eq(self.rvalid),
                self.wb_data.payload.data.eq(self.rdata),
                self.wb_data.payload.last.eq(last),
                self.rready.eq(self.wb_data.ready),
            ]
            with m.If(requesting & self.data_rd.ready):
                m.d.sync += requesting.eq(0)
            with m.If(self.rvalid & self.wb_data.ready):
                m.d.sync += ctr.eq(ctr + 1)
                with m.If(last):
                    m.d.sync += self.busy.eq(0)
                    m.d.comb += self.done.eq(1)
