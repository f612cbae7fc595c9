"""The region router of a rack processor component: sends each miss to its region's home memory component.

In LegoOS a process's virtual address space is cut into regions, each placed by the global memory
manager on one memory component. The router sits on the message path between the ExCache's ``net_tx``
and the network interface's ``tx`` and rewrites the destination of every request header by a table
lookup on (pid, region), ``region = vaddr >> region_log2``::

    ExCache.net_tx.hdr --> [ lookup (pid, vaddr >> region_log2) in the region table ] --> NetIf.tx.hdr
                              hit: dst := entry.node      miss: dst unchanged (mem_node)
    ExCache.net_tx.data -------------------[ copy of a replicated write's beats ]-------> NetIf.tx.data
    NetIf.rx --------------------[ absorb the secondaries' write responses ]-----------> ExCache.net_rx

* The table has ``entries`` entries ``{valid, pid, region, node, replicated, secondary}``, fully
  associative; the lowest matching index wins (firmware never installs two entries for one (pid, region)).
  It is written by the processor monitor through the CSR port
  (:func:`hw.system.rack_registers.router_register_map`).
* A header that matches no entry keeps the ExCache's destination (its ``mem_node`` register): a 1 x 1
  system needs no table, and a pid of no process on this component goes where the memory side refuses it.
* Zero added latency: the lookup is combinational. While a header waits for ``ready`` its destination is
  held (sampled at the first cycle it was offered), so a table write meanwhile never changes a header on
  offer (AXI-Stream stability).
* **Replication** (replication factor 2, ``replica_beats > 0``): a write (LINE_WRITE, WORD_WRITE) to a
  replicated region goes to the primary (``node``) and then, header and data again, to the ``secondary``;
  reads go to the primary only. The write's data beats are copied into a buffer of ``replica_beats`` beats
  as they pass. The secondary's response (same kind of response, source the secondary, same tag) is
  absorbed, so the ExCache sees exactly one response per request; up to ``replica_outstanding`` secondary
  writes may await their response (a further replicated write waits). A replicated write waits, before
  its header passes, for the data beats of the messages before it, so the beats it copies are its own.
* Responses of other kinds and other sources pass unchanged.
* **Failover** (``replay_slots > 0``): every request that passes is kept in a *replay log* (header as
  sent, and a write's beats) until its response passes to the ExCache (matched by tag; a request waits for
  a free slot). When a memory component fails, the firmware rewrites the table (the secondary promoted)
  and marks the node failed (``fail_node``). Whenever nothing is on offer on ``m_tx``, the router takes a
  logged request whose destination is marked failed, looks its (pid, region) up again and re-sends it
  (header and beats) to the new home (``replayed``); if that home is failed too (no replica), it answers
  the ExCache itself with a response of status ``NODE_DEAD`` (``failed``), so the access fails with a clear
  status and the component keeps running. Secondary-write slots of a failed node are dropped
  (``replica_lost``).
"""

from types import SimpleNamespace

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib.checks import check_int
from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.protocol import LENGTH_WIDTH, MessagePort, MsgHeader, MsgKind, NODE_ID_WIDTH, PID_WIDTH, Status, carries_data
from hw.system.rack_registers import ROUTER_COUNTERS, router_register_map

__all__ = ["RegionRouter", "REPLICA_OUTSTANDING"]


#: Default of ``RegionRouter(replica_outstanding=)``: secondary writes that may await their response.
REPLICA_OUTSTANDING = 4


class RegionRouter(wiring.Component):
    """Rewrites the destination node of request headers by (pid, region) (see the module docstring).

    Parameters
    ----------
    data_width : int
        Message data width (that of the ExCache and the network interface).
    entries : int
        Region table entries (1..64).
    region_log2 : int
        log2 of the region size in bytes (6 .. vaddr_width - 1; at least a page in a rack).
    vaddr_width : int
        Virtual address bits that the ExCache uses (at most 64).
    pid_width : int
        pid bits that the ExCache uses (1..16).
    node_id_width : int
        Bits of a node id (1..8).
    replica_beats : int
        Data beats of the longest replicated write (a cache line); 0: no replication hardware (the
        ``entry_replica`` register is then ignored).
    replica_outstanding : int
        Secondary writes that may await their response (1..16).
    replay_slots : int
        Requests the replay log holds (0..16; 0: no failover hardware): at least the requests the ExCache
        may have outstanding. Needs ``replica_beats`` (the log keeps a write's beats).

    Attributes
    ----------
    s_tx : In(MessagePort(data_width))
        Requests from the ExCache (its ``net_tx``).
    m_tx : Out(MessagePort(data_width))
        The same requests, destination rewritten (and replicated writes twice), to the network interface.
    s_rx : In(MessagePort(data_width))
        Responses from the network interface (its ``rx``).
    m_rx : Out(MessagePort(data_width))
        The same responses, less the secondaries' write responses, to the ExCache (its ``net_rx``).
    csr : In(CSRBusSignature)
        Table and counters (:func:`hw.system.rack_registers.router_register_map`).
    """

    def __init__(self, data_width, *, entries=16, region_log2=20, vaddr_width=48, pid_width=16,
                 node_id_width=NODE_ID_WIDTH, replica_beats=0, replica_outstanding=REPLICA_OUTSTANDING, replay_slots=0):
        check_int("RegionRouter entries", entries, 1, 64)
        check_int("RegionRouter vaddr_width", vaddr_width, 13, 64)
        check_int("RegionRouter region_log2", region_log2, 6, vaddr_width - 1)
        check_int("RegionRouter pid_width", pid_width, 1, PID_WIDTH)
        check_int("RegionRouter node_id_width", node_id_width, 1, NODE_ID_WIDTH)
        check_int("RegionRouter replica_beats", replica_beats, 0, 4096)
        check_int("RegionRouter replica_outstanding", replica_outstanding, 1, 16)
        check_int("RegionRouter replay_slots", replay_slots, 0, 16)
        if replay_slots and not replica_beats:
            raise ValueError("RegionRouter replay_slots needs replica_beats > 0 (the replay log keeps a write's "
                             "beats in the copy buffer)")
        self.data_width, self.entries, self.region_log2 = data_width, entries, region_log2
        self.vaddr_width, self.pid_width, self.node_id_width = vaddr_width, pid_width, node_id_width
        self.replica_beats, self.replica_outstanding = replica_beats, replica_outstanding
        self.replay_slots = replay_slots
        self.regmap = router_register_map()
        super().__init__({
            "s_tx": In(MessagePort(data_width)),
            "m_tx": Out(MessagePort(data_width)),
            "s_rx": In(MessagePort(data_width)),
            "m_rx": Out(MessagePort(data_width)),
            "csr": In(CSRBusSignature(self.regmap.addr_width)),
        })

    @property
    def region_bits(self):
        return self.vaddr_width - self.region_log2

    def elaborate(self, platform):
        m = Module()
        m.submodules.csr_dec = dec = CSRDecoder(self.regmap)
        r = dec.regs
        n, rb, nw = self.entries, self.region_bits, self.node_id_width
        replicating = self.replica_beats > 0
        k_log, replaying = self.replay_slots, self.replay_slots > 0
        beat_bits = ceil_log2(self.data_width // 8)

        table = self._table(m, r)
        valid, pid, region, node, rep, second = table

        is_dead = self._failed_nodes(m, r)

        # Lookup of the header on offer; lowest index wins.
        s, o = self.s_tx.hdr, self.m_tx.hdr
        sd, od = self.s_tx.data, self.m_tx.data
        hit, hit_node, hit_rep, hit_second = self._lookup(m, table, s.payload, "hdr")
        is_write = (s.payload.kind == MsgKind.LINE_WRITE) | (s.payload.kind == MsgKind.WORD_WRITE)
        looked_up = Mux(hit, hit_node, s.payload.dst)
        looked_rep = Signal()

        # Hold the routing decision of a header that waits for ready.
        held = Signal()
        held_dst, held_second = Signal(NODE_ID_WIDTH), Signal(nw)
        held_hit, held_rep = Signal(), Signal()
        dst = Mux(held, held_dst, looked_up)
        was_hit = Mux(held, held_hit, hit)
        is_rep = Mux(held, held_rep, looked_rep) if replicating else Const(0)
        secondary = Mux(held, held_second, hit_second)

        # Data beats owed by headers that have passed: data passes only for them, so a copied write's
        # beats are known to be its own.
        owed = Signal(LENGTH_WIDTH + 1)
        beats = Signal(LENGTH_WIDTH + 1)
        m.d.comb += beats.eq(Mux(carries_data(s.payload.kind, s.payload.status),
                                 (s.payload.length + (self.data_width // 8 - 1)) >> beat_bits, 0))
        fits = beats <= self.replica_beats
        # A write longer than the copy buffer is not replicated (firmware sizes the buffer for a line).
        m.d.comb += looked_rep.eq(hit & hit_rep & is_write & fits)

        # Outstanding secondary writes: (node, tag) per slot.
        k = self.replica_outstanding
        p_valid = [Signal(name=f"pend_valid_{j}") for j in range(k)]
        p_node = [Signal(nw, name=f"pend_node_{j}") for j in range(k)]
        p_tag = [Signal(8, name=f"pend_tag_{j}") for j in range(k)]
        free_slot = Signal(range(k))
        any_free = Signal()
        for j in reversed(range(k)):
            with m.If(~p_valid[j]):
                m.d.comb += [free_slot.eq(j), any_free.eq(1)]

        slots, l_valid, l_hdr, log_free, log_any_free, needs, age = self._replay_log(m, r, is_dead)
        logged = Const(int(replaying)) & fits     # the request on offer gets a log slot
        used = Signal(range(slots + 1))
        m.d.comb += used.eq(sum(l_valid[1:], l_valid[0]))
        m.d.comb += r["replay_info"].r_data.eq(Cat(Const(k_log, 8), used if replaying else Const(0, 8)))

        rep_hdr = Signal(MsgHeader())
        rep_beats = Signal(LENGTH_WIDTH + 1)
        copy_rep = Signal()            # the write being copied is replicated
        cur = Signal(range(slots))     # its log slot
        idx = Signal(range(max(2, self.replica_beats + 1)))
        line_bits = ceil_log2(max(1, self.replica_beats))

        def addr_of(slot, i):
            return i if slots == 1 else Cat(i[:line_bits], slot)

        if replicating:
            m.submodules.copy = copy = Memory(shape=self.data_width, depth=slots << line_bits, init=[])
            wr, rd = copy.write_port(), copy.read_port(domain="comb")
        record = Signal()       # a slot gets the secondary's (node, tag) this cycle
        hdr_fires = o.valid & o.ready
        data_fires = od.valid & od.ready
        to_copy = is_rep | (logged & (beats != 0))

        # Replay: the slot being re-sent, its header (new destination) and the synthesized failure response.
        r_slot = Signal(range(slots))
        r_hdr = Signal(MsgHeader())
        r_beats = Signal(LENGTH_WIDTH + 1)
        inject = Signal()
        f_hdr = Signal(MsgHeader())
        pick = Signal(range(slots))
        for j in reversed(range(slots)):
            with m.If(needs[j]):
                m.d.comb += pick.eq(j)
        freed = Signal(slots)          # slots whose response passed to the ExCache this cycle
        replayed_inc, failed_inc, probe_inc, probing = Signal(), Signal(), Signal(), Signal()

        with m.FSM(name="router"):
            with m.State("PASS"):
                # A copied write waits for the beats owed before it and for a free slot; every request waits
                # for a free log slot.
                stall = (to_copy & (owed != 0)) | (is_rep & ~any_free) | (logged & ~log_any_free)
                m.d.comb += [o.valid.eq(s.valid & ~stall), o.payload.eq(s.payload), o.payload.dst.eq(dst),
                             s.ready.eq(o.ready & ~stall)]
                m.d.comb += [od.valid.eq(sd.valid & (owed != 0)), od.payload.eq(sd.payload),
                             sd.ready.eq(od.ready & (owed != 0))]
                with m.If(s.valid & ~o.ready & ~held):
                    m.d.sync += [held.eq(1), held_dst.eq(looked_up), held_hit.eq(hit), held_rep.eq(looked_rep),
                                 held_second.eq(hit_second)]
                with m.If(hdr_fires):
                    m.d.sync += held.eq(0)
                    if replaying:
                        with m.If(logged):
                            for j in range(slots):
                                with m.If(log_free == j):
                                    m.d.sync += [l_valid[j].eq(1), l_hdr[j].eq(s.payload), l_hdr[j].dst.eq(dst),
                                                 age[j].eq(0)]
                    if replicating:
                        with m.If(to_copy):
                            m.d.sync += [rep_hdr.eq(s.payload), rep_hdr.dst.eq(secondary), rep_beats.eq(beats),
                                         idx.eq(0), copy_rep.eq(is_rep), cur.eq(log_free)]
                            m.next = "COPY"
                with m.If(hdr_fires & ~to_copy):
                    m.d.sync += owed.eq(owed + beats - data_fires)
                with m.Elif(data_fires):
                    m.d.sync += owed.eq(owed - 1)
                if replaying:
                    # Nothing on offer on m_tx: re-send (or fail) a request of a failed node.
                    with m.If(needs.any() & ~o.valid & (owed == 0)):
                        m.d.sync += [r_slot.eq(pick), r_hdr.eq(Array(l_hdr)[pick])]
                        m.next = "R_LOOK"
            if replicating:
                self._copy_states(m, SimpleNamespace(**locals()))
            if replaying:
                self._replay_states(m, SimpleNamespace(**locals()))

        self._responses(m, r, record, rep_hdr, p_valid, p_node, p_tag, free_slot, is_dead, inject, f_hdr,
                        l_valid, l_hdr, freed)
        if replaying:
            for j in range(slots):
                with m.If(freed[j] | (failed_inc & (r_slot == j))):
                    m.d.sync += l_valid[j].eq(0)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)

        passed = hdr_fires & ~record & ~replayed_inc & ~probe_inc
        m.d.comb += [r["routed"].inc.eq(passed & was_hit), r["unrouted"].inc.eq(passed & ~was_hit),
                     r["replicated"].inc.eq(record), r["replayed"].inc.eq(replayed_inc),
                     r["failed"].inc.eq(failed_inc), r["probes"].inc.eq(probe_inc)]
        for name, _ in ROUTER_COUNTERS:
            m.d.comb += r[name].clear.eq(r["counters_clear"].w_stb)

        self._views(m, r, table)
        return m

    def _table(self, m, r):
        """The region table's entries, written through ``entry_*`` + ``commit``."""
        n, rb, nw = self.entries, self.region_bits, self.node_id_width
        replicating = self.replica_beats > 0
        valid = [Signal(name=f"valid_{i}") for i in range(n)]
        pid = [Signal(self.pid_width, name=f"pid_{i}") for i in range(n)]
        region = [Signal(rb, name=f"region_{i}") for i in range(n)]
        node = [Signal(nw, name=f"node_{i}") for i in range(n)]
        rep = [Signal(name=f"rep_{i}") for i in range(n)]
        second = [Signal(nw, name=f"second_{i}") for i in range(n)]
        table = (valid, pid, region, node, rep, second)

        commit = r["commit"]
        with m.If(r["invalidate_all"].w_stb):
            m.d.sync += [v.eq(0) for v in valid]
        with m.Elif(commit.valid.w_stb):
            for i in range(n):
                with m.If(commit.index.w_data == i):
                    m.d.sync += [valid[i].eq(commit.valid.w_data), pid[i].eq(r["entry_pid"].data),
                                 region[i].eq(Cat(r["entry_region"].data, r["entry_region_hi"].data)),
                                 node[i].eq(r["entry_node"].data)]
                    if replicating:
                        m.d.sync += [rep[i].eq(r["entry_replica"].valid.data),
                                     second[i].eq(r["entry_replica"].node.data)]

        return table

    def _failed_nodes(self, m, r):
        """The failed marks (``fail_node`` / ``fail_clear``); returns ``is_dead(node_id)``."""
        nw = self.node_id_width
        # Nodes the firmware marked failed (fail_node), one bit per node id.
        dead = Signal(1 << nw)
        fail = r["fail_node"]
        with m.If(r["fail_clear"].w_stb):
            m.d.sync += dead.eq(0)
        with m.Elif(fail.node.w_stb & (fail.node.w_data[nw:] == 0)):
            m.d.sync += dead.bit_select(fail.node.w_data[:nw], 1).eq(1)
        m.d.comb += [r["failed_nodes"].r_data.eq(dead[:32]),
                     r["failed_nodes_hi"].r_data.eq(dead[32:64] if len(dead) > 32 else 0)]

        def is_dead(node_id):
            return dead.bit_select(node_id[:nw], 1) & (node_id[nw:] == 0)

        return is_dead

    def _replay_log(self, m, r, is_dead):
        """The replay log's slots: valid, header, age; ``needs``: slots to re-send (failed node, or probe due)."""
        k_log, replaying = self.replay_slots, self.replay_slots > 0
        # Replay log: a copy of every outstanding request (header as sent, and a write's beats) until its
        # response passes, so a failover can re-send it.
        slots = max(1, k_log)
        l_valid = [Signal(name=f"log_valid_{j}") for j in range(slots)]
        l_hdr = [Signal(MsgHeader(), name=f"log_hdr_{j}") for j in range(slots)]
        log_free, log_any_free = Signal(range(slots)), Signal()
        for j in reversed(range(slots)):
            with m.If(~l_valid[j]):
                m.d.comb += [log_free.eq(j), log_any_free.eq(1)]
        needs = Signal(slots)          # slot j holds a request sent to a failed node, or one to probe
        age = [Signal(24, name=f"log_age_{j}") for j in range(slots)]
        probe_after = r["probe_after"].data
        if replaying:
            for j in range(slots):
                due = (probe_after != 0) & (age[j] >= probe_after)
                m.d.comb += needs[j].eq(l_valid[j] & (is_dead(l_hdr[j].dst) | due))
                with m.If(l_valid[j] & ~due):
                    m.d.sync += age[j].eq(age[j] + 1)
        return slots, l_valid, l_hdr, log_free, log_any_free, needs, age

    def _copy_states(self, m, st):
        """The copying states of the router FSM (``st``: the signals of :meth:`elaborate`): a write's beats to the
        primary and into the log / copy buffer, then the replicated write's copy to the secondary."""
        o, od, sd, wr, rd, cur, idx = st.o, st.od, st.sd, st.wr, st.rd, st.cur, st.idx
        rep_hdr, rep_beats, copy_rep, data_fires, addr_of = st.rep_hdr, st.rep_beats, st.copy_rep, st.data_fires, st.addr_of
        with m.State("COPY"):
            # The write's beats go to the primary and into the buffer (its log slot).
            m.d.comb += [od.valid.eq(sd.valid), od.payload.eq(sd.payload), sd.ready.eq(od.ready),
                         wr.addr.eq(addr_of(cur, idx)), wr.data.eq(sd.payload.data), wr.en.eq(data_fires)]
            done = (rep_beats == 0) | (data_fires & (idx + 1 == rep_beats))
            with m.If(data_fires):
                m.d.sync += idx.eq(idx + 1)
            with m.If(done & copy_rep):
                m.next = "REP_HDR"
            with m.Elif(done):
                m.next = "PASS"
        with m.State("REP_HDR"):
            m.d.comb += [o.valid.eq(1), o.payload.eq(rep_hdr)]
            with m.If(o.ready):
                m.d.comb += st.record.eq(1)
                m.d.sync += idx.eq(0)
                m.next = "REP_DATA"
        with m.State("REP_DATA"):
            m.d.comb += [rd.addr.eq(addr_of(cur, idx)), od.valid.eq(rep_beats != 0),
                         od.payload.data.eq(rd.data), od.payload.last.eq(idx + 1 == rep_beats)]
            with m.If((rep_beats == 0) | (data_fires & (idx + 1 == rep_beats))):
                m.next = "PASS"
            with m.Elif(data_fires):
                m.d.sync += idx.eq(idx + 1)

    def _replay_states(self, m, st):
        """The failover states of the router FSM (``st``: the signals of :meth:`elaborate`): look the logged
        request up again, re-send it (header, then its beats from the log), or answer it NODE_DEAD."""
        r, o, od, rd, table, slots = st.r, st.o, st.od, st.rd, st.table, st.slots
        r_hdr, r_slot, r_beats, idx, f_hdr, l_valid, l_hdr, age = (st.r_hdr, st.r_slot, st.r_beats, st.idx, st.f_hdr,
                                                                    st.l_valid, st.l_hdr, st.age)
        is_dead, beat_bits, data_fires, probing = st.is_dead, st.beat_bits, st.data_fires, st.probing
        addr_of = st.addr_of
        with m.State("R_LOOK"):
            # The table (rewritten by the failover) gives the region's new home.
            l_hit, l_node, _, _ = self._lookup(m, table, r_hdr, "replay")
            new = Mux(l_hit, l_node, r["default_node"].data)
            m.d.sync += [r_beats.eq(Mux(carries_data(r_hdr.kind, r_hdr.status),
                                        (r_hdr.length + (self.data_width // 8 - 1)) >> beat_bits, 0)),
                         idx.eq(0)]
            with m.If(~l_valid[0] if slots == 1 else ~Array(l_valid)[r_slot]):
                m.next = "PASS"         # answered meanwhile (a response already in flight)
            with m.Elif(~is_dead(r_hdr.dst)):
                m.d.sync += probing.eq(1)     # a probe: the same request to the same node again
                m.next = "R_HDR"
            with m.Elif(is_dead(new)):
                # No live home: answer NODE_DEAD (when no response is on offer, for stability).
                with m.If(~self.s_rx.hdr.valid):
                    m.d.sync += [f_hdr.eq(0), f_hdr.kind.as_value().eq(r_hdr.kind.as_value() | 4),
                                 f_hdr.status.eq(Status.NODE_DEAD), f_hdr.src.eq(r_hdr.dst),
                                 f_hdr.dst.eq(r_hdr.src), f_hdr.tag.eq(r_hdr.tag), f_hdr.pid.eq(r_hdr.pid),
                                 f_hdr.vaddr.eq(r_hdr.vaddr)]
                    m.next = "R_FAIL"
            with m.Else():
                m.d.sync += [r_hdr.dst.eq(new), probing.eq(0)]
                for j in range(slots):
                    with m.If(r_slot == j):
                        m.d.sync += l_hdr[j].dst.eq(new)
                m.next = "R_HDR"
        with m.State("R_HDR"):
            m.d.comb += [o.valid.eq(1), o.payload.eq(r_hdr)]
            with m.If(o.ready):
                m.d.comb += [st.replayed_inc.eq(~probing), st.probe_inc.eq(probing)]
                for j in range(slots):
                    with m.If(r_slot == j):
                        m.d.sync += age[j].eq(0)
                m.next = "R_DATA"
        with m.State("R_DATA"):
            m.d.comb += [rd.addr.eq(addr_of(r_slot, idx)), od.valid.eq(r_beats != 0),
                         od.payload.data.eq(rd.data), od.payload.last.eq(idx + 1 == r_beats)]
            with m.If((r_beats == 0) | (data_fires & (idx + 1 == r_beats))):
                m.next = "PASS"
            with m.Elif(data_fires):
                m.d.sync += idx.eq(idx + 1)
        with m.State("R_FAIL"):
            m.d.comb += st.inject.eq(1)
            with m.If(self.m_rx.hdr.ready):
                m.d.comb += st.failed_inc.eq(1)
                m.next = "PASS"

    def _lookup(self, m, table, hdr, name):
        """(hit, node, replicated, secondary) of the table entry of ``hdr``'s (pid, region)."""
        valid, pid, region, node, rep, second = table
        nw = self.node_id_width
        h_pid = hdr.pid[:self.pid_width]
        h_region = hdr.vaddr[self.region_log2:self.vaddr_width]
        hit, hit_rep = Signal(name=f"{name}_hit"), Signal(name=f"{name}_hit_rep")
        hit_node, hit_second = Signal(nw, name=f"{name}_hit_node"), Signal(nw, name=f"{name}_hit_second")
        for i in reversed(range(self.entries)):
            with m.If(valid[i] & (pid[i] == h_pid) & (region[i] == h_region)):
                m.d.comb += [hit.eq(1), hit_node.eq(node[i]), hit_rep.eq(rep[i]), hit_second.eq(second[i])]
        return hit, hit_node, hit_rep, hit_second

    def _responses(self, m, r, record, rep_hdr, p_valid, p_node, p_tag, free_slot, is_dead, inject, f_hdr,
                   l_valid, l_hdr, freed):
        """Responses: absorb the secondaries' write responses; keep the outstanding-slot table; free the replay
        log slot of each response passed; inject the router's own NODE_DEAD responses."""
        nw, k, replicating = self.node_id_width, self.replica_outstanding, self.replica_beats > 0
        rs, ro = self.s_rx.hdr, self.m_rx.hdr
        match = Signal(k)
        resp_of_write = (rs.payload.kind == MsgKind.LINE_WRITE_RESP) | (rs.payload.kind == MsgKind.WORD_WRITE_RESP)
        for j in range(k):
            m.d.comb += match[j].eq(p_valid[j] & (p_node[j] == rs.payload.src[:nw]) & (p_tag[j] == rs.payload.tag)
                                    & resp_of_write & (rs.payload.src[nw:] == 0))
        absorb = match.any() if replicating else Const(0)
        first = Signal(len(l_valid))
        for j in range(len(l_valid)):
            m.d.comb += first[j].eq(l_valid[j] & (l_hdr[j].tag == rs.payload.tag))
        # With the replay log every response answers a logged request; one that matches none is the second
        # answer to a probed request, dropped (its data beats too: none, or drained below).
        stale = (rs.valid & ~absorb & ~first.any()) if self.replay_slots else Const(0)
        drop = absorb | stale
        m.d.comb += [ro.valid.eq(Mux(inject, 1, rs.valid & ~drop)), ro.payload.eq(Mux(inject, f_hdr, rs.payload)),
                     rs.ready.eq(~inject & (ro.ready | drop))]
        lost, forget = Signal(k), Signal(k)
        for j in range(k):
            # A secondary marked failed never answers: its slots are dropped, one a cycle (counted replica_lost).
            m.d.comb += lost[j].eq(p_valid[j] & is_dead(p_node[j]))
            m.d.comb += forget[j].eq(lost[j] & ((lost & ((1 << j) - 1)) == 0))
            with m.If((rs.valid & ~inject & match[j] & (match & ((1 << j) - 1) == 0)) | forget[j]):
                m.d.sync += p_valid[j].eq(0)
            with m.If(record & (free_slot == j)):
                m.d.sync += [p_valid[j].eq(1), p_node[j].eq(rep_hdr.dst[:nw]), p_tag[j].eq(rep_hdr.tag)]
        if self.replay_slots:
            passes = rs.valid & ~inject & ~drop & ro.ready
            # The lowest slot with the response's tag is its request (tags are unique among outstanding ones).
            for j in range(len(l_valid)):
                m.d.comb += freed[j].eq(passes & first[j] & ((first & ((1 << j) - 1)) == 0))
        rsd, rod = self.s_rx.data, self.m_rx.data
        # The data beats of dropped (stale) read responses are drained: a count of beats owed to nobody.
        drain = Signal(LENGTH_WIDTH + 1)
        beat_bits = ceil_log2(self.data_width // 8)
        stale_beats = Mux(carries_data(rs.payload.kind, rs.payload.status),
                          (rs.payload.length + (self.data_width // 8 - 1)) >> beat_bits, 0)
        # Beats of responses already passed to the ExCache go first: the data stream is in header order.
        ahead = Signal(LENGTH_WIDTH + 8)
        hdr_passed = ro.valid & ro.ready & ~inject
        passed_beats = Mux(carries_data(rs.payload.kind, rs.payload.status),
                           (rs.payload.length + (self.data_width // 8 - 1)) >> beat_bits, 0)
        to_drain = (ahead == 0) & (drain != 0)
        m.d.comb += [rod.valid.eq(rsd.valid & ~to_drain), rod.payload.eq(rsd.payload),
                     rsd.ready.eq(Mux(to_drain, 1, rod.ready))]
        rod_fires = rod.valid & rod.ready
        m.d.sync += ahead.eq(ahead + Mux(hdr_passed, passed_beats, 0) - rod_fires)
        with m.If(rs.valid & stale):
            m.d.sync += drain.eq(drain + stale_beats - (to_drain & rsd.valid))
        with m.Elif(to_drain & rsd.valid):
            m.d.sync += drain.eq(drain - 1)
        m.d.comb += [r["replica_acks"].inc.eq(rs.valid & ~inject & absorb),
                     r["replica_faults"].inc.eq(rs.valid & ~inject & absorb & (rs.payload.status != Status.OK)),
                     r["replica_lost"].inc.eq(lost.any()), r["stale"].inc.eq(rs.valid & ~inject & stale)]

    def _views(self, m, r, table):
        """The read-only registers: configuration and the entry selected by ``view_index``."""
        valid, pid, region, node, rep, second = table
        n, rb, nw = self.entries, self.region_bits, self.node_id_width
        replicating = self.replica_beats > 0
        view = r["view_index"].data
        v_valid, v_pid, v_region, v_node = Signal(), Signal(self.pid_width), Signal(rb), Signal(nw)
        v_rep, v_second = Signal(), Signal(nw)
        for i in range(n):
            with m.If(view == i):
                m.d.comb += [v_valid.eq(valid[i]), v_pid.eq(pid[i]), v_region.eq(region[i]), v_node.eq(node[i]),
                             v_rep.eq(rep[i]), v_second.eq(second[i])]
        m.d.comb += [
            r["info"].r_data.eq(Cat(Const(n, 8), Const(self.region_log2, 6), Const(nw, 4),
                                    Const(self.vaddr_width, 7), Const(int(replicating), 1))),
            r["view_info"].r_data.eq(Cat(v_valid, Const(0, 7), v_node, Const(0, 8 - nw), v_pid)),
            r["view_region"].r_data.eq(v_region[:32]),
            r["view_region_hi"].r_data.eq(v_region[32:] if rb > 32 else 0),
            r["view_replica"].r_data.eq(Cat(v_second, Const(0, 8 - nw), v_rep)),
        ]
