"""The ExCache's hit pipeline: accept, tag compare (S1), answer (S2).

* **accept** (edge E0): ``cpu_req`` handshake; the set index addresses the tag store (``tag_rd``).
* **S1** (cycle after E0): the set's tags are compared with (pid, tag). A hit reads (or writes, with
  byte strobes) the data word of the hit way, sets the dirty bit of a written line (``tag_wr``) and
  reports the access on ``touch`` for the replacement state; these writes land at E1, and the tag store
  is transparent, so the access accepted at E1 sees them.
* **S2** (cycle after E1): the data word is on ``rdata``; ``cpu_resp`` is valid.

A hit accepted at E0 is answered at E2 (``HIT_LATENCY`` = 2), one access per cycle. An S1 miss with S2
empty raises ``miss`` and the pipeline stops (it acts only while ``run``) until the sequencer ``replay``s
the access after a fill (it then hits, and is not counted again) or ``abort``s it (answered with
``abort_status``).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import (DataReadSignature, DataWriteSignature, LineEventSignature, TagReadSignature,
                                      TagSet, TagWriteSignature)
from hw.processor.excache_layouts import CpuOp, CpuReq, CpuResp
from hw.processor.excache_params import ExCacheParams
from hw.processor.tag_lookup import TagLookup
from hw.protocol import Status

__all__ = ["HitPipeline", "HIT_LATENCY", "split_vaddr"]

#: Cycles from the edge a hit is accepted on ``cpu_req`` to the edge its answer is taken on ``cpu_resp``
#: (with ``cpu_resp.ready`` high).
HIT_LATENCY = 2


def split_vaddr(params, vaddr):
    """(set, tag, word) fields of byte address ``vaddr``."""
    p = params
    set_ = vaddr[p.offset_bits:p.offset_bits + p.index_bits] if p.index_bits else Const(0, 1)
    return set_, vaddr[p.offset_bits + p.index_bits:p.vaddr_width], vaddr[p.byte_bits:p.offset_bits]


class HitPipeline(wiring.Component):
    """CPU port, S1/S2 registers and the hit path.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
    cpu_resp : Out(stream of CpuResp)
        The CPU port (answers in request order).
    run : In(1)
        The pipeline owns the arrays: it may accept and retire accesses.
    hold : In(1)
        Accept nothing (a maintenance command waits for the pipeline to drain).
    replay : In(1)
        Pulse after a fill: re-read the tags of the access in S1, which then hits without being counted.
    abort : In(1)
        Pulse: answer the access in S1 with ``abort_status`` and drop it.
    abort_status : In(Status)
    ways : In(TagSet)
        The tag store's output (the set of the access in S1).
    rdata : In(data_width)
        The data store's output (the word of the access in S2).
    tag_rd, tag_wr : Out(TagReadSignature), Out(TagWriteSignature)
    data_rd, data_wr : Out(DataReadSignature), Out(DataWriteSignature)
        Array requests: tag read at accept, dirty bit of a write hit; the hit word.
    touch : Out(LineEventSignature)
        The access in S1 hit and retires (for the replacement state).
    s1 : Out(CpuReq)
        The access in S1 (the missing one while a miss is served).
    s1_set : Out(set bits)
    s1_tag : Out(tag_bits)
        Its set and tag.
    miss : Out(1)
        S1 holds a miss and S2 is empty: the miss can be served.
    idle : Out(1)
        S1 and S2 are empty.
    hit : Out(1)
        Pulse: an access hit (replays excluded), for the counters.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "cpu_req":      In(stream.Signature(CpuReq(p))),
            "cpu_resp":     Out(stream.Signature(CpuResp(p))),
            "run":          In(1),
            "hold":         In(1),
            "replay":       In(1),
            "abort":        In(1),
            "abort_status": In(Status),
            "ways":         In(TagSet(p)),
            "rdata":        In(p.data_width),
            "tag_rd":       Out(TagReadSignature(p)),
            "tag_wr":       Out(TagWriteSignature(p)),
            "data_rd":      Out(DataReadSignature(p)),
            "data_wr":      Out(DataWriteSignature(p)),
            "touch":        Out(LineEventSignature(p)),
            "s1":           Out(CpuReq(p)),
            "s1_set":       Out(max(1, p.index_bits)),
            "s1_tag":       Out(p.tag_bits),
            "miss":         Out(1),
            "idle":         Out(1),
            "hit":          Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        s1_valid = Signal()
        s1_replay = Signal()   # S1 holds a replayed miss: its hit is not counted again
        s1_req = self.s1
        s2_valid = Signal()
        s2_read = Signal()     # rdata comes from the data store (a read hit); otherwise 0
        s2_status = Signal(Status)

        s1_set, s1_tag, s1_word = split_vaddr(p, s1_req.vaddr)
        m.d.comb += [self.s1_set.eq(s1_set), self.s1_tag.eq(s1_tag)]
        m.submodules.lookup = lookup = TagLookup(p)
        m.d.comb += [lookup.ways.eq(self.ways), lookup.pid.eq(s1_req.pid), lookup.tag.eq(s1_tag)]
        s1_hit, hit_way = lookup.hit, lookup.hit_way

        m.d.comb += [
            self.miss.eq(s1_valid & ~s1_hit & ~s2_valid),
            self.idle.eq(~s1_valid & ~s2_valid),
            self.cpu_resp.valid.eq(s2_valid),
            self.cpu_resp.payload.rdata.eq(Mux(s2_read, self.rdata, 0)),
            self.cpu_resp.payload.status.eq(s2_status),
        ]
        with m.If(self.cpu_resp.ready):
            m.d.sync += s2_valid.eq(0)

        with m.If(self.run):
            s2_free = ~s2_valid | self.cpu_resp.ready
            s1_adv = s1_valid & s1_hit & s2_free
            accept_ok = (~s1_valid | s1_adv) & ~self.hold
            req_set, _, _ = split_vaddr(p, self.cpu_req.payload.vaddr)
            m.d.comb += [self.cpu_req.ready.eq(accept_ok), self.tag_rd.set.eq(req_set),
                         self.tag_rd.en.eq(accept_ok)]
            with m.If(self.cpu_req.valid & accept_ok):
                m.d.sync += [s1_valid.eq(1), s1_replay.eq(0), s1_req.eq(self.cpu_req.payload)]
            with m.Elif(s1_adv):
                m.d.sync += s1_valid.eq(0)

            with m.If(s1_adv):
                m.d.comb += [
                    self.data_rd.set.eq(s1_set), self.data_rd.way.eq(hit_way), self.data_rd.word.eq(s1_word),
                    self.data_rd.en.eq(s1_req.op == CpuOp.READ),
                    self.data_wr.set.eq(s1_set), self.data_wr.way.eq(hit_way), self.data_wr.word.eq(s1_word),
                    self.data_wr.data.eq(s1_req.wdata),
                    self.touch.en.eq(1), self.touch.set.eq(s1_set), self.touch.way.eq(hit_way),
                    self.hit.eq(~s1_replay),
                ]
                m.d.sync += [s2_valid.eq(1), s2_read.eq(s1_req.op == CpuOp.READ), s2_status.eq(Status.OK)]
                with m.If(s1_req.op == CpuOp.WRITE):
                    m.d.comb += [self.data_wr.en.eq(s1_req.strb), self.tag_wr.set.eq(s1_set),
                                 self.tag_wr.en.bit_select(hit_way, 1).eq(1)]
                    for i in range(p.ways):
                        m.d.comb += self.tag_wr.data[i].eq(Cat(s1_tag, s1_req.pid, Const(1, 1), Const(1, 1)))

        with m.If(self.replay):
            # Re-read the set (now holding the filled line); the access then hits in `run`.
            m.d.comb += [self.tag_rd.set.eq(s1_set), self.tag_rd.en.eq(1)]
            m.d.sync += s1_replay.eq(1)
        with m.If(self.abort):
            m.d.sync += [s1_valid.eq(0), s2_valid.eq(1), s2_read.eq(0), s2_status.eq(self.abort_status)]
        return m
