"""Emulated network: a lossy one-way link (emulation only, not for synthesis).

It is ordinary Amaranth so the whole system, network included, Verilates into one model. It is
frame-oriented (a frame is the beats up to ``tlast``) but does not parse frames.

Link
    ``s_axis`` in, ``m_axis`` out. Ingress is limited to ``bandwidth`` bytes per cycle (bytes are
    counted by ``tkeep``) by a credit accumulator with 8 fractional bits, so fractional rates work.
    Each frame is, at its first beat, drawn by a 64-bit xorshift generator seeded by ``seed``:

    * lost with probability ``loss / 65536``: its beats are taken (and use bandwidth) but dropped;
    * corrupted with probability ``corrupt / 65536``: one bit of one beat is inverted (in the last beat,
      a bit of byte 0, so the flip is never in a byte ``tkeep`` drops);
    * duplicated with probability ``dup / 65536``: it is delivered twice, the copy ``reorder_delay``
      cycles later than the original;
    * reordered with probability ``reorder / 65536``: it is delivered ``reorder_delay`` cycles late, so
      frames sent after it overtake it.

    Frames travel in two FIFOs ("lanes"): the fast lane delays beats by ``latency`` cycles, the slow lane
    by ``latency + reorder_delay``. Egress sends whole frames, taking a frame from whichever lane has
    one due (slow lane first). Egress does not add bandwidth limits; a blocked egress (``tready`` low)
    fills the lanes and eventually stalls ingress.

The switch that joins several endpoints is :class:`hw.network.switch.Switch`.
"""

from dataclasses import dataclass

from amaranth import Module, Signal, Mux, Const
from amaranth.lib import wiring, data
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib.axis import AXIStreamSignature
from hw.lib.checks import check_int, is_int
from hw.lib.counter import CounterBank
from hw.network.registers import LINK_COUNTERS

__all__ = ["LinkParams", "Link", "LINK_COUNTERS"]

RATE_ONE = 1 << 16
CREDIT_FRAC = 8



def _xorshift64(x):
    x = x ^ (x << 13)[:64]
    x = x ^ (x >> 7)
    x = x ^ (x << 17)[:64]
    return x


@dataclass(frozen=True)
class LinkParams:
    """Parameters of a link.

    Parameters
    ----------
    data_width : int
        Wire width in bits (multiple of 8).
    latency : int
        Cycles from a beat entering ``s_axis`` to the earliest cycle it can leave ``m_axis`` (1..65536).
    bandwidth : float
        Bytes per cycle accepted at ingress, a multiple of 1/256, ``1/256 <= bandwidth <= data_width/8``.
    loss, corrupt, dup, reorder : int
        Per-frame probabilities in units of 1/65536 (0..65536).
    reorder_delay : int
        Extra delay in cycles of reordered frames and of duplicates (1..65536).
    seed : int
        Non-zero 64-bit seed of the xorshift generator.
    fifo_depth : int or None
        Beats per lane; by default enough for ``latency`` (+ ``reorder_delay`` for the slow lane)
        cycles of traffic plus a margin.
    runtime_rates : bool
        If true, the link has input ports ``set_loss``, ``set_corrupt``, ``set_dup``, ``set_reorder``
        (per 65536) and ``set_bandwidth`` (bytes per cycle times 256) that replace the parameters, so one
        Verilated model serves a sweep. The parameters are then unused except for sizing.
    """
    data_width: int = 64
    latency: int = 16
    bandwidth: float = 8.0
    loss: int = 0
    corrupt: int = 0
    dup: int = 0
    reorder: int = 0
    reorder_delay: int = 64
    seed: int = 1
    fifo_depth: int = None
    runtime_rates: bool = False

    def __post_init__(self):
        if not is_int(self.data_width) or self.data_width < 16 or self.data_width % 8:
            raise TypeError(f"LinkParams.data_width must be a multiple of 8 of at least 16, not {self.data_width!r}")
        for name, lo, hi in (("latency", 1, 1 << 16), ("loss", 0, RATE_ONE), ("corrupt", 0, RATE_ONE),
                             ("dup", 0, RATE_ONE), ("reorder", 0, RATE_ONE), ("reorder_delay", 1, 1 << 16),
                             ("seed", 1, (1 << 64) - 1)):
            check_int(f"LinkParams.{name}", getattr(self, name), lo, hi)
        if not isinstance(self.bandwidth, (int, float)) or isinstance(self.bandwidth, bool):
            raise TypeError(f"LinkParams.bandwidth must be a number, not {self.bandwidth!r}")
        fixed = self.bandwidth * (1 << CREDIT_FRAC)
        if fixed != int(fixed) or not 1 <= fixed <= (self.data_width // 8) << CREDIT_FRAC:
            raise ValueError(f"LinkParams.bandwidth must be a multiple of 1/256 in 1/256..{self.data_width // 8}, "
                             f"not {self.bandwidth!r}")
        if self.fifo_depth is not None and (not is_int(self.fifo_depth) or self.fifo_depth < 4):
            raise ValueError(f"LinkParams.fifo_depth must be an integer of at least 4, not {self.fifo_depth!r}")

    @property
    def credit_per_cycle(self):
        return int(self.bandwidth * (1 << CREDIT_FRAC))

    def lane_depth(self, slow):
        if self.fifo_depth is not None:
            return self.fifo_depth
        return self.latency + (self.reorder_delay if slow else 0) + 64


def _counter_bank(m, component, names, step_widths=None):
    """A :class:`hw.lib.counter.CounterBank` of ``names`` whose counts drive ``component``'s Out ports of
    the same names; returns the bank's ``inc`` (one increment per counter, zero unless assigned)."""
    # Not registered: the link is a simulation model, never synthesised, so its counts stay exact.
    m.submodules.counters = bank = CounterBank(names, width=32, step_widths=step_widths, registered=False)
    for name in names:
        m.d.comb += getattr(component, name).eq(getattr(bank.count, name))
    return bank.inc


class Link(wiring.Component):
    """One direction of an emulated link (see the module docstring).

    Parameters
    ----------
    params : LinkParams

    Attributes
    ----------
    s_axis : In(AXIStreamSignature(data_width))
        Frames entering the link.
    m_axis : Out(AXIStreamSignature(data_width))
        Frames leaving the link.
    set_loss, set_corrupt, set_dup, set_reorder : In(17)
        Only with ``runtime_rates``: per-frame probabilities in 1/65536.
    set_bandwidth : In(16)
        Only with ``runtime_rates``: ingress bytes per cycle times 256 (1 .. 256 * data_width / 8).
    frames_in, frames_out, bytes_in, lost, corrupted, duplicated, reordered, stall_cycles : Out(32)
        Counters: frames (and ``tkeep`` bytes) taken at ingress, frames delivered, frames lost, corrupted
        copies delivered (a duplicated corrupted frame counts twice), frames duplicated, reordered, and cycles in which a valid ingress beat was refused for lack of credit
        or lane space.
    """

    def __init__(self, params):
        if not isinstance(params, LinkParams):
            raise TypeError(f"Link needs LinkParams, not {params!r}")
        self.params = params
        sig = {
            "s_axis": In(AXIStreamSignature(params.data_width)),
            "m_axis": Out(AXIStreamSignature(params.data_width)),
        }
        for name in LINK_COUNTERS:
            sig[name] = Out(32)
        if params.runtime_rates:
            for name in ("loss", "corrupt", "dup", "reorder"):
                sig[f"set_{name}"] = In(17)
            sig["set_bandwidth"] = In(16)
        super().__init__(sig)

    def elaborate(self, platform):
        p = self.params
        m = Module()
        w, B = p.data_width, p.data_width // 8
        s, o = self.s_axis, self.m_axis
        # bytes_in adds the bytes of a beat; corrupted adds 2 for a corrupted frame that is also duplicated.
        inc = _counter_bank(m, self, LINK_COUNTERS, {"bytes_in": ceil_log2(B + 1), "corrupted": 2})

        now = Signal(32)
        m.d.sync += now.eq(now + 1)

        rng = Signal(64, init=p.seed)
        m.d.sync += rng.eq(_xorshift64(rng))

        # Bandwidth: credit in 1/256 bytes; a beat may enter when the credit is not negative, and
        # costs its tkeep bytes (the deficit is paid back by later cycles).
        cap = B << CREDIT_FRAC
        if p.runtime_rates:
            per_cycle = self.set_bandwidth
            rates = {name: getattr(self, f"set_{name}") for name in ("loss", "corrupt", "dup", "reorder")}
        else:
            per_cycle = p.credit_per_cycle
            rates = {name: getattr(p, name) for name in ("loss", "corrupt", "dup", "reorder")}
        credit = Signal(range(-cap - 1, 2 * cap + 1))
        beat_bytes = Signal(range(B + 1))
        m.d.comb += beat_bytes.eq(sum(s.tkeep[i] for i in range(B)))

        entry = data.StructLayout({"tdata": w, "tkeep": B, "tlast": 1, "due": 32})
        lanes = []
        for slow in (False, True):
            depth = p.lane_depth(slow)
            fifo = SyncFIFO(width=entry.size, depth=depth)
            m.submodules["slow_lane" if slow else "fast_lane"] = fifo
            lanes.append(fifo)
        fast, slow = lanes

        # Per-frame decisions, drawn at the first beat and held for the rest of the frame.
        in_frame = Signal()
        f_lost, f_corrupt, f_dup, f_reorder = Signal(), Signal(), Signal(), Signal()
        f_cbeat = Signal(4)
        f_cbit = Signal(range(w))
        cur_beat = Signal(16)
        r = rng
        d_lost = r[0:16] < rates["loss"]
        d_corrupt = r[16:32] < rates["corrupt"]
        d_dup = r[32:48] < rates["dup"]
        d_reorder = r[48:64] < rates["reorder"]
        # Corruption position from the next state of the generator (independent of the draws above).
        r2 = _xorshift64(rng)
        lost = Mux(in_frame, f_lost, d_lost)
        corrupt = Mux(in_frame, f_corrupt, d_corrupt)
        dup = Mux(in_frame, f_dup, d_dup)
        reorder = Mux(in_frame, f_reorder, d_reorder & ~d_dup)
        cbeat = Mux(in_frame, f_cbeat, r2[0:4])
        cbit = Mux(in_frame, f_cbit, r2[8:8 + ceil_log2(w)] % w)

        to_fast = ~lost & ~reorder
        to_slow = ~lost & (reorder | dup)
        room = (~to_fast | fast.w_rdy) & (~to_slow | slow.w_rdy)
        m.d.comb += s.tready.eq((credit >= 0) & room)

        # The corrupted beat: beat number cbeat, or the last beat if the frame is shorter. In the last
        # beat only byte 0 is certain to be kept (tkeep), so the flipped bit is one of its 8: a flip in
        # a dropped byte would be no corruption at all.
        hit = corrupt & ((cur_beat == cbeat) | (s.tlast & (cur_beat < cbeat)))
        # cbit < w: its low ceil_log2(w) bits are all of it (``% w`` leaves it one bit wider, and each bit of
        # the shift amount doubles the width of the mask below).
        flip_bit = Mux(s.tlast, cbit[:3], cbit[:ceil_log2(w)])
        beat_data = Signal(w)
        # A one-bit constant shifted: the mask is 2**len(flip_bit) bits wide (w for a power-of-two width),
        # where Const(1, w) << flip_bit was w + 2**len(flip_bit) - 1 bits, a multi-word shift in the
        # Verilated model at every cycle (issue 12). flip_bit < w, so the bits kept are the same.
        m.d.comb += beat_data.eq(s.tdata ^ Mux(hit, Const(1, 1) << flip_bit, 0))

        accept = s.tvalid & s.tready
        fast_entry = Signal(entry)
        slow_entry = Signal(entry)
        m.d.comb += [
            fast_entry.tdata.eq(beat_data), fast_entry.tkeep.eq(s.tkeep), fast_entry.tlast.eq(s.tlast),
            fast_entry.due.eq(now + p.latency),
            slow_entry.tdata.eq(beat_data), slow_entry.tkeep.eq(s.tkeep), slow_entry.tlast.eq(s.tlast),
            slow_entry.due.eq(now + p.latency + p.reorder_delay),
            fast.w_data.eq(fast_entry.as_value()), slow.w_data.eq(slow_entry.as_value()),
            fast.w_en.eq(accept & to_fast), slow.w_en.eq(accept & to_slow),
        ]
        spent = Mux(accept, beat_bytes << CREDIT_FRAC, 0)
        nxt = credit + per_cycle - spent
        m.d.sync += credit.eq(Mux(nxt > cap, cap, nxt))
        with m.If(s.tvalid & ~s.tready):
            m.d.comb += inc.stall_cycles.eq(1)
        with m.If(accept):
            m.d.comb += inc.bytes_in.eq(beat_bytes)
            with m.If(~in_frame):
                m.d.sync += [f_lost.eq(d_lost), f_corrupt.eq(d_corrupt), f_dup.eq(d_dup),
                             f_reorder.eq(d_reorder & ~d_dup), f_cbeat.eq(r2[0:4]), f_cbit.eq(cbit)]
            with m.If(s.tlast):
                m.d.sync += [in_frame.eq(0), cur_beat.eq(0)]
                m.d.comb += [inc.frames_in.eq(1), inc.lost.eq(lost),
                             inc.duplicated.eq(dup & ~lost), inc.reordered.eq(reorder & ~lost)]
                # Counted per copy: a duplicated corrupted frame is delivered corrupted twice.
                with m.If(corrupt & ~lost):
                    m.d.comb += inc.corrupted.eq(1 + dup)
            with m.Else():
                m.d.sync += [in_frame.eq(1), cur_beat.eq(cur_beat + (cur_beat != 0xFFFF))]

        # Egress: pick a lane whose head is due, then send that lane's frame to its end.
        fast_head = data.View(entry, fast.r_data)
        slow_head = data.View(entry, slow.r_data)
        fast_due = fast.r_rdy & ~(now - fast_head.due)[31]
        slow_due = slow.r_rdy & ~(now - slow_head.due)[31]
        # In PICK the due head (slow lane first) goes out at once, so frames follow back to back.
        use_slow = Signal()
        sending = Signal()
        sel_slow = Mux(sending, use_slow, slow_due)
        head = data.View(entry, Mux(sel_slow, slow.r_data, fast.r_data))
        m.d.comb += [
            o.tdata.eq(head.tdata), o.tkeep.eq(head.tkeep), o.tlast.eq(head.tlast),
            o.tvalid.eq(Mux(sel_slow, slow_due, fast_due)),
            fast.r_en.eq(~sel_slow & o.tready & fast_due),
            slow.r_en.eq(sel_slow & o.tready & slow_due),
        ]
        with m.If(o.tvalid & o.tready):
            with m.If(o.tlast):
                m.d.comb += inc.frames_out.eq(1)
                m.d.sync += sending.eq(0)
            with m.Else():
                m.d.sync += [sending.eq(1), use_slow.eq(sel_slow)]
        return m
