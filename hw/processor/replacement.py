"""Replacement policies of the ExCache, as per-set state plus combinational update/victim logic.

Each set keeps ``state_width(params)`` bits in a block RAM next to the tags. The encodings below are
mirrored bit for bit by ``emu/models/excache.py``; change both together.

* ``lru``: one age of ``clog2(ways)`` bits per way (way ``i`` in bits ``[i*b, (i+1)*b)``), a
  permutation of ``0 .. ways-1``. Initially age(i) = i. An access to way ``w`` makes every way younger
  than ``w`` one older and ``w`` age 0. The victim is the way of age ``ways-1``.
* ``fifo``: a pointer of ``clog2(ways)`` bits. The victim is the pointer. A fill into the way the
  pointer names advances it (modulo ``ways``); hits and fills elsewhere leave it alone.
* ``plru``: the ``ways-1`` node bits of a binary tree, heap-numbered from 1 (node ``n`` in bit
  ``n-1``, children ``2n`` and ``2n+1``). The victim walk starts at node 1 and goes to child
  ``2n + bit(n)``; the leaf ``n`` is way ``n - ways``. An access to way ``w`` sets each node on its path
  to point *away* from it (bit = 1 if the path went left). Initially all 0.
* ``random``: no per-set state. A 16-bit Galois LFSR (``x^16 + x^14 + x^13 + x^11 + 1``, mask
  ``0xB400``, shifting right, seed ``0xACE1``) advances once per MISS event; the victim is
  ``(lfsr * ways) >> 16`` taken *before* the advance.

For every policy an invalid way wins over the policy's victim (the lowest-numbered invalid way).
"""

from amaranth import Cat, Const, Mux, Signal
from amaranth.utils import ceil_log2

__all__ = ["state_width", "init_state", "LFSR_MASK", "LFSR_SEED", "lfsr_next", "Replacement"]

LFSR_MASK = 0xB400
LFSR_SEED = 0xACE1


def _age_bits(ways):
    return max(1, ceil_log2(ways))


def state_width(params):
    """Bits of replacement state per set (0 when the policy needs none)."""
    ways = params.ways
    if ways == 1 or params.policy == "random":
        return 0
    if params.policy == "lru":
        return ways * _age_bits(ways)
    if params.policy == "fifo":
        return _age_bits(ways)
    return ways - 1  # plru


def init_state(params):
    """Initial (reset) state of one set, as an integer."""
    if state_width(params) and params.policy == "lru":
        b = _age_bits(params.ways)
        return sum(i << (i * b) for i in range(params.ways))
    return 0


def lfsr_next(value):
    """Next LFSR value as an Amaranth expression."""
    return Mux(value[0], (value >> 1) ^ LFSR_MASK, value >> 1)


class Replacement:
    """Emits the combinational logic of one policy into module ``m``.

    Parameters
    ----------
    m : Module
    params : ExCacheParams
    state : Value
        The set's current state (``state_width`` bits; ignored when 0).
    lfsr : Value
        The current 16-bit LFSR value (random policy only).
    """

    def __init__(self, m, params, state, lfsr):
        self.m, self.p, self.state, self.lfsr = m, params, state, lfsr
        self.width = state_width(params)

    # victim ---------------------------------------------------------------------------------
    def victim(self):
        """A signal holding the policy's victim way (ignoring validity)."""
        p, m = self.p, self.m
        way = Signal(p.way_bits, name="policy_victim")
        if p.ways == 1:
            m.d.comb += way.eq(0)
        elif p.policy == "random":
            m.d.comb += way.eq((self.lfsr * p.ways) >> 16)
        elif p.policy == "fifo":
            m.d.comb += way.eq(self.state)
        elif p.policy == "lru":
            b = _age_bits(p.ways)
            for i in reversed(range(p.ways)):
                with m.If(self.state[i * b:(i + 1) * b] == p.ways - 1):
                    m.d.comb += way.eq(i)
        else:  # plru
            levels = ceil_log2(p.ways)
            node = Const(1, levels + 1)
            for _ in range(levels):
                bit = self.state.bit_select((node - 1).as_unsigned(), 1)
                node = Cat(bit, node)[:levels + 1]  # 2n + bit
            m.d.comb += way.eq(node - p.ways)
        return way

    # updates --------------------------------------------------------------------------------
    def on_hit(self, way):
        """New state after an access (hit or replayed miss) to ``way``."""
        p, m = self.p, self.m
        if self.width == 0 or p.policy in ("fifo", "random"):
            return self.state
        new = Signal(self.width, name="repl_on_hit")
        if p.policy == "lru":
            b = _age_bits(p.ways)
            ages = [self.state[i * b:(i + 1) * b] for i in range(p.ways)]
            age_w = Signal(b, name="lru_age_w")
            m.d.comb += age_w.eq(self.state.word_select(way, b))
            parts = []
            for i in range(p.ways):
                parts.append(Mux(way == i, 0, Mux(ages[i] < age_w, ages[i] + 1, ages[i]))[:b])
            m.d.comb += new.eq(Cat(*parts))
        else:  # plru: nodes on the path of leaf (way + ways) point away from it
            levels = ceil_log2(p.ways)
            m.d.comb += new.eq(self.state)
            leaf = way + p.ways
            for level in range(levels):
                # the node `level+1` levels above the leaf, and whether we came from its left child
                node = (leaf >> (level + 1))[:levels]
                came_left = ~(leaf >> level)[0]
                m.d.comb += new.bit_select((node - 1).as_unsigned(), 1).eq(came_left)
        return new

    def on_fill(self, way):
        """New state after a fill into ``way``."""
        p, m = self.p, self.m
        if self.width == 0 or p.policy != "fifo":
            return self.state
        new = Signal(self.width, name="repl_on_fill")
        m.d.comb += new.eq(self.state)
        with m.If(way == self.state):
            m.d.comb += new.eq(Mux(self.state == p.ways - 1, 0, self.state + 1))
        return new
