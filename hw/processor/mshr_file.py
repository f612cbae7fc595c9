"""Miss status holding registers of the non-blocking ExCache (``mshrs`` > 1).

One entry per line being fetched. Its life::

    alloc (S1 miss) --> [victim dirty: wb_open] --> LINE_WRITE_RESP OK --> (wb closed)
          |                                    '--> refused: wb_failed (victim re-validated, line dropped)
          '--> LINE_READ_RESP: line installed (done, ok) | refused / behind a refused write-back (done, not ok)
    every access waiting on the entry completed at the head of the answer queue --> released

The entry is numbered; the number is the ``tag`` of its LINE_WRITE and LINE_READ, so the responses find it
whatever their order. ``waiters`` counts the answer-queue entries waiting on it (the missing access and every
access merged into it); the entry is released in the cycle its last waiter completes, so a line stays "being
fetched" (accesses to it merge and wait, they do not hit) until every earlier access to it is answered.

Lookup (for the access in S1, combinational): whether an entry fetches its line (``lk_match``), whether
one works in its set (``lk_busy``: the controller keeps at most one entry per set, so that the victim choice
of a miss is the one the golden model makes access by access), and whether the set is ``lk_block``\\ ed
(an entry of the set has a write-back not yet acknowledged, or refused: what the set holds is not known
until that answer, so every access to the set waits).
"""

from amaranth import Array, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import TagEntry
from hw.processor.excache_params import ExCacheParams
from hw.protocol import Status

__all__ = ["MshrFile", "MshrView"]


class MshrView(data.StructLayout):
    """What an entry holds, as its readers see it."""

    def __init__(self, params):
        p = params
        super().__init__({
            "pid":       p.pid_width,
            "set":       max(1, p.index_bits),
            "tag":       p.tag_bits,               # the line being fetched
            "way":       p.way_bits,               # the way reserved for it
            "victim":    TagEntry(p),              # the line it replaced (valid, dirty: a write-back)
            "wb_open":   1,
            "wb_failed": 1,
            "done":      1,                        # the LINE_READ is answered (installed if ok)
            "ok":        1,
            "status":    Status,                   # not ok: the status answered to its waiters
        })


class MshrFile(wiring.Component):
    """The MSHR entries, their lookup and their updates.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    lk_pid, lk_set, lk_tag : In
        The access in S1.
    lk_match : Out(1)
        A valid entry fetches that line (pid, set, tag).
    lk_idx : Out(range(mshrs))
        The matching entry (valid with ``lk_match``).
    lk_way : Out(way_bits)
        The way it reserved.
    lk_busy : Out(1)
        A valid entry works in that set.
    lk_block : Out(1)
        An entry of that set waits for its write-back's answer, or had it refused.
    free : Out(1)
        An entry is free; ``free_idx`` is the lowest.
    free_idx : Out(range(mshrs))
    alloc : In(1)
        Pulse: allocate ``free_idx`` for the S1 access's line (``lk_*``) into ``alloc_way``, replacing
        ``alloc_victim``; its first waiter is the missing access.
    alloc_way : In(way_bits)
    alloc_victim : In(TagEntry)
    merge : In(1)
        Pulse: one more waiter on ``lk_idx``.
    complete : In(1)
        Pulse: a waiter of ``complete_idx`` was answered.
    complete_idx : In(range(mshrs))
    rx_idx : In(range(mshrs))
        Entry the response receiver's pulses below act on.
    wb_ack : In(1)
        Pulse: its LINE_WRITE_RESP, status ``rx_status`` (OK: the write-back is closed; else refused).
    fill_done : In(1)
        Pulse: its line is installed.
    read_fail : In(1)
        Pulse: its LINE_READ_RESP refused (``rx_status``) or dropped behind a refused write-back.
    rx_status : In(Status)
    tx_idx, hd_idx : In(range(mshrs))
        Entries shown on ``tx``, ``hd`` (the request sender's and the answer queue's head).
    tx, rx, hd : Out(MshrView)
        The entries ``tx_idx``, ``rx_idx``, ``hd_idx``.
    rx_valid : Out(1)
        Entry ``rx_idx`` is allocated (a cut-through header may name any entry, open or not).
    idle : Out(1)
        No entry is valid.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        n = range(p.mshrs)
        super().__init__({
            "lk_pid":       In(p.pid_width),
            "lk_set":       In(max(1, p.index_bits)),
            "lk_tag":       In(p.tag_bits),
            "lk_match":     Out(1),
            "lk_idx":       Out(n),
            "lk_way":       Out(p.way_bits),
            "lk_busy":      Out(1),
            "lk_block":     Out(1),
            "free":         Out(1),
            "free_idx":     Out(n),
            "alloc":        In(1),
            "alloc_way":    In(p.way_bits),
            "alloc_victim": In(TagEntry(p)),
            "merge":        In(1),
            "complete":     In(1),
            "complete_idx": In(n),
            "rx_idx":       In(n),
            "wb_ack":       In(1),
            "fill_done":    In(1),
            "read_fail":    In(1),
            "rx_status":    In(Status),
            "tx_idx":       In(n),
            "hd_idx":       In(n),
            "tx":           Out(MshrView(p)),
            "rx":           Out(MshrView(p)),
            "hd":           Out(MshrView(p)),
            "rx_valid":     Out(1),
            "idle":         Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        n = p.mshrs
        valid = Signal(n)
        ent = Array(Signal(MshrView(p), name=f"mshr{i}") for i in range(n))
        waiters = Array(Signal(range(2 * n + 3), name=f"waiters{i}") for i in range(n))

        m.d.comb += [self.tx.eq(ent[self.tx_idx]), self.rx.eq(ent[self.rx_idx]), self.hd.eq(ent[self.hd_idx]),
                     self.rx_valid.eq(valid.bit_select(self.rx_idx, 1)), self.idle.eq(~valid.any())]

        # Lookup of the S1 access.
        for i in reversed(range(n)):
            e = ent[i]
            same_set = valid[i] & (e.set == self.lk_set)
            with m.If(same_set):
                m.d.comb += self.lk_busy.eq(1)
                with m.If(e.wb_open | e.wb_failed):
                    m.d.comb += self.lk_block.eq(1)
            with m.If(same_set & (e.pid == self.lk_pid) & (e.tag == self.lk_tag)):
                m.d.comb += [self.lk_match.eq(1), self.lk_idx.eq(i), self.lk_way.eq(e.way)]
            with m.If(~valid[i]):
                m.d.comb += [self.free.eq(1), self.free_idx.eq(i)]

        for i in range(n):
            e = ent[i]
            inc = Signal(name=f"inc{i}")
            dec = Signal(name=f"dec{i}")
            m.d.comb += [
                inc.eq(self.merge & (self.lk_idx == i)),
                dec.eq(self.complete & (self.complete_idx == i)),
            ]
            left = waiters[i] + inc - dec
            with m.If(valid[i]):
                m.d.sync += waiters[i].eq(left)
                with m.If(e.done & (left == 0)):
                    m.d.sync += valid[i].eq(0)
            with m.If(self.alloc & (self.free_idx == i)):
                m.d.sync += [
                    valid[i].eq(1), waiters[i].eq(1),
                    e.pid.eq(self.lk_pid), e.set.eq(self.lk_set), e.tag.eq(self.lk_tag), e.way.eq(self.alloc_way),
                    e.victim.eq(self.alloc_victim),
                    e.wb_open.eq(self.alloc_victim.valid & self.alloc_victim.dirty),
                    e.wb_failed.eq(0), e.done.eq(0), e.ok.eq(0), e.status.eq(Status.OK),
                ]
            here = self.rx_idx == i
            with m.If(self.wb_ack & here):
                m.d.sync += e.wb_open.eq(0)
                with m.If(self.rx_status != Status.OK):
                    m.d.sync += [e.wb_failed.eq(1), e.status.eq(self.rx_status)]
            with m.If(self.fill_done & here):
                m.d.sync += [e.done.eq(1), e.ok.eq(1)]
            with m.If(self.read_fail & here):
                m.d.sync += [e.done.eq(1), e.ok.eq(0),
                             e.status.eq(Mux(e.wb_failed, e.status, self.rx_status))]
        return m
