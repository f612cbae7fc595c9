"""The ExCache's line store in processor-local memory (``line_store="axi"``): LegoOS's ExCache in local DRAM.

Tags and replacement state stay on chip (:class:`~hw.processor.tag_store.TagStore`); the line data lives in a
memory reached over an AXI4 manager port, ``axi`` (``lmem`` of the ExCache): in emulation the harness's
compiled memory (``emu/harness/local_memory.h``), on a board block RAM or a DDR controller. Line ``set * ways +
way`` sits at byte address ``line * line_bytes``, word ``w`` of it ``data_width / 8`` bytes further per word.

The store offers the same request ports as :class:`~hw.processor.line_data.LineData`, with real handshakes:

* a word read (a read hit) is one single-beat AR; its data comes back on ``rdata``/``rvalid``, taken with
  ``rready``, in request order (one AXI id). Reads are pipelined: a new AR may go out every cycle.
* a line read (``line``: a write-back) is one AR burst per 256 words (AXI4's longest INCR burst; a line of at
  most 4 KiB never crosses a 4 KiB boundary), ``words_per_line`` words of read data in order.
* writes go through a one-beat buffer that drives AW and W: a word write (a write hit) is a single-beat
  burst with its byte strobes, the words of a line write (a fill) form bursts of up to 256 beats with one AW
  each. A write is taken when the buffer is free or empties in that cycle, so write hits also run at one per
  cycle against a memory that takes AW and W at once. B responses are counted, never waited for by the
  requester.

AXI4 orders nothing between its read and write channels, so the store does: a read is not issued while a
write is buffered or has not had its B response, and a write is not taken while a read burst has not returned
its last beat. Hits of one direction run back to back; changing direction waits for the other side to drain.

With ``mshrs`` > 1 (the non-blocking controller) a fill's line write may be requested while a read is offered
(:class:`~hw.processor.local_read_port.LocalReadPort` holds it on ``rd``): a write is then not taken in a cycle
where AR is valid, since the write would end the "no write in flight" that AR's valid rests on before the AR's
ready came (AXI: a valid stays up until its ready). Nor is a write that opens a burst taken while a read is held
at all: the held read was requested first and may be of the very way the write fills (a completion's read
releases its MSHR, and the next miss of the set may reserve the same way and receive its line before the read
leaves), so it must not be overtaken; only the beats of a burst already open are taken meanwhile (its B
response is what the held read waits for). The blocking controller never requests both at once.
"""

from amaranth import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axi import AXI4Signature, BURST_INCR
from hw.processor.array_ports import DataReadSignature, DataWriteSignature
from hw.processor.excache_params import ExCacheParams

__all__ = ["AxiLineStore", "MAX_BURST", "local_signature"]

#: Longest AXI4 INCR burst, in beats.
MAX_BURST = 256
#: AxCACHE of every transaction: normal, non-cacheable, bufferable memory.
AXCACHE = 0b0011


def local_signature(params):
    """The AXI4 manager signature of the ``lmem`` port of an ExCache with ``params``."""
    return AXI4Signature(params.local_addr_width, params.data_width, 1)


class AxiLineStore(wiring.Component):
    """Line data behind an AXI4 manager port.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    rd : In(DataReadSignature)
        Read request: one word, or (``line``) the whole line from word 0. Taken with ``en`` and ``ready``;
        ``en`` and the fields must hold until then (they drive AR directly).
    rdata : Out(data_width)
    rvalid : Out(1)
    rready : In(1)
        Read data, in request order (the AXI R channel).
    wr : In(DataWriteSignature)
        Write request: one word with byte enables ``en``; with ``line``, one of the words of a line write,
        issued word 0 first. Taken with ``ready``.
    axi : Out(AXI4Signature(local_addr_width, data_width, 1))
        The local memory.
    line_open : Out(1)
        Only with ``mshrs`` > 1: a line write's burst took its first beat, not yet its last. A word write taken
        now would put its W beat inside that burst's (AXI: W beats in AW order), so the non-blocking
        controller holds its word writes back meanwhile (a fill's beats may pause between beats).
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "rd":     In(DataReadSignature(p)),
            "rdata":  Out(p.data_width),
            "rvalid": Out(1),
            "rready": In(1),
            "wr":     In(DataWriteSignature(p)),
            "axi":    Out(local_signature(p)),
            **({"line_open": Out(1)} if p.mshrs > 1 else {}),
        })

    def address(self, set_, way, word):
        """Byte address of word ``word`` of the line in (``set_``, ``way``)."""
        p = self.params
        line = (set_[:p.index_bits] * p.ways + way) if p.index_bits else way
        addr = (line << p.offset_bits) | (word[:p.word_bits] << p.byte_bits if p.word_bits else 0)
        return addr[:p.local_addr_width]

    def elaborate(self, platform):
        p = self.params
        m = Module()
        axi = self.axi
        words = p.words_per_line
        beats = min(words, MAX_BURST)          # beats per burst of a line move
        parts = words // beats                 # bursts per line
        size = Const(p.byte_bits, 3)
        for ch in ("ar", "aw"):
            m.d.comb += [getattr(axi, f"{ch}size").eq(size), getattr(axi, f"{ch}burst").eq(BURST_INCR),
                         getattr(axi, f"{ch}cache").eq(AXCACHE)]
        m.d.comb += axi.bready.eq(1)

        # Transactions in flight (8 bits; requests stop at 128): read bursts without their last beat, write
        # bursts without their B response.
        reads = Signal(8)
        writes = Signal(8)
        ar_fire = axi.arvalid & axi.arready
        aw_fire = axi.awvalid & axi.awready
        r_last = axi.rvalid & axi.rready & axi.rlast
        b_fire = axi.bvalid & axi.bready
        m.d.sync += [reads.eq(reads + ar_fire - r_last), writes.eq(writes + aw_fire - b_fire)]

        # ---- write buffer: one beat, with the AW it still has to send.
        buf_full = Signal()
        buf_aw = Signal()       # AW of this beat's burst not sent yet
        buf_w = Signal()        # W beat not sent yet
        buf_addr = Signal(p.local_addr_width)
        buf_len = Signal(8)
        buf_data = Signal(p.data_width)
        buf_strb = Signal(p.data_width // 8)
        buf_last = Signal()
        m.d.comb += [
            axi.awvalid.eq(buf_full & buf_aw), axi.awaddr.eq(buf_addr), axi.awlen.eq(buf_len),
            axi.wvalid.eq(buf_full & buf_w), axi.wdata.eq(buf_data), axi.wstrb.eq(buf_strb), axi.wlast.eq(buf_last),
        ]
        drains = buf_full & (~buf_aw | axi.awready) & (~buf_w | axi.wready)
        with m.If(aw_fire):
            m.d.sync += buf_aw.eq(0)
        with m.If(axi.wvalid & axi.wready):
            m.d.sync += buf_w.eq(0)
        with m.If(drains):
            m.d.sync += buf_full.eq(0)

        wr, rd = self.wr, self.rd
        wr_ready = (reads == 0) & (~buf_full | drains) & ~writes[7]
        if p.mshrs > 1:
            # A held read (rd.en) is ordered before every write that opens a burst: only the open burst's
            # remaining beats are taken meanwhile (its B response is what the read waits for).
            m.d.comb += wr.ready.eq(wr_ready & ~axi.arvalid & (~rd.en | self.line_open))
        else:
            m.d.comb += wr.ready.eq(wr_ready)
        with m.If(wr.en.any() & wr.ready):
            in_burst = wr.word[:(beats - 1).bit_length()] if beats > 1 else Const(0, 1)
            m.d.sync += [
                buf_full.eq(1), buf_w.eq(1), buf_data.eq(wr.data), buf_strb.eq(wr.en),
                buf_addr.eq(self.address(wr.set, wr.way, wr.word)),
                buf_aw.eq(~wr.line | (in_burst == 0)),
                buf_len.eq(Mux(wr.line, beats - 1, 0)),
                buf_last.eq(~wr.line | (in_burst == beats - 1)),
            ]
            if p.mshrs > 1:
                m.d.sync += self.line_open.eq(wr.line & (in_burst != beats - 1))

        # ---- reads: AR straight from the request (held by the requester until ready).
        writes_idle = (writes == 0) & ~buf_full
        part = Signal(range(parts)) if parts > 1 else Const(0, 1)
        ar_word = Mux(rd.line, part * beats, rd.word) if parts > 1 else Mux(rd.line, 0, rd.word)
        last_part = ~rd.line | (part == parts - 1) if parts > 1 else 1
        m.d.comb += [
            axi.arvalid.eq(rd.en & writes_idle & ~reads[7]),
            axi.araddr.eq(self.address(rd.set, rd.way, ar_word)),
            axi.arlen.eq(Mux(rd.line, beats - 1, 0)),
            rd.ready.eq(axi.arready & writes_idle & ~reads[7] & last_part),
        ]
        if parts > 1:
            with m.If(ar_fire & rd.line):
                m.d.sync += part.eq(Mux(part == parts - 1, 0, part + 1))
        m.d.comb += [self.rdata.eq(axi.rdata), self.rvalid.eq(axi.rvalid), axi.rready.eq(self.rready)]
        return m
