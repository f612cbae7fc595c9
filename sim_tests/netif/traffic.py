"""In-RTL traffic generator and checker for the high-volume netif tests (test-only Amaranth).

Pushing 100k messages through cocotb costs Python work every cycle, so the long runs generate and
check messages in the simulated hardware: a :class:`TrafficGen` sends a pseudo-random message
sequence into a NetIf's ``tx``; a :class:`TrafficCheck` on the receiving NetIf's ``rx`` regenerates
the same sequence (same :class:`MsgSequence` logic and seed) and compares every header field and
every data byte, so a lost, duplicated, reordered or corrupted message is an error. Both insert idle
cycles / backpressure with seeded generators. cocotb only starts the run and reads counters.
"""

from amaranth import Module, Signal, Mux, Cat
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.protocol import MessagePort, MsgKind, carries_data

__all__ = ["MsgSequence", "TrafficGen", "TrafficCheck"]


def xorshift64(x):
    x = x ^ (x << 13)[:64]
    x = x ^ (x >> 7)
    x = x ^ (x << 17)[:64]
    return x


class MsgSequence(wiring.Component):
    """The ``i``-th message of a seeded pseudo-random sequence; ``next_msg``/``next_beat`` advance it."""

    def __init__(self, data_width, max_payload, seed):
        self.w, self.max_payload, self.seed = data_width, max_payload, seed
        super().__init__({
            "next_msg": In(1), "next_beat": In(1), "restart_msg": In(1), "full_lines": In(1),
            "kind": Out(4), "status": Out(3), "tag": Out(8), "pid": Out(16), "vaddr": Out(64),
            "length": Out(16), "n_beats": Out(16), "beat_data": Out(data_width),
        })

    def elaborate(self, platform):
        m = Module()
        B = self.w // 8
        mstate = Signal(64, init=self.seed)
        bstate = Signal(64, init=self.seed ^ 0x9E3779B97F4A7C15)
        r = mstate
        r2 = xorshift64(mstate ^ 0xD1B54A32D192ED03)
        with m.If(self.full_lines):
            m.d.comb += [self.kind.eq(MsgKind.LINE_WRITE), self.status.eq(0), self.length.eq(self.max_payload)]
        with m.Else():
            kind = r[0:3]
            is_resp = kind[2]
            word = kind[1]
            lw = ceil_log2(self.max_payload + 1)
            raw_len = r[16:16 + lw]
            line_len = Mux(r[12:14] == 0, self.max_payload, Mux(raw_len > self.max_payload, raw_len - self.max_payload,
                                                                   raw_len))
            m.d.comb += [
                self.kind.eq(kind),
                self.status.eq(Mux(is_resp & (r[3:5] == 3), r[5:7], 0)),
                self.length.eq(Mux(word, r[8:11] + 1, line_len)),
            ]
        carries = carries_data(self.kind, self.status)
        m.d.comb += [
            self.tag.eq(r[24:32]), self.pid.eq(r[32:48]), self.vaddr.eq(r2),
            self.n_beats.eq(Mux(carries, (self.length + (B - 1)) >> ceil_log2(B), 0)),
            self.beat_data.eq(bstate[:self.w]),
        ]
        with m.If(self.next_msg):
            nxt = xorshift64(mstate)
            m.d.sync += [mstate.eq(nxt), bstate.eq(nxt ^ 0x9E3779B97F4A7C15)]
        with m.Elif(self.restart_msg):
            # The current message again from its first beat (a receiver discarded what it had shown).
            m.d.sync += bstate.eq(mstate ^ 0x9E3779B97F4A7C15)
        with m.Elif(self.next_beat):
            m.d.sync += bstate.eq(xorshift64(bstate))
        return m


def _chance(m, seed, per256, name):
    """A signal that is high with probability per256/256 each cycle (seeded xorshift)."""
    state = Signal(64, init=seed, name=f"{name}_rng")
    m.d.sync += state.eq(xorshift64(state))
    out = Signal(name=name)
    m.d.comb += out.eq(state[7:15] < per256)
    return out


class TrafficGen(wiring.Component):
    """Sends ``n_msgs`` messages of a :class:`MsgSequence` to node ``dst`` once ``start`` is high.

    ``idle`` (per 256) is the probability of not offering a new header or beat in a cycle.
    """

    def __init__(self, data_width, max_payload, seed, dst, idle=0):
        self.w, self.dst, self.idle = data_width, dst, idle
        self.seq = MsgSequence(data_width, max_payload, seed)
        super().__init__({"port": Out(MessagePort(data_width)), "start": In(1), "n_msgs": In(32),
                          "full_lines": In(1), "sent": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.seq = seq = self.seq
        m.d.comb += seq.full_lines.eq(self.full_lines)
        hdr, dat = self.port.hdr, self.port.data
        hdr_done = Signal()
        beats = Signal(16)
        work = self.start & (self.sent < self.n_msgs)
        # An offered item stays offered until taken (stream rule); the idle coin is tossed only otherwise.
        go_h = Signal()
        go_d = Signal()
        coin_h = _chance(m, self.seq.seed ^ 0x1234, 256 - self.idle, "gen_coin_h")
        coin_d = _chance(m, self.seq.seed ^ 0x5678, 256 - self.idle, "gen_coin_d")
        with m.If(~(hdr.valid & ~hdr.ready)):
            m.d.sync += go_h.eq(coin_h)
        with m.If(~(dat.valid & ~dat.ready)):
            m.d.sync += go_d.eq(coin_d)
        m.d.comb += [
            hdr.valid.eq(work & ~hdr_done & go_h),
            hdr.payload.kind.eq(seq.kind), hdr.payload.status.eq(seq.status), hdr.payload.src.eq(0xEE),
            hdr.payload.dst.eq(self.dst), hdr.payload.tag.eq(seq.tag), hdr.payload.pid.eq(seq.pid),
            hdr.payload.vaddr.eq(seq.vaddr), hdr.payload.length.eq(seq.length),
            dat.valid.eq(work & (beats < seq.n_beats) & go_d),
            dat.payload.data.eq(seq.beat_data), dat.payload.last.eq(beats == seq.n_beats - 1),
        ]
        h_x = hdr.valid & hdr.ready
        d_x = dat.valid & dat.ready
        m.d.comb += seq.next_beat.eq(d_x)
        complete = work & (hdr_done | h_x) & ((beats + d_x) == seq.n_beats)
        with m.If(complete):
            m.d.comb += seq.next_msg.eq(1)
            m.d.sync += [hdr_done.eq(0), beats.eq(0), self.sent.eq(self.sent + 1)]
        with m.Else():
            with m.If(h_x):
                m.d.sync += hdr_done.eq(1)
            with m.If(d_x):
                m.d.sync += beats.eq(beats + 1)
        return m


class TrafficCheck(wiring.Component):
    """Checks that messages from node ``src`` to node ``node`` are the :class:`MsgSequence`, in order.

    ``received`` counts messages; ``errors`` counts messages with any difference; ``first_error`` is
    the index of the first. ``backpressure`` (per 256) is the probability of ``ready`` low in a cycle.

    With ``verdict`` the port is a receive cut-through one (``MessagePort(w, verdict=True)``): a message
    with data beats may be shown before its check, with a header that may be garbage; the checker takes
    the header first, then beats up to ``last`` (as many as the header it got says, or fewer), and on a
    ``discard`` forgets the message and waits for it again (``discarded`` counts them). Only committed
    messages are compared and counted.
    """

    def __init__(self, data_width, max_payload, seed, src, node, backpressure=0, verdict=False):
        self.w, self.src, self.node, self.bp, self.verdict = data_width, src, node, backpressure, verdict
        self.seq = MsgSequence(data_width, max_payload, seed)
        super().__init__({"port": In(MessagePort(data_width, verdict=verdict)), "full_lines": In(1),
                          "received": Out(32), "errors": Out(32), "first_error": Out(32, init=0xFFFFFFFF),
                          "discarded": Out(32)})

    def elaborate(self, platform):
        if self.verdict:
            return self._elaborate_verdict()
        m = Module()
        m.submodules.seq = seq = self.seq
        m.d.comb += seq.full_lines.eq(self.full_lines)
        B = self.w // 8
        hdr, dat = self.port.hdr, self.port.data
        hdr_done = Signal()
        beats = Signal(16)
        bad = Signal()
        coin_h = _chance(m, self.seq.seed ^ 0xABCD, 256 - self.bp, "chk_coin_h")
        coin_d = _chance(m, self.seq.seed ^ 0xEF01, 256 - self.bp, "chk_coin_d")
        m.d.comb += [hdr.ready.eq(~hdr_done & coin_h), dat.ready.eq((beats < seq.n_beats) & coin_d)]
        h_x = hdr.valid & hdr.ready
        d_x = dat.valid & dat.ready
        m.d.comb += seq.next_beat.eq(d_x)
        h = hdr.payload
        hdr_bad = ((h.kind.as_value() != seq.kind) | (h.status.as_value() != seq.status) | (h.src != self.src) | (h.dst != self.node) |
                   (h.tag != seq.tag) | (h.pid != seq.pid) | (h.vaddr != seq.vaddr) | (h.length != seq.length))
        keep = Cat(*[(beats * B + i) < seq.length for i in range(B)])
        want = Cat(*[Mux(keep[i], seq.beat_data[8 * i:8 * i + 8], 0) for i in range(B)])
        beat_bad = (dat.payload.data != want) | (dat.payload.last != (beats == seq.n_beats - 1))
        this_bad = bad | (h_x & hdr_bad) | (d_x & beat_bad)
        complete = (hdr_done | h_x) & ((beats + d_x) == seq.n_beats)
        with m.If(complete):
            m.d.comb += seq.next_msg.eq(1)
            m.d.sync += [hdr_done.eq(0), beats.eq(0), bad.eq(0), self.received.eq(self.received + 1)]
            with m.If(this_bad):
                m.d.sync += self.errors.eq(self.errors + 1)
                with m.If(self.errors == 0):
                    m.d.sync += self.first_error.eq(self.received)
        with m.Else():
            m.d.sync += bad.eq(this_bad)
            with m.If(h_x):
                m.d.sync += hdr_done.eq(1)
            with m.If(d_x):
                m.d.sync += beats.eq(beats + 1)
        return m

    def _elaborate_verdict(self):
        m = Module()
        m.submodules.seq = seq = self.seq
        m.d.comb += seq.full_lines.eq(self.full_lines)
        B = self.w // 8
        hdr, dat = self.port.hdr, self.port.data
        hdr_done = Signal()
        n_rx = Signal(16)        # beats the header as received announces
        beats = Signal(16)
        bad = Signal()
        coin_h = _chance(m, self.seq.seed ^ 0xABCD, 256 - self.bp, "chk_coin_h")
        coin_d = _chance(m, self.seq.seed ^ 0xEF01, 256 - self.bp, "chk_coin_d")
        m.d.comb += [hdr.ready.eq(~hdr_done & coin_h), dat.ready.eq(hdr_done & coin_d)]
        h_x = hdr.valid & hdr.ready
        d_x = dat.valid & dat.ready
        m.d.comb += seq.next_beat.eq(d_x)
        h = hdr.payload
        hdr_bad = ((h.kind.as_value() != seq.kind) | (h.status.as_value() != seq.status) | (h.src != self.src) |
                   (h.dst != self.node) | (h.tag != seq.tag) | (h.pid != seq.pid) | (h.vaddr != seq.vaddr) |
                   (h.length != seq.length))
        h_beats = Mux(carries_data(h.kind, h.status), (h.length + (B - 1)) >> ceil_log2(B), 0)
        keep = Cat(*[(beats * B + i) < seq.length for i in range(B)])
        want = Cat(*[Mux(keep[i], seq.beat_data[8 * i:8 * i + 8], 0) for i in range(B)])
        beat_bad = (dat.payload.data != want) | (dat.payload.last != (beats == seq.n_beats - 1))

        def finish(this_bad):
            m.d.comb += seq.next_msg.eq(1)
            m.d.sync += [hdr_done.eq(0), beats.eq(0), bad.eq(0), self.received.eq(self.received + 1)]
            with m.If(this_bad):
                m.d.sync += self.errors.eq(self.errors + 1)
                with m.If(self.errors == 0):
                    m.d.sync += self.first_error.eq(self.received)

        with m.If(h_x):
            with m.If(h_beats == 0):
                finish(hdr_bad)          # committed before it was shown: nothing to wait for
            with m.Else():
                m.d.sync += [hdr_done.eq(1), n_rx.eq(h_beats), bad.eq(hdr_bad)]
        with m.If(d_x):
            with m.If(dat.payload.last & dat.payload.discard):
                m.d.comb += seq.restart_msg.eq(1)
                m.d.sync += [hdr_done.eq(0), beats.eq(0), bad.eq(0), self.discarded.eq(self.discarded + 1)]
            with m.Elif(dat.payload.last | (beats + 1 == n_rx)):
                # A committed message: its last beat is the n-th of its header (a discard may end early).
                finish(bad | beat_bad | ~dat.payload.last | (beats + 1 != n_rx) | dat.payload.discard)
            with m.Else():
                m.d.sync += [beats.eq(beats + 1), bad.eq(bad | beat_bad | dat.payload.discard)]
        return m
