"""Fill: take a line from the miss handler into the data store and install its tag."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import DataWriteSignature, LineEventSignature, TagSet, TagWriteSignature, entry_of
from hw.processor.excache_params import ExCacheParams
from hw.processor.line_store_axi import MAX_BURST
from hw.protocol import DataBeat

__all__ = ["LineFill"]


class LineFill(wiring.Component):
    """Writes the ``words_per_line`` beats of ``fill_data`` into (``set``, way), then installs the line.

    The tag entry (``tag``, ``pid``, valid, clean) is written at the edge that takes the last beat, so
    the access replayed after ``done`` hits (the local-memory store orders that read after the line's
    writes). ``last`` of the beats is not checked: the count is. A beat is taken when the store takes its
    write (``fill_data.ready`` = the store's ``ready``; always, on chip).

    With ``rx_cut_through`` the beats come while their frame still arrives and carry the network's verdict
    (``DataBeat(w, verdict=True)``): the fill ends at ``last``, not at a count (a discarded message may be
    short). ``last`` with ``discard`` = 0 installs the line as above; ``last`` with ``discard`` = 1 is not
    written, installs nothing and pulses ``dropped`` (the words written so far are garbage in a way whose tag
    is not changed: the miss path waits for the same response again, and no one reads the way meanwhile). If
    such a fill wrote a word into a way whose old line is still valid (the blocking controller keeps the victim
    valid until the install) and the event then ends with ``abort`` instead of a fill, the way is invalidated
    at that edge, so the victim's spoiled words are never hit.

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
        Pulse: the last beat is taken (with ``rx_cut_through``: and its ``discard`` is 0).
    dropped : Out(1)
        Only with ``rx_cut_through``: pulse, the last beat is taken and its ``discard`` is 1.
    abort : In(1)
        Only with ``rx_cut_through``: pulse, the miss event of the last fills ended without one (``set`` and
        the way of the last ``start`` still those of the event).
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
            "fill_data": In(stream.Signature(DataBeat(p.data_width, p.rx_cut_through))),
            "data_wr":   Out(DataWriteSignature(p)),
            "tag_wr":    Out(TagWriteSignature(p)),
            "installed": Out(LineEventSignature(p)),
            "evicted":   Out(1),
            "busy":      Out(1),
            "done":      Out(1),
            **({"dropped": Out(1), "abort": In(1)} if p.rx_cut_through else {}),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        way = Signal(p.way_bits)
        ctr = Signal(p.word_bits + 1)
        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), way.eq(self.way), ctr.eq(0)]

        beat = self.fill_data.payload
        burst_bits = (min(p.words_per_line, MAX_BURST) - 1).bit_length()
        pads = p.rx_cut_through and p.line_store == "axi" and burst_bits > 0
        self._pad = Signal()    # cut-through, local-memory store: finishing a dropped message's burst
        if pads:
            self._pad_burst(m, way, ctr, burst_bits)
        with (m.Elif if pads else m.If)(self.busy):
            m.d.comb += [
                self.fill_data.ready.eq(self.data_wr.ready),
                self.data_wr.set.eq(self.set), self.data_wr.way.eq(way), self.data_wr.word.eq(ctr),
                self.data_wr.line.eq(1), self.data_wr.data.eq(beat.data),
            ]
            # Store and forward: the line's last word is the count's; cut-through: the message's last beat.
            writes = self.fill_data.valid & ~(beat.last & beat.discard) if p.rx_cut_through else self.fill_data.valid
            ends = beat.last if p.rx_cut_through else ctr == p.words_per_line - 1
            with m.If(writes):
                m.d.comb += self.data_wr.en.eq(-1)
            with m.If(self.fill_data.valid & self.data_wr.ready):
                m.d.sync += ctr.eq(ctr + 1)
                with m.If(ends):
                    m.d.sync += self.busy.eq(0)
                    if p.rx_cut_through:
                        with m.If(beat.discard):
                            self._drop(m, ctr)
                        with m.Else():
                            self._install(m, way)
                    else:
                        self._install(m, way)
        if p.rx_cut_through:
            self._guard_victim(m, way, ctr)
        return m

    def _pad_burst(self, m, way, ctr, burst_bits):
        with m.If(self.busy & self._pad):
            m.d.comb += [
                self.data_wr.set.eq(self.set), self.data_wr.way.eq(way), self.data_wr.word.eq(ctr),
                self.data_wr.line.eq(1), self.data_wr.en.eq(-1),
            ]
            with m.If(self.data_wr.ready):
                m.d.sync += ctr.eq(ctr + 1)
                with m.If(ctr[:burst_bits] == (1 << burst_bits) - 1):
                    m.d.sync += [self.busy.eq(0), self._pad.eq(0)]
                    m.d.comb += self.dropped.eq(1)

    def _drop(self, m, ctr):
        """Cut-through: the message is discarded (its last beat is not written)."""
        p = self.params
        burst_bits = (min(p.words_per_line, MAX_BURST) - 1).bit_length()
        if p.line_store == "onchip" or not burst_bits:
            m.d.comb += self.dropped.eq(1)
            return
        # The local-memory store writes a line as AXI bursts of up to 256 beats, each with one AW: a burst the
        # message left unfinished is padded to its end (the way's words are garbage until the resent line), so
        # the W channel has every beat its AW announced.
        with m.If(ctr[:burst_bits] == 0):
            m.d.comb += self.dropped.eq(1)
        with m.Else():
            m.d.sync += [self.busy.eq(1), self._pad.eq(1), ctr.eq(ctr)]   # the discarded beat is not written

    def _install(self, m, way):
        p = self.params
        m.d.comb += [
            self.tag_wr.set.eq(self.set), self.tag_wr.en.bit_select(way, 1).eq(1),
            self.installed.en.eq(1), self.installed.set.eq(self.set), self.installed.way.eq(way),
            self.evicted.eq(entry_of(self.ways, way, p).valid),
            self.done.eq(1),
        ]
        for i in range(p.ways):
            m.d.comb += self.tag_wr.data[i].eq(Cat(self.tag, self.pid, Const(1, 1), Const(0, 1)))

    def _guard_victim(self, m, way, ctr):
        """Cut-through: a dropped fill that wrote words over a still valid line; an abort then invalidates it."""
        p = self.params
        spoiled = Signal()
        with m.If(self.dropped & (ctr != 0) & entry_of(self.ways, way, p).valid):
            m.d.sync += spoiled.eq(1)
        with m.If(self.done):
            m.d.sync += spoiled.eq(0)
        with m.If(self.abort & spoiled):
            m.d.sync += spoiled.eq(0)
            m.d.comb += [self.tag_wr.set.eq(self.set), self.tag_wr.en.bit_select(way, 1).eq(1)]
            for i in range(p.ways):
                m.d.comb += [self.tag_wr.data[i].eq(self.ways[i]), self.tag_wr.data[i].valid.eq(0)]
