"""The ExCache's line data: one block RAM word per (set, way, word of the line).

A word read at an edge shows on ``rdata`` after that edge and holds until the next enabled read (the
hit pipeline's S2 answer and the write-back stream both read it there). Writes have byte enables.

Issue 17 (line data in processor-local DRAM over AXI) replaces this block: the requesters already
name (set, way, word), not a RAM address, and a bus-backed store would add ``ready`` to the requests
and ``valid`` to ``rdata``.
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
        Read request; the word appears on ``rdata`` after the edge.
    rdata : Out(data_width)
        The last word read.
    wr : In(DataWriteSignature)
        Write request with byte enables.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "rd":    In(DataReadSignature(p)),
            "rdata": Out(p.data_width),
            "wr":    In(DataWriteSignature(p)),
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
            rp.addr.eq(self.address(self.rd)), rp.en.eq(self.rd.en), self.rdata.eq(rp.data),
            wp.addr.eq(self.address(self.wr)), wp.en.eq(self.wr.en), wp.data.eq(self.wr.data),
        ]
        return m
