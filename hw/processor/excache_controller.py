"""The ExCache controller: tag/data arrays, the hit pipeline, the miss-path interface and maintenance.

Pipeline (one access per clock while accesses hit):

* **accept** (edge E0): ``cpu_req`` handshake; the set index addresses the tag and replacement RAMs.
* **S1** (cycle after E0): tags of all ways are compared with (pid, tag). A hit reads (or writes, with
  byte strobes) the data word of the hit way, sets the dirty bit of a written line and updates the
  replacement state; these writes land at E1, and the tag/replacement read ports are transparent, so
  the access accepted at E1 sees them.
* **S2** (cycle after E1): the data word is on the read port; ``cpu_resp`` is valid.

A hit accepted at edge E0 is answered at E2: **hit latency 2 cycles**, one access per cycle. When S1
misses (and S2 is empty) the pipeline stops, a :class:`MissEvent` is emitted, and the controller obeys
:class:`MissCmd` commands until FILL (then the access is replayed and hits) or ABORT (then it is
answered with the command's status).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import (CpuOp, CpuReq, CpuResp, MaintOp, MissCmd, MissCmdOp, MissEvent, MissKind,
                              TagEntry, VictimState)
from hw.processor.excache_params import ExCacheParams
from hw.protocol import DataBeat, Status
from hw.processor.replacement import LFSR_SEED, Replacement, init_state, lfsr_next, state_width

__all__ = ["ExCacheController", "HIT_LATENCY"]

#: Cycles from the edge a hit is accepted on ``cpu_req`` to the edge its answer is taken on ``cpu_resp``
#: (with ``cpu_resp.ready`` high).
HIT_LATENCY = 2


class ExCacheController(wiring.Component):
    """Cache arrays, hit path and miss/maintenance sequencing.

    Parameters
    ----------
    params : ExCacheParams

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
        CPU accesses.
    cpu_resp : Out(stream of CpuResp)
        Answers, in request order.
    miss_event : Out(stream of MissEvent)
        Misses and dirty lines found by a flush, for the miss handler.
    miss_cmd : In(stream of MissCmd)
        The miss handler's commands for the open event.
    wb_data : Out(stream of DataBeat)
        Line words answering READ_LINE, word 0 first, ``last`` on the final one.
    fill_data : In(stream of DataBeat)
        Line words after a FILL command, word 0 first (``last`` is not checked: the count is).
    query_way : In(way_bits)
        Way whose state ``query`` shows.
    query : Out(VictimState)
        State of ``query_way`` in the set of the open event (valid while an event is open).
    maint_start : In(1)
        Pulse: start maintenance ``maint_op`` for ``maint_pid`` (ignored while ``maint_busy``).
    maint_op : In(MaintOp)
    maint_pid : In(pid_width)
    maint_busy : Out(1)
        A maintenance command is waiting for the pipeline to drain or running.
    maint_done : Out(1)
        Pulse: the maintenance command finished.
    hits, misses, evictions, writebacks : Out(32)
        Performance counters (wrap around). Evictions count valid lines replaced by a fill;
        write-backs count dirty lines whose write-back was acknowledged (MARK_CLEAN).
    counters_clear : In(1)
        Pulse: zero the four counters.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "cpu_req":        In(stream.Signature(CpuReq(p))),
            "cpu_resp":       Out(stream.Signature(CpuResp(p))),
            "miss_event":     Out(stream.Signature(MissEvent(p))),
            "miss_cmd":       In(stream.Signature(MissCmd(p))),
            "wb_data":        Out(stream.Signature(DataBeat(p.data_width))),
            "fill_data":      In(stream.Signature(DataBeat(p.data_width))),
            "query_way":      In(p.way_bits),
            "query":          Out(VictimState(p)),
            "maint_start":    In(1),
            "maint_op":       In(MaintOp),
            "maint_pid":      In(p.pid_width),
            "maint_busy":     Out(1),
            "maint_done":     Out(1),
            "hits":           Out(32),
            "misses":         Out(32),
            "evictions":      Out(32),
            "writebacks":     Out(32),
            "counters_clear": In(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        entry_layout = TagEntry(p)
        set_w = max(1, p.index_bits)

        def split(vaddr):
            """(set, tag, word) of a byte address."""
            set_ = vaddr[p.offset_bits:p.offset_bits + p.index_bits] if p.index_bits else Const(0, 1)
            return set_, vaddr[p.offset_bits + p.index_bits:p.vaddr_width], vaddr[p.byte_bits:p.offset_bits]

        def data_addr(set_, way, word):
            # (set * ways + way) * words_per_line + word
            line = set_[:max(1, p.index_bits)] * p.ways + way
            return Cat(word[:p.word_bits], line) if p.word_bits else line

        # Arrays ---------------------------------------------------------------------------------
        m.submodules.tag_mem = tag_mem = Memory(shape=data.ArrayLayout(entry_layout, p.ways),
                                                depth=p.sets, init=[])
        tag_wp = tag_mem.write_port(granularity=1)
        tag_rp = tag_mem.read_port(transparent_for=(tag_wp,))

        m.submodules.data_mem = data_mem = Memory(shape=p.data_width, depth=p.sets * p.ways * p.words_per_line,
                                                  init=[])
        data_wp = data_mem.write_port(granularity=8)
        data_rp = data_mem.read_port()

        repl_w = state_width(p)
        if repl_w:
            m.submodules.repl_mem = repl_mem = Memory(shape=repl_w, depth=p.sets, init=[init_state(p)] * p.sets)
            repl_wp = repl_mem.write_port()
            repl_rp = repl_mem.read_port(transparent_for=(repl_wp,))
            repl_state = repl_rp.data
        else:
            repl_state = Const(0, 1)

        # Read ports hold their data unless enabled (Amaranth's `en` defaults to 1): the held tags are the
        # set under service during a miss, and the held data word is the answer waiting in S2.
        m.d.comb += [tag_rp.en.eq(0), data_rp.en.eq(0)]
        if repl_w:
            m.d.comb += repl_rp.en.eq(0)

        lfsr = Signal(16, init=LFSR_SEED)
        repl = Replacement(m, p, repl_state, lfsr)

        # Pipeline registers ---------------------------------------------------------------------
        s1_valid = Signal()
        s1_replay = Signal()   # S1 holds a replayed miss: its hit is not counted again
        s1_req = Signal(CpuReq(p))
        s2_valid = Signal()
        s2_read = Signal()     # rdata comes from the data RAM (a read hit); otherwise 0
        s2_status = Signal(Status)

        s1_set, s1_tag, s1_word = split(s1_req.vaddr)
        ways = tag_rp.data  # the set in S1 (or under maintenance / miss service)

        hit_vec = Signal(p.ways)
        for i in range(p.ways):
            e = ways[i]
            m.d.comb += hit_vec[i].eq(e.valid & (e.pid == s1_req.pid) & (e.tag == s1_tag))
        s1_hit = hit_vec.any()
        hit_way = Signal(p.way_bits)
        for i in reversed(range(p.ways)):
            with m.If(hit_vec[i]):
                m.d.comb += hit_way.eq(i)

        # Victim: lowest invalid way, else the policy's.
        invalid_vec = Signal(p.ways)
        m.d.comb += invalid_vec.eq(Cat(~ways[i].valid for i in range(p.ways)))
        policy_victim = repl.victim()
        victim = Signal(p.way_bits)
        m.d.comb += victim.eq(policy_victim)
        for i in reversed(range(p.ways)):
            with m.If(invalid_vec[i]):
                m.d.comb += victim.eq(i)

        # Query port for the handler: state of any way of the held set.
        m.d.comb += self.query.eq(Mux(self.query_way < p.ways, ways[self.query_way], 0) if p.ways > 1 else ways[0])

        # Counters -------------------------------------------------------------------------------
        count_hit, count_miss, count_evict, count_wb = Signal(), Signal(), Signal(), Signal()
        for ctr, inc in ((self.hits, count_hit), (self.misses, count_miss),
                         (self.evictions, count_evict), (self.writebacks, count_wb)):
            with m.If(self.counters_clear):
                m.d.sync += ctr.eq(0)
            with m.Elif(inc):
                m.d.sync += ctr.eq(ctr + 1)

        # CPU response ---------------------------------------------------------------------------
        m.d.comb += [
            self.cpu_resp.valid.eq(s2_valid),
            self.cpu_resp.payload.rdata.eq(Mux(s2_read, data_rp.data, 0)),
            self.cpu_resp.payload.status.eq(s2_status),
        ]
        with m.If(self.cpu_resp.ready):
            m.d.sync += s2_valid.eq(0)

        # Maintenance request --------------------------------------------------------------------
        maint_pending = Signal()
        maint_op = Signal(MaintOp)
        maint_pid = Signal(p.pid_width)
        with m.If(self.maint_start & ~maint_pending & (self.maint_op != MaintOp.NONE)):
            m.d.sync += [maint_pending.eq(1), maint_op.eq(self.maint_op), maint_pid.eq(self.maint_pid)]
        m.d.comb += self.maint_busy.eq(maint_pending)

        # Open event -----------------------------------------------------------------------------
        ev_kind = Signal(MissKind)
        ev_set = Signal(set_w)
        m_set = Signal(set_w)          # maintenance walk position
        m_way = Signal(p.way_bits)
        cmd_way = Signal(p.way_bits)
        ctr = Signal(p.word_bits + 1)  # word counter of READ_LINE / FILL
        wb_valid = Signal()
        wb_last = Signal()

        m_entry = ways[m_way] if p.ways > 1 else ways[0]
        m_match = Signal()
        m.d.comb += m_match.eq(m_entry.valid & ((maint_op == MaintOp.FLUSH_ALL) | (m_entry.pid == maint_pid)))

        def next_maint_way():
            """Move the maintenance walk to the next way, or the next set, or finish."""
            with m.If(m_way == p.ways - 1):
                next_maint_set()
            with m.Else():
                m.d.sync += m_way.eq(m_way + 1)
                m.next = "MAINT_SCAN"

        def next_maint_set():
            with m.If(m_set == p.sets - 1):
                m.d.sync += maint_pending.eq(0)
                m.d.comb += self.maint_done.eq(1)
                m.next = "RUN"
            with m.Else():
                m.d.sync += [m_set.eq(m_set + 1), m_way.eq(0)]
                m.next = "MAINT_READ"

        with m.FSM(name="ctrl"):
            with m.State("RUN"):
                s2_free = ~s2_valid | self.cpu_resp.ready
                s1_adv = s1_valid & s1_hit & s2_free
                accept_ok = (~s1_valid | s1_adv) & ~maint_pending
                m.d.comb += self.cpu_req.ready.eq(accept_ok)
                req_set, _, _ = split(self.cpu_req.payload.vaddr)
                m.d.comb += [tag_rp.addr.eq(req_set), tag_rp.en.eq(accept_ok)]
                if repl_w:
                    m.d.comb += [repl_rp.addr.eq(req_set), repl_rp.en.eq(accept_ok)]
                with m.If(self.cpu_req.valid & accept_ok):
                    m.d.sync += [s1_valid.eq(1), s1_replay.eq(0), s1_req.eq(self.cpu_req.payload)]
                with m.Elif(s1_adv):
                    m.d.sync += s1_valid.eq(0)

                with m.If(s1_adv):
                    m.d.comb += [
                        data_rp.addr.eq(data_addr(s1_set, hit_way, s1_word)),
                        data_rp.en.eq(s1_req.op == CpuOp.READ),
                        data_wp.addr.eq(data_addr(s1_set, hit_way, s1_word)),
                        data_wp.data.eq(s1_req.wdata),
                        count_hit.eq(~s1_replay),
                    ]
                    m.d.sync += [s2_valid.eq(1), s2_read.eq(s1_req.op == CpuOp.READ), s2_status.eq(Status.OK)]
                    with m.If(s1_req.op == CpuOp.WRITE):
                        m.d.comb += [
                            data_wp.en.eq(s1_req.strb),
                            tag_wp.addr.eq(s1_set),
                            tag_wp.en.bit_select(hit_way, 1).eq(1),
                        ]
                        for i in range(p.ways):
                            m.d.comb += tag_wp.data[i].eq(Cat(s1_tag, s1_req.pid, Const(1, 1), Const(1, 1)))
                    if repl_w and p.policy in ("lru", "plru"):
                        m.d.comb += [repl_wp.addr.eq(s1_set), repl_wp.data.eq(repl.on_hit(hit_way)),
                                     repl_wp.en.eq(1)]

                with m.If(s1_valid & ~s1_hit & ~s2_valid):
                    m.d.sync += [ev_kind.eq(MissKind.MISS), ev_set.eq(s1_set)]
                    m.next = "MISS_EVENT"
                with m.Elif(maint_pending & ~s1_valid & ~s2_valid):
                    m.d.sync += [m_set.eq(0), m_way.eq(0)]
                    m.next = "MAINT_READ"

            with m.State("MISS_EVENT"):
                m.d.comb += [
                    self.miss_event.valid.eq(1),
                    self.miss_event.payload.kind.eq(MissKind.MISS),
                    self.miss_event.payload.write.eq(s1_req.op == CpuOp.WRITE),
                    self.miss_event.payload.pid.eq(s1_req.pid),
                    self.miss_event.payload.vaddr.eq(s1_req.vaddr),
                    self.miss_event.payload.set.eq(s1_set),
                    self.miss_event.payload.way.eq(victim),
                    self.miss_event.payload.victim_valid.eq(ways[victim].valid if p.ways > 1 else ways[0].valid),
                    self.miss_event.payload.victim_dirty.eq(ways[victim].dirty if p.ways > 1 else ways[0].dirty),
                    self.miss_event.payload.victim_pid.eq(ways[victim].pid if p.ways > 1 else ways[0].pid),
                    self.miss_event.payload.victim_tag.eq(ways[victim].tag if p.ways > 1 else ways[0].tag),
                ]
                with m.If(self.miss_event.ready):
                    m.d.comb += count_miss.eq(1)
                    m.d.sync += lfsr.eq(lfsr_next(lfsr))
                    m.next = "WAIT_CMD"

            with m.State("WAIT_CMD"):
                m.d.comb += self.miss_cmd.ready.eq(1)
                cmd = self.miss_cmd.payload
                with m.If(self.miss_cmd.valid):
                    m.d.sync += cmd_way.eq(cmd.way)
                    with m.Switch(cmd.op):
                        with m.Case(MissCmdOp.READ_LINE):
                            m.d.sync += [ctr.eq(0), wb_valid.eq(0)]
                            m.next = "READ_LINE"
                        with m.Case(MissCmdOp.MARK_CLEAN):
                            m.d.comb += [tag_wp.addr.eq(ev_set), tag_wp.en.bit_select(cmd.way, 1).eq(1),
                                         count_wb.eq(1)]
                            for i in range(p.ways):
                                m.d.comb += [tag_wp.data[i].eq(ways[i]), tag_wp.data[i].dirty.eq(0)]
                            with m.If(ev_kind == MissKind.FLUSH):
                                next_maint_way()
                        with m.Case(MissCmdOp.FILL):
                            m.d.sync += ctr.eq(0)
                            m.next = "FILL"
                        with m.Case(MissCmdOp.ABORT):
                            with m.If(ev_kind == MissKind.MISS):
                                m.d.sync += [s1_valid.eq(0), s2_valid.eq(1), s2_read.eq(0),
                                             s2_status.eq(cmd.status)]
                                m.next = "RUN"
                            with m.Else():
                                next_maint_way()

            with m.State("READ_LINE"):
                more = ctr != p.words_per_line
                issue = more & (~wb_valid | self.wb_data.ready)
                m.d.comb += [
                    data_rp.addr.eq(data_addr(ev_set, cmd_way, ctr)),
                    data_rp.en.eq(issue),
                    self.wb_data.valid.eq(wb_valid),
                    self.wb_data.payload.data.eq(data_rp.data),
                    self.wb_data.payload.last.eq(wb_last),
                ]
                with m.If(issue):
                    m.d.sync += [ctr.eq(ctr + 1), wb_valid.eq(1), wb_last.eq(ctr == p.words_per_line - 1)]
                with m.Elif(self.wb_data.ready):
                    m.d.sync += wb_valid.eq(0)
                with m.If(wb_valid & self.wb_data.ready & wb_last):
                    m.d.sync += wb_valid.eq(0)
                    m.next = "WAIT_CMD"

            with m.State("FILL"):
                m.d.comb += [
                    self.fill_data.ready.eq(1),
                    data_wp.addr.eq(data_addr(ev_set, cmd_way, ctr)),
                    data_wp.data.eq(self.fill_data.payload.data),
                ]
                with m.If(self.fill_data.valid):
                    m.d.comb += data_wp.en.eq(-1)
                    m.d.sync += ctr.eq(ctr + 1)
                    with m.If(ctr == p.words_per_line - 1):
                        m.d.comb += [tag_wp.addr.eq(ev_set), tag_wp.en.bit_select(cmd_way, 1).eq(1),
                                     count_evict.eq(ways[cmd_way].valid if p.ways > 1 else ways[0].valid)]
                        for i in range(p.ways):
                            m.d.comb += tag_wp.data[i].eq(Cat(s1_tag, s1_req.pid, Const(1, 1), Const(0, 1)))
                        if repl_w and p.policy == "fifo":
                            m.d.comb += [repl_wp.addr.eq(ev_set), repl_wp.data.eq(repl.on_fill(cmd_way)),
                                         repl_wp.en.eq(1)]
                        m.next = "REPLAY"

            with m.State("REPLAY"):
                # Re-read tags and replacement state of the set; the access then hits in RUN.
                m.d.comb += [tag_rp.addr.eq(s1_set), tag_rp.en.eq(1)]
                if repl_w:
                    m.d.comb += [repl_rp.addr.eq(s1_set), repl_rp.en.eq(1)]
                m.d.sync += s1_replay.eq(1)
                m.next = "RUN"

            with m.State("MAINT_READ"):
                m.d.comb += [tag_rp.addr.eq(m_set), tag_rp.en.eq(1)]
                m.next = "MAINT_SCAN"

            with m.State("MAINT_SCAN"):
                with m.If(maint_op == MaintOp.INVALIDATE_PID):
                    # All matching ways of the set at once.
                    m.d.comb += tag_wp.addr.eq(m_set)
                    for i in range(p.ways):
                        m.d.comb += [
                            tag_wp.en[i].eq(ways[i].valid & (ways[i].pid == maint_pid)),
                            tag_wp.data[i].eq(0),
                        ]
                    next_maint_set()
                with m.Elif(m_match & m_entry.dirty):
                    m.d.sync += [ev_kind.eq(MissKind.FLUSH), ev_set.eq(m_set)]
                    m.next = "FLUSH_EVENT"
                with m.Else():
                    next_maint_way()

            with m.State("FLUSH_EVENT"):
                m.d.comb += [
                    self.miss_event.valid.eq(1),
                    self.miss_event.payload.kind.eq(MissKind.FLUSH),
                    self.miss_event.payload.pid.eq(m_entry.pid),
                    self.miss_event.payload.vaddr.eq(
                        Cat(Const(0, p.offset_bits), m_set[:p.index_bits], m_entry.tag)),
                    self.miss_event.payload.set.eq(m_set),
                    self.miss_event.payload.way.eq(m_way),
                    self.miss_event.payload.victim_valid.eq(1),
                    self.miss_event.payload.victim_dirty.eq(1),
                    self.miss_event.payload.victim_pid.eq(m_entry.pid),
                    self.miss_event.payload.victim_tag.eq(m_entry.tag),
                ]
                with m.If(self.miss_event.ready):
                    m.next = "WAIT_CMD"

        return m
