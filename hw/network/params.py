"""Parameters of the network interface, shared by the NetIf and its components."""

from dataclasses import dataclass

from amaranth import Mux
from amaranth.utils import ceil_log2

from hw.lib import checks
from hw.network.frame import HEADER_BYTES

__all__ = ["NetIfParams"]


@dataclass(frozen=True)
class NetIfParams:
    """Parameters of a network interface.

    Parameters
    ----------
    node_id : int
        This node's id, ``0 <= node_id < n_nodes``; stamped as the source of every frame sent.
    n_nodes : int
        Node ids are ``0 .. n_nodes-1`` (2..256); one transport state per id other than ``node_id``.
    data_width : int
        Width of the message data beats and of the wire, 32 or 64 bits (24-byte header = whole beats).
    window : int
        Go-back-N window: frames in flight per peer (power of two, 1..4096). Also the number of
        retransmit buffer slots per peer.
    timeout : int
        Cycles without ack progress after which unacknowledged frames are sent again (16 .. 2**24).
        Must exceed the round trip plus the time to send a window of frames.
    max_payload : int
        Largest message payload in bytes (8 .. 4096); longer messages from the component are dropped and
        counted, longer frames from the wire are dropped as oversize.
    rx_buffer_msgs : int
        Receive buffer capacity in full-size messages (1..1024); an in-order frame that does not fit is
        dropped (and retransmitted by its sender).
    cut_through : bool
        Send a message's frame as soon as its header is stored, while its data beats still arrive on
        ``tx`` (the frame pauses, ``tvalid`` low, when the next beat is not in yet). False: a message is
        sent only once it is completely stored (store and forward).
    rx_cut_through : bool
        Receive cut-through: a message with data beats is handed to ``rx`` while its frame still arrives
        (header once the frame header looks right and is in sequence, beats as they come), and its last
        beat carries the verdict (``discard``: the frame failed its checks, forget the message); ``rx`` is
        then a ``MessagePort(data_width, verdict=True)``. False (default): store and forward, a message is
        offered only once its frame was checked (``docs/netif.md``, "Cut-through"). Only a consumer that
        can undo a message may use it (the ExCache's fill; not the memory side).
    retry_limit : int
        Dead-peer detection (0..255; 0: never, a peer is retried forever). A peer is declared dead at its
        ``retry_limit``-th consecutive retransmit timeout without ack progress: nothing more is sent to it,
        messages for it are dropped, and firmware sees it in the CSRs and on ``irq`` until it resets the
        peer (``docs/netif.md``, "Dead peers").
    """
    node_id: int = 0
    n_nodes: int = 4
    data_width: int = 64
    window: int = 16
    timeout: int = 2048
    max_payload: int = 64
    rx_buffer_msgs: int = 4
    cut_through: bool = True
    retry_limit: int = 0
    rx_cut_through: bool = False

    def __post_init__(self):
        def check_int(name, lo, hi):
            checks.check_int(f"NetIfParams.{name}", getattr(self, name), lo, hi)
        check_int("n_nodes", 2, 256)
        check_int("node_id", 0, self.n_nodes - 1)
        if self.data_width not in (32, 64):
            raise ValueError(f"NetIfParams.data_width must be 32 or 64, not {self.data_width!r}")
        check_int("window", 1, 4096)
        if not checks.is_pow2(self.window):
            raise ValueError(f"NetIfParams.window must be a power of two, not {self.window!r}")
        check_int("timeout", 16, 1 << 24)
        check_int("max_payload", 8, 4096)
        check_int("rx_buffer_msgs", 1, 1024)
        if not isinstance(self.cut_through, bool):
            raise TypeError(f"NetIfParams.cut_through must be a bool, not {self.cut_through!r}")
        if not isinstance(self.rx_cut_through, bool):
            raise TypeError(f"NetIfParams.rx_cut_through must be a bool, not {self.rx_cut_through!r}")
        check_int("retry_limit", 0, 255)

    @property
    def beat_bytes(self):
        return self.data_width // 8

    @property
    def hdr_beats(self):
        return HEADER_BYTES // self.beat_bytes

    @property
    def max_payload_beats(self):
        return -(-self.max_payload // self.beat_bytes)

    @property
    def max_frame_beats(self):
        return self.hdr_beats + self.max_payload_beats + 1

    # Widths of the internal indices, one definition for every component.
    @property
    def node_bits(self):
        """Bits of a peer index (node id) inside the interface."""
        return max(1, ceil_log2(self.n_nodes))

    @property
    def slot_bits(self):
        """Bits of a retransmit-buffer slot number (``seq % window``); 0 for a window of one."""
        return ceil_log2(self.window)

    @property
    def window_bits(self):
        """Bits of a frame count in the window, ``0..window``."""
        return self.slot_bits + 1

    @property
    def beat_index_bits(self):
        """Bits of a payload beat index inside one retransmit-buffer slot."""
        return max(1, ceil_log2(self.max_payload_beats))

    @property
    def n_peers(self):
        """Peers of this interface: every node id but its own."""
        return self.n_nodes - 1

    @property
    def peer_index_bits(self):
        """Bits of a peer's index in the per-peer memories (node ids without ``node_id``, packed)."""
        return max(1, ceil_log2(self.n_peers))

    def peer_index(self, peer):
        """Amaranth expression: the packed index ``0 .. n_peers-1`` of node id ``peer`` (not ``node_id``).

        The retransmit buffer has no rows for the interface's own id (a two-node system would waste half
        of it): ids above ``node_id`` move down by one.
        """
        if self.node_id == self.n_nodes - 1:
            return peer[:self.peer_index_bits]
        return Mux(peer > self.node_id, peer - 1, peer)[:self.peer_index_bits]

    def payload_beats(self, length):
        """Amaranth expression: data beats of a message of ``length`` bytes (rounded up)."""
        return (length + (self.beat_bytes - 1)) >> ceil_log2(self.beat_bytes)
