"""Translator: the MMU's front end. Takes request headers, checks and translates them (TLB, page-table walk),
parks the ones that wait for the memory monitor, and queues the decided ones for the responder."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.fault_queue import HEAD_NONE, HEAD_REFUSE, HEAD_REPLAY
from hw.memory.params import MMUParams
from hw.memory.ports import TranslatedRequest
from hw.memory.request_check import RequestChecker
from hw.protocol import MsgHeader, MsgKind, NODE_ID_WIDTH, PID_WIDTH, Status

__all__ = ["Translator"]


class Translator(wiring.Component):
    """One request at a time through check and translation, one TLB hit per cycle.

    States: ``IDLE`` (take a header, or act on the memory monitor's answer for the oldest parked request,
    or let a pending memory-window command run once the data path is drained), ``LOOKUP`` (the checks,
    the owner table's and the TLB's registered answers for the header taken in the previous cycle),
    ``REPLAY`` (start the walk of a parked request the monitor answered "replay"), ``WALK`` (the walker
    runs), ``WINDOW`` (the memory window runs).

    Pipeline: a header is taken at edge E (the TLB and owner table read their memories at E, the checks of
    the header are registered at E) and decided in ``LOOKUP`` in the cycle after E, which may take the
    next header at the same time: TLB hits, rejections and parked requests go at one per cycle. A TLB miss
    starts the walker; a header taken in that same cycle waits in a one-header skid register. A decided
    request (``OK`` with its physical address, or an error status) goes into the request queue in the
    order of decision; the responder carries them out in that order.

    Parking (a request waiting for the memory monitor does not hold the others): a request whose walk finds
    no entry, or whose page (pid, vpn) already has a parked request, goes into the fault queue and the
    translator moves on. When the monitor answers the oldest one, it is replayed (walked again) or refused
    (``PAGE_FAULT``). A parked *write* holds the requests behind it: its data beats are next in the request
    data stream, before those of any later write (the ExCache writes back only lines it fetched, so a write
    faults only after an unmap).

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    rx_hdr : In(stream.Signature(MsgHeader()))
        Request headers.
    tlb_stb, tlb_pid, tlb_vpn : Out; tlb_busy, tlb_hit, tlb_stale, tlb_pfn, tlb_r, tlb_w : In
        TLB lookup of the header being taken (never while ``tlb_busy``: a fill is being written); the
        answer comes in ``LOOKUP``.
    owner_en, owner_pid : Out; owner_valid, owner_node : In
        Owner-table lookup of the header being taken; the answer comes in ``LOOKUP``.
    walk_start, walk_pid, walk_vpn : Out; walk_done, walk_found, walk_pfn, walk_r, walk_w : In
        The walker.
    park, park_hdr : Out; parked_full, parked_room2, parked_write, parked_match : In;
    match_pid, match_vpn : Out; head : In; head_cmd : In(2); head_take, head_pop, head_rearm : Out
        The fault queue (:class:`hw.memory.fault_queue.FaultQueue`); ``match_pid``/``match_vpn`` are the
        page of the header being taken.
    push, entry : Out; queue_room, queue_room2 : In
        The request queue: room for one / for two more entries.
    drained : In(1)
        The request queue is empty and the responder idle.
    window_busy : In(1), window_go : Out(1), window_done : In(1)
        The memory window: a command runs only while nothing is translated ahead of it or carried out (so
        a command that zeroes a reused frame cannot overtake a request translated before it), and no walk
        runs meanwhile (a bucket being rewritten is never read).
    tlb_hit_event, tlb_miss_event : Out(1)
        Counter pulses.
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"Translator needs MMUParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "rx_hdr": In(stream.Signature(MsgHeader())),
            "tlb_stb": Out(1), "tlb_pid": Out(p.pid_width), "tlb_vpn": Out(p.vpn_width),
            "tlb_busy": In(1), "tlb_hit": In(1), "tlb_stale": In(1), "tlb_pfn": In(p.pfn_width), "tlb_r": In(1), "tlb_w": In(1),
            "owner_en": Out(1), "owner_pid": Out(PID_WIDTH), "owner_valid": In(1), "owner_node": In(NODE_ID_WIDTH),
            "walk_start": Out(1), "walk_pid": Out(PID_WIDTH), "walk_vpn": Out(p.vpn_width),
            "walk_done": In(1), "walk_found": In(1), "walk_pfn": In(p.pfn_width), "walk_r": In(1), "walk_w": In(1),
            "park": Out(1), "park_hdr": Out(MsgHeader()), "parked_full": In(1), "parked_room2": In(1),
            "parked_write": In(1), "parked_match": In(1), "match_pid": Out(p.pid_width),
            "match_vpn": Out(p.vpn_width),
            "head": In(MsgHeader()), "head_cmd": In(2), "head_take": Out(1), "head_pop": Out(1),
            "head_rearm": Out(1),
            "push": Out(1), "entry": Out(TranslatedRequest(p.paddr_width)), "queue_room": In(1),
            "queue_room2": In(1), "drained": In(1),
            "window_busy": In(1), "window_go": Out(1), "window_done": In(1),
            "tlb_hit_event": Out(1), "tlb_miss_event": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        req = Signal(MsgHeader())        # the request in LOOKUP, REPLAY or WALK
        well_formed, is_write, is_line, has_data, pid_ok = Signal(), Signal(), Signal(), Signal(), Signal()
        skid = Signal(MsgHeader())
        skid_valid = Signal()
        replay = Signal()                # the request in WALK is the fault queue's head

        # The header being taken (``load``): from the skid if it holds one, else from the network. The
        # select is one register bit, so the TLB and owner-table read addresses are one multiplexer away
        # from the flip-flops (it was the critical path when the fault queue's head shared the multiplexer).
        src = Signal(MsgHeader())
        m.d.comb += src.eq(Mux(skid_valid, skid, self.rx_hdr.payload))
        load = Signal()
        m.submodules.check = check = RequestChecker(p)
        m.d.comb += check.req.eq(src)
        # Same page as a parked request: compared as the header is taken (against the fault queue, and
        # against the request parked in that very cycle), so LOOKUP decides from a register.
        parked_match, parking = Signal(), Signal()
        same_page = ((src.pid[:p.pid_width] == req.pid[:p.pid_width])
                     & (src.vaddr[p.page_bits:p.vaddr_width] == req.vaddr[p.page_bits:p.vaddr_width]))
        with m.If(load):
            m.d.sync += [req.eq(src), well_formed.eq(check.well_formed), is_write.eq(check.is_write),
                         is_line.eq(check.is_line), has_data.eq(check.has_data),
                         pid_ok.eq((src.pid >> p.pid_width) == 0),
                         parked_match.eq(self.parked_match | (parking & same_page))]
        # The fault queue's head (replays, refusals) passed the checks when it was parked.
        head_write = (self.head.kind == MsgKind.LINE_WRITE) | (self.head.kind == MsgKind.WORD_WRITE)
        head_line = (self.head.kind == MsgKind.LINE_READ) | (self.head.kind == MsgKind.LINE_WRITE)
        vpn = req.vaddr[p.page_bits:p.vaddr_width]
        m.d.comb += [
            self.tlb_pid.eq(src.pid[:p.pid_width]), self.tlb_vpn.eq(src.vaddr[p.page_bits:p.vaddr_width]),
            self.owner_pid.eq(src.pid), self.owner_en.eq(self.tlb_stb),
            self.walk_pid.eq(req.pid), self.walk_vpn.eq(vpn),
            self.match_pid.eq(src.pid[:p.pid_width]), self.match_vpn.eq(src.vaddr[p.page_bits:p.vaddr_width]),
            self.park_hdr.eq(req),
        ]

        no_pfn = Const(0, p.pfn_width)

        def push(hdr, status, pfn=no_pfn, write=is_write, line=is_line, data=has_data):
            e = self.entry
            m.d.comb += [self.push.eq(1), e.kind.eq(hdr.kind), e.src.eq(hdr.src), e.tag.eq(hdr.tag),
                         e.pid.eq(hdr.pid), e.vaddr.eq(hdr.vaddr), e.length.eq(hdr.length), e.status.eq(status),
                         e.paddr.eq(Cat(hdr.vaddr[:p.page_bits], pfn)), e.is_write.eq(write), e.is_line.eq(line),
                         e.has_data.eq(data)]

        def translated(pfn, r, w):
            """A translation: carry it out with permission, else PROT_FAULT."""
            with m.If(Mux(is_write, w, r)):
                push(req, Status.OK, pfn)
            with m.Else():
                push(req, Status.PROT_FAULT)

        # Taking a header (IDLE): room for its outcome, no TLB fill being written (``tlb_busy``).
        can_take = (self.queue_room & ~self.parked_full & ~self.parked_write & ~self.window_busy
                    & (self.head_cmd == HEAD_NONE) & ~self.tlb_busy)
        # Taking the next header while deciding one: room for both, and the one decided is not a write
        # (a write that parks holds everything after it). All registered conditions.
        # A fault slot for the next header, and one for this one if it parks now (a walk's parking waits:
        # the next header then goes to the skid).
        fault_room = Mux(parked_match, self.parked_room2, ~self.parked_full)
        can_chain = (~is_write & self.queue_room2 & fault_room & ~self.parked_write & ~self.window_busy
                     & (self.head_cmd == HEAD_NONE) & ~skid_valid)

        with m.FSM(name="translator_fsm"):
            with m.State("IDLE"):
                with m.If(self.window_busy):
                    with m.If(self.drained):
                        m.d.comb += self.window_go.eq(1)
                        m.next = "WINDOW"
                with m.Elif(self.head_cmd == HEAD_REFUSE):
                    with m.If(self.queue_room):
                        push(self.head, Status.PAGE_FAULT, write=head_write, line=head_line, data=head_write)
                        m.d.comb += self.head_pop.eq(1)
                with m.Elif(self.head_cmd == HEAD_REPLAY):
                    with m.If(self.queue_room):
                        m.d.comb += self.head_take.eq(1)
                        m.d.sync += [req.eq(self.head), is_write.eq(head_write), is_line.eq(head_line),
                                     has_data.eq(head_write), replay.eq(1)]
                        m.next = "REPLAY"
                with m.Elif(skid_valid):
                    with m.If(can_take):
                        m.d.comb += [load.eq(1), self.tlb_stb.eq(1)]
                        m.d.sync += skid_valid.eq(0)
                        m.next = "LOOKUP"
                with m.Else():
                    m.d.comb += self.rx_hdr.ready.eq(can_take)
                    with m.If(self.rx_hdr.valid & can_take):
                        m.d.comb += [load.eq(1), self.tlb_stb.eq(1)]
                        m.next = "LOOKUP"
            with m.State("LOOKUP"):
                owned = pid_ok & self.owner_valid & (self.owner_node == req.src)
                walking = Signal()
                with m.If(~well_formed):
                    push(req, Status.BAD_REQUEST)
                with m.Elif(~owned):
                    push(req, Status.PROT_FAULT)
                with m.Elif(parked_match):
                    m.d.comb += [self.park.eq(1), parking.eq(1)]
                with m.Elif(self.tlb_hit & ~self.tlb_stale):
                    m.d.comb += self.tlb_hit_event.eq(1)
                    translated(self.tlb_pfn, self.tlb_r, self.tlb_w)
                with m.Else():
                    m.d.comb += [walking.eq(1), self.tlb_miss_event.eq(1), self.walk_start.eq(1)]
                # The next header, taken meanwhile: decided in the next cycle, or held while this one walks.
                # (The skid is empty here: it is filled only on the way to WALK and emptied in IDLE.)
                m.d.comb += self.rx_hdr.ready.eq(can_chain)
                nxt = self.rx_hdr.valid & can_chain
                m.d.comb += self.tlb_stb.eq(nxt)
                with m.If(nxt & walking):
                    m.d.sync += [skid.eq(self.rx_hdr.payload), skid_valid.eq(1)]
                with m.If(nxt & ~walking):
                    m.d.comb += load.eq(1)
                with m.If(walking):
                    m.next = "WALK"
                with m.Elif(~nxt):
                    m.next = "IDLE"
            with m.State("REPLAY"):
                m.d.comb += self.walk_start.eq(1)
                m.next = "WALK"
            with m.State("WALK"):
                with m.If(self.walk_done):
                    with m.If(self.walk_found):
                        translated(self.walk_pfn, self.walk_r, self.walk_w)
                        m.d.comb += self.head_pop.eq(replay)
                    with m.Elif(replay):
                        m.d.comb += self.head_rearm.eq(1)
                    with m.Else():
                        m.d.comb += self.park.eq(1)
                    m.d.sync += replay.eq(0)
                    m.next = "IDLE"
            with m.State("WINDOW"):
                with m.If(self.window_done):
                    m.next = "IDLE"
        return m
