"""The region router of a rack processor component: sends each miss to its region's home memory component.

In LegoOS a process's virtual address space is cut into regions, each placed by the global memory
manager on one memory component. The router sits on the message path between the ExCache's ``net_tx``
and the network interface's ``tx`` and rewrites the destination of every request header by a table
lookup on (pid, region), ``region = vaddr >> region_log2``::

    ExCache.net_tx.hdr --> [ lookup (pid, vaddr >> region_log2) in the region table ] --> NetIf.tx.hdr
                              hit: dst := entry.node      miss: dst unchanged (mem_node)
    ExCache.net_tx.data -----------------------------------------------------------> NetIf.tx.data
    NetIf.rx ----------------------------------------------------------------------> ExCache.net_rx

* The table has ``entries`` entries ``{valid, pid, region, node}``, fully associative; the lowest
  matching index wins (firmware never installs two entries for one (pid, region)). It is written by the
  processor monitor through the CSR port (:func:`hw.system.rack_registers.router_register_map`).
* A header that matches no entry keeps the ExCache's destination (its ``mem_node`` register): a 1 x 1
  system needs no table, and a pid of no process on this component goes where the memory side refuses it.
* Zero added latency: the lookup is combinational. While a header waits for ``ready`` its destination is
  held (sampled at the first cycle it was offered), so a table write meanwhile never changes a header on
  offer (AXI-Stream stability).
* Responses and data beats pass unchanged.
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import check_int
from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.protocol import MessagePort, NODE_ID_WIDTH, PID_WIDTH
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

    Attributes
    ----------
    s_tx : In(MessagePort(data_width))
        Requests from the ExCache (its ``net_tx``).
    m_tx : Out(MessagePort(data_width))
        The same requests, destination rewritten, to the network interface (its ``tx``).
    s_rx : In(MessagePort(data_width))
        Responses from the network interface (its ``rx``).
    m_rx : Out(MessagePort(data_width))
        The same responses to the ExCache (its ``net_rx``).
    csr : In(CSRBusSignature)
        Table and counters (:func:`hw.system.rack_registers.router_register_map`).
    """

    def __init__(self, data_width, *, entries=16, region_log2=20, vaddr_width=48, pid_width=16,
                 node_id_width=NODE_ID_WIDTH):
        check_int("RegionRouter entries", entries, 1, 64)
        check_int("RegionRouter vaddr_width", vaddr_width, 13, 64)
        check_int("RegionRouter region_log2", region_log2, 6, vaddr_width - 1)
        check_int("RegionRouter pid_width", pid_width, 1, PID_WIDTH)
        check_int("RegionRouter node_id_width", node_id_width, 1, NODE_ID_WIDTH)
        self.data_width, self.entries, self.region_log2 = data_width, entries, region_log2
        self.vaddr_width, self.pid_width, self.node_id_width = vaddr_width, pid_width, node_id_width
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
        n, rb = self.entries, self.region_bits

        valid = [Signal(name=f"valid_{i}") for i in range(n)]
        pid = [Signal(self.pid_width, name=f"pid_{i}") for i in range(n)]
        region = [Signal(rb, name=f"region_{i}") for i in range(n)]
        node = [Signal(self.node_id_width, name=f"node_{i}") for i in range(n)]

        commit = r["commit"]
        with m.If(r["invalidate_all"].w_stb):
            m.d.sync += [v.eq(0) for v in valid]
        with m.Elif(commit.valid.w_stb):
            for i in range(n):
                with m.If(commit.index.w_data == i):
                    m.d.sync += [valid[i].eq(commit.valid.w_data), pid[i].eq(r["entry_pid"].data),
                                 region[i].eq(Cat(r["entry_region"].data, r["entry_region_hi"].data)), node[i].eq(r["entry_node"].data)]

        # Lookup of the header on offer; lowest index wins.
        s, o = self.s_tx.hdr, self.m_tx.hdr
        h_pid = s.payload.pid[:self.pid_width]
        h_region = s.payload.vaddr[self.region_log2:self.vaddr_width]
        hit = Signal()
        hit_node = Signal(self.node_id_width)
        for i in reversed(range(n)):
            with m.If(valid[i] & (pid[i] == h_pid) & (region[i] == h_region)):
                m.d.comb += [hit.eq(1), hit_node.eq(node[i])]
        looked_up = Mux(hit, hit_node, s.payload.dst)

        # Hold the destination of a header that waits for ready.
        held = Signal()
        held_dst = Signal(NODE_ID_WIDTH)
        dst = Signal(NODE_ID_WIDTH)
        m.d.comb += dst.eq(Mux(held, held_dst, looked_up))
        with m.If(s.valid & ~o.ready & ~held):
            m.d.sync += [held.eq(1), held_dst.eq(looked_up)]
        with m.If(s.valid & o.ready):
            m.d.sync += held.eq(0)
        held_hit = Signal()
        with m.If(s.valid & ~held):
            m.d.sync += held_hit.eq(hit)

        m.d.comb += [o.valid.eq(s.valid), o.payload.eq(s.payload), o.payload.dst.eq(dst), s.ready.eq(o.ready)]
        for src, dst_port in ((self.s_tx.data, self.m_tx.data), (self.s_rx.hdr, self.m_rx.hdr),
                              (self.s_rx.data, self.m_rx.data)):
            m.d.comb += [dst_port.valid.eq(src.valid), dst_port.payload.eq(src.payload), src.ready.eq(dst_port.ready)]
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)

        fires = s.valid & o.ready
        was_hit = Mux(held, held_hit, hit)
        m.d.comb += [r["routed"].inc.eq(fires & was_hit), r["unrouted"].inc.eq(fires & ~was_hit)]
        for name, _ in ROUTER_COUNTERS:
            m.d.comb += r[name].clear.eq(r["counters_clear"].w_stb)

        view = r["view_index"].data
        v_valid, v_pid, v_region, v_node = Signal(), Signal(self.pid_width), Signal(rb), Signal(self.node_id_width)
        for i in range(n):
            with m.If(view == i):
                m.d.comb += [v_valid.eq(valid[i]), v_pid.eq(pid[i]), v_region.eq(region[i]), v_node.eq(node[i])]
        m.d.comb += [
            r["info"].r_data.eq(Cat(Const(n, 8), Const(self.region_log2, 6), Const(self.node_id_width, 4),
                                    Const(self.vaddr_width, 7))),
            r["view_info"].r_data.eq(Cat(v_valid, Const(0, 7), v_node, Const(0, 8 - self.node_id_width), v_pid)),
            r["view_region"].r_data.eq(v_region[:32]),
            r["view_region_hi"].r_data.eq(v_region[32:] if rb > 32 else 0),
        ]
        return m
