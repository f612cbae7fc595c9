"""Set-associative TLB tagged by (pid, virtual page number): tags and translations in memories with
registered reads, valid bits and per-entry pids in registers.

Layout (``S = entries / ways`` sets, ``W`` ways, ``E = S * W`` entries, entry ``e = set * W + way``)::

    tags  memory  S rows x W lanes of {vpn, pid}      write: fill (one lane);  read: lookup, INV_ONE
    data  memory  S rows x W lanes of {pfn, r, w}     write: fill (one lane);  read: lookup
    valid         E bits of registers                 set: fill;  clear: invalidation
    pids          E x pid_width registers             the one thing INV_PID compares in parallel
    victim        S x log2(W) registers               round-robin pointer per set

Only what a one-cycle invalidation of a whole pid needs is held in registers (``valid`` and ``pids``);
the wide part (vpn and pfn) is in memories with synchronous reads, which FPGA block or LUT RAM holds
with a registered output, and which a simulator evaluates as one array access instead of ``E``
multiplexers and comparators per cycle.

A fill requested in cycle ``F`` chooses its way from the state of ``F`` and is written at the edge ending
``F + 1`` (``lk_busy`` is high in ``F + 1``): lookups strobed from ``F + 2`` on see it; the caller strobes
no lookup in ``F + 1`` (the lookup reads are not transparent to the write: a transparent read puts an
address compare and a bypass multiplexer on the lookup's path) and leaves a cycle between two fills (the
MMU's walker fills at most once per walk). An invalidation in ``F`` drops the fill, one in ``F + 1`` or
later applies to it.

A lookup takes three cycles: strobed in ``S``, the set is read at the edge ending ``S``, compared in
``S + 1`` (the per-way hits registered at the edge ending ``S + 1``) and answered in ``S + 2`` from those
registers, so the compare and what the caller decides from the answer are two paths, not one (issue 18).

Invalidation is registered: the request is taken in its cycle ``T`` (for ``INV_ONE`` the set's tags are
read and compared with the key in ``T``, a fill written at the edge ending ``T`` by its registered key, and the
per-way matches registered) and its kill vector, an AND-OR of registers in ``T + 1``,
clears the valid bits at the edge ending ``T + 1``. Lookups strobed from ``T + 1`` on see the entries
gone; the lookups strobed in ``T - 1`` and ``T`` are answered with ``lk_stale`` high (their answers, used
after the invalidation, may predate it: the MMU treats them as misses and walks). Neither the lookup compare nor the fill's
way choice goes through the kill logic: both read the valid register only (a fill in ``T + 1`` counts the
ways being killed as occupied). This keeps the 64 pid comparators of ``INV_PID`` off every path but the
one into the valid bits (issue 18).
"""

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int, is_pow2

__all__ = ["TLB", "INV_ONE", "INV_PID", "INV_ALL"]

INV_ONE = 0  #: invalidate the entry of (pid, vpn)
INV_PID = 1  #: invalidate every entry of pid
INV_ALL = 2  #: invalidate every entry


class TLB(wiring.Component):
    """``entries`` entries in ``ways`` ways; a lookup is presented in one cycle and answered two cycles later.

    Set index: ``(vpn ^ pid) mod sets``. Replacement: an invalid way of the set if there is one, else
    the set's round-robin victim pointer, which advances on every fill of a full set.

    Timing: a lookup presented with ``lk_stb`` in cycle ``T`` (not while ``lk_busy``) reads the set's tags
    and translations at the edge ending ``T``, compares them in ``T + 1`` against the valid register of
    ``T + 1`` and registers the result; ``lk_hit``/``lk_pfn``/``lk_r``/``lk_w`` are the answer in ``T + 2``
    only, and ``lk_stale`` says that an invalidation was requested in ``T`` or ``T + 1`` and may not be
    reflected in it.

    Parameters
    ----------
    entries, ways : int
        Total entries and associativity (``entries / ways`` sets, a power of two).
    pid_width, vpn_width, pfn_width : int

    Ports
    -----
    lk_stb : In(1)
        Look up ``lk_pid``/``lk_vpn`` (sampled in this cycle). The TLB reads and compares every cycle (no
        enable on the lookup path); the strobe marks the cycles whose answers the caller uses, and only
        its ``lk_busy`` rule binds it.
    lk_pid, lk_vpn : In
        Lookup key.
    lk_busy : Out(1)
        A fill is being written: no lookup may be strobed this cycle.
    lk_hit, lk_pfn, lk_r, lk_w, lk_stale : Out
        Lookup result, two cycles after ``lk_stb``; ``lk_stale``: an invalidation in the strobe cycle or
        the next may not be reflected (use the answer as a miss).
    fill : In(1)
        Install ``fill_pid/vpn/pfn/r/w`` (sampled this cycle, written at the end of the next; the caller
        guarantees the key is not present and that the next cycle has no fill).
    inv : In(1)
        Invalidate according to ``inv_mode`` (``INV_ONE``/``INV_PID``/``INV_ALL``; 3 does nothing),
        ``inv_pid``, ``inv_vpn``, for lookups strobed from the next cycle on; a fill requested in the same
        cycle is dropped.
    """

    def __init__(self, entries, ways, pid_width, vpn_width, pfn_width):
        if not is_int(ways) or ways < 1:
            raise ValueError(f"TLB ways must be a positive integer, not {ways!r}")
        if not is_int(entries) or entries < ways or entries % ways:
            raise ValueError(f"TLB entries must be a positive multiple of ways ({ways}), not {entries!r}")
        sets = entries // ways
        if not is_pow2(sets):
            raise ValueError(f"TLB entries / ways must be a power of two, not {sets!r}")
        for name, width in (("pid_width", pid_width), ("vpn_width", vpn_width), ("pfn_width", pfn_width)):
            if not is_int(width) or width < 1:
                raise ValueError(f"TLB {name} must be a positive integer, not {width!r}")
        self.entries, self.ways, self.sets = entries, ways, sets
        self.pid_width, self.vpn_width, self.pfn_width = pid_width, vpn_width, pfn_width
        super().__init__({
            "lk_stb": In(1), "lk_pid": In(pid_width), "lk_vpn": In(vpn_width),
            "lk_hit": Out(1), "lk_pfn": Out(pfn_width), "lk_r": Out(1), "lk_w": Out(1),
            "lk_stale": Out(1), "lk_busy": Out(1),
            "fill": In(1), "fill_pid": In(pid_width), "fill_vpn": In(vpn_width), "fill_pfn": In(pfn_width),
            "fill_r": In(1), "fill_w": In(1),
            "inv": In(1), "inv_mode": In(2), "inv_pid": In(pid_width), "inv_vpn": In(vpn_width),
        })

    @property
    def _set_bits(self):
        return (self.sets - 1).bit_length()

    def _index(self, pid, vpn):
        bits = self._set_bits
        if bits == 0:
            return Const(0, 1)
        return (vpn[:bits] ^ pid.as_unsigned()[:bits] if self.pid_width >= bits
                else vpn[:bits] ^ pid.as_unsigned())

    def elaborate(self, platform):
        m = Module()
        S, W, E = self.sets, self.ways, self.entries
        tag_w = self.vpn_width + self.pid_width
        dat_w = self.pfn_width + 2
        wbits = max(1, (W - 1).bit_length())
        ibits = max(1, self._set_bits)

        m.submodules.tags = tags = Memory(shape=unsigned(W * tag_w), depth=S, init=[])
        m.submodules.data = data = Memory(shape=unsigned(W * dat_w), depth=S, init=[])
        tag_wr = tags.write_port(granularity=tag_w)
        dat_wr = data.write_port(granularity=dat_w)
        tag_lk = tags.read_port()            # not transparent: no lookup in a fill's write cycle (lk_busy)
        dat_lk = data.read_port()
        # INV_ONE's set, read in the request cycle and compared there (asynchronous read): the fill written
        # at the edge ending that cycle is compared from its registers instead (below).
        tag_inv = tags.read_port(domain="comb")

        valid = Signal(E)
        # One wide register written under a one-hot mask (not E separate registers): the same logic, and a
        # simulator copies one signal per cycle instead of E (speed's profile of the harness model).
        pw = self.pid_width
        pids = Signal(E * pw)
        victims = Signal(S * wbits)

        # Registered invalidation request; its kill vector applies in the next cycle. What can be decided in
        # the request cycle T is registered with it, so the kill in T + 1 is an AND-OR of registers: the mode
        # one-hot, the set one-hot and per-way key matches of INV_ONE and, for INV_PID, each entry's pid
        # compare (against the entries as they are after the edge ending T: an entry a fill writes at that
        # edge compares the fill's pid and key). The 64 pid comparators and the mode multiplexer in T + 1
        # were the MMU's critical path (inv_pid_q -> pids compare -> valid, issue 18), then INV_ONE's 44-bit
        # compare of the set read at T with the registered key (inv_key_q -> valid, 11.5 ns, session 12).
        inv_q = Signal()
        inv_all_q, inv_bypid_q, inv_one_q = Signal(), Signal(), Signal()
        inv_set_q = Signal(S)
        pid_hit_q = Signal(E)
        one_q = Signal(W)                      # INV_ONE: the ways of the set that hold the key
        fq, filled = Signal(), Signal(E)       # the fill written at the edge ending this cycle (below)
        fq_idx, fq_way = Signal(ibits), Signal(wbits)
        fq_pid = Signal(self.pid_width)
        fq_vpn = Signal(self.vpn_width)
        inv_idx = self._index(self.inv_pid, self.inv_vpn)
        inv_key = Cat(self.inv_vpn, self.inv_pid)
        m.d.comb += tag_inv.addr.eq(inv_idx)
        m.d.sync += [inv_q.eq(self.inv), inv_all_q.eq(self.inv & (self.inv_mode == INV_ALL)),
                     inv_bypid_q.eq(self.inv & (self.inv_mode == INV_PID)),
                     inv_one_q.eq(self.inv & (self.inv_mode == INV_ONE))]
        with m.If(self.inv):
            fill_pid_hit = fq_pid == self.inv_pid
            # The way a fill writes at the edge ending T compares the fill's key (the memory read in T
            # does not hold it yet); every other way its tag as read.
            fill_here = fq & ((fq_idx == inv_idx) if S > 1 else 1)
            fill_key_hit = Cat(fq_vpn, fq_pid) == inv_key
            m.d.sync += [inv_set_q.eq(Const(1, S) << inv_idx if S > 1 else 1),
                         pid_hit_q.eq(Cat(*(Mux(filled[e], fill_pid_hit, pids[e * pw:(e + 1) * pw] == self.inv_pid)
                                            for e in range(E)))),
                         one_q.eq(Cat(*(Mux(fill_here & (fq_way == w), fill_key_hit,
                                            tag_inv.data.word_select(w, tag_w) == inv_key) for w in range(W))))]
        kill = Signal(E)
        m.d.comb += kill.eq(inv_all_q.replicate(E) | (inv_bypid_q.replicate(E) & pid_hit_q)
                            | (inv_one_q.replicate(E) & Cat(*(inv_set_q[e // W] & one_q[e % W] for e in range(E)))))

        # Lookup, in three cycles: the set is read at the edge ending the strobe cycle S, its ways are
        # compared in S + 1 and the per-way hits registered with the set's translations at the edge ending
        # S + 1; the answer is selected from those registers in S + 2. The compare (tag memory -> 44-bit
        # equality -> valid bit) and the decision the translator makes from the answer were one path, the
        # MMU's critical one (issue 18). The key, the read and the compare registers load every cycle (no
        # enable to fan out): an answer is used only in the cycle it is due.
        lk_idx = self._index(self.lk_pid, self.lk_vpn)
        m.d.comb += [tag_lk.addr.eq(lk_idx), dat_lk.addr.eq(lk_idx)]
        key_q = Signal(tag_w)
        idx_q = Signal(ibits)
        m.d.sync += [key_q.eq(Cat(self.lk_vpn, self.lk_pid)), idx_q.eq(lk_idx)]
        set_valid = valid.word_select(idx_q, W) if S > 1 else valid
        hits = Signal(W)
        m.d.comb += hits.eq(Cat(*(set_valid[w] & (tag_lk.data.word_select(w, tag_w) == key_q) for w in range(W))))
        hits_q = Signal(W)
        row_q = Signal(W * dat_w)
        stale_q = Signal()
        # Stale: an invalidation requested in S (its kill lands at the edge ending S + 1, after the compare)
        # or in S + 1 (the answer, used in S + 2, would predate it).
        m.d.sync += [hits_q.eq(hits), row_q.eq(dat_lk.data), stale_q.eq(inv_q | self.inv)]
        m.d.comb += [self.lk_hit.eq(hits_q.any()), self.lk_stale.eq(stale_q)]
        for w in range(W):
            with m.If(hits_q[w]):
                d = row_q.word_select(w, dat_w)
                m.d.comb += [self.lk_pfn.eq(d[:self.pfn_width]), self.lk_r.eq(d[self.pfn_width]),
                             self.lk_w.eq(d[self.pfn_width + 1])]

        # Fill, in two cycles: in the request cycle F the way is chosen (an invalid way of the set first,
        # else the round-robin victim) and registered with the entry; at the edge ending F + 1 it is written.
        # Choosing and writing in one cycle was the MMU's critical path (valid bits -> way -> valid bits).
        f_idx = Signal(ibits)
        m.d.comb += f_idx.eq(self._index(self.fill_pid, self.fill_vpn))
        f_free = Signal(W)
        m.d.comb += f_free.eq(~(valid.word_select(f_idx, W) if S > 1 else valid))
        victim = Signal(wbits)
        m.d.comb += victim.eq(victims.word_select(f_idx, wbits) if S > 1 else victims)
        chosen = Signal(wbits)
        m.d.comb += chosen.eq(victim)
        for w in reversed(range(W)):
            with m.If(f_free[w]):
                m.d.comb += chosen.eq(w)
        fq_advance, fq_victim = Signal(), Signal(wbits)
        fq_data = Signal(dat_w)
        m.d.sync += fq.eq(self.fill & ~self.inv)      # an invalidation in F drops the fill requested in F
        with m.If(self.fill):
            m.d.sync += [fq_idx.eq(f_idx), fq_way.eq(chosen), fq_advance.eq(~f_free.any()),
                         fq_victim.eq(Mux(victim == W - 1, 0, victim + 1)),
                         fq_pid.eq(self.fill_pid), fq_vpn.eq(self.fill_vpn),
                         fq_data.eq(Cat(self.fill_pfn, self.fill_r, self.fill_w))]
        m.d.comb += self.lk_busy.eq(fq)
        way_en = Signal(W)
        with m.If(fq):
            m.d.comb += way_en.eq(1 << fq_way)
        m.d.comb += [
            tag_wr.addr.eq(fq_idx), tag_wr.en.eq(way_en), tag_wr.data.eq(Cat(fq_vpn, fq_pid).replicate(W)),
            dat_wr.addr.eq(fq_idx), dat_wr.en.eq(way_en), dat_wr.data.eq(fq_data.replicate(W)),
        ]
        if is_pow2(W):
            # Entry fq_idx * W + fq_way as one shift and one pid field written: the same bits as the
            # per-entry decode below, which a simulator evaluated entry by entry at every cycle (issue 12).
            # fq_way < W and fq_idx < S always (the chosen way is a free way or the victim, both < W).
            e_fill = Cat(fq_way[:W.bit_length() - 1], fq_idx[:S.bit_length() - 1])
            with m.If(fq):
                m.d.comb += filled.eq(Const(1, 1) << e_fill)
                m.d.sync += pids.word_select(e_fill, pw).eq(fq_pid)
        else:
            for e in range(E):
                m.d.comb += filled[e].eq(fq & (fq_idx == e // W) & (fq_way == e % W))
            pid_mask = Signal(E * pw)
            m.d.comb += pid_mask.eq(Cat(*(filled[e].replicate(pw) for e in range(E))))
            with m.If(fq):
                m.d.sync += pids.eq((pids & ~pid_mask) | (fq_pid.replicate(E) & pid_mask))
        with m.If(fq & fq_advance):
            if S > 1:
                m.d.sync += victims.word_select(fq_idx, wbits).eq(fq_victim)
            else:
                m.d.sync += victims.eq(fq_victim)
        m.d.sync += valid.eq((valid & ~kill) | filled)
        return m
