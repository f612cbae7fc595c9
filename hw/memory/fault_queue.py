"""Fault queue: requests parked aside while they wait for the memory monitor, in arrival order."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import FaultSignature
from hw.memory.registers import FAULT_REFUSE, FAULT_REPLAY
from hw.protocol import LENGTH_WIDTH, MsgHeader, MsgKind, NODE_ID_WIDTH, TAG_WIDTH

__all__ = ["FaultQueue", "HEAD_NONE", "HEAD_REPLAY", "HEAD_REFUSE", "HINT_BITS"]

HEAD_NONE = 0      #: the head waits for the memory monitor (or the queue is empty)
HEAD_REPLAY = 1    #: the memory monitor answered "replay" (FAULT_RESOLVE = 1)
HEAD_REFUSE = 2    #: the memory monitor answered "refuse" (FAULT_RESOLVE = 2)
HINT_BITS = 8      #: low bits of the virtual page number that ``hint`` compares (at most the vpn's width)


class _Slot(data.StructLayout):
    def __init__(self, p):
        # Parked requests passed the checks: pid and vaddr fit the MMU's widths.
        super().__init__({"kind": MsgKind, "src": NODE_ID_WIDTH, "tag": TAG_WIDTH, "pid": p.pid_width,
                          "vaddr": p.vaddr_width, "length": LENGTH_WIDTH})


class FaultQueue(wiring.Component):
    """``fault_slots`` parked requests in a ring, oldest first; only the head is shown to the memory monitor.

    The head is shown (``fault.pending``, the MMU's ``irq``) until firmware writes ``FAULT_RESOLVE``; its
    answer is kept in ``head_cmd`` until the translator acts on it: ``take`` (it starts the replay walk,
    the head stays parked and hidden meanwhile), ``pop`` (the head leaves: its replay found a translation,
    or it was refused) or ``rearm`` (its replay found nothing: shown again, a new fault event).

    ``match`` tells whether a parked request is for the page of ``match_pid``/``match_vpn``: a request
    for the same page is parked behind it (never passes it), so one page's requests keep their order.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    push : In(1), push_hdr : In(MsgHeader())
        Park a request at the tail (only while ``~full``); it is shown when it reaches the head.
    full, empty : Out(1)
    room2, room3 : Out(1)
        At least two / three slots are free.
    has_write : Out(1)
        A parked request writes (its data beats are next in the request data stream, so the translator
        takes no further request until it leaves).
    match_pid, match_vpn : In; match : Out(1)
        Some parked request is for page (match_pid, match_vpn).
    hint_key : In(HINT_BITS); hint : Out(1)
        Some parked request's virtual page number ends in ``hint_key`` (its low bits): a superset of
        ``match`` for any pid, a few gates deep, for the translator's room count as it takes a header.
    head : Out(MsgHeader())
        The oldest parked request (dst and status zero).
    head_cmd : Out(2)
        ``HEAD_NONE``/``HEAD_REPLAY``/``HEAD_REFUSE``.
    take, pop, rearm : In(1)
        The translator's use of the head (see above).
    fault : Out(FaultSignature())
        To the register bank: the head while shown, and ``FAULT_RESOLVE`` writes.
    fault_event : Out(1)
        A fault is raised to firmware (a request parked, or a replay found nothing).
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"FaultQueue needs MMUParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "push": In(1), "push_hdr": In(MsgHeader()), "full": Out(1), "empty": Out(1), "room2": Out(1),
            "room3": Out(1),
            "has_write": Out(1),
            "match_pid": In(p.pid_width), "match_vpn": In(p.vpn_width), "match": Out(1),
            "hint_key": In(min(HINT_BITS, p.vpn_width)), "hint": Out(1),
            "head": Out(MsgHeader()), "head_cmd": Out(2),
            "take": In(1), "pop": In(1), "rearm": In(1),
            "fault": Out(FaultSignature()), "fault_event": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        n = p.fault_slots
        layout = _Slot(p)
        slots = [Signal(layout, name=f"slot_{i}") for i in range(n)]
        used = Signal(n)
        writes = Signal(n)
        head = Signal(range(n))
        tail = Signal(range(n))
        count = Signal(range(n + 1))
        shown = Signal(init=1)         # the head waits for firmware (no answer yet, not being replayed)
        cmd = Signal(2)

        m.d.comb += [self.full.eq(count == n), self.empty.eq(count == 0), self.room2.eq(count + 2 <= n),
                     self.room3.eq(count + 3 <= n),
                     self.has_write.eq((used & writes).any())]

        # Tail: park a request.
        nxt_tail = Signal(range(n))
        m.d.comb += nxt_tail.eq(_next(tail, n))
        # Every free slot loads ``push_hdr`` in every cycle and a push only marks the tail's slot used: a slot's
        # ~90 flip-flops take their clock enable from its ``used`` bit, not from the translator's park decision
        # (the walk's end -> park -> the slots' clock enables was the MMU's critical path, issue 18). A free
        # slot's contents are never used: the matches are gated by ``used`` and the register bank shows the
        # head only while a fault is pending.
        hdr = self.push_hdr
        new = Signal(layout)           # what a free slot loads
        m.d.comb += [new.kind.eq(hdr.kind), new.src.eq(hdr.src), new.tag.eq(hdr.tag),
                     new.pid.eq(hdr.pid[:p.pid_width]), new.vaddr.eq(hdr.vaddr[:p.vaddr_width]),
                     new.length.eq(hdr.length)]
        for i in range(n):
            with m.If(~used[i]):
                m.d.sync += [slots[i].eq(new),
                             writes[i].eq((hdr.kind == MsgKind.LINE_WRITE) | (hdr.kind == MsgKind.WORD_WRITE))]
        with m.If(self.push):
            for i in range(n):
                with m.If(tail == i):
                    m.d.sync += used[i].eq(1)
            m.d.sync += tail.eq(nxt_tail)

        # Head: shown, answered, taken, popped or re-armed.
        h = Signal(layout)             # the head slot, a register loaded with its next value (below)
        m.d.comb += [
            self.head.kind.eq(h.kind), self.head.src.eq(h.src), self.head.tag.eq(h.tag), self.head.pid.eq(h.pid),
            self.head.vaddr.eq(h.vaddr), self.head.length.eq(h.length), self.head_cmd.eq(cmd),
        ]
        nxt_head = Signal(range(n))
        m.d.comb += nxt_head.eq(_next(head, n))
        f = self.fault
        pending_q = Signal()           # shown & (count != 0), registered (below)
        answered = f.resolve & pending_q & ((f.resolve_cmd == FAULT_REPLAY) | (f.resolve_cmd == FAULT_REFUSE))
        # Next state of head, count and shown, written out so that the fault port can be registered from it.
        head_n, count_n, shown_n = Signal.like(head), Signal.like(count), Signal()
        m.d.comb += [head_n.eq(Mux(self.pop, nxt_head, head)), shown_n.eq(shown), count_n.eq(count)]
        with m.If(answered):
            m.d.comb += shown_n.eq(0)
            m.d.sync += cmd.eq(f.resolve_cmd)
        with m.If(self.take):
            m.d.sync += cmd.eq(HEAD_NONE)
        with m.If(self.rearm):
            m.d.comb += shown_n.eq(1)
            m.d.sync += cmd.eq(HEAD_NONE)
        with m.If(self.pop):
            for i in range(n):
                with m.If(head == i):
                    m.d.sync += used[i].eq(0)
            m.d.comb += shown_n.eq(1)
            m.d.sync += cmd.eq(HEAD_NONE)
        with m.If(self.push & ~self.pop):
            m.d.comb += count_n.eq(count + 1)
        with m.Elif(self.pop & ~self.push):
            m.d.comb += count_n.eq(count - 1)
        m.d.sync += [head.eq(head_n), count.eq(count_n), shown.eq(shown_n)]
        # The head slot and ``pending`` in flip-flops holding exactly what a multiplexer of the slots by
        # ``head`` and ``shown & (count != 0)`` gave, loaded from their next values: the head slot after the
        # edge is the slot at ``head_n`` as it is now if used, else what a free slot loads (``new``); the
        # two candidates (head stays, head advances) come from registers and ``pop`` selects between them
        # last. The head mux and the pending logic in front of the register bank's read multiplexer were
        # the MMU's critical path (faults.head -> irq -> csr__r_data, issue 18); FAULT_STATUS, FAULT_VADDR
        # and irq now start at flip-flops and a CSR read in any cycle returns what it returned before.
        stay, adv = Signal(layout), Signal(layout)
        for i in range(n):
            with m.If(head == i):
                m.d.comb += stay.eq(Mux(used[i], slots[i], new))
            with m.If(nxt_head == i):
                m.d.comb += adv.eq(Mux(used[i], slots[i], new))
        m.d.sync += [h.eq(Mux(self.pop, adv, stay)), pending_q.eq(shown_n & (count_n != 0))]
        m.d.comb += [f.pending.eq(pending_q),
                     f.write.eq((h.kind == MsgKind.LINE_WRITE) | (h.kind == MsgKind.WORD_WRITE)),
                     f.kind.eq(h.kind), f.src.eq(h.src), f.pid.eq(h.pid), f.vaddr.eq(h.vaddr)]
        m.d.comb += self.fault_event.eq(self.push | self.rearm)

        # Same page as a parked request? And the hint: the same low vpn bits.
        key = Cat(self.match_vpn, self.match_pid)
        m.d.comb += self.match.eq(Cat(*(used[i] & (Cat(slots[i].vaddr[p.page_bits:], slots[i].pid) == key)
                                        for i in range(n))).any())
        hb = len(self.hint_key)
        m.d.comb += self.hint.eq(Cat(*(used[i] & (slots[i].vaddr[p.page_bits:p.page_bits + hb] == self.hint_key)
                                       for i in range(n))).any())
        return m


def _next(ptr, n):
    """The ring position after ``ptr`` (of ``n``)."""
    return Const(0) if n == 1 else Mux(ptr == n - 1, 0, ptr + 1)
