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
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib.checks import check_int
from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.protocol import LENGTH_WIDTH, MessagePort, MsgHeader, MsgKind, NODE_ID_WIDTH, PID_WIDTH, Status, carries_data
from hw.system.rack_registers import ROUTER_COUNTERS, router_register_map

__all__ = ["RegionRouter"]


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
                 node_id_width=NODE_ID_WIDTH, replica_beats=0, replica_outstanding=4):
        check_int("RegionRouter entries", entries, 1, 64)
        check_int("RegionRouter vaddr_width", vaddr_width, 13, 64)
        check_int("RegionRouter region_log2", region_log2, 6, vaddr_width - 1)
        check_int("RegionRouter pid_width", pid_width, 1, PID_WIDTH)
        check_int("RegionRouter node_id_width", node_id_width, 1, NODE_ID_WIDTH)
        check_int("RegionRouter replica_beats", replica_beats, 0, 4096)
        check_int("RegionRouter replica_outstanding", replica_outstanding, 1, 16)
        self.data_width, self.entries, self.region_log2 = data_width, entries, region_log2
        self.vaddr_width, self.pid_width, self.node_id_width = vaddr_width, pid_width, node_id_width
        self.replica_beats, self.replica_outstanding = replica_beats, replica_outstanding
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
        beat_bits = ceil_log2(self.data_width // 8)

        valid = [Signal(name=f"valid_{i}") for i in range(n)]
        pid = [Signal(self.pid_width, name=f"pid_{i}") for i in range(n)]
        region = [Signal(rb, name=f"region_{i}") for i in range(n)]
        node = [Signal(nw, name=f"node_{i}") for i in range(n)]
        rep = [Signal(name=f"rep_{i}") for i in range(n)]
        second = [Signal(nw, name=f"second_{i}") for i in range(n)]

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

        # Lookup of the header on offer; lowest index wins.
        s, o = self.s_tx.hdr, self.m_tx.hdr
        sd, od = self.s_tx.data, self.m_tx.data
        h_pid = s.payload.pid[:self.pid_width]
        h_region = s.payload.vaddr[self.region_log2:self.vaddr_width]
        hit, hit_rep = Signal(), Signal()
        hit_node, hit_second = Signal(nw), Signal(nw)
        for i in reversed(range(n)):
            with m.If(valid[i] & (pid[i] == h_pid) & (region[i] == h_region)):
                m.d.comb += [hit.eq(1), hit_node.eq(node[i]), hit_rep.eq(rep[i]), hit_second.eq(second[i])]
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

        # Data beats owed by headers that have passed: data passes only for them, so a replicated write's
        # beats are known to be its own.
        owed = Signal(LENGTH_WIDTH + 1)
        beats = Signal(LENGTH_WIDTH + 1)
        m.d.comb += beats.eq(Mux(carries_data(s.payload.kind, s.payload.status),
                                 (s.payload.length + (self.data_width // 8 - 1)) >> beat_bits, 0))
        # A write longer than the copy buffer is not replicated (firmware sizes the buffer for a line).
        m.d.comb += looked_rep.eq(hit & hit_rep & is_write & (beats <= self.replica_beats))

        # Outstanding secondary writes: (node, tag, kind of the response) per slot.
        k = self.replica_outstanding
        p_valid = [Signal(name=f"pend_valid_{j}") for j in range(k)]
        p_node = [Signal(nw, name=f"pend_node_{j}") for j in range(k)]
        p_tag = [Signal(8, name=f"pend_tag_{j}") for j in range(k)]
        free_slot = Signal(range(k))
        any_free = Signal()
        for j in reversed(range(k)):
            with m.If(~p_valid[j]):
                m.d.comb += [free_slot.eq(j), any_free.eq(1)]

        rep_hdr = Signal(MsgHeader())
        rep_beats = Signal(LENGTH_WIDTH + 1)
        idx = Signal(range(max(2, self.replica_beats + 1)))
        if replicating:
            m.submodules.copy = copy = Memory(shape=self.data_width, depth=self.replica_beats, init=[])
            wr, rd = copy.write_port(), copy.read_port(domain="comb")
        record = Signal()       # a slot gets the secondary's (node, tag) this cycle
        hdr_fires = o.valid & o.ready
        data_fires = od.valid & od.ready

        with m.FSM(name="router"):
            with m.State("PASS"):
                # A replicated write waits for the beats owed before it, and for a free slot.
                stall = is_rep & ((owed != 0) | ~any_free)
                m.d.comb += [o.valid.eq(s.valid & ~stall), o.payload.eq(s.payload), o.payload.dst.eq(dst),
                             s.ready.eq(o.ready & ~stall)]
                m.d.comb += [od.valid.eq(sd.valid & (owed != 0)), od.payload.eq(sd.payload),
                             sd.ready.eq(od.ready & (owed != 0))]
                with m.If(s.valid & ~o.ready & ~held):
                    m.d.sync += [held.eq(1), held_dst.eq(looked_up), held_hit.eq(hit), held_rep.eq(looked_rep),
                                 held_second.eq(hit_second)]
                with m.If(hdr_fires):
                    m.d.sync += held.eq(0)
                    if replicating:
                        with m.If(is_rep):
                            m.d.sync += [rep_hdr.eq(s.payload), rep_hdr.dst.eq(secondary), rep_beats.eq(beats),
                                         idx.eq(0)]
                            m.next = "COPY"
                with m.If(hdr_fires & ~is_rep):
                    m.d.sync += owed.eq(owed + beats - data_fires)
                with m.Elif(data_fires):
                    m.d.sync += owed.eq(owed - 1)
            if replicating:
                with m.State("COPY"):
                    # The replicated write's beats go to the primary and into the buffer.
                    m.d.comb += [od.valid.eq(sd.valid), od.payload.eq(sd.payload), sd.ready.eq(od.ready),
                                 wr.addr.eq(idx), wr.data.eq(sd.payload.data), wr.en.eq(data_fires)]
                    with m.If(rep_beats == 0):
                        m.next = "REP_HDR"
                    with m.Elif(data_fires):
                        m.d.sync += idx.eq(idx + 1)
                        with m.If(idx + 1 == rep_beats):
                            m.next = "REP_HDR"
                with m.State("REP_HDR"):
                    m.d.comb += [o.valid.eq(1), o.payload.eq(rep_hdr)]
                    with m.If(o.ready):
                        m.d.comb += record.eq(1)
                        m.d.sync += idx.eq(0)
                        m.next = "REP_DATA"
                with m.State("REP_DATA"):
                    m.d.comb += [rd.addr.eq(idx), od.valid.eq(rep_beats != 0), od.payload.data.eq(rd.data),
                                 od.payload.last.eq(idx + 1 == rep_beats)]
                    with m.If((rep_beats == 0) | (data_fires & (idx + 1 == rep_beats))):
                        m.next = "PASS"
                    with m.Elif(data_fires):
                        m.d.sync += idx.eq(idx + 1)

        self._responses(m, r, record, rep_hdr, p_valid, p_node, p_tag, free_slot)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)

        m.d.comb += [r["routed"].inc.eq(hdr_fires & was_hit & ~record), r["unrouted"].inc.eq(hdr_fires & ~was_hit & ~record),
                     r["replicated"].inc.eq(record)]
        for name, _ in ROUTER_COUNTERS:
            m.d.comb += r[name].clear.eq(r["counters_clear"].w_stb)

        self._views(m, r, (valid, pid, region, node, rep, second))
        return m

    def _responses(self, m, r, record, rep_hdr, p_valid, p_node, p_tag, free_slot):
        """Responses: absorb the secondaries' write responses; keep the outstanding-slot table."""
        nw, k, replicating = self.node_id_width, self.replica_outstanding, self.replica_beats > 0
        rs, ro = self.s_rx.hdr, self.m_rx.hdr
        match = Signal(k)
        resp_of_write = (rs.payload.kind == MsgKind.LINE_WRITE_RESP) | (rs.payload.kind == MsgKind.WORD_WRITE_RESP)
        for j in range(k):
            m.d.comb += match[j].eq(p_valid[j] & (p_node[j] == rs.payload.src[:nw]) & (p_tag[j] == rs.payload.tag)
                                    & resp_of_write & (rs.payload.src[nw:] == 0))
        absorb = match.any() if replicating else Const(0)
        m.d.comb += [ro.valid.eq(rs.valid & ~absorb), ro.payload.eq(rs.payload), rs.ready.eq(ro.ready | absorb)]
        for j in range(k):
            with m.If(rs.valid & match[j] & (match & ((1 << j) - 1) == 0)):
                m.d.sync += p_valid[j].eq(0)
            with m.If(record & (free_slot == j)):
                m.d.sync += [p_valid[j].eq(1), p_node[j].eq(rep_hdr.dst[:nw]), p_tag[j].eq(rep_hdr.tag)]
        rsd, rod = self.s_rx.data, self.m_rx.data
        m.d.comb += [rod.valid.eq(rsd.valid), rod.payload.eq(rsd.payload), rsd.ready.eq(rod.ready)]
        m.d.comb += [r["replica_acks"].inc.eq(rs.valid & absorb),
                     r["replica_faults"].inc.eq(rs.valid & absorb & (rs.payload.status != Status.OK))]

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
