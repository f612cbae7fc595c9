"""Register maps and counter names of the network blocks, apart from the RTL so firmware can import them.

``NETIF_REGISTERS`` is the CSR map of a network interface (``hw/network/netif.py``); ``NETIF_COUNTERS``
names its event counters in address order. ``LINK_COUNTERS`` and ``SWITCH_COUNTERS`` name the counter
output ports of the emulated link and switch (``hw/network/link.py``, ``hw/network/switch.py``), which the system top maps into
its own CSR space.
"""

from hw.lib.csr import Action, Counter, Field, R, Register, RegisterMap, W1C

__all__ = ["NETIF_COUNTERS", "NETIF_REGISTERS", "NETIF_COUNTER_BASE", "TIMEOUT_STEP_WIDTH", "FLUSH_STEP_WIDTH",
           "PEER_DEAD_BASE", "PEER_DEAD_WORDS", "LINK_COUNTERS",
           "SWITCH_COUNTERS", "SWITCH_PORT_COUNTERS"]

#: Event counters of the network interface, ``(name, description)`` in register order.
NETIF_COUNTERS = (
    ("tx_frames", "frames put on the wire (messages, retransmissions and standalone acks)"),
    ("tx_msgs", "messages accepted from the component and queued for their peer"),
    ("tx_retransmits", "message frames sent again after a timeout or nak (go-back-N)"),
    ("tx_timeouts", "retransmit timer expiries"),
    ("tx_acks", "standalone ACK frames sent"),
    ("tx_dropped", "component messages dropped: destination unknown or own node, or length > max payload"),
    ("rx_frames", "frames received from the wire (good or not)"),
    ("rx_msgs", "messages delivered to the component"),
    ("rx_acks", "standalone ACK frames received and accepted"),
    ("rx_dup", "message frames dropped as duplicate or out of order"),
    ("rx_drop_crc", "frames dropped: CRC mismatch"),
    ("rx_drop_misrouted", "frames dropped: destination is not this node, or source unknown or this node"),
    ("rx_drop_truncated", "frames dropped: fewer bytes than the header announces"),
    ("rx_drop_oversize", "frames dropped: more bytes than announced, or length > max payload"),
    ("rx_drop_malformed", "frames dropped: bad type, reserved bits set, or bad tkeep"),
    ("rx_drop_nobuf", "in-order message frames dropped: receive buffer full (sender retransmits)"),
    ("naks_sent", "frames sent carrying a nak (gap seen in a peer's sequence)"),
    ("naks_received", "naks received (each starts a go-back-N round)"),
    ("peers_dead", "peers declared dead: retry_limit consecutive timeouts without ack progress"),
    ("tx_dead_dropped", "component messages dropped: destination declared dead"),
    ("tx_flushed", "stored messages discarded by a peer reset (or stored after their peer died)"),
)

#: Word address of the first counter register.
NETIF_COUNTER_BASE = 0x04

#: Width of the increment of ``tx_timeouts`` and ``peers_dead``: several peers' timers may expire in one
#: cycle (up to 255).
TIMEOUT_STEP_WIDTH = 8
#: Width of the increment of ``tx_flushed``: a peer reset discards up to a window (4096) of messages,
#: plus one stored for a dead peer in the same cycle.
FLUSH_STEP_WIDTH = 14
#: Word address of ``peer_dead_0``; ``peer_dead_<k>`` (k = 0..7) holds the dead bits of nodes 32k..32k+31.
PEER_DEAD_BASE = 0x20
PEER_DEAD_WORDS = 8

_STEP_WIDTHS = {"tx_timeouts": TIMEOUT_STEP_WIDTH, "peers_dead": TIMEOUT_STEP_WIDTH, "tx_flushed": FLUSH_STEP_WIDTH}

#: The CSR register map of the network interface. The decoder implements every register (``hw.lib.csr``
#: kinds): the identity and parameters are read-only values, the counters are 32-bit event counters.
NETIF_REGISTERS = RegisterMap("netif", [
    Register("id", 0x00, "r", "identity of this interface", fields=(
        Field("node_id", 0, 8, "this node's id", R()),
        Field("n_nodes", 8, 9, "number of node ids (peers are 0..n_nodes-1)", R()))),
    Register("config", 0x01, "r", "transport parameters", fields=(
        Field("window", 0, 16, "go-back-N window (frames per peer)", R()),
        Field("max_payload", 16, 16, "largest message payload in bytes", R()))),
    Register("timeout", 0x02, "r", "retransmit timeout in cycles", kind=R(32)),
    Register("retry_limit", 0x03, "r", "consecutive timeouts without ack progress that declare a peer dead "
             "(0: never)", kind=R(32)),
    *[Register(name, NETIF_COUNTER_BASE + i, "r", doc + " (32-bit, wraps)",
               kind=Counter(32, step_width=_STEP_WIDTHS.get(name, 1)))
      for i, (name, doc) in enumerate(NETIF_COUNTERS)],
    Register("events", NETIF_COUNTER_BASE + len(NETIF_COUNTERS), "rw", "interrupt events (the NetIf's irq is "
             "high while a bit is set)", fields=(
        Field("peer_dead", 0, 1, "a peer was declared dead (see peer_dead_<k>); write 1 to clear", W1C()),)),
    Register("peer_reset", NETIF_COUNTER_BASE + len(NETIF_COUNTERS) + 1, "w",
             "write a node id: discard every message stored for that peer (counted in tx_flushed), clear its "
             "dead bit and restart both directions of its transport at sequence 0 (the peer must be reset "
             "for this node too); own or unknown ids are ignored", kind=Action(8)),
    *[Register(f"peer_dead_{k}", PEER_DEAD_BASE + k, "r", f"bit i: node {32 * k} + i is declared dead "
               "(sticky until peer_reset)", kind=R(32)) for k in range(PEER_DEAD_WORDS)],
])

#: Counter output ports of a link (32-bit, wrapping).
LINK_COUNTERS = ("frames_in", "frames_out", "bytes_in", "lost", "corrupted", "duplicated", "reordered",
                 "stall_cycles")
#: Counter output ports of a switch (32-bit, wrapping).
SWITCH_COUNTERS = ("frames_routed", "dropped_unroutable", "dropped_spoofed")
#: Per-output-port counter ports of a switch (``hw/network/switch.py``; 32-bit, wrapping).
SWITCH_PORT_COUNTERS = ("port_frames", "port_busy", "port_wait")
