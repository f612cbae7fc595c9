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

Invalidation is registered: the request is taken in its cycle ``T`` (for ``INV_ONE`` the set's tags are
read in ``T``) and its kill vector is applied in ``T + 1``, when the lookup and the fill already see the
valid bits without the killed entries. So, as seen from the ports, an invalidation in cycle ``T`` is in
effect from cycle ``T + 1`` on, exactly as if the valid bits were cleared at the edge ending ``T``: the
memory monitor's write of ``TLB_INV`` is complete before its next CSR access.
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
    """``entries`` entries in ``ways`` ways; a lookup is presented in one cycle and answered in the next.

    Set index: ``(vpn ^ pid) mod sets``. Replacement: an invalid way of the set if there is one, else
    the set's round-robin victim pointer, which advances on every fill of a full set.

    Timing: a lookup presented with ``lk_stb`` in cycle ``T`` reads the set's tags and translations at
    the edge ending ``T`` (a fill in ``T`` is seen: the reads are transparent to it) and compares them
    in ``T + 1`` against the valid bits of ``T + 1``; ``lk_hit``/``lk_pfn``/``lk_r``/``lk_w`` are the
    answer in ``T + 1`` only (later cycles may see fills the registered tags missed). This is the same
    answer a combinational lookup of the key in ``T + 1`` would give.

    Parameters
    ----------
    entries, ways : int
        Total entries and associativity (``entries / ways`` sets, a power of two).
    pid_width, vpn_width, pfn_width : int

    Ports
    -----
    lk_stb : In(1)
        Look up ``lk_pid``/``lk_vpn`` (sampled in this cycle).
    lk_pid, lk_vpn : In
        Lookup key.
    lk_hit, lk_pfn, lk_r, lk_w : Out
        Lookup result, in the cycle after ``lk_stb``.
    fill : In(1)
        Install ``fill_pid/vpn/pfn/r/w`` this cycle (the caller guarantees the key is not present).
    inv : In(1)
        Invalidate according to ``inv_mode`` (``INV_ONE``/``INV_PID``/``INV_ALL``; 3 does nothing),
        ``inv_pid``, ``inv_vpn``, in effect from the next cycle. The caller must not fill in a cycle
        that invalidates (the MMU drops such a fill, see ``hw/memory/mmu.py``).
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
        tag_lk = tags.read_port(transparent_for=(tag_wr,))
        dat_lk = data.read_port(transparent_for=(dat_wr,))
        tag_inv = tags.read_port()            # no fill in an invalidation cycle: no transparency needed

        valid = Signal(E)
        pids = [Signal(self.pid_width, name=f"pid_{e}") for e in range(E)]
        victims = Signal(S * wbits)

        # Registered invalidation request; its kill vector applies in the next cycle.
        inv_q = Signal()
        inv_mode_q = Signal(2)
        inv_pid_q = Signal(self.pid_width)
        inv_vpn_q = Signal(self.vpn_width)
        inv_idx_q = Signal(ibits)
        m.d.comb += [tag_inv.addr.eq(self._index(self.inv_pid, self.inv_vpn)), tag_inv.en.eq(self.inv)]
        m.d.sync += inv_q.eq(self.inv)
        with m.If(self.inv):
            m.d.sync += [inv_mode_q.eq(self.inv_mode), inv_pid_q.eq(self.inv_pid), inv_vpn_q.eq(self.inv_vpn),
                         inv_idx_q.eq(self._index(self.inv_pid, self.inv_vpn))]
        kill = Signal(E)
        with m.If(inv_q):
            with m.Switch(inv_mode_q):
                with m.Case(INV_ALL):
                    m.d.comb += kill.eq(Const(-1, E))
                with m.Case(INV_PID):
                    m.d.comb += kill.eq(Cat(*(p == inv_pid_q for p in pids)))
                with m.Case(INV_ONE):
                    key = Cat(inv_vpn_q, inv_pid_q)
                    one = Cat(*(tag_inv.data.word_select(w, tag_w) == key for w in range(W)))
                    m.d.comb += kill.eq(one << (inv_idx_q * W))
        valid_now = Signal(E)                 # the valid bits as the ports see them this cycle
        m.d.comb += valid_now.eq(valid & ~kill)

        # Lookup: read the set in the strobe cycle, compare its ways in the next one.
        lk_idx = self._index(self.lk_pid, self.lk_vpn)
        m.d.comb += [tag_lk.addr.eq(lk_idx), dat_lk.addr.eq(lk_idx), tag_lk.en.eq(self.lk_stb),
                     dat_lk.en.eq(self.lk_stb)]
        key_q = Signal(tag_w)
        idx_q = Signal(ibits)
        with m.If(self.lk_stb):
            m.d.sync += [key_q.eq(Cat(self.lk_vpn, self.lk_pid)), idx_q.eq(lk_idx)]
        set_valid = valid_now.word_select(idx_q, W) if S > 1 else valid_now
        hits = Signal(W)
        m.d.comb += hits.eq(Cat(*(set_valid[w] & (tag_lk.data.word_select(w, tag_w) == key_q) for w in range(W))))
        m.d.comb += self.lk_hit.eq(hits.any())
        for w in range(W):
            with m.If(hits[w]):
                d = dat_lk.data.word_select(w, dat_w)
                m.d.comb += [self.lk_pfn.eq(d[:self.pfn_width]), self.lk_r.eq(d[self.pfn_width]),
                             self.lk_w.eq(d[self.pfn_width + 1])]

        # Fill: an invalid way of the set first, else the round-robin victim.
        f_idx = Signal(ibits)
        m.d.comb += f_idx.eq(self._index(self.fill_pid, self.fill_vpn))
        f_free = Signal(W)
        m.d.comb += f_free.eq(~(valid_now.word_select(f_idx, W) if S > 1 else valid_now))
        victim = Signal(wbits)
        m.d.comb += victim.eq(victims.word_select(f_idx, wbits) if S > 1 else victims)
        chosen = Signal(wbits)
        m.d.comb += chosen.eq(victim)
        for w in reversed(range(W)):
            with m.If(f_free[w]):
                m.d.comb += chosen.eq(w)
        way_en = Signal(W)
        with m.If(self.fill):
            m.d.comb += way_en.eq(1 << chosen)
        m.d.comb += [
            tag_wr.addr.eq(f_idx), tag_wr.en.eq(way_en), tag_wr.data.eq(Cat(self.fill_vpn, self.fill_pid).replicate(W)),
            dat_wr.addr.eq(f_idx), dat_wr.en.eq(way_en),
            dat_wr.data.eq(Cat(self.fill_pfn, self.fill_r, self.fill_w).replicate(W)),
        ]
        f_entry = Signal(range(E))
        m.d.comb += f_entry.eq(f_idx * W + chosen if S > 1 else chosen)
        filled = Signal(E)
        with m.If(self.fill):
            m.d.comb += filled.eq(1 << f_entry)
            with m.Switch(f_entry):
                for e in range(E):
                    with m.Case(e):
                        m.d.sync += pids[e].eq(self.fill_pid)
            with m.If(~f_free.any()):
                nxt = Mux(victim == W - 1, 0, victim + 1)
                if S > 1:
                    m.d.sync += victims.word_select(f_idx, wbits).eq(nxt)
                else:
                    m.d.sync += victims.eq(nxt)
        m.d.sync += valid.eq(valid_now | filled)
        return m
