"""Translator: the MMU's front end. Takes request headers, checks and translates them (TLB, page-table walk),
parks the ones that wait for the memory monitor, and queues the decided ones for the responder."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.fault_queue import HEAD_NONE, HEAD_REFUSE, HEAD_REPLAY, HINT_BITS
from hw.memory.params import MMUParams
from hw.memory.ports import TranslatedRequest
from hw.memory.request_check import RequestChecker
from hw.protocol import MsgHeader, MsgKind, NODE_ID_WIDTH, PID_WIDTH, Status

__all__ = ["Translator"]


class Translator(wiring.Component):
    """Requests through check and translation in a two-stage pipeline, one TLB hit per cycle.

    States: ``RUN`` (the pipeline: take headers, decide them; with nothing in flight, act on the memory
    monitor's answer for the oldest parked request or let a pending memory-window command run once the
    data path is drained), ``REPLAY`` (start the walk of a parked request the monitor answered "replay"),
    ``WALK`` (the walker runs), ``WINDOW`` (the memory window runs).

    Pipeline: a header is *taken* at edge E (the TLB and the owner table read their memories at E, the
    checks of the header are registered at E); in the cycle after E (stage **L**) the TLB compares the
    set's ways and registers the hits, the owner table answers and the ownership is registered; in the
    next cycle (stage **D**) the request is *decided* from registers only. A header may be taken in every
    cycle: TLB hits, rejections and parked requests go at one per cycle, with a request in L and one in D.
    A TLB miss in D starts the walker; the request then in L goes back to a one-header skid register and
    is taken again after the walk (it was looked up before the walk's fill, and may be of the same page). A
    decided request (``OK`` with its physical address, or an error status) goes into the request queue in
    the order of decision; the responder carries them out in that order.

    Parking (a request waiting for the memory monitor does not hold the others): a request whose walk finds
    no entry, or whose page (pid, vpn) already has a parked request, goes into the fault queue and the
    translator moves on. The page compare is made in L, from registers (L's header, the fault queue's
    slots, D's header and outcome): the fault queue then holds every request parked before L's, the one D
    parked as L's was taken included. As a header is taken only a *hint* is registered (some parked
    request, or the request in L or D, has the same low vpn bits): a superset of the parking, for the
    fault queue's room count (see ``_can_take``). When the monitor answers the oldest one, it is replayed (walked again) or refused
    (``PAGE_FAULT``). A parked *write* holds the requests behind it: its data beats are next in the request
    data stream, before those of any later write (the ExCache writes back only lines it fetched, so a write
    faults only after an unmap); no header is taken while a write is in L or D.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    rx_hdr : In(stream.Signature(MsgHeader()))
        Request headers.
    tlb_stb, tlb_pid, tlb_vpn : Out; tlb_busy, tlb_hit, tlb_stale, tlb_pfn, tlb_r, tlb_w : In
        TLB lookup of the header being taken (never while ``tlb_busy``: a fill is being written); the
        answer comes two cycles later, in D.
    owner_en, owner_pid : Out; owner_valid, owner_node : In
        Owner-table lookup of the header being taken; the answer comes in L (and is registered for D).
    walk_start, walk_pid, walk_vpn : Out; walk_done, walk_found, walk_pfn, walk_r, walk_w : In
        The walker.
    park, park_hdr : Out; parked_full, parked_room2, parked_room3, parked_write, parked_match,
    parked_hint : In; match_pid, match_vpn, hint_key : Out; head : In; head_cmd : In(2);
    head_take, head_pop, head_rearm : Out
        The fault queue (:class:`hw.memory.fault_queue.FaultQueue`); ``match_pid``/``match_vpn`` are the
        page of L's header, ``hint_key`` the low vpn bits of the header being taken.
    push, entry : Out; queue_room, queue_room2, queue_room3 : In
        The request queue: room for one / two / three more entries (a header is taken with room for it
        and for the requests in L and D).
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
            "parked_room3": In(1),
            "parked_write": In(1), "parked_match": In(1), "match_pid": Out(p.pid_width),
            "match_vpn": Out(p.vpn_width), "parked_hint": In(1), "hint_key": Out(min(HINT_BITS, p.vpn_width)),
            "head": In(MsgHeader()), "head_cmd": In(2), "head_take": Out(1), "head_pop": Out(1),
            "head_rearm": Out(1),
            "push": Out(1), "entry": Out(TranslatedRequest(p.paddr_width)), "queue_room": In(1),
            "queue_room2": In(1), "queue_room3": In(1), "drained": In(1),
            "window_busy": In(1), "window_go": Out(1), "window_done": In(1),
            "tlb_hit_event": Out(1), "tlb_miss_event": Out(1),
        })

    def _page(self, hdr):
        """The (pid, virtual page) of a header, as the fault queue and the TLB key it."""
        p = self.params
        return Cat(hdr.vaddr[p.page_bits:p.vaddr_width], hdr.pid[:p.pid_width])

    def _hint(self, hdr):
        """The low bits of a header's virtual page number, as the fault queue's ``hint`` compares them."""
        p = self.params
        return hdr.vaddr[p.page_bits:p.page_bits + min(HINT_BITS, p.vpn_width)]

    # _pm_note: whether L's request parks behind another (same page) is decided in L from registers: the
    # fault queue's slots (every request parked before it: the one D parked as it was taken is in a slot
    # by then, and no slot is freed while a request is in L or D) and D's request with D's outcome. Made as
    # the header was taken, the compares hung off the header select and the network's header FIFO (issue
    # 18: `faults.slot_3` -> `translator.l_pm` was the MMU's critical path, the network's receive FIFO ->
    # `l_pm` the memory component's). The take only needs a superset for the fault queue's room count,
    # the hint: the same low vpn bits as a parked request or the requests in L and D.

    # _skid_note: the skid loads L's request in every cycle it is free, so the request in L is in it when
    # D starts a walk and only ``skid_valid`` is set by that decision: the TLB's hits -> miss -> the clock
    # enables of the skid's ~180 flip-flops was the MMU's critical path (issue 18).

    # _sel_note: the header select (skid or network) drives the ~130 multiplexers of the header being taken,
    # whose pid and vpn are the TLB's key and read address and the owner table's read address. skid_valid
    # also fans out to the skid's ~180 clock enables, the take and rx_hdr.ready: from it, skid_valid ->
    # header select -> `tlb.key_q` was the MMU's critical path (issue 18, 3 levels, 12.2 ns, mostly routing).
    # take_net is set and cleared with skid_valid, inverted, so it equals ~skid_valid in every cycle (the
    # cocotb MMU tests check it); stored inverted so that Yosys's opt_merge does not merge the two
    # flip-flops back into one (same D input), which it does even for a `keep` wire.

    # _walk_note: D loads L in every RUN cycle, so D's ~180 flip-flops have no enable from the walk decision
    # (the TLB's hits -> D's miss -> their clock enables was the MMU's critical path, issue 18). The walk's
    # request is copied to w_req at the edge that starts the walk (w_req follows D outside WALK) and D is
    # loaded back from it in WALK, in time: the walker's done comes three cycles after its start at the
    # earliest (hash, a bucket's address and beat, evaluate), D holds the walk's request from the second
    # WALK cycle on. A replay's request is loaded into D in RUN and held in REPLAY (D loads only in RUN/WALK).

    # _entry_note: the request queue's entry is D's request, its paddr D's TLB translation (the walk's in
    # WALK), in every cycle; the decision sets only push and status (the refused fault-queue head, pushed
    # with nothing in L or D, is the one other entry). Assigned in each push's branch, every entry bit was
    # gated by D's decision: the TLB's hits -> hit/stale -> the ~150 write-data bits of the queue's LUT RAM
    # was the MMU's critical path (issue 18, 6 levels, 12.4 ns, a 4 ns net of the decision's fan-out). An
    # error entry's paddr is never used (the responder carries out OK entries only, and the data mover's
    # early read takes OK reads only), so it need not be zero.

    def _idle(self, m, push, d, replay):
        """In RUN with nothing in L or D: let a pending memory-window command run once the data path is
        drained, else refuse the fault queue's head (PAGE_FAULT) or load it into D (``d``: D's request, write,
        line and data registers) for its replay."""
        head_write = (self.head.kind == MsgKind.LINE_WRITE) | (self.head.kind == MsgKind.WORD_WRITE)
        head_line = (self.head.kind == MsgKind.LINE_READ) | (self.head.kind == MsgKind.LINE_WRITE)
        with m.If(self.window_busy):
            with m.If(self.drained):
                m.d.comb += self.window_go.eq(1)
                m.next = "WINDOW"
        with m.Elif(self.head_cmd == HEAD_REFUSE):
            with m.If(self.queue_room):
                e = self.entry
                push(Status.PAGE_FAULT)
                m.d.comb += [e.kind.eq(self.head.kind), e.src.eq(self.head.src), e.tag.eq(self.head.tag),
                             e.pid.eq(self.head.pid), e.vaddr.eq(self.head.vaddr), e.length.eq(self.head.length),
                             e.is_write.eq(head_write), e.is_line.eq(head_line), e.has_data.eq(head_write),
                             self.head_pop.eq(1)]
        with m.Elif(self.head_cmd == HEAD_REPLAY):
            with m.If(self.queue_room):
                m.d.comb += self.head_take.eq(1)
                d_req, d_write, d_line, d_data = d
                m.d.sync += [d_req.eq(self.head), d_write.eq(head_write), d_line.eq(head_line),
                             d_data.eq(head_write), replay.eq(1)]
                m.next = "REPLAY"

    def _can_take(self, d_valid, d_write, d_pm, d_walks, l_valid, l_write, l_may_park):
        """Whether a header may be taken this cycle (see the comment at its use)."""
        queue_ok = Mux(d_valid & l_valid, self.queue_room3,
                       Mux(d_valid | l_valid, self.queue_room2, self.queue_room))
        d_may_park = d_valid & d_pm
        l_may_park = l_valid & l_may_park
        fault_ok = Mux(d_may_park & l_may_park, self.parked_room3,
                       Mux(d_may_park | l_may_park, self.parked_room2, ~self.parked_full))
        write_ahead = (d_valid & d_write) | (l_valid & l_write)
        return (queue_ok & fault_ok & ~self.parked_write & ~write_ahead & ~self.window_busy
                & (self.head_cmd == HEAD_NONE) & ~self.tlb_busy & ~d_walks)

    def elaborate(self, platform):
        p = self.params
        m = Module()

        # Stage L: the header taken at the last edge. The TLB compares its set and registers the hits; the
        # owner table answers. Every L register loads every cycle (an L request lasts one cycle), so the
        # take has no clock enable to fan out.
        l_valid = Signal()
        l_req = Signal(MsgHeader())
        l_wf, l_write, l_line, l_data, l_pid_ok = Signal(), Signal(), Signal(), Signal(), Signal()
        l_hint = Signal()     # may be for the page of a parked request or of the requests in L and D (_pm_note)
        # Stage D: decided from registers and the TLB's registered answer. Also the request of REPLAY/WALK.
        d_valid = Signal()
        d_req = Signal(MsgHeader())
        d_wf, d_write, d_line, d_data, d_owned, d_pm = Signal(), Signal(), Signal(), Signal(), Signal(), Signal()
        # The walk's request: D's, loaded in every cycle outside WALK (its enable is the FSM state). D loads L
        # in every RUN cycle, also when it starts a walk, and is loaded back from here in WALK (_walk_note).
        w_req = Signal(MsgHeader())
        w_write, w_line, w_data = Signal(), Signal(), Signal()
        skid = Signal(MsgHeader())
        skid_valid = Signal()
        # A replica of ~skid_valid for the header select alone (_sel_note); named so tests can watch it.
        take_net = Signal(init=1)
        replay = Signal()                # the request in WALK is the fault queue's head

        # The header being taken: from the skid if it holds one, else from the network. The select is one
        # register bit, so the TLB and owner-table read addresses are one multiplexer away from flip-flops.
        src = Signal(MsgHeader())
        m.d.comb += src.eq(Mux(take_net, self.rx_hdr.payload, skid))
        # A free skid follows L, so its enable is a flip-flop, not D's walk decision (issue 18; _skid_note).
        with m.If(~skid_valid):
            m.d.sync += skid.eq(l_req)
        take = Signal()
        m.submodules.check = check = RequestChecker(p)
        m.d.comb += check.req.eq(src)

        # D's outcome, from registers only (the TLB's answer is its registered hits and translations).
        d_hit = self.tlb_hit & ~self.tlb_stale
        d_ok = d_valid & d_wf & d_owned
        d_parks = d_ok & d_pm
        d_walks = Signal()
        m.d.comb += d_walks.eq(d_ok & ~d_pm & ~d_hit)

        m.d.comb += [
            self.tlb_pid.eq(src.pid[:p.pid_width]), self.tlb_vpn.eq(src.vaddr[p.page_bits:p.vaddr_width]),
            # The owner lookup runs in every cycle, as the TLB's does: its answer is used only for a header
            # taken (l_valid). Enabling it by the take made the TLB's hits -> D's walk decision -> take the
            # clock enable of the lookup's register, the MMU's critical path (issue 18).
            self.owner_pid.eq(src.pid), self.owner_en.eq(1),
            self.walk_pid.eq(d_req.pid), self.walk_vpn.eq(d_req.vaddr[p.page_bits:p.vaddr_width]),
            self.match_pid.eq(l_req.pid[:p.pid_width]), self.match_vpn.eq(l_req.vaddr[p.page_bits:p.vaddr_width]),
            self.hint_key.eq(self._hint(src)),
            self.park_hdr.eq(d_req),
        ]

        # The entry is D's request in every cycle (_entry_note); only push and status are decided.
        e = self.entry
        m.d.comb += [e.kind.eq(d_req.kind), e.src.eq(d_req.src), e.tag.eq(d_req.tag), e.pid.eq(d_req.pid),
                     e.vaddr.eq(d_req.vaddr), e.length.eq(d_req.length), e.is_write.eq(d_write),
                     e.is_line.eq(d_line), e.has_data.eq(d_data),
                     e.paddr.eq(Cat(d_req.vaddr[:p.page_bits], self.tlb_pfn))]

        def push(status):
            m.d.comb += [self.push.eq(1), e.status.eq(status)]

        def translated(r, w):
            """A translation of D's request: carry it out with permission, else PROT_FAULT."""
            with m.If(Mux(d_write, w, r)):
                push(Status.OK)
            with m.Else():
                push(Status.PROT_FAULT)

        # Taking a header: room in the request queue and the fault queue for it and for the requests ahead
        # of it in L and D (each may push or park before it does), no write ahead of it (a write that parks
        # holds everything after it), no pending memory-window command or memory-monitor answer, no TLB
        # fill being written (``tlb_busy``), and D not starting a walk (L goes to the skid then). All
        # conditions are registers or one gate from them.
        can_take = self._can_take(d_valid, d_write, d_pm, d_walks, l_valid, l_write, l_hint)
        empty = ~l_valid & ~d_valid

        with m.FSM(name="translator_fsm") as fsm:
            with m.State("RUN"):
                # L -> D in every cycle; the request D walks is kept in w_req (_walk_note).
                owned = l_pid_ok & self.owner_valid & (self.owner_node == l_req.src)
                m.d.sync += [d_valid.eq(l_valid & ~d_walks),
                             d_req.eq(l_req), d_wf.eq(l_wf), d_write.eq(l_write), d_line.eq(l_line),
                             d_data.eq(l_data), d_owned.eq(owned),
                             d_pm.eq(self.parked_match | (d_parks & (self._page(l_req) == self._page(d_req))))]
                # Take -> L.
                m.d.sync += [l_valid.eq(take), l_req.eq(src), l_wf.eq(check.well_formed),
                             l_write.eq(check.is_write), l_line.eq(check.is_line), l_data.eq(check.has_data),
                             l_pid_ok.eq((src.pid >> p.pid_width) == 0),
                             l_hint.eq(self.parked_hint | (d_parks & (self._hint(src) == self._hint(d_req)))
                                       | (l_valid & (self._hint(src) == self._hint(l_req))))]
                with m.If(skid_valid):
                    m.d.comb += take.eq(can_take)
                    with m.If(can_take):
                        m.d.sync += [skid_valid.eq(0), take_net.eq(1)]
                with m.Else():
                    m.d.comb += [self.rx_hdr.ready.eq(can_take), take.eq(self.rx_hdr.valid & can_take)]
                m.d.comb += self.tlb_stb.eq(take)

                # D: decide.
                with m.If(d_valid):
                    with m.If(~d_wf):
                        push(Status.BAD_REQUEST)
                    with m.Elif(~d_owned):
                        push(Status.PROT_FAULT)
                    with m.Elif(d_pm):
                        m.d.comb += self.park.eq(1)
                    with m.Elif(d_hit):
                        m.d.comb += self.tlb_hit_event.eq(1)
                        translated(self.tlb_r, self.tlb_w)
                    with m.Else():
                        # A miss: walk. The request in L was looked up before the walk's fill (it might be
                        # of the same page): it goes to the skid and is taken again after the walk.
                        m.d.comb += [self.tlb_miss_event.eq(1), self.walk_start.eq(1)]
                        m.d.sync += [skid_valid.eq(l_valid), take_net.eq(~l_valid)]
                        m.next = "WALK"

                # With nothing in flight: a memory-window command, or the memory monitor's answer.
                with m.If(empty):
                    self._idle(m, push, (d_req, d_write, d_line, d_data), replay)
            with m.State("REPLAY"):
                m.d.comb += self.walk_start.eq(1)
                m.next = "WALK"
            with m.State("WALK"):
                m.d.sync += [d_req.eq(w_req), d_write.eq(w_write), d_line.eq(w_line), d_data.eq(w_data)]
                m.d.comb += self.entry.paddr.eq(Cat(d_req.vaddr[:p.page_bits], self.walk_pfn))
                with m.If(self.walk_done):
                    with m.If(self.walk_found):
                        translated(self.walk_r, self.walk_w)
                        m.d.comb += self.head_pop.eq(replay)
                    with m.Elif(replay):
                        m.d.comb += self.head_rearm.eq(1)
                    with m.Else():
                        m.d.comb += self.park.eq(1)
                    m.d.sync += replay.eq(0)
                    m.next = "RUN"
            with m.State("WINDOW"):
                with m.If(self.window_done):
                    m.next = "RUN"
        with m.If(~fsm.ongoing("WALK")):
            m.d.sync += [w_req.eq(d_req), w_write.eq(d_write), w_line.eq(d_line), w_data.eq(d_data)]
        return m
