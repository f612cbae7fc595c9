"""Fill: take a line from the miss handler into the data store and install its tag."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import DataWriteSignature, LineEventSignature, TagSet, TagWriteSignature, entry_of
from hw.processor.excache_params import ExCacheParams
from hw.protocol import DataBeat

__all__ = ["LineFill"]


class LineFill(wiring.Component):
    """Writes the ``words_per_line`` beats of ``fill_data`` into (``set``, way), then installs the line.

    The tag entry (``tag``, ``pid``, valid, clean) is written at the edge that takes the last beat, so
    the access replayed after ``done`` hits (the local-memory store orders that read after the line's
    writes). ``last`` of the beats is not checked: the count is. A beat is taken when the store takes its
    write (``fill_data.ready`` = the store's ``ready``; always, on chip).

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    start : In(1)
        Pulse: a FILL command for way ``way`` (taken at this edge).
    way : In(way_bits)
    set : In(set bits)
        The set of the open event (held while busy).
    tag, pid : In(tag_bits), In(pid_width)
        The missing access's tag and pid (held while busy).
    ways : In(TagSet)
        The set's entries as last read (to tell whether a valid line is replaced).
    fill_data : In(stream of DataBeat)
        The line, word 0 first.
    data_wr : Out(DataWriteSignature)
    tag_wr : Out(TagWriteSignature)
    installed : Out(LineEventSignature)
        Pulse with the tag write (for the replacement state).
    evicted : Out(1)
        Pulse with the tag write when the replaced way held a valid line (for the counters).
    busy : Out(1)
    done : Out(1)
        Pulse: the last beat is taken.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "start":     In(1),
            "way":       In(p.way_bits),
            "set":       In(max(1, p.index_bits)),
            "tag":       In(p.tag_bits),
            "pid":       In(p.pid_width),
            "ways":      In(TagSet(p)),
            "fill_data": In(stream.Signature(DataBeat(p.data_width))),
            "data_wr":   Out(DataWriteSignature(p)),
            "tag_wr":    Out(TagWriteSignature(p)),
            "installed": Out(LineEventSignature(p)),
            "evicted":   Out(1),
            "busy":      Out(1),
            "done":      Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        way = Signal(p.way_bits)
        ctr = Signal(p.word_bits + 1)
        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), way.eq(self.way), ctr.eq(0)]

        with m.If(self.busy):
            m.d.comb += [
                self.fill_data.ready.eq(self.data_wr.ready),
                self.data_wr.set.eq(self.set), self.data_wr.way.eq(way), self.data_wr.word.eq(ctr),
                self.data_wr.line.eq(1), self.data_wr.data.eq(self.fill_data.payload.data),
            ]
            with m.If(self.fill_data.valid):
                m.d.comb += self.data_wr.en.eq(-1)
            with m.If(self.fill_data.valid & self.data_wr.ready):
                m.d.sync += ctr.eq(ctr + 1)
                with m.If(ctr == p.words_per_line - 1):
                    m.d.comb += [
                        self.tag_wr.set.eq(self.set), self.tag_wr.en.bit_select(way, 1).eq(1),
                        self.installed.en.eq(1), self.installed.set.eq(self.set), self.installed.way.eq(way),
                        self.evicted.eq(entry_of(self.ways, way, p).valid),
                        self.done.eq(1),
                    ]
                    for i in range(p.ways):
                        m.d.comb += self.tag_wr.data[i].eq(Cat(self.tag, self.pid, Const(1, 1), Const(0, 1)))
                    m.d.sync += self.busy.eq(0)
        return m
