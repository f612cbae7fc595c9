"""The non-blocking ExCache's pipeline (``mshrs`` > 1): accept, tag read (S0), compare and decide (S1).

Accept and S0 are those of :class:`~hw.processor.hit_pipeline.HitPipeline` (the tags are read at accept and
loaded into the tag store's registers when S0 moves into S1). In S1, in one cycle, the access is compared with
the set's tags and with every MSHR (:class:`~hw.processor.mshr_file.MshrFile`), and leaves into the answer
queue (:class:`~hw.processor.answer_queue.AnswerQueue`) as::

    its set blocked (an MSHR of the set waits for a write-back's answer)  --> waits in S1
    an MSHR fetches its line                  --> merged: waits on that MSHR (touches its way)
    hit                                       --> the word read / written now (hit-under-miss), touch
    miss, an MSHR works in the set            --> waits in S1 (one MSHR per set)
    miss, no MSHR free                        --> waits in S1
    miss                                      --> [software: event, firmware's decision: a way, or fail]
                                                  allocate an MSHR for the victim way: its tag entry is
                                                  invalidated now (nothing hits a line being replaced),
                                                  touch / FIFO step / LFSR step, waits on the new MSHR

Every replacement-state update happens here, in request order, and a miss's victim is chosen from a set
no MSHR works in: the victims are those of the golden model run access by access
(``emu/models/excache.py``, ``mshrs``).

Other blocks use the arrays too (write-back streams, completions at the queue's head, a fill's tag write):
in a cycle with ``stall`` nothing moves here; ``stale`` says a tag entry was written, so S0's and S1's tags
are read again (S1: a read, then a load, two cycles) before S1 compares. A fill's beats only take the line
store's write port (``wr_busy``): meanwhile reads hit, misses allocate and accesses merge; a write hit waits.

With the local-memory store (``line_store="axi"``) a hit leaves S1 only when the store takes its word request:
a read hit when :class:`~hw.processor.local_read_port.LocalReadPort` takes the read (``data_rd.ready``), a write
hit when the store takes the write and no read waits before it (``wr_ok``).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import (DataReadSignature, DataWriteSignature, LineEventSignature, TagReadSignature,
                                      TagSet, TagWriteSignature, entry_of)
from hw.processor.excache_layouts import CpuOp, CpuReq, MissEvent, MissKind, TagEntry
from hw.processor.excache_params import ExCacheParams
from hw.processor.hit_pipeline import split_vaddr
from hw.processor.tag_lookup import TagLookup
from hw.protocol import Status

__all__ = ["NonBlockingPipeline", "MissDecision"]


class MissDecision(data.StructLayout):
    """Firmware's answer to a miss event (software miss path): fill ``way``, or fail with ``status``."""

    def __init__(self, params):
        super().__init__({"fail": 1, "way": params.way_bits, "status": Status})


class NonBlockingPipeline(wiring.Component):
    """CPU port, S0 and S1 of the non-blocking controller.

    Parameters
    ----------
    params : ExCacheParams
    software : bool
        Misses wait for a :class:`MissDecision` on ``decision`` (else the suggested victim is taken at once).

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
    run : In(1)
        The pipeline owns the arrays (low while maintenance walks).
    hold : In(1)
        Accept nothing (maintenance waits for the cache to drain).
    stall : In(1)
        Another block uses the arrays in this cycle: nothing moves.
    stale : In(1)
        Another block wrote a tag entry in this cycle (comes with ``stall``).
    wr_busy : In(1)
        The line store's write port is taken in this cycle (a fill's beat): a write hit waits.
    wr_ok : In(1)
        Only with ``line_store="axi"``: a write hit's word is taken by the store in this cycle.
    ways : In(TagSet)
        The tag store's loaded set (S1's).
    victim : In(way_bits)
        The replacement unit's choice for that set.
    tag_rd, tag_wr, data_rd, data_wr : Out
        Array requests (tag reads, a hit's word, the dirty bit of a write hit, a victim's invalidation).
    tag_load : Out(1)
    touch, installed : Out(LineEventSignature)
        Replacement-state events: an access used a way; a miss allocated a way (FIFO).
    advance : Out(1)
        Pulse: a miss was decided (the LFSR steps).
    lk_pid, lk_set, lk_tag : Out
        S1's line, for the MSHR lookup.
    lk_match, lk_idx, lk_way, lk_busy, lk_block, free, free_idx : In
        The lookup's answer (:class:`~hw.processor.mshr_file.MshrFile`).
    alloc : Out(1)
        Pulse: allocate MSHR ``free_idx`` for S1's line into ``alloc_way``, replacing ``alloc_victim``.
    alloc_way : Out(way_bits)
    alloc_victim : Out(TagEntry)
    merge : Out(1)
        Pulse: S1's access waits on MSHR ``lk_idx``.
    q_push, q_read, q_wait, q_first, q_cap : Out(1)
    q_idx : Out(range(mshrs))
    q_status : Out(Status)
    q_word, q_strb, q_wdata : Out
        The entry S1's access leaves into (see :class:`~hw.processor.answer_queue.AnswerQueue`).
    q_space : In(1)
    miss_event : Out(stream of MissEvent)
        Software mode: the miss in S1, with the suggested victim (taken once).
    decision : In(stream of MissDecision)
        Software mode: firmware's decision for it.
    hit, miss : Out(1)
        Counter pulses: S1 hit; a miss event was decided (allocated, or failed by firmware).
    idle : Out(1)
        S0 and S1 are empty.
    """

    def __init__(self, params, *, software=False):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        if not isinstance(software, bool):
            raise TypeError(f"software must be a bool, not {software!r}")
        self.params = p = params
        self.software = software
        n = range(p.mshrs)
        super().__init__({
            "cpu_req":      In(stream.Signature(CpuReq(p))),
            "run":          In(1),
            "hold":         In(1),
            "stall":        In(1),
            "stale":        In(1),
            "wr_busy":      In(1),
            **({"wr_ok": In(1)} if p.line_store == "axi" else {}),
            "ways":         In(TagSet(p)),
            "victim":       In(p.way_bits),
            "tag_rd":       Out(TagReadSignature(p)),
            "tag_load":     Out(1),
            "tag_wr":       Out(TagWriteSignature(p)),
            "data_rd":      Out(DataReadSignature(p)),
            "data_wr":      Out(DataWriteSignature(p)),
            "touch":        Out(LineEventSignature(p)),
            "installed":    Out(LineEventSignature(p)),
            "advance":      Out(1),
            "lk_pid":       Out(p.pid_width),
            "lk_set":       Out(max(1, p.index_bits)),
            "lk_tag":       Out(p.tag_bits),
            "lk_match":     In(1),
            "lk_idx":       In(n),
            "lk_way":       In(p.way_bits),
            "lk_busy":      In(1),
            "lk_block":     In(1),
            "free":         In(1),
            "free_idx":     In(n),
            "alloc":        Out(1),
            "alloc_way":    Out(p.way_bits),
            "alloc_victim": Out(TagEntry(p)),
            "merge":        Out(1),
            "q_push":       Out(1),
            "q_read":       Out(1),
            "q_wait":       Out(1),
            "q_first":      Out(1),
            "q_cap":        Out(1),
            "q_idx":        Out(n),
            "q_status":     Out(Status),
            "q_word":       Out(max(1, p.word_bits)),
            "q_strb":       Out(p.data_width // 8),
            "q_wdata":      Out(p.data_width),
            "q_space":      In(1),
            "miss_event":   Out(stream.Signature(MissEvent(p))),
            "decision":     In(stream.Signature(MissDecision(p))),
            "hit":          Out(1),
            "miss":         Out(1),
            "idle":         Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        s0_valid = Signal()
        s0_fresh = Signal()    # S0's tag read is on the tag RAMs' outputs
        s0_req = Signal(CpuReq(p))
        s1_valid = Signal()
        s1_stale = Signal()    # S1's loaded tags may be out of date: read them again
        s1_reload = Signal()   # S1's set was read again at the last edge: load it
        ev_open = Signal()     # software: S1's miss event was taken, the decision is awaited
        s1 = Signal(CpuReq(p))

        s0_set, _, _ = split_vaddr(p, s0_req.vaddr)
        s1_set, s1_tag, s1_word = split_vaddr(p, s1.vaddr)
        m.submodules.lookup = lookup = TagLookup(p)
        m.d.comb += [lookup.ways.eq(self.ways), lookup.pid.eq(s1.pid), lookup.tag.eq(s1_tag),
                     self.lk_pid.eq(s1.pid), self.lk_set.eq(s1_set), self.lk_tag.eq(s1_tag),
                     self.idle.eq(~s0_valid & ~s1_valid)]
        is_read = s1.op == CpuOp.READ
        m.d.comb += [self.q_read.eq(is_read), self.q_word.eq(s1_word), self.q_strb.eq(s1.strb),
                     self.q_wdata.eq(s1.wdata)]

        with m.If(self.stale):
            m.d.sync += [s0_fresh.eq(0), s1_stale.eq(1), s1_reload.eq(0)]
        with m.If(~self.run):
            m.d.sync += [s0_fresh.eq(0), s1_stale.eq(1), s1_reload.eq(0)]

        with m.If(self.run & ~self.stall):
            s1_compare = s1_valid & ~s1_stale & ~s1_reload
            s1_adv = Signal()      # S1 retires at this edge
            s0_may = Signal()      # ... and S0 may move into S1 at the same edge (no tag entry invalidated)
            reread = s1_valid & s1_stale
            s0_move = s0_valid & s0_fresh & ~reread & (~s1_valid | (s1_adv & s0_may))
            accept_ok = (~s0_valid | s0_move) & ~self.hold & ~reread
            req_set, _, _ = split_vaddr(p, self.cpu_req.payload.vaddr)
            m.d.comb += self.cpu_req.ready.eq(accept_ok)

            # Tag reads: S1's set again after a disturbance, S0's set again, or the accepted access's.
            with m.If(reread):
                m.d.comb += [self.tag_rd.set.eq(s1_set), self.tag_rd.en.eq(1)]
                m.d.sync += [s1_stale.eq(0), s1_reload.eq(1)]
            with m.Elif(s0_valid & ~s0_fresh):
                m.d.comb += [self.tag_rd.set.eq(s0_set), self.tag_rd.en.eq(1)]
                m.d.sync += s0_fresh.eq(1)
            with m.Else():
                m.d.comb += [self.tag_rd.set.eq(req_set), self.tag_rd.en.eq(accept_ok)]
            with m.If(~s1_valid):
                m.d.sync += s1_stale.eq(0)
            m.d.comb += self.tag_load.eq(s0_move | s1_reload)
            with m.If(s1_reload):
                m.d.sync += s1_reload.eq(0)

            # S1's decision.
            hit, hit_way = lookup.hit, lookup.hit_way
            m.d.comb += [
                self.data_rd.set.eq(s1_set), self.data_rd.way.eq(hit_way), self.data_rd.word.eq(s1_word),
                self.data_wr.set.eq(s1_set), self.data_wr.way.eq(hit_way), self.data_wr.word.eq(s1_word),
                self.data_wr.data.eq(s1.wdata), self.tag_wr.set.eq(s1_set),
            ]
            if p.line_store == "onchip":
                store_ok = is_read | ~self.wr_busy
            else:
                store_ok = Mux(is_read, self.data_rd.ready, ~self.wr_busy & self.wr_ok)
            can_miss = ~self.lk_block & ~self.lk_match & ~hit & ~self.lk_busy & self.free & self.q_space
            with m.If(s1_compare & self.q_space & ~self.lk_block):
                with m.If(self.lk_match):
                    m.d.comb += [s1_adv.eq(1), s0_may.eq(1), self.merge.eq(1),
                                 self.q_push.eq(1), self.q_wait.eq(1), self.q_idx.eq(self.lk_idx),
                                 self.touch.en.eq(1), self.touch.set.eq(s1_set), self.touch.way.eq(self.lk_way)]
                with m.Elif(hit & store_ok):
                    m.d.comb += [s1_adv.eq(1), s0_may.eq(1), self.hit.eq(1),
                                 self.q_push.eq(1), self.q_cap.eq(is_read), self.q_status.eq(Status.OK),
                                 self.touch.en.eq(1), self.touch.set.eq(s1_set), self.touch.way.eq(hit_way)]
                    with m.If(is_read):
                        m.d.comb += self.data_rd.en.eq(1)
                    with m.Else():
                        m.d.comb += [self.data_wr.en.eq(s1.strb), self.tag_wr.en.bit_select(hit_way, 1).eq(1)]
                        for i in range(p.ways):
                            m.d.comb += self.tag_wr.data[i].eq(Cat(s1_tag, s1.pid, Const(1, 1), Const(1, 1)))

            # A miss: the way to fill (at once, or firmware's), then the allocation.
            way = Signal(p.way_bits)
            go = Signal()
            fail = Signal()
            if self.software:
                ev = self.miss_event.payload
                victim = entry_of(self.ways, self.victim, p)
                m.d.comb += [
                    self.miss_event.valid.eq(s1_compare & can_miss & ~ev_open),
                    ev.kind.eq(MissKind.MISS), ev.write.eq(~is_read), ev.pid.eq(s1.pid), ev.vaddr.eq(s1.vaddr),
                    ev.set.eq(s1_set), ev.way.eq(self.victim), ev.victim_valid.eq(victim.valid),
                    ev.victim_dirty.eq(victim.dirty), ev.victim_pid.eq(victim.pid), ev.victim_tag.eq(victim.tag),
                ]
                with m.If(self.miss_event.valid & self.miss_event.ready):
                    m.d.sync += ev_open.eq(1)
                m.d.comb += self.decision.ready.eq(s1_compare & can_miss & ev_open)
                with m.If(self.decision.valid & self.decision.ready):
                    m.d.sync += ev_open.eq(0)
                    m.d.comb += [way.eq(self.decision.payload.way), go.eq(~self.decision.payload.fail),
                                 fail.eq(self.decision.payload.fail)]
            else:
                m.d.comb += [way.eq(self.victim), go.eq(s1_compare & can_miss)]
            with m.If(fail):
                m.d.comb += [s1_adv.eq(1), s0_may.eq(1), self.miss.eq(1), self.advance.eq(1),
                             self.q_push.eq(1), self.q_read.eq(0), self.q_status.eq(self.decision.payload.status)]
            with m.If(go):
                m.d.comb += [
                    s1_adv.eq(1), self.miss.eq(1), self.advance.eq(1),
                    self.alloc.eq(1), self.alloc_way.eq(way), self.alloc_victim.eq(entry_of(self.ways, way, p)),
                    self.q_push.eq(1), self.q_wait.eq(1), self.q_first.eq(1), self.q_idx.eq(self.free_idx),
                    self.touch.en.eq(1), self.touch.set.eq(s1_set), self.touch.way.eq(way),
                    self.installed.en.eq(1), self.installed.set.eq(s1_set), self.installed.way.eq(way),
                    self.tag_wr.en.bit_select(way, 1).eq(1),
                ]
                for i in range(p.ways):
                    m.d.comb += self.tag_wr.data[i].eq(0)
                # S0's tags were read before the invalidation: read them again.
                m.d.sync += s0_fresh.eq(0)

            with m.If(self.cpu_req.valid & accept_ok):
                m.d.sync += [s0_valid.eq(1), s0_fresh.eq(1), s0_req.eq(self.cpu_req.payload)]
            with m.Elif(s0_move):
                m.d.sync += s0_valid.eq(0)
            with m.If(s0_move):
                m.d.sync += [s1_valid.eq(1), s1.eq(s0_req), s1_stale.eq(0)]
            with m.Elif(s1_adv):
                m.d.sync += s1_valid.eq(0)
        return m
