"""Formal harnesses of the network interface (run by ``disagg formal``; see ``docs/verification.md``).

``handshake``
    One :class:`hw.network.netif.NetIf` with every input free: every stream and AXI-Stream port it drives
    obeys valid/ready (asserted); the ones it receives are assumed to. The CSR bus is free.
``exactly_once``
    Two network interfaces, node 0 sending to node 1, joined by two lossy links (frames one way,
    acknowledgements the other). Each link drops any frame the solver chooses, whole: the decision is taken
    at a frame's first beat and holds to its last (a truncated frame would be the CRC's business, which the
    solver could defeat by choosing the data). Node 0 is given messages numbered 0, 1, 2, ... in their
    ``tag`` field; node 1 must deliver them in that order, each once: the k-th message out of node 1 carries
    tag k. This is delivery in order and without duplicates (and without gaps) for every pattern of loss
    within the depth.

``mutation`` names a deliberate bug placed between the checker and the interfaces:

* ``"drop_valid"``: ``m_axis.tvalid`` is dropped for a cycle while a beat waits (handshake);
* ``"replay_delivery"``: the receiver's output shows the previous message again (a duplicate delivery).
"""

from amaranth import Elaboratable, Module, Mux, Signal
from amaranth.hdl import Assert, Assume, Cover

from hw.lib.formal import check_harness_choice, AnySeq, drive_free_inputs, handshake_with_mutant, hold_reset_low
from hw.network.netif import NetIf, NetIfParams
from hw.protocol import TAG_WIDTH, MsgKind, Status

__all__ = ["PROPERTIES", "MUTATIONS", "formal_params", "NetIfFormal", "LossyLink"]

PROPERTIES = ("handshake", "exactly_once")
MUTATIONS = {"handshake": "drop_valid", "exactly_once": "replay_delivery"}


def formal_params(node_id=0):
    """The small network interface the harnesses prove: two nodes, a window of 2 frames, the shortest
    retransmission timeout (16 cycles), 64-bit beats, 64 B payloads."""
    return NetIfParams(node_id=node_id, n_nodes=2, data_width=64, window=2, timeout=16, max_payload=64,
                       rx_buffer_msgs=1)


class LossyLink(Elaboratable):
    """An AXI-Stream wire that drops whole frames when the solver says so.

    Attributes
    ----------
    src, dst : AXI-Stream interfaces
        The sender's ``m_axis`` and the receiver's ``s_axis``.
    """

    def __init__(self, src, dst):
        self.src, self.dst = src, dst

    def elaborate(self, platform):
        m = Module()
        src, dst = self.src, self.dst
        in_frame, dropping = Signal(), Signal()
        choice = AnySeq(1)
        drop = Mux(in_frame, dropping, choice)
        beat = src.tvalid & (drop | dst.tready)
        with m.If(beat):
            m.d.sync += [in_frame.eq(~src.tlast), dropping.eq(drop)]
        m.d.comb += [dst.tdata.eq(src.tdata), dst.tkeep.eq(src.tkeep), dst.tlast.eq(src.tlast),
                     dst.tvalid.eq(src.tvalid & ~drop), src.tready.eq(drop | dst.tready)]
        return m


class NetIfFormal(Elaboratable):
    """Harness of one network-interface property.

    Parameters
    ----------
    prop : str
        One of :data:`PROPERTIES`.
    mutation : str or None
        A deliberate bug (see the module docstring), or ``None`` for the real interfaces.
    """

    def __init__(self, prop, *, mutation=None):
        check_harness_choice("network interface", prop, PROPERTIES, mutation, MUTATIONS)
        self.prop, self.mutation = prop, mutation

    def elaborate(self, platform):
        m = Module()
        hold_reset_low(m)
        if self.prop == "handshake":
            m.submodules.dut = dut = NetIf(formal_params())
            drive_free_inputs(m, dut)
            handshake_with_mutant(m, dut, "m_axis" if self.mutation == "drop_valid" else None)
        else:
            self._exactly_once(m)
        return m

    def _exactly_once(self, m):
        m.submodules.a = a = NetIf(formal_params(node_id=0))
        m.submodules.b = b = NetIf(formal_params(node_id=1))
        m.submodules.ab = LossyLink(a.m_axis, b.s_axis)
        m.submodules.ba = LossyLink(b.m_axis, a.s_axis)
        # Node 0's messages: header-only requests to node 1, numbered in their tag.
        sent = Signal(TAG_WIDTH)
        hdr = a.tx.hdr.payload
        kind = Signal(1)
        m.d.comb += [a.tx.hdr.valid.eq(AnySeq(1)), kind.eq(AnySeq(1)),
                     hdr.kind.eq(Mux(kind, MsgKind.WORD_READ, MsgKind.LINE_READ)), hdr.status.eq(Status.OK),
                     hdr.src.eq(0), hdr.dst.eq(1), hdr.tag.eq(sent), hdr.pid.eq(AnySeq(len(hdr.pid))),
                     hdr.vaddr.eq(AnySeq(len(hdr.vaddr))), hdr.length.eq(8)]
        was_waiting = Signal()
        m.d.sync += was_waiting.eq(a.tx.hdr.valid & ~a.tx.hdr.ready)
        m.d.comb += Assume(~was_waiting | a.tx.hdr.valid)   # a source holds valid until ready
        prev_kind = Signal()
        m.d.sync += prev_kind.eq(kind)
        m.d.comb += Assume(~was_waiting | (kind == prev_kind))
        with m.If(a.tx.hdr.valid & a.tx.hdr.ready):
            m.d.sync += sent.eq(sent + 1)
        # Node 1 sends nothing of its own; both sides take what they are given, at any pace.
        m.d.comb += [b.tx.hdr.valid.eq(0), b.tx.data.valid.eq(0), a.tx.data.valid.eq(0),
                     b.rx.hdr.ready.eq(AnySeq(1)), b.rx.data.ready.eq(AnySeq(1)),
                     a.rx.hdr.ready.eq(AnySeq(1)), a.rx.data.ready.eq(AnySeq(1))]
        # The checker: the k-th message node 1 delivers is message k.
        delivered = Signal(TAG_WIDTH)
        out = b.rx.hdr
        tag = out.payload.tag
        if self.mutation == "replay_delivery":
            replay = Signal()
            m.d.comb += replay.eq(AnySeq(1) & (delivered != 0))
            tag = Mux(replay, delivered - 1, tag)
        taken = out.valid & out.ready
        with m.If(taken):
            m.d.sync += delivered.eq(delivered + 1)
        m.d.comb += Assert(~taken | (tag == delivered), "messages are delivered in order, each once")
        m.d.comb += Assert(~a.rx.hdr.valid, "node 0 is sent no messages, so it delivers none")
        m.d.comb += Cover(taken & (delivered == 1))
