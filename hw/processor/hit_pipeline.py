"""The ExCache's hit pipeline: accept, tag read (S0), capture and compare (ST), decide (S1), answer (S2).

* **accept** (edge E0): ``cpu_req`` handshake; the set index addresses the tag store's RAMs (``tag_rd``).
* **S0** (cycle after E0): the set's tags are on the RAMs' outputs. S0 moves into ST when ST is empty or
  moves; at that edge the tag store *captures* the RAMs' output into flip-flops (``tag_capture``), and the
  (pid, tag) of the access are registered beside it (issue 18: nothing but a flip-flop follows the block
  RAM's 5.6 ns clock-to-out).
* **ST**: the captured set (``cap_ways``) is compared with the access's (pid, tag). ST moves into S1 when S1
  is empty or retires; at that edge the compare's result (hit, way) is loaded into S1 and the tag store loads
  the captured set into its loaded registers (``ways_load``, ``repl_load``), so S1's decisions and the
  clock enables of every stage come from registers.
* **S1**: the registered compare result decides. A hit reads (or writes, with byte strobes) the data
  word of the hit way, sets the dirty bit of a written line (``tag_wr``) and reports the access on ``touch``
  for the replacement state; these writes land at the edge it leaves S1.
* **S2**: the answer queue. Each retired access leaves S1 into it (a read waits there for its data word on
  ``rdata``/``rvalid``); ``cpu_resp`` answers its head.

Every access sees its predecessors' writes: S1 writes only at the edge it retires, and at that edge ST and
S0 move (whenever they hold their set); the tag store forwards a write landing at a capture or load edge
into the set taken, and an access accepted at that edge reads the RAMs transparently.

On-chip line store: the queue holds one access and the data word is on ``rdata`` after E3, so a hit accepted
at E0 is answered at E4 (``HIT_LATENCY`` = 4), one access per cycle::

    edge    E0      E1      E2      E3      E4
    A       accept  S0->ST  ST->S1  S1->S2  answered
    B               accept  S0->ST  ST->S1  S1->S2 ...

Local-memory store (``line_store="axi"``): the queue holds ``local_reads`` accesses; a read hit's AR goes out
in S1 and its answer is the R beat, so it is answered ``4 + L`` cycles after acceptance for a memory whose
first beat is valid ``L + 1`` cycles after the AR handshake (:func:`hit_latency`), one per cycle while
``L <= local_reads - 2`` (an entry stays ``L + 1`` cycles and is allocated before the head leaves); a write
hit is answered at E4 (posted: the store orders a later read after its B response).

An S1 miss with S2 empty raises ``miss`` and the pipeline stops (it acts only while ``run``) until the
sequencer ``replay``s the access after a fill (its set is read again, captured in the next cycle, compared
and loaded in the one after, and then hits, not counted again) or ``abort``s it (answered with
``abort_status``). The accesses waiting in ST and S0 meanwhile lost their sets (the miss path used and wrote
the RAMs): in ``run`` ST reads its set again (captured at the next edge), then S0.
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

__all__ = ["HitPipeline", "HIT_LATENCY", "NB_HIT_LATENCY", "hit_latency", "split_vaddr"]

#: Cycles from the edge a hit is accepted on ``cpu_req`` to the edge its answer is taken on ``cpu_resp``
#: (with ``cpu_resp.ready`` high), with the on-chip line store. 4 since issue 18 (session 12): the tag RAM's
#: output is captured in flip-flops (S0 -> ST) before it is compared (ST).
HIT_LATENCY = 4
#: The same for the non-blocking controller (``mshrs`` > 1, :mod:`hw.processor.nb_pipeline`: accept, S0, S1
#: compares the loaded set and decides, answer queue).
NB_HIT_LATENCY = 3


def hit_latency(params, local_latency=0, *, write=False):
    """Cycles from acceptance to answer of a hit: ``HIT_LATENCY`` on chip (``NB_HIT_LATENCY`` with ``mshrs`` >
    1); with the local-memory store, a read hit adds ``local_latency`` (the memory's first beat valid
    ``local_latency + 1`` cycles after the AR handshake), and one more in the non-blocking controller (its
    read request is registered before AR); a write hit does not (it is posted)."""
    blocking = params.mshrs == 1
    base = HIT_LATENCY if blocking else NB_HIT_LATENCY
    if params.line_store == "onchip" or write:
        return base
    return base + local_latency + (0 if blocking else 1)


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
    cap_ways : In(TagSet)
        The tag store's captured set (ST's, or S1's after a replay), compared in ST.
    rdata : In(data_width)
    rvalid : In(1)
        The line store's read data (the word of the read at the head of S2) and its valid.
    rready : Out(1)
        The head read's word is taken (answered on ``cpu_resp``).
    tag_rd, tag_wr : Out(TagReadSignature), Out(TagWriteSignature)
    tag_capture : Out(1)
    ways_load : Out(1)
    repl_load : Out(1)
    data_rd, data_wr : Out(DataReadSignature), Out(DataWriteSignature)
        Array requests: tag read at accept, its capture when S0 moves into ST, its load when ST moves into
        S1, dirty bit of a write hit; the hit word. ``repl_load`` loads the captured replacement state;
        ``ways_load`` the captured ways, also at the edges where S1 holds a hit that waits (only a miss needs
        S1's ways): its enable comes from registers only.
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
        S0, ST, S1 and S2 are empty.
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
            "cap_ways":     In(TagSet(p)),
            "rdata":        In(p.data_width),
            "rvalid":       In(1),
            "rready":       Out(1),
            "tag_rd":       Out(TagReadSignature(p)),
            "tag_capture":  Out(1),
            "ways_load":    Out(1),
            "repl_load":    Out(1),
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
        st_valid = Signal()
        st_fresh = Signal()    # the captured set is ST's: its compare holds
        st_rd = Signal()       # ST's set was read again at the last edge: capture it now
        st_req = Signal(CpuReq(p))
        s1_valid = Signal()
        s1_rd = Signal()       # S1's set was read again (replay) at the last edge: capture it now
        s1_reload = Signal()   # the captured set is S1's (replay): compare and load it now
        s1_replay = Signal()   # S1 holds a replayed miss: its hit is not counted again
        s1_req = self.s1
        s1_adv = Signal()      # S1 retires at this edge
        st_move = Signal()     # ST moves into S1
        s0_move = Signal()     # S0 moves into ST (its set is captured)

        s0_set, s0_tag, _ = split_vaddr(p, s0_req.vaddr)
        st_set, st_tag, _ = split_vaddr(p, st_req.vaddr)
        s1_set, s1_tag, s1_word = split_vaddr(p, s1_req.vaddr)
        m.d.comb += [self.s1_set.eq(s1_set), self.s1_tag.eq(s1_tag)]
        # The compare runs on the captured set (flip-flops) against the (pid, tag) of the access whose set it
        # is (`cmp_pid`, `cmp_tag`: loaded with every capture), and its result is loaded into S1: neither the
        # block RAM's clock-to-out nor the compare is on the path to a clock enable (issue 18).
        cmp_pid = Signal(p.pid_width)
        cmp_tag = Signal(p.tag_bits)
        m.submodules.lookup = lookup = TagLookup(p)
        m.d.comb += [lookup.ways.eq(self.cap_ways), lookup.pid.eq(cmp_pid), lookup.tag.eq(cmp_tag)]
        s1_hit = Signal()
        hit_way = Signal(p.way_bits)
        s1_load = Signal()
        with m.If(s1_load):
            m.d.sync += [s1_hit.eq(lookup.hit), hit_way.eq(lookup.hit_way)]
        s1_compare = s1_valid & ~s1_rd & ~s1_reload

        # The captures: S0's set as it moves into ST, ST's or S1's after they read it again.
        m.d.comb += self.tag_capture.eq(s0_move | st_rd | s1_rd)
        with m.If(s1_rd):
            m.d.sync += [cmp_pid.eq(s1_req.pid), cmp_tag.eq(s1_tag)]
        with m.Elif(st_rd):
            m.d.sync += [cmp_pid.eq(st_req.pid), cmp_tag.eq(st_tag)]
        with m.Elif(s0_move):
            m.d.sync += [cmp_pid.eq(s0_req.pid), cmp_tag.eq(s0_tag)]
        m.d.sync += [st_rd.eq(0), s1_rd.eq(0), s1_reload.eq(s1_rd)]

        count, empty, pop, push, push_read, push_status = self._answer_queue(m, depth)
        m.d.comb += [self.miss.eq(s1_compare & ~s1_hit & empty),
                     self.idle.eq(~s0_valid & ~st_valid & ~s1_valid & empty)]

        with m.If(self.run):
            # On chip, an answer leaving S2 frees its place in the same cycle. With the local memory the read
            # request drives AR, whose valid must not fall before its ready: the place must be free already.
            s2_free = (count != depth) | pop if onchip else count != depth
            is_read = s1_req.op == CpuOp.READ
            go = s1_compare & s1_hit & s2_free
            store_ready = Mux(is_read, self.data_rd.ready, self.data_wr.ready | ~s1_req.strb.any())
            st_reread = st_valid & ~st_fresh & ~st_rd
            m.d.comb += [s1_adv.eq(go & store_ready),
                         st_move.eq(st_valid & st_fresh & (~s1_valid | s1_adv)),
                         s0_move.eq(s0_valid & s0_fresh & (~st_valid | st_move))]
            accept_ok = (~s0_valid | s0_move) & ~self.hold & ~st_reread
            req_set, req_tag, _ = split_vaddr(p, self.cpu_req.payload.vaddr)
            m.d.comb += self.cpu_req.ready.eq(accept_ok)

            # The tag RAMs: ST's set again after it was lost, then S0's, else the accepted access's (S0's
            # read is lost to any other read). ST's loses its read only outside `run`.
            with m.If(st_reread):
                m.d.comb += [self.tag_rd.set.eq(st_set), self.tag_rd.en.eq(1)]
                m.d.sync += [st_rd.eq(1), s0_fresh.eq(0)]
            with m.Elif(s0_valid & ~s0_fresh):
                m.d.comb += [self.tag_rd.set.eq(s0_set), self.tag_rd.en.eq(1)]
                m.d.sync += s0_fresh.eq(1)
            with m.Else():
                m.d.comb += [self.tag_rd.set.eq(req_set), self.tag_rd.en.eq(accept_ok)]
            with m.If(st_rd):
                m.d.sync += st_fresh.eq(1)
            # S1 takes a compare result and the replacement state as ST moves in, or after its replay's
            # capture. The ways are loaded also while S1 holds a hit that waits (from registers only).
            m.d.comb += [s1_load.eq(st_move | s1_reload), self.repl_load.eq(st_move | s1_reload),
                         self.ways_load.eq(s1_reload | (st_valid & st_fresh & (~s1_valid | (s1_compare & s1_hit))))]

            with m.If(self.cpu_req.valid & accept_ok):
                m.d.sync += [s0_valid.eq(1), s0_fresh.eq(1), s0_req.eq(self.cpu_req.payload)]
            with m.Elif(s0_move):
                m.d.sync += s0_valid.eq(0)
            with m.If(s0_move):
                m.d.sync += [st_valid.eq(1), st_fresh.eq(1), st_req.eq(s0_req)]
            with m.Elif(st_move):
                m.d.sync += st_valid.eq(0)
            with m.If(st_move):
                m.d.sync += [s1_valid.eq(1), s1_replay.eq(0), s1_req.eq(st_req)]
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

        # Outside `run` other blocks read and write the tags: the sets of S0 and ST are lost and read again.
        with m.If(~self.run):
            m.d.sync += [s0_fresh.eq(0), st_fresh.eq(0)]

        with m.If(self.replay):
            # Re-read the set (now holding the filled line); it is captured in the next cycle, compared and
            # loaded in the one after, after which the access hits in `run`.
            m.d.comb += [self.tag_rd.set.eq(s1_set), self.tag_rd.en.eq(1)]
            m.d.sync += [s1_replay.eq(1), s1_rd.eq(1)]
        with m.If(self.abort):
            # Only with S2 empty (a miss is served only then): the answer goes straight in.
            m.d.sync += s1_valid.eq(0)
            m.d.comb += [push.eq(1), push_read.eq(0), push_status.eq(self.abort_status)]
        return m

    def _answer_queue(self, m, depth):
        """S2: the answer queue, in request order. An entry is a read (answered with the store's next word) or
        not (a write, or an aborted access: rdata 0). Returns its count, empty, pop and push signals."""
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
        ]
        with m.If(push):
            m.d.sync += [q_read.bit_select(tail, 1).eq(push_read), q_status[tail].eq(push_status)]
        if depth > 1:
            with m.If(push):
                m.d.sync += tail.eq(Mux(tail == depth - 1, 0, tail + 1))
            with m.If(pop):
                m.d.sync += head.eq(Mux(head == depth - 1, 0, head + 1))
        m.d.sync += count.eq(count + push - pop)
        return count, empty, pop, push, push_read, push_status
