"""Emulated switch: routes frames between endpoints by node id (emulation only, not for synthesis).

Switch
    ``n_ports`` ports, ``s_axis[i]`` from and ``m_axis[i]`` to the endpoint of node ``node_ids[i]``.
    A frame is routed by its destination byte (byte 0 of the first beat, ``hw/network/frame.py``). It
    is dropped (and counted) if no port has that node id, or if its source byte (byte 1) is not the
    node id of the port it came in on (no spoofing). Each output port arbitrates round-robin between
    inputs, a whole frame at a time, so frames from several inputs to one output contend: the inputs
    not granted wait (head-of-line), and that waiting is counted per output port.

SwitchFabric
    A :class:`Switch` with one :class:`hw.network.link.Link` on each output port, between the crossbar
    and the endpoint: each port has its own latency, bandwidth, loss, corruption, duplication and
    reordering, exactly the link model's, with the Link's lanes as the port's output queue. An endpoint
    sees, from any other endpoint, the latency and the losses of its own port; frames of several
    senders to one port share that port's bandwidth.

Failure of an endpoint (``port_dead[i]``, driven by the rack's fault plan): from the first frame boundary
after the bit rises, every frame coming in on port ``i`` is dropped, and every frame routed to port ``i``
is dropped at the crossbar (both counted in ``dropped_dead``): the endpoint neither answers nor hears.
A frame already moving when the bit rises finishes (a cut frame would hold its output port forever);
frames already in port ``i``'s link still arrive, to an endpoint whose own frames are dropped.

Both are generic in the node-id width (``node_id_width`` bits, at most the 8 bits of the frame's
destination and source bytes): node ids are checked against it, and a destination byte with bits set
above it matches no port.
"""

from amaranth import Module, Signal, Cat, Mux, Array
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.lib.axis import AXIStreamSignature
from hw.lib.checks import check_int, is_int
from hw.lib.counter import CounterBank
from hw.network.link import LINK_COUNTERS, Link, LinkParams
from hw.network.registers import SWITCH_COUNTERS, SWITCH_PORT_COUNTERS
from hw.protocol import NODE_ID_WIDTH

__all__ = ["Switch", "SwitchFabric", "SWITCH_COUNTERS", "SWITCH_PORT_COUNTERS", "SWITCH_FAULT_COUNTERS",
           "ALL_SWITCH_COUNTERS"]

#: Crossbar counters of the fault plan: frames dropped because their ingress or egress port is dead.
SWITCH_FAULT_COUNTERS = ("dropped_dead",)
#: Every crossbar-wide counter port of :class:`Switch`, in register order.
ALL_SWITCH_COUNTERS = SWITCH_COUNTERS + SWITCH_FAULT_COUNTERS


def _check_ports(owner, n_ports, data_width, node_ids, node_id_width):
    if not is_int(n_ports):
        raise TypeError(f"{owner} n_ports must be an integer, not {n_ports!r}")
    if not 2 <= n_ports <= 64:
        raise ValueError(f"{owner} n_ports must be in 2..64, not {n_ports!r}")
    if not is_int(data_width) or data_width < 16 or data_width % 8:
        raise TypeError(f"{owner} data_width must be a multiple of 8 of at least 16, not {data_width!r}")
    check_int(f"{owner} node_id_width", node_id_width, 1, NODE_ID_WIDTH)
    node_ids = tuple(range(n_ports)) if node_ids is None else tuple(node_ids)
    if len(node_ids) != n_ports or len(set(node_ids)) != n_ports or \
            not all(is_int(n) and 0 <= n < (1 << node_id_width) for n in node_ids):
        raise ValueError(f"{owner} node_ids must be {n_ports} distinct integers in 0..{(1 << node_id_width) - 1}, "
                         f"not {node_ids!r}")
    return node_ids


class Switch(wiring.Component):
    """Routes frames between ``n_ports`` endpoints by destination node id (see the module docstring).

    Parameters
    ----------
    n_ports : int
        Number of ports (2..64).
    data_width : int
        Wire width in bits (multiple of 8, at least 16).
    node_ids : sequence of int, optional
        Node id of the endpoint on each port (distinct, below ``2**node_id_width``); ``range(n_ports)``
        by default.
    node_id_width : int
        Bits of a node id (1..8).

    Attributes
    ----------
    s_axis : In(AXIStreamSignature(data_width)).array(n_ports)
        Frames from endpoint ``i``.
    m_axis : Out(AXIStreamSignature(data_width)).array(n_ports)
        Frames to endpoint ``i``.
    port_dead : In(n_ports)
        Bit ``i``: the endpoint of port ``i`` has failed (see the module docstring); 0 in normal operation.
    frames_routed, dropped_unroutable, dropped_spoofed, dropped_dead : Out(32)
        Counters: frames forwarded; dropped for an unknown destination; dropped because the source byte
        is not the ingress port's node id; dropped because their ingress or egress port is dead.
    port_frames, port_busy, port_wait : Out(32).array(n_ports)
        Per output port: frames delivered; cycles a beat left (utilisation); the sum over cycles of the
        inputs holding a frame for the port that the port is not serving (queueing: divided by the
        cycles, the mean number of frames waiting for it).
    """

    def __init__(self, n_ports, data_width=64, node_ids=None, *, node_id_width=NODE_ID_WIDTH):
        node_ids = _check_ports("Switch", n_ports, data_width, node_ids, node_id_width)
        self.n_ports, self.data_width, self.node_ids = n_ports, data_width, node_ids
        self.node_id_width = node_id_width
        sig = {
            "s_axis": In(AXIStreamSignature(data_width)).array(n_ports),
            "m_axis": Out(AXIStreamSignature(data_width)).array(n_ports),
            "port_dead": In(n_ports),
        }
        for name in ALL_SWITCH_COUNTERS:
            sig[name] = Out(32)
        for name in SWITCH_PORT_COUNTERS:
            sig[name] = Out(32).array(n_ports)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        n = self.n_ports
        step = ceil_log2(n + 1)
        # Several inputs may end a frame in the same cycle: each counter adds up to n per cycle.
        per_port = [f"{name}_{o}" for name in SWITCH_PORT_COUNTERS for o in range(n)]
        m.submodules.counters = bank = CounterBank(ALL_SWITCH_COUNTERS + tuple(per_port), width=32,
                                                   step_widths={name: step for name in ALL_SWITCH_COUNTERS}
                                                   | {f"port_wait_{o}": step for o in range(n)})
        inc = bank.inc
        for name in ALL_SWITCH_COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(bank.count, name))
        for name in SWITCH_PORT_COUNTERS:
            for o in range(n):
                m.d.comb += getattr(self, name)[o].eq(getattr(bank.count, f"{name}_{o}"))
        pw = max(1, ceil_log2(n))

        # Per input: in a frame?, its output port (latched at the first beat), dropping?
        in_frame = [Signal(name=f"in_frame_{i}") for i in range(n)]
        route = [Signal(pw, name=f"route_{i}") for i in range(n)]
        dropping = [Signal(name=f"dropping_{i}") for i in range(n)]
        # Per output: busy with input grant[o].
        busy = [Signal(name=f"busy_{o}") for o in range(n)]
        grant = [Signal(pw, name=f"grant_{o}") for o in range(n)]

        # Decode the first beat of each input.
        want = []      # want[i][o]: input i wants output o for its current frame
        first_drop = []
        first_unroutable = []
        first_dead = []
        for i in range(n):
            s = self.s_axis[i]
            dst = s.tdata[0:8]
            src = s.tdata[8:16]
            hit = Signal(n, name=f"hit_{i}")
            for o, nid in enumerate(self.node_ids):
                m.d.comb += hit[o].eq(dst == nid)
            spoof = src != self.node_ids[i]
            unroutable = ~hit.any()
            # Dead: the ingress endpoint failed, or the one port the frame goes to did.
            dead = self.port_dead[i] | (hit & self.port_dead).any()
            first_unroutable.append(unroutable & ~spoof)
            first_dead.append(dead & ~spoof & ~unroutable)
            drop_now = Mux(in_frame[i], dropping[i], spoof | unroutable | dead)
            first_drop.append(drop_now)
            w_i = Signal(n, name=f"want_{i}")
            for o in range(n):
                m.d.comb += w_i[o].eq(s.tvalid & ~drop_now & Mux(in_frame[i], route[i] == o, hit[o]))
            want.append(w_i)

        # Output arbitration: round robin, held for a whole frame.
        conn = [[Signal(name=f"conn_{i}_{o}") for o in range(n)] for i in range(n)]
        last = [Signal(pw, name=f"rr_{o}") for o in range(n)]
        for o in range(n):
            mo = self.m_axis[o]
            pick = Signal(pw, name=f"pick_{o}")
            pick_valid = Signal(name=f"pick_valid_{o}")
            with m.Switch(last[o]):
                for prev in range(n):
                    with m.Case(prev):
                        for cand in reversed([(prev + 1 + k) % n for k in range(n)]):
                            with m.If(want[cand][o]):
                                m.d.comb += [pick.eq(cand), pick_valid.eq(1)]
            sel = Mux(busy[o], grant[o], pick)
            active = busy[o] | pick_valid
            for i in range(n):
                m.d.comb += conn[i][o].eq(active & (sel == i))
            s_sel = Array(self.s_axis)[sel]
            m.d.comb += [
                mo.tvalid.eq(active & s_sel.tvalid), mo.tdata.eq(s_sel.tdata), mo.tkeep.eq(s_sel.tkeep),
                mo.tlast.eq(s_sel.tlast),
            ]
            moves = mo.tvalid & mo.tready
            waiting = [want[i][o] & ~(conn[i][o] & moves) for i in range(n)]
            m.d.comb += [getattr(inc, f"port_busy_{o}").eq(moves),
                         getattr(inc, f"port_frames_{o}").eq(moves & mo.tlast),
                         getattr(inc, f"port_wait_{o}").eq(sum(waiting[1:], waiting[0]))]
            with m.If(moves):
                with m.If(~busy[o]):
                    m.d.sync += last[o].eq(pick)
                with m.If(mo.tlast):
                    m.d.sync += busy[o].eq(0)
                with m.Elif(~busy[o]):
                    m.d.sync += [busy[o].eq(1), grant[o].eq(pick)]

        # Inputs: a beat moves when its output takes it, or at once when the frame is dropped.
        n_routed, n_unroutable, n_spoofed, n_dead = [], [], [], []
        for i in range(n):
            s = self.s_axis[i]
            drop_unroutable = Signal(name=f"drop_unroutable_{i}")   # why the current frame is dropped
            drop_dead = Signal(name=f"drop_dead_{i}")
            o_ready = Signal(name=f"o_ready_{i}")
            m.d.comb += o_ready.eq(Cat(*[conn[i][o] & self.m_axis[o].tready for o in range(n)]).any())
            m.d.comb += s.tready.eq(first_drop[i] | o_ready)
            moved = s.tvalid & s.tready
            with m.If(moved):
                m.d.sync += in_frame[i].eq(~s.tlast)
                with m.If(~in_frame[i]):
                    m.d.sync += [dropping[i].eq(first_drop[i]), drop_unroutable.eq(first_unroutable[i]),
                                 drop_dead.eq(first_dead[i]), route[i].eq(0)]
                    for o in range(n):
                        with m.If(want[i][o]):
                            m.d.sync += route[i].eq(o)
            ended = moved & s.tlast
            unroutable = Mux(in_frame[i], drop_unroutable, first_unroutable[i])
            dead = Mux(in_frame[i], drop_dead, first_dead[i])
            n_routed.append(ended & ~first_drop[i])
            n_unroutable.append(ended & first_drop[i] & unroutable)
            n_dead.append(ended & first_drop[i] & dead)
            n_spoofed.append(ended & first_drop[i] & ~unroutable & ~dead)
        for name, events in (("frames_routed", n_routed), ("dropped_unroutable", n_unroutable),
                             ("dropped_spoofed", n_spoofed), ("dropped_dead", n_dead)):
            m.d.comb += getattr(inc, name).eq(sum(events[1:], events[0]))
        return m


class SwitchFabric(wiring.Component):
    """A :class:`Switch` with a :class:`hw.network.link.Link` on every output port (see the module docstring).

    Parameters
    ----------
    ports : sequence of LinkParams
        One per port: the link from the crossbar to that port's endpoint (latency, bandwidth, loss, ...).
        Every port's ``data_width`` must be the same; the seeds should differ so ports lose independently.
    node_ids : sequence of int
        Node id of the endpoint on each port.
    node_id_width : int
        Bits of a node id (1..8).

    Attributes
    ----------
    s_axis : In(AXIStreamSignature(data_width)).array(n_ports)
        Frames from endpoint ``i``.
    m_axis : Out(AXIStreamSignature(data_width)).array(n_ports)
        Frames to endpoint ``i``, after its port's link.
    port_dead : In(n_ports)
        The crossbar's failed endpoints (:class:`Switch`).
    frames_routed, dropped_unroutable, dropped_spoofed, dropped_dead : Out(32)
        The crossbar's counters (:class:`Switch`).
    port_frames, port_busy, port_wait : Out(32).array(n_ports)
        The crossbar's per-port counters (:class:`Switch`).
    link_<counter> : Out(32).array(n_ports)
        Each port link's counters, ``counter`` in :data:`hw.network.registers.LINK_COUNTERS` (``link_lost``:
        frames the port lost, ``link_stall_cycles``: cycles the crossbar waited for the port's bandwidth or
        queue space).
    """

    def __init__(self, ports, node_ids, *, node_id_width=NODE_ID_WIDTH):
        ports = tuple(ports)
        if not all(isinstance(p, LinkParams) for p in ports):
            raise TypeError(f"SwitchFabric ports must be LinkParams, not {ports!r}")
        if len(ports) < 2 or len({p.data_width for p in ports}) != 1:
            raise ValueError(f"SwitchFabric needs at least 2 ports of one data width, not {ports!r}")
        n, w = len(ports), ports[0].data_width
        self.node_ids = _check_ports("SwitchFabric", n, w, node_ids, node_id_width)
        self.ports, self.n_ports, self.data_width, self.node_id_width = ports, n, w, node_id_width
        sig = {
            "s_axis": In(AXIStreamSignature(w)).array(n),
            "m_axis": Out(AXIStreamSignature(w)).array(n),
            "port_dead": In(n),
        }
        for name in ALL_SWITCH_COUNTERS:
            sig[name] = Out(32)
        for name in SWITCH_PORT_COUNTERS:
            sig[name] = Out(32).array(n)
        for name in LINK_COUNTERS:
            sig[f"link_{name}"] = Out(32).array(n)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        m.submodules.crossbar = sw = Switch(self.n_ports, self.data_width, self.node_ids,
                                            node_id_width=self.node_id_width)
        m.d.comb += sw.port_dead.eq(self.port_dead)
        for i, params in enumerate(self.ports):
            m.submodules[f"port{i}"] = link = Link(params)
            wiring.connect(m, wiring.flipped(self.s_axis[i]), sw.s_axis[i])
            wiring.connect(m, sw.m_axis[i], link.s_axis)
            wiring.connect(m, link.m_axis, wiring.flipped(self.m_axis[i]))
            for name in LINK_COUNTERS:
                m.d.comb += getattr(self, f"link_{name}")[i].eq(getattr(link, name))
            for name in SWITCH_PORT_COUNTERS:
                m.d.comb += getattr(self, name)[i].eq(getattr(sw, name)[i])
        for name in ALL_SWITCH_COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(sw, name))
        return m
