"""The ExCache's on-chip line store (``line_store="onchip"``): one block RAM word per (set, way, word).

A word read at an edge shows on ``rdata`` after that edge and holds until the next enabled read (the
hit pipeline's S2 answer and the write-back stream both read it there). Writes have byte enables.
Requests are always ready and the read data always valid; the other store,
:class:`~hw.processor.line_store_axi.AxiLineStore`, has the same ports with real handshakes.
"""

from amaranth import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import DataReadSignature, DataWriteSignature
from hw.processor.excache_params import ExCacheParams

__all__ = ["LineData"]


class LineData(wiring.Component):
    """Data words of every line.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    rd : In(DataReadSignature)
        Read request (always ready; ``line`` is ignored: one word per request); the word appears on
        ``rdata`` after the edge.
    rdata : Out(data_width)
        The last word read.
    rvalid : Out(1)
        Always high: ``rdata`` holds the last word read.
    rready : In(1)
        Ignored (the held word is re-read as often as needed).
    wr : In(DataWriteSignature)
        Write request with byte enables (always ready).
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "rd":    In(DataReadSignature(p)),
            "rdata":  Out(p.data_width),
            "rvalid": Out(1),
            "rready": In(1),
            "wr":     In(DataWriteSignature(p)),
        })

    def address(self, req):
        """RAM address of a request: ``(set * ways + way) * words_per_line + word``."""
        p = self.params
        line = req.set[:max(1, p.index_bits)] * p.ways + req.way
        return Cat(req.word[:p.word_bits], line) if p.word_bits else line

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.data_mem = data_mem = Memory(shape=p.data_width, depth=p.sets * p.ways * p.words_per_line,
                                                  init=[])
        wp = data_mem.write_port(granularity=8)
        rp = data_mem.read_port()
        m.d.comb += [
            self.rd.ready.eq(1), self.wr.ready.eq(1), self.rvalid.eq(1),
            rp.addr.eq(self.address(self.rd)), rp.en.eq(self.rd.en), self.rdata.eq(rp.data),
            wp.addr.eq(self.address(self.wr)), wp.en.eq(self.wr.en), wp.data.eq(self.wr.data),
        ]
        return m
