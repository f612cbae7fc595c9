"""The ExCache's hit pipeline: accept, tag read (S0), tag compare (S1), answer (S2).

* **accept** (edge E0): ``cpu_req`` handshake; the set index addresses the tag store's RAMs (``tag_rd``).
* **S0** (cycle after E0): the set's tags are on the RAMs' outputs, and are compared there (``rd_ways``)
  with the access's (pid, tag). S0 moves into S1 when S1 is empty or retires; at that edge the tag store
  loads the set into its output registers (``tag_load``) and the compare's result (hit, way) is loaded into
  S1, so S1's decisions, and the clock enables of S0, S1 and the loaded set, come from registers (issue 18). A write hit retiring from S1 at
  that edge is forwarded into the loaded set (its dirty bit, and the replacement state), and an access
  accepted at the edge S1 writes reads the RAMs transparently: every access sees its predecessors' writes.
* **S1**: the registered compare result decides. A hit reads (or writes, with byte strobes) the data
  word of the hit way, sets the dirty bit of a written line (``tag_wr``) and reports the access on ``touch``
  for the replacement state; these writes land at the edge it leaves S1.
* **S2**: the answer queue. Each retired access leaves S1 into it (a read waits there for its data word on
  ``rdata``/``rvalid``); ``cpu_resp`` answers its head.

On-chip line store: the queue holds one access and the data word is on ``rdata`` after E2, so a hit accepted
at E0 is answered at E3 (``HIT_LATENCY`` = 3), one access per cycle. Local-memory store (``line_store="axi"``):
the queue holds ``local_reads`` accesses; a read hit's AR goes out in S1 and its answer is the R beat, so it is
answered ``3 + L`` cycles after acceptance for a memory whose first beat is valid ``L + 1`` cycles after the AR
handshake (:func:`hit_latency`), one per cycle while ``L <= local_reads - 2`` (an entry stays ``L + 1``
cycles and is allocated before the head leaves); a write hit is answered at E3
(posted: the store orders a later read after its B response).

An S1 miss with S2 empty raises ``miss`` and the pipeline stops (it acts only while ``run``) until the
sequencer ``replay``s the access after a fill (its set is read again, loaded in the next cycle, and then
hits, not counted again) or ``abort``s it (answered with ``abort_status``). An access waiting in S0 meanwhile
lost its tag read (the miss path used the RAMs): it reads them again in the first cycle of ``run``.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import (DataReadSignature, DataWriteSignature, LineEventSignature, TagReadSignature,
                                      TagSet, TagWriteSignature)
from hw.processor.excache_layouts import CpuOp, CpuReq, CpuResp
from hw.processor.excache_params import ExCacheParams
from hw.processor.tag_lookup import TagLookup
from hw.protocol import Status

__all__ = ["HitPipeline", "HIT_LATENCY", "hit_latency", "split_vaddr"]

#: Cycles from the edge a hit is accepted on ``cpu_req`` to the edge its answer is taken on ``cpu_resp``
#: (with ``cpu_resp.ready`` high), with the on-chip line store.
HIT_LATENCY = 3


def hit_latency(params, local_latency=0, *, write=False):
    """Cycles from acceptance to answer of a hit: ``HIT_LATENCY`` on chip; with the local-memory store, a read
    hit adds ``local_latency`` (the memory's first beat valid ``local_latency + 1`` cycles after the AR
    handshake), a write hit does not (it is posted)."""
    if params.line_store == "onchip" or write:
        return HIT_LATENCY
    return HIT_LATENCY + local_latency


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
    rd_ways : In(TagSet)
        The tag RAM's output (the set last read: S0's, or S1's after a replay), compared before it is loaded.
    rdata : In(data_width)
    rvalid : In(1)
        The line store's read data (the word of the read at the head of S2) and its valid.
    rready : Out(1)
        The head read's word is taken (answered on ``cpu_resp``).
    tag_rd, tag_wr : Out(TagReadSignature), Out(TagWriteSignature)
    tag_load : Out(1)
    ways_load : Out(1)
    data_rd, data_wr : Out(DataReadSignature), Out(DataWriteSignature)
        Array requests: tag read at accept, its load when S0 moves into S1, dirty bit of a write hit; the hit
        word. ``tag_load`` loads the replacement state (and the ways); ``ways_load`` loads the ways alone, also
        at the edges where S1 holds a hit that waits (only a miss needs S1's ways): its enable comes from
        registers only.
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
        S0, S1 and S2 are empty.
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
            "rd_ways":      In(TagSet(p)),
            "rdata":        In(p.data_width),
            "rvalid":       In(1),
            "rready":       Out(1),
            "tag_rd":       Out(TagReadSignature(p)),
            "tag_load":     Out(1),
            "ways_load":    Out(1),
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
        onchip = p.line_store == "onchip"
        depth = 1 if onchip else p.local_reads
        s0_valid = Signal()
        s0_fresh = Signal()    # S0's tag read is on the tag store's RAM outputs (see the module docstring)
        s0_req = Signal(CpuReq(p))
        s1_valid = Signal()
        s1_reload = Signal()   # S1's set was re-read (replay): load it before comparing
        s1_replay = Signal()   # S1 holds a replayed miss: its hit is not counted again
        s1_req = self.s1

        s0_set, _, _ = split_vaddr(p, s0_req.vaddr)
        s1_set, s1_tag, s1_word = split_vaddr(p, s1_req.vaddr)
        m.d.comb += [self.s1_set.eq(s1_set), self.s1_tag.eq(s1_tag)]
        # The compare runs on the tag RAM's output against the (pid, tag) of the access whose set was read
        # (`rd_pid`, `rd_tag`: loaded with every read), and its result is loaded with the set: S1 decides from
        # registers only, so the hit is not on the path to the wide clock enables of S0, S1 and the loaded
        # tags (issue 18).
        rd_pid = Signal(p.pid_width)
        rd_tag = Signal(p.tag_bits)
        m.submodules.lookup = lookup = TagLookup(p)
        m.d.comb += [lookup.ways.eq(self.rd_ways), lookup.pid.eq(rd_pid), lookup.tag.eq(rd_tag)]
        s1_hit = Signal()
        hit_way = Signal(p.way_bits)
        with m.If(self.tag_load):
            m.d.sync += [s1_hit.eq(lookup.hit), hit_way.eq(lookup.hit_way)]
        s1_compare = s1_valid & ~s1_reload

        # S2: the answer queue, in request order. An entry is a read (answered with the store's next word) or
        # not (a write, or an aborted access: rdata 0).
        count = Signal(range(depth + 1))
        q_read = Signal(depth)
        q_status = Array(Signal(Status, name=f"q_status{i}") for i in range(depth))
        head = Signal(range(depth)) if depth > 1 else Const(0, 1)
        tail = Signal(range(depth)) if depth > 1 else Const(0, 1)
        empty = count == 0
        head_read = q_read.bit_select(head, 1) if depth > 1 else q_read[0]
        pop = Signal()
        push = Signal()
        push_read = Signal()
        push_status = Signal(Status)
        m.d.comb += [
            self.cpu_resp.valid.eq(~empty & (~head_read | self.rvalid)),
            self.cpu_resp.payload.rdata.eq(Mux(head_read, self.rdata, 0)),
            self.cpu_resp.payload.status.eq(q_status[head]),
            pop.eq(self.cpu_resp.valid & self.cpu_resp.ready),
            self.rready.eq(~empty & head_read & self.cpu_resp.ready),
            self.miss.eq(s1_compare & ~s1_hit & empty),
            self.idle.eq(~s0_valid & ~s1_valid & empty),
        ]
        with m.If(push):
            m.d.sync += [q_read.bit_select(tail, 1).eq(push_read), q_status[tail].eq(push_status)]
        if depth > 1:
            with m.If(push):
                m.d.sync += tail.eq(Mux(tail == depth - 1, 0, tail + 1))
            with m.If(pop):
                m.d.sync += head.eq(Mux(head == depth - 1, 0, head + 1))
        m.d.sync += count.eq(count + push - pop)

        # Outside `run` other blocks read and write the tags: S0's read is lost and must be made again.
        with m.If(~self.run):
            m.d.sync += s0_fresh.eq(0)

        with m.If(self.run):
            # On chip, an answer leaving S2 frees its place in the same cycle. With the local memory the read
            # request drives AR, whose valid must not fall before its ready: the place must be free already.
            s2_free = (count != depth) | pop if onchip else count != depth
            is_read = s1_req.op == CpuOp.READ
            go = s1_compare & s1_hit & s2_free
            store_ready = Mux(is_read, self.data_rd.ready, self.data_wr.ready | ~s1_req.strb.any())
            s1_adv = go & store_ready
            s0_move = s0_valid & s0_fresh & (~s1_valid | s1_adv)
            accept_ok = (~s0_valid | s0_move) & ~self.hold
            req_set, _, _ = split_vaddr(p, self.cpu_req.payload.vaddr)
            m.d.comb += self.cpu_req.ready.eq(accept_ok)

            # The tag RAMs: read the accepted access's set (it goes into S0), or again S0's set after it was
            # lost; load S0's set into the compare registers when S0 moves into S1, or S1's after a replay.
            _, req_tag, _ = split_vaddr(p, self.cpu_req.payload.vaddr)
            _, s0_tag, _ = split_vaddr(p, s0_req.vaddr)
            with m.If(s0_valid & ~s0_fresh):
                m.d.comb += [self.tag_rd.set.eq(s0_set), self.tag_rd.en.eq(1)]
                m.d.sync += [s0_fresh.eq(1), rd_pid.eq(s0_req.pid), rd_tag.eq(s0_tag)]
            with m.Else():
                m.d.comb += [self.tag_rd.set.eq(req_set), self.tag_rd.en.eq(accept_ok)]
                with m.If(accept_ok):
                    m.d.sync += [rd_pid.eq(self.cpu_req.payload.pid), rd_tag.eq(req_tag)]
            m.d.comb += [self.tag_load.eq(s0_move | s1_reload),
                         self.ways_load.eq(s1_reload | (s0_valid & s0_fresh & (~s1_valid | (~s1_reload & s1_hit))))]
            m.d.sync += s1_reload.eq(0)

            with m.If(self.cpu_req.valid & accept_ok):
                m.d.sync += [s0_valid.eq(1), s0_fresh.eq(1), s0_req.eq(self.cpu_req.payload)]
            with m.Elif(s0_move):
                m.d.sync += s0_valid.eq(0)
            with m.If(s0_move):
                m.d.sync += [s1_valid.eq(1), s1_replay.eq(0), s1_req.eq(s0_req)]
            with m.Elif(s1_adv):
                m.d.sync += s1_valid.eq(0)

            # The hit's data access: the address does not wait for the hit (only the enables do).
            m.d.comb += [
                self.data_rd.set.eq(s1_set), self.data_rd.way.eq(hit_way), self.data_rd.word.eq(s1_word),
                self.data_rd.en.eq(go & is_read),
                self.data_wr.set.eq(s1_set), self.data_wr.way.eq(hit_way), self.data_wr.word.eq(s1_word),
                self.data_wr.data.eq(s1_req.wdata),
            ]
            with m.If(go & ~is_read):
                m.d.comb += self.data_wr.en.eq(s1_req.strb)
            with m.If(s1_adv):
                m.d.comb += [
                    self.touch.en.eq(1), self.touch.set.eq(s1_set), self.touch.way.eq(hit_way),
                    self.hit.eq(~s1_replay),
                    push.eq(1), push_read.eq(is_read), push_status.eq(Status.OK),
                ]
                with m.If(~is_read):
                    m.d.comb += self.tag_wr.en.bit_select(hit_way, 1).eq(1)
            # A write hit sets the dirty bit of its way (tag, pid and valid are what it matched).
            m.d.comb += self.tag_wr.set.eq(s1_set)
            for i in range(p.ways):
                m.d.comb += self.tag_wr.data[i].eq(Cat(s1_tag, s1_req.pid, Const(1, 1), Const(1, 1)))

        with m.If(self.replay):
            # Re-read the set (now holding the filled line); it is loaded in the next cycle, after which the
            # access hits in `run`.
            m.d.comb += [self.tag_rd.set.eq(s1_set), self.tag_rd.en.eq(1)]
            m.d.sync += [s1_replay.eq(1), s1_reload.eq(1), rd_pid.eq(s1_req.pid), rd_tag.eq(s1_tag)]
        with m.If(self.abort):
            # Only with S2 empty (a miss is served only then): the answer goes straight in.
            m.d.sync += s1_valid.eq(0)
            m.d.comb += [push.eq(1), push_read.eq(0), push_status.eq(self.abort_status)]
        return m
