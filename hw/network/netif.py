"""Network interface: component messages <-> reliable, checked frames on an AXI-Stream wire.

The interface is a chain of small components (``docs/netif.md`` has the drawing)::

    tx ─► MessageStore ─► FrameSender ─► m_axis          s_axis ─► FrameReceiver ─► ReceiveBuffer ─► rx
              │  ▲            │  ▲                                    │  ▲
              ▼  │            ▼  │                                    ▼  │
              └──┴────────────┴──┴───────── PeerState ────────────────┴──┘

* :class:`~hw.network.message_store.MessageStore`: a message from the component (``tx``) goes to the
  retransmit buffer of its destination peer (slot ``seq % window``) and stays there until acknowledged.
* :class:`~hw.network.frame_sender.FrameSender`: sends stored messages as frames
  (``hw/network/frame.py``) with the next sequence number, the current cumulative ack for the peer and
  a CRC-32 computed on the fly, or standalone ACK frames; goes back to the oldest unacknowledged frame of
  a peer whose retransmit timer expired or that reported a gap (``nak``): go-back-N.
* :class:`~hw.network.frame_receiver.FrameReceiver`: frames from the wire (``s_axis``), store and
  forward; passes a frame up only if its CRC is right, it is well formed, addressed to this node from a
  known peer, and carries exactly the next sequence number expected from that peer. Everything else is
  dropped and counted. Acks are taken from every frame that passes the checks.
* :class:`~hw.network.receive_buffer.ReceiveBuffer`: payload ring and header FIFO in front of ``rx``.
* :class:`~hw.network.peer_state.PeerState`: the go-back-N state of every peer, updated by the
  one-cycle events of the other four.

This module wires them together and holds the counters and the CSR bank (``NETIF_REGISTERS`` in
``hw/network/registers.py``).
"""

from amaranth import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axis import AXIStreamSignature
from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.network.frame_receiver import FrameReceiver
from hw.network.frame_sender import FrameSender
from hw.network.message_store import MessageStore
from hw.network.params import NetIfParams
from hw.network.peer_state import PeerState
from hw.network.receive_buffer import ReceiveBuffer
from hw.network.registers import (FLUSH_STEP_WIDTH, NETIF_COUNTERS, NETIF_REGISTERS, PEER_DEAD_WORDS)
from hw.protocol import MessagePort

__all__ = ["NetIfParams", "NetIf", "default_netif"]

# Events from the components to the peer state, by port name (the same name on both sides).
_STORE_EVENTS = ("stored",)
# Counters whose events are computed here, not taken from a component's port of the same name.
_NETIF_EVENTS = ("tx_timeouts", "peers_dead", "tx_flushed")
_SENDER_EVENTS = ("frame_started", "ack_sent", "nak_sent", "go_back")
_RECEIVER_EVENTS = ("ack_in", "ack_value", "nak_in", "msg_in", "gap_in", "delivered")


class NetIf(wiring.Component):
    """Reliable network interface (go-back-N over CRC-checked frames).

    Parameters
    ----------
    params : NetIfParams

    Attributes
    ----------
    tx : In(MessagePort(data_width))
        Messages from the component. ``hdr.dst`` chooses the peer; ``hdr.src`` is ignored (the
        interface stamps its own ``node_id``). Data beats follow as ``ceil(length / beat_bytes)`` beats
        (the count comes from ``length``; bytes past ``length`` are sent as zeros). Stalls while the
        peer's window is full (head-of-line for all peers).
    rx : Out(MessagePort(data_width))
        Messages received, in order and exactly once per peer. ``hdr.src`` is the frame's source,
        ``hdr.dst`` this node. The header is offered when the message (with all its data) has been
        received and checked; the header and data streams are independent FIFOs in the same order.
        With ``rx_cut_through`` a ``MessagePort(data_width, verdict=True)``: a message with data beats is
        offered while its frame arrives and its last beat's ``discard`` says whether to keep it
        (``docs/netif.md``, "Cut-through").
    m_axis : Out(AXIStreamSignature(data_width))
        Frames to the wire. All beats full except the last (CRC, ``tkeep`` = 0xF).
    s_axis : In(AXIStreamSignature(data_width))
        Frames from the wire. ``tready`` is always high (like a MAC); frames that cannot be stored are
        dropped.
    csr : In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        Identity, parameters, counters, dead peers and the peer reset (``NETIF_REGISTERS``).
    irq : Out(1)
        High while an event bit (``events``: a peer was declared dead) is set; firmware clears it.
    """

    def __init__(self, params):
        if not isinstance(params, NetIfParams):
            raise TypeError(f"NetIf needs NetIfParams, not {params!r}")
        self.params = params
        w = params.data_width
        super().__init__({
            "tx": In(MessagePort(w)),
            "rx": Out(MessagePort(w, verdict=params.rx_cut_through)),
            "m_axis": Out(AXIStreamSignature(w)),
            "s_axis": In(AXIStreamSignature(w)),
            "csr": In(CSRBusSignature(NETIF_REGISTERS.addr_width)),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.store = store = MessageStore(p)
        m.submodules.sender = sender = FrameSender(p)
        m.submodules.receiver = receiver = FrameReceiver(p)
        m.submodules.rx_buffer = rx_buffer = ReceiveBuffer(p)
        m.submodules.peers = peers = PeerState(p)

        # The data path.
        wiring.connect(m, wiring.flipped(self.tx), store.tx)
        wiring.connect(m, sender.store, store.read)
        wiring.connect(m, sender.m_axis, wiring.flipped(self.m_axis))
        wiring.connect(m, wiring.flipped(self.s_axis), receiver.s_axis)
        wiring.connect(m, receiver.buffer, rx_buffer.write)
        wiring.connect(m, rx_buffer.rx, wiring.flipped(self.rx))

        # Queries of the peer state and the events that update it.
        m.d.comb += [
            store.tail.eq(peers.store_tail), store.room.eq(peers.store_room),
            peers.send_peer.eq(sender.peer), sender.seq.eq(peers.send_seq), sender.ack.eq(peers.send_ack),
            sender.nak.eq(peers.send_nak), sender.retransmit.eq(peers.send_retransmit),
            sender.unsent.eq(peers.unsent_q), sender.owed.eq(peers.owed_q), sender.expired.eq(peers.expired),
            peers.recv_peer.eq(receiver.src), receiver.expected.eq(peers.recv_expected),
            store.dead.eq(peers.dead),
            sender.stored.eq(store.stored), sender.stored_peer.eq(store.stored_peer),
        ]
        for block, names in ((store, _STORE_EVENTS), (sender, _SENDER_EVENTS), (receiver, _RECEIVER_EVENTS)):
            for name in names:
                m.d.comb += getattr(peers, name).eq(getattr(block, name))

        # The CSR bank implements the registers (NETIF_REGISTERS kinds); the block only gives the values
        # and the counter events. Every counter event is an Out(1) port named after its counter.
        m.submodules.csr_dec = dec = CSRDecoder(NETIF_REGISTERS)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        regs = dec.regs
        m.d.comb += [
            regs["id"].node_id.r_data.eq(p.node_id), regs["id"].n_nodes.r_data.eq(p.n_nodes),
            regs["config"].window.r_data.eq(p.window), regs["config"].max_payload.r_data.eq(p.max_payload),
            regs["timeout"].r_data.eq(p.timeout), regs["retry_limit"].r_data.eq(p.retry_limit),
        ]
        for name, _ in NETIF_COUNTERS:
            if name in _NETIF_EVENTS:
                continue
            block = next(b for b in (store, sender, receiver) if name in b.signature.members)
            m.d.comb += regs[name].inc.eq(getattr(block, name))
        # Several peers may time out in the same cycle: count them all.
        timeouts = [peers.timeouts[i] for i in range(p.n_nodes) if i != p.node_id]
        m.d.comb += regs["tx_timeouts"].inc.eq(sum(timeouts[1:], timeouts[0]))

        # Dead peers. The events reach the counters and the event bit one cycle late, from registers (a
        # counter's carry chain then starts at a flip-flop); firmware sees nothing of the delay.
        peer_ids = [i for i in range(p.n_nodes) if i != p.node_id]
        died = Signal(p.n_nodes)
        n_died = Signal(8)
        m.d.sync += [died.eq(peers.died), n_died.eq(sum(peers.died[i] for i in peer_ids))]
        m.d.comb += [regs["peers_dead"].inc.eq(n_died), regs["events"].peer_dead.set.eq(died.any()),
                     self.irq.eq(regs["events"].peer_dead.data)]
        dead = peers.dead
        for k in range(PEER_DEAD_WORDS):
            lo, hi = 32 * k, min(32 * (k + 1), p.n_nodes)
            if lo < hi:
                m.d.comb += regs[f"peer_dead_{k}"].r_data.eq(dead[lo:hi])
        # The peer reset, registered so that the CSR decode does not reach the peer state's registers.
        reset = regs["peer_reset"]
        flush = Signal(p.n_nodes)
        reset_ok = reset.w_stb & (reset.w_data < p.n_nodes) & (reset.w_data != p.node_id)
        m.d.sync += flush.eq(Mux(reset_ok, Const(1, p.n_nodes) << reset.w_data[:p.node_bits], 0))
        m.d.comb += peers.flush.eq(flush)
        # Discarded: what the reset drops, and a message whose storing ended after its peer died.
        n_flushed = Signal(FLUSH_STEP_WIDTH)
        m.d.sync += n_flushed.eq(peers.flushed + (store.stored & dead).any())
        m.d.comb += regs["tx_flushed"].inc.eq(n_flushed)
        return m


def default_netif():
    """The catalogued configuration: node 0 of 4, 64-bit wire, window 16, 64-byte lines."""
    return NetIf(NetIfParams())
