"""The non-blocking ExCache's answer queue: accesses leave S1 into it in request order, ``cpu_resp`` answers its
head, and accesses waiting on an MSHR are completed at the head.

An entry is *ready* (a hit: its word read from the line store in the cycle it entered, captured in the next;
a write; an access failed by firmware) or *waiting on MSHR k* (the missing access, or one merged into k).
When the head waits on an MSHR whose LINE_READ is answered, the queue completes it (one per cycle, when the
controller grants the arrays)::

    head waits on k, k done:  k refused  --> answered with k's status, rdata 0
                              k ok, read --> data_rd(k's set, way, word) --> word captured --> answered
                              k ok, write -> data_wr (strobes) + tag_wr (dirty) --> answered
                              (either way: k loses a waiter; merged accesses count a hit, or a miss if refused)

Completing at the head keeps every access's effect in request order: a merged write lands before a later
merged read of the same line. A read's word is on the line store's output in the cycle after its read
(the answer is taken from there in that cycle: hit latency 3 as in the blocking controller) and is kept in its
entry from then on, since the store's output changes with the next read.

With the local-memory store (``line_store="axi"``) a read's word comes back on the store's R channel, through
:class:`~hw.processor.local_read_port.LocalReadPort`: the read request names the entry (``rd_slot``: the tail
for a read hit pushed at this edge, the head for a completion), the port hands each R beat back with its slot
(``word_valid``, ``word_slot``, ``word_data``), and the entry is answerable from that cycle on (answered from the
beat itself when it is the head). A read is requested only when the port takes it (``data_rd.ready``) and a
write only when the store takes it and no read is held before it (``wr_ok``). The queue then has
``mshrs + local_reads`` entries, so that read hits keep coming at one per cycle while earlier ones wait for
the local memory.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.array_ports import DataReadSignature, DataWriteSignature, TagWriteSignature
from hw.processor.excache_layouts import CpuResp
from hw.processor.excache_params import ExCacheParams
from hw.processor.mshr_file import MshrView
from hw.protocol import Status

__all__ = ["AnswerQueue", "queue_depth"]


def queue_depth(params):
    """Entries of the answer queue: ``mshrs + 2`` (every MSHR's missing access and two hits behind them); with the
    local-memory store ``mshrs + local_reads`` (the hits waiting for their words)."""
    return params.mshrs + (2 if params.line_store == "onchip" else params.local_reads)


class AnswerQueue(wiring.Component):
    """In-order answers with completion of MSHR waiters at the head.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    push : In(1)
        Pulse: an access leaves S1 into the queue (only with ``space``).
    push_read, push_wait, push_first : In(1)
        It is a read; it waits on MSHR ``push_idx``; it is that MSHR's missing access (counted as a miss already).
    push_cap : In(1)
        Its word is read from the line store at this edge (a read hit).
    push_idx : In(range(mshrs))
    push_status : In(Status)
        Status of a ready entry.
    push_word : In(word bits)
    push_strb, push_wdata : In
        Word, strobes and data of a waiting access.
    space : Out(1)
        An entry is free.
    empty : Out(1)
    rdata : In(data_width)
        On-chip store: the line store's read data.
    word_valid, word_slot, word_data : In
        Local-memory store: a read's word for entry ``word_slot`` (:class:`~hw.processor.local_read_port.
        LocalReadPort`).
    rd_slot : Out(range(queue_depth))
        Local-memory store: the entry a read request in this cycle is for (the head's completion, else the tail).
    wr_ok : In(1)
        Local-memory store: a completion's write is taken in this cycle (else it waits).
    cpu_resp : Out(stream of CpuResp)
    hd_idx : Out(range(mshrs))
        MSHR the head waits on.
    hd : In(MshrView)
        Its state.
    grant : In(1)
        The arrays are free for a completion in this cycle.
    wr_busy : In(1)
        ... except the line store's write port (a fill's beat): a write's completion waits.
    busy : Out(1)
        A completion happens in this cycle (the pipeline stands still).
    data_rd, data_wr, tag_wr : Out
        The completion's array requests.
    stale : Out(1)
        The completion wrote a tag entry (the pipeline's loaded tags must be read again).
    complete : Out(1)
        Pulse: a waiter of ``hd_idx`` is answered.
    count_hit, count_miss : Out(1)
        Pulses: a merged access completed (its line came / was refused).
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        n = range(p.mshrs)
        super().__init__({
            "push":        In(1),
            "push_read":   In(1),
            "push_wait":   In(1),
            "push_first":  In(1),
            "push_cap":    In(1),
            "push_idx":    In(n),
            "push_status": In(Status),
            "push_word":   In(max(1, p.word_bits)),
            "push_strb":   In(p.data_width // 8),
            "push_wdata":  In(p.data_width),
            "space":       Out(1),
            "empty":       Out(1),
            "rdata":       In(p.data_width),
            **({} if p.line_store == "onchip" else {
                "word_valid": In(1), "word_slot": In(range(queue_depth(p))), "word_data": In(p.data_width),
                "rd_slot": Out(range(queue_depth(p))), "wr_ok": In(1)}),
            "cpu_resp":    Out(stream.Signature(CpuResp(p))),
            "hd_idx":      Out(n),
            "hd":          In(MshrView(p)),
            "grant":       In(1),
            "wr_busy":     In(1),
            "busy":        Out(1),
            "data_rd":     Out(DataReadSignature(p)),
            "data_wr":     Out(DataWriteSignature(p)),
            "tag_wr":      Out(TagWriteSignature(p)),
            "stale":       Out(1),
            "complete":    Out(1),
            "count_hit":   Out(1),
            "count_miss":  Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        depth = queue_depth(p)
        onchip = p.line_store == "onchip"

        def field(name, shape):
            return Array(Signal(shape, name=f"q_{name}{i}") for i in range(depth))

        q_read, q_wait, q_first, q_have = field("read", 1), field("wait", 1), field("first", 1), field("have", 1)
        q_idx, q_status = field("idx", range(p.mshrs)), field("status", Status)
        q_word, q_strb = field("word", max(1, p.word_bits)), field("strb", p.data_width // 8)
        q_wdata, q_data = field("wdata", p.data_width), field("data", p.data_width)
        head = Signal(range(depth))
        tail = Signal(range(depth))
        count = Signal(range(depth + 1))
        cap = Signal()                    # a read issued at the last edge: its word is on `rdata` now
        cap_slot = Signal(range(depth))

        pop = Signal()
        m.d.comb += [self.space.eq(count != depth), self.empty.eq(count == 0), self.hd_idx.eq(q_idx[head])]

        # Answers: a read's word captured from the store's output (on chip: in the cycle after its read; local
        # memory: when its R beat comes), or taken straight from there when the read is the head.
        if onchip:
            got_word, got_slot, word = cap, cap_slot, self.rdata
        else:
            got_word, got_slot, word = self.word_valid, self.word_slot, self.word_data
        bypass = got_word & (got_slot == head)
        answerable = (count != 0) & ~q_wait[head] & (~q_read[head] | q_have[head] | bypass)
        m.d.comb += [
            self.cpu_resp.valid.eq(answerable),
            self.cpu_resp.payload.rdata.eq(Mux(q_read[head], Mux(bypass, word, q_data[head]), 0)),
            self.cpu_resp.payload.status.eq(q_status[head]),
            pop.eq(answerable & self.cpu_resp.ready),
        ]
        with m.If(got_word):
            m.d.sync += [q_data[got_slot].eq(word), q_have[got_slot].eq(1)]
        if onchip:
            m.d.sync += cap.eq(0)

        with m.If(self.push):
            m.d.sync += [
                q_read[tail].eq(self.push_read), q_wait[tail].eq(self.push_wait), q_first[tail].eq(self.push_first),
                q_have[tail].eq(0), q_idx[tail].eq(self.push_idx), q_status[tail].eq(self.push_status),
                q_word[tail].eq(self.push_word), q_strb[tail].eq(self.push_strb), q_wdata[tail].eq(self.push_wdata),
                tail.eq(Mux(tail == depth - 1, 0, tail + 1)),
            ]
            if onchip:
                with m.If(self.push_cap):
                    m.d.sync += [cap.eq(1), cap_slot.eq(tail)]
        with m.If(pop):
            m.d.sync += head.eq(Mux(head == depth - 1, 0, head + 1))
        m.d.sync += count.eq(count + self.push - pop)

        # Completion of the head's wait.
        hd = self.hd
        if onchip:
            completes = (count != 0) & q_wait[head] & hd.done & self.grant & (q_read[head] | ~hd.ok | ~self.wr_busy)
        else:
            completes = ((count != 0) & q_wait[head] & hd.done & self.grant
                         & (~hd.ok | Mux(q_read[head], self.data_rd.ready, ~self.wr_busy & self.wr_ok)))
            m.d.comb += self.rd_slot.eq(Mux(self.data_rd.en, head, tail))
        with m.If(completes):
            m.d.comb += [self.busy.eq(1), self.complete.eq(1),
                         self.count_hit.eq(~q_first[head] & hd.ok), self.count_miss.eq(~q_first[head] & ~hd.ok)]
            m.d.sync += q_wait[head].eq(0)
            with m.If(~hd.ok):
                m.d.sync += [q_read[head].eq(0), q_status[head].eq(hd.status)]
            with m.Elif(q_read[head]):
                m.d.comb += [self.data_rd.set.eq(hd.set), self.data_rd.way.eq(hd.way),
                             self.data_rd.word.eq(q_word[head]), self.data_rd.en.eq(1)]
                if onchip:
                    m.d.sync += [cap.eq(1), cap_slot.eq(head), q_status[head].eq(Status.OK)]
                else:
                    m.d.sync += q_status[head].eq(Status.OK)
            with m.Else():
                m.d.comb += [self.data_wr.set.eq(hd.set), self.data_wr.way.eq(hd.way),
                             self.data_wr.word.eq(q_word[head]), self.data_wr.data.eq(q_wdata[head]),
                             self.data_wr.en.eq(q_strb[head]),
                             self.tag_wr.set.eq(hd.set), self.tag_wr.en.bit_select(hd.way, 1).eq(1),
                             self.stale.eq(1)]
                m.d.sync += q_status[head].eq(Status.OK)
                for i in range(p.ways):
                    m.d.comb += self.tag_wr.data[i].eq(Cat(hd.tag, hd.pid, Const(1, 1), Const(1, 1)))
        return m
