"""Page-table walker: reads the hashed page table in DRAM for (pid, vpn), one bucket burst at a time."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MAX_BUCKETS_LOG2, MMUParams
from hw.memory.ports import BurstSignature
from hw.protocol import PID_WIDTH

__all__ = ["PageTableWalker", "HASH_PID_MULT"]

#: Multiplier that spreads pids over the buckets (hash in docs/page-table.md).
HASH_PID_MULT = 0x9E5


class PageTableWalker(wiring.Component):
    """Walks the hashed page table (format in docs/page-table.md).

    A walk starts at bucket ``hash(pid, vpn) mod 2**pt_buckets_log2``, reads it with one burst, and
    ends when an entry matches, when the bucket has an empty entry, or after ``pt_max_probes`` buckets
    (linear probing to the next bucket otherwise). Timing from ``start``: one cycle to hash, then per
    bucket the AR handshake, the beats of the burst and one cycle to evaluate; ``done`` is high in that
    last evaluation cycle.

    An invalidation (``inv``) during a walk *poisons* it: the bucket may predate the unmapping, so the
    result is used for this request but not installed in the TLB (``fill`` stays low).

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    start : In(1)
        Begin a walk for ``pid``/``vpn`` (sampled in this cycle). Only while idle.
    pid : In(16)
    vpn : In(vpn_width)
    pt_base : In(64), pt_buckets_log2 : In(5), pt_max_probes : In(8)
        The page-table configuration registers, sampled with ``start`` (a walk uses one configuration).
    inv : In(1)
        A TLB invalidation happens this cycle (poisons the walk in progress).
    done : Out(1)
        The walk ends this cycle; ``found`` (Out) says whether an entry matched, with ``pfn``, ``r``, ``w``.
    fill : Out(1)
        Install the result in the TLB this cycle (``found`` and not poisoned); ``fill_pid``/``fill_vpn`` key.
    walk_started, bucket_read : Out(1)
        Event pulses (a walk started; a bucket burst was requested), for the counters.
    mem : Out(BurstSignature(paddr_width, data_width))
        Its DRAM port (reads only).
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"PageTableWalker needs MMUParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "start": In(1), "pid": In(PID_WIDTH), "vpn": In(p.vpn_width),
            "pt_base": In(64), "pt_buckets_log2": In(5), "pt_max_probes": In(8), "inv": In(1),
            "done": Out(1), "found": Out(1), "pfn": Out(p.pfn_width), "r": Out(1), "w": Out(1),
            "fill": Out(1), "fill_pid": Out(p.pid_width), "fill_vpn": Out(p.vpn_width),
            "walk_started": Out(1), "bucket_read": Out(1),
            "mem": Out(BurstSignature(p.paddr_width, p.data_width)),
        })

    def _empty(self, m, bucket):
        """Per entry of the bucket: it is empty."""
        p = self.params
        empty = Signal(p.pt_bucket_entries)
        for k in range(p.pt_bucket_entries):
            w0 = bucket[k * 128:k * 128 + 64]
            m.d.comb += empty[k].eq(~w0[0] & ~w0[1])
        return empty

    def _beat_match(self, m, rdata, beat, pid, vpn):
        """Per entry of the bucket: the beat being received (``rdata``, number ``beat``) holds the entry's
        first word and it matches pid/vpn. Entry ``k``'s first word is bucket bits ``128 k .. 128 k + 63``:
        beat ``128 k // data_width`` at offset ``128 k % data_width``."""
        p = self.params
        dw = p.data_width
        hit = Signal(p.pt_bucket_entries)
        vpn_ext = Signal(40)
        m.d.comb += vpn_ext.eq(vpn)
        for k in range(p.pt_bucket_entries):
            off = k * 128 % dw
            w0 = rdata[off:off + 64]
            m.d.comb += hit[k].eq((beat == k * 128 // dw) & w0[0] & (w0[8:24] == pid) & (w0[24:64] == vpn_ext))
        return hit

    def _select(self, m, bucket, match, pfn, r, w):
        """Drive ``pfn``/``r``/``w`` from the first matching entry of ``match``."""
        p = self.params
        for k in reversed(range(p.pt_bucket_entries)):
            w1 = bucket[k * 128 + 64:k * 128 + 128]
            with m.If(match[k]):
                m.d.comb += [pfn.eq(w1[8:8 + p.pfn_width]), r.eq(w1[0]), w.eq(w1[1])]

    def elaborate(self, platform):
        p = self.params
        m = Module()
        mem, dw = self.mem, p.data_width
        bucket_beats = p.bucket_beats
        pid = Signal(PID_WIDTH)
        vpn = Signal(p.vpn_width)
        # The page-table configuration is sampled with the request, once per walk: a firmware write to
        # PT_* while a bucket address waits for ready does not change it (a stable AXI payload).
        pt_base, pt_buckets_log2, pt_max_probes = Signal(64), Signal(5), Signal(8)
        with m.If(self.start):
            m.d.sync += [pid.eq(self.pid), vpn.eq(self.vpn), pt_base.eq(self.pt_base),
                         pt_buckets_log2.eq(self.pt_buckets_log2), pt_max_probes.eq(self.pt_max_probes)]
        m.d.comb += [self.fill_pid.eq(pid[:p.pid_width]), self.fill_vpn.eq(vpn)]

        bucket = Signal(p.bucket_bytes * 8)
        b_idx = Signal(MAX_BUCKETS_LOG2)
        probes = Signal(8)
        beat = Signal(range(bucket_beats + 1))
        poisoned = Signal()
        vpn48 = Signal(48)
        hash_val = Signal(MAX_BUCKETS_LOG2)
        mask = Signal(MAX_BUCKETS_LOG2)
        bucket_addr = Signal(64)
        m.d.comb += [
            vpn48.eq(vpn),
            hash_val.eq(Cat(vpn48[0:16] ^ vpn48[16:32] ^ vpn48[32:48] ^ (pid * HASH_PID_MULT)[0:16],
                            vpn48[16:24] ^ vpn48[32:40] ^ (pid * HASH_PID_MULT)[16:24])),
            mask.eq((Const(1, MAX_BUCKETS_LOG2 + 1) << pt_buckets_log2) - 1),
            bucket_addr.eq(pt_base + (b_idx << (p.bucket_bytes.bit_length() - 1))),
        ]
        # The bucket's compare is registered (EVAL); DECIDE selects the matching entry's translation from
        # the registered match vector and the bucket, which holds until the next probe's beats. Compare and
        # select in one cycle were the MMU's critical path (issue 18).
        # EVAL also registers whether the walk ends with this bucket (a match, an empty entry, or the last
        # probe), so ``done``/``found`` are a gate from flip-flops: the translator's park and push decisions
        # on them fan out to the fault queue's and the request queue's registers (issue 18).
        # Each entry is compared as its first word arrives (R), into ``match``; EVAL registers from those
        # flip-flops. Comparing the registered bucket in EVAL (bucket -> 56-bit compares -> any -> the walk's
        # end) was the MMU's critical path (issue 18); the beat comes from the AXI read data, a register of
        # the memory's side.
        empty = self._empty(m, bucket)
        match = Signal(p.pt_bucket_entries)
        beat_match = self._beat_match(m, mem.rdata, beat, pid, vpn)
        match_q = Signal(p.pt_bucket_entries)
        found_q, ends_q = Signal(), Signal()
        m.d.comb += self.found.eq(found_q)
        self._select(m, bucket, match_q, self.pfn, self.r, self.w)

        with m.FSM(name="walker_fsm"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "HASH"
            with m.State("HASH"):
                m.d.comb += self.walk_started.eq(1)
                m.d.sync += [b_idx.eq(hash_val & mask), probes.eq(0), poisoned.eq(0)]
                m.next = "AR"
            with m.State("AR"):
                m.d.comb += [mem.req.eq(1), mem.arvalid.eq(1), mem.araddr.eq(bucket_addr),
                             mem.arlen.eq(bucket_beats - 1)]
                with m.If(mem.arready):
                    m.d.comb += self.bucket_read.eq(1)
                    m.d.sync += [probes.eq(probes + 1), beat.eq(0), match.eq(0)]
                    m.next = "R"
            with m.State("R"):
                m.d.comb += [mem.req.eq(1), mem.rready.eq(1)]
                with m.If(mem.rvalid):
                    m.d.sync += [beat.eq(beat + 1), match.eq(match | beat_match)]
                    m.d.sync += bucket.eq(Cat(bucket[dw:], mem.rdata) if bucket_beats > 1 else mem.rdata)
                    with m.If(beat == bucket_beats - 1):
                        m.next = "EVAL"
            with m.State("EVAL"):
                m.d.sync += [match_q.eq(match), found_q.eq(match.any()),
                             ends_q.eq(match.any() | empty.any() | (probes >= pt_max_probes))]
                m.next = "DECIDE"
            with m.State("DECIDE"):
                with m.If(found_q):
                    m.d.comb += [self.done.eq(1), self.fill.eq(~poisoned)]
                    m.next = "IDLE"
                with m.Elif(~ends_q):
                    m.d.sync += b_idx.eq((b_idx + 1) & mask)
                    m.next = "AR"
                with m.Else():
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        with m.If(self.inv):
            m.d.sync += poisoned.eq(1)
        return m
