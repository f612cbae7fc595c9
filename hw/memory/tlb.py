"""Set-associative TLB tagged by (pid, virtual page number), held in registers.

Registers rather than block RAM so that invalidating every entry of a pid (or everything) takes one
cycle: the memory monitor's shoot-down must complete before it tells anyone the mapping is gone.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import is_int, is_pow2

__all__ = ["TLB", "INV_ONE", "INV_PID", "INV_ALL"]

INV_ONE = 0  #: invalidate the entry of (pid, vpn)
INV_PID = 1  #: invalidate every entry of pid
INV_ALL = 2  #: invalidate every entry


class TLB(wiring.Component):
    """``entries`` entries in ``ways`` ways; lookup is combinational (the MMU registers the result).

    Set index: ``(vpn ^ pid) mod sets``. Replacement: an invalid way of the set if there is one, else
    the set's round-robin victim pointer, which advances on every fill of that set.

    Parameters
    ----------
    entries, ways : int
        Total entries and associativity (``entries / ways`` sets, a power of two).
    pid_width, vpn_width, pfn_width : int

    Ports
    -----
    lk_pid, lk_vpn : In
        Lookup key.
    lk_hit, lk_pfn, lk_r, lk_w : Out
        Lookup result, combinational from the key.
    fill : In(1)
        Install ``fill_pid/vpn/pfn/r/w`` this cycle (the caller guarantees the key is not present).
    inv : In(1)
        Invalidate this cycle according to ``inv_mode`` (``INV_ONE``/``INV_PID``/``INV_ALL``),
        ``inv_pid``, ``inv_vpn``. The caller must not fill in a cycle that invalidates (the MMU drops
        such a fill, see ``hw/memory/mmu.py``).
    """

    def __init__(self, entries, ways, pid_width, vpn_width, pfn_width):
        if not is_int(ways) or ways < 1:
            raise ValueError(f"TLB ways must be a positive integer, not {ways!r}")
        if not is_int(entries) or entries < ways or entries % ways:
            raise ValueError(f"TLB entries must be a positive multiple of ways ({ways}), not {entries!r}")
        sets = entries // ways
        if not is_pow2(sets):
            raise ValueError(f"TLB entries / ways must be a power of two, not {sets!r}")
        self.entries, self.ways, self.sets = entries, ways, sets
        self.pid_width, self.vpn_width, self.pfn_width = pid_width, vpn_width, pfn_width
        super().__init__({
            "lk_pid": In(pid_width), "lk_vpn": In(vpn_width),
            "lk_hit": Out(1), "lk_pfn": Out(pfn_width), "lk_r": Out(1), "lk_w": Out(1),
            "fill": In(1), "fill_pid": In(pid_width), "fill_vpn": In(vpn_width), "fill_pfn": In(pfn_width),
            "fill_r": In(1), "fill_w": In(1),
            "inv": In(1), "inv_mode": In(2), "inv_pid": In(pid_width), "inv_vpn": In(vpn_width),
        })

    def _index(self, pid, vpn):
        bits = (self.sets - 1).bit_length()
        if bits == 0:
            return Const(0, 1)
        return (vpn[:bits] ^ pid.as_unsigned()[:bits] if self.pid_width >= bits
                else vpn[:bits] ^ pid.as_unsigned())

    def elaborate(self, platform):
        m = Module()
        S, W = self.sets, self.ways
        # entry[s][w]
        valid = [[Signal(name=f"v_{s}_{w}") for w in range(W)] for s in range(S)]
        tpid = [[Signal(self.pid_width, name=f"pid_{s}_{w}") for w in range(W)] for s in range(S)]
        tvpn = [[Signal(self.vpn_width, name=f"vpn_{s}_{w}") for w in range(W)] for s in range(S)]
        tpfn = [[Signal(self.pfn_width, name=f"pfn_{s}_{w}") for w in range(W)] for s in range(S)]
        tr = [[Signal(name=f"r_{s}_{w}") for w in range(W)] for s in range(S)]
        tw = [[Signal(name=f"w_{s}_{w}") for w in range(W)] for s in range(S)]
        wbits = max(1, (W - 1).bit_length())
        victim = [Signal(wbits, name=f"victim_{s}") for s in range(S)]

        # Lookup: mux the set, compare its ways.
        idx = Signal(max(1, (S - 1).bit_length()))
        m.d.comb += idx.eq(self._index(self.lk_pid, self.lk_vpn))
        hits = []
        for w in range(W):
            v = Array(valid[s][w] for s in range(S))[idx]
            p = Array(tpid[s][w] for s in range(S))[idx]
            n = Array(tvpn[s][w] for s in range(S))[idx]
            hit = Signal(name=f"hit_way{w}")
            m.d.comb += hit.eq(v & (p == self.lk_pid) & (n == self.lk_vpn))
            hits.append(hit)
        m.d.comb += self.lk_hit.eq(Cat(*hits).any())
        for w in range(W):
            with m.If(hits[w]):
                m.d.comb += [
                    self.lk_pfn.eq(Array(tpfn[s][w] for s in range(S))[idx]),
                    self.lk_r.eq(Array(tr[s][w] for s in range(S))[idx]),
                    self.lk_w.eq(Array(tw[s][w] for s in range(S))[idx]),
                ]

        # Fill: invalid way first, else the round-robin victim.
        fidx = Signal.like(idx)
        m.d.comb += fidx.eq(self._index(self.fill_pid, self.fill_vpn))
        for s in range(S):
            with m.If(self.fill & (fidx == s)):
                free = Signal(W, name=f"free_{s}")
                m.d.comb += free.eq(~Cat(*valid[s]))
                chosen = Signal(wbits, name=f"chosen_{s}")
                m.d.comb += chosen.eq(victim[s])
                for w in reversed(range(W)):
                    with m.If(free[w]):
                        m.d.comb += chosen.eq(w)
                with m.If(~free.any()):
                    m.d.sync += victim[s].eq(Mux(victim[s] == W - 1, 0, victim[s] + 1))
                for w in range(W):
                    with m.If(chosen == w):
                        m.d.sync += [valid[s][w].eq(1), tpid[s][w].eq(self.fill_pid),
                                     tvpn[s][w].eq(self.fill_vpn), tpfn[s][w].eq(self.fill_pfn),
                                     tr[s][w].eq(self.fill_r), tw[s][w].eq(self.fill_w)]

        # Invalidate (after fill in statement order, so it wins).
        for s in range(S):
            for w in range(W):
                kill = Signal(name=f"kill_{s}_{w}")
                m.d.comb += kill.eq(self.inv & (
                    (self.inv_mode == INV_ALL) |
                    ((self.inv_mode == INV_PID) & (tpid[s][w] == self.inv_pid)) |
                    ((self.inv_mode == INV_ONE) & (tpid[s][w] == self.inv_pid) & (tvpn[s][w] == self.inv_vpn))))
                with m.If(kill):
                    m.d.sync += valid[s][w].eq(0)
        return m

