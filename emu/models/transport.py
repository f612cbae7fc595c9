"""Golden model of the network interface's transport (``hw/network/netif.py``), independent of the RTL.

Untimed: it models what the interface does with each frame and message, not when. Tests feed it the
same frames and messages as the RTL and compare verdicts, delivered messages, counters and the frames
the RTL sends (decoded with ``firmware.protocol_codec``).

* :class:`ReceiverModel`: the receive checks in the documented order (``docs/protocol.md``), the
  per-peer expected sequence numbers, delivery, duplicates and the counters; with ``cut_through``, also
  what a receive cut-through ``rx`` shows (:class:`Offered`: messages handed over before their check,
  with the verdict on the last beat).
* :class:`SenderModel`: sequence numbers per peer, the retransmit window, cumulative acks and go-back-N;
  it yields the frames the interface must send for a given scenario of acks and timeouts, declares a
  peer dead after ``retry_limit`` consecutive timeouts without ack progress, and resets a peer the way
  firmware's ``peer_reset`` does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from firmware.protocol_codec import CRC_BYTES, HEADER_BYTES, TYPE_ACK, TYPE_MSG, Frame, FrameError, decode

__all__ = ["ReceiverModel", "SenderModel", "Delivered", "Offered", "SEQ_MOD"]

SEQ_MOD = 1 << 16
# The frame header (docs/protocol.md), read by the model itself: a cut-through offer is decided on the
# header bytes alone, before the codec's checks could run.
_HDR = struct.Struct("<BBBBHHBBHHHQ")


def _carries_data(kind, status):
    """Whether a message carries payload bytes: writes (kinds 1, 3) always, read responses (4, 6) when
    status is 0. The model's own statement of the rule, written from docs/protocol.md on purpose: the
    RTL and the codec share ``hw.protocol.carries_data``, and a model using that too could not catch a
    mistake in it."""
    return kind in (1, 3) or (kind in (4, 6) and status == 0)


@dataclass
class Delivered:
    """A message passed up to the component."""
    src: int
    dst: int
    kind: int
    status: int
    tag: int
    pid: int
    vaddr: int
    length: int
    payload: bytes


@dataclass
class Offered:
    """A message as a receive cut-through ``rx`` shows it: the header and the data beats.

    ``header`` holds the fields the interface puts on ``rx.hdr`` (kind, status, src, dst, tag, pid, vaddr,
    length), read from the frame's header bytes: garbage if the frame was corrupt. ``beats`` are
    ``(data, last, discard)``: for a committed message its payload beats (``discard`` 0); for a
    discarded one the beats shown before the verdict (never the last one of the header's count) and one
    more with ``last`` = ``discard`` = 1 and data 0. A message without data beats has none (it is only
    shown once committed, as in store and forward).
    """
    header: dict
    beats: list

    @property
    def committed(self):
        return not self.beats or not self.beats[-1][2]


@dataclass
class ReceiverModel:
    """Receive side of one interface.

    Parameters
    ----------
    node_id, n_nodes, max_payload, beat_bytes : as in ``NetIfParams``.
    cut_through : bool
        ``NetIfParams.rx_cut_through``: every frame's effect on ``rx`` is also appended to ``offered``
        (the model assumes the receive buffer has room, as the tests that use it check with
        ``rx_drop_nobuf`` = 0).
    """
    node_id: int
    n_nodes: int
    max_payload: int = 64
    beat_bytes: int = 8
    cut_through: bool = False
    offered: list = field(default_factory=list)
    expected: dict = field(default_factory=dict)
    delivered: list = field(default_factory=list)
    counters: dict = field(default_factory=lambda: {k: 0 for k in (
        "rx_frames", "rx_msgs", "rx_acks", "rx_dup", "rx_drop_crc", "rx_drop_misrouted", "rx_drop_truncated",
        "rx_drop_oversize", "rx_drop_malformed", "naks_received")})
    acks: list = field(default_factory=list)     # (src, ack, nak) of every frame that passed the checks

    def on_beats(self, beats) -> str:
        """Process one frame given as ``(tdata, tkeep)`` beats; return the verdict.

        Verdicts: ``truncated``, ``malformed``, ``crc``, ``oversize``, ``misrouted``, ``ack``, ``deliver``,
        ``dup`` (duplicate or out of order).
        """
        self.counters["rx_frames"] += 1
        full = (1 << self.beat_bytes) - 1
        hdr_beats = HEADER_BYTES // self.beat_bytes
        offer = self._offer(beats) if self.cut_through else None
        verdict = self._check_beats(beats, full, hdr_beats)
        if offer is not None:
            header, n, shown = offer
            if verdict == "deliver":
                d = self.delivered[-1]
                raw = d.payload + bytes(n * self.beat_bytes - len(d.payload))
                out = [(int.from_bytes(raw[i * self.beat_bytes:(i + 1) * self.beat_bytes], "little"), int(i == n - 1), 0)
                       for i in range(n)]
            else:
                out = [(data, 0, 0) for data, _ in shown] + [(0, 1, 1)]
            self.offered.append(Offered(header, out))
        elif self.cut_through and verdict == "deliver":
            d = self.delivered[-1]
            assert not d.payload, "a message with data beats is delivered only if it was offered"
            self.offered.append(Offered(dict(kind=d.kind, status=d.status, src=d.src, dst=d.dst, tag=d.tag,
                                             pid=d.pid, vaddr=d.vaddr, length=d.length), []))
        return verdict

    def _offer(self, beats):
        """The cut-through offer of the frame ``beats``, decided on its header (docs/netif.md): ``None``, or
        (the header shown on ``rx``, its data beat count, the payload beats that are shown before the
        verdict as ``(tdata, tkeep)``)."""
        bb = self.beat_bytes
        hdr_beats = HEADER_BYTES // bb
        full = (1 << bb) - 1
        if len(beats) < hdr_beats + 2 or any(k != full for _, k in beats[:hdr_beats]):
            return None
        raw = b"".join(d.to_bytes(bb, "little") for d, _ in beats[:hdr_beats])
        dst, src, typ, ks, seq, _ack, tag, rsv1, pid, length, rsv2, vaddr = _HDR.unpack(raw[:HEADER_BYTES])
        kind, status = ks & 15, (ks >> 4) & 7
        if typ != TYPE_MSG or rsv1 or rsv2 or not _carries_data(kind, status) or not 0 < length <= self.max_payload:
            return None
        if dst != self.node_id or src >= self.n_nodes or src == self.node_id or seq != self.expected.get(src, 0):
            return None
        n = -(-length // bb)
        payload = beats[hdr_beats:-1][:n]            # the CRC beat is not payload; extra beats are not written
        header = dict(kind=kind, status=status, src=src, dst=dst, tag=tag, pid=pid, vaddr=vaddr, length=length)
        return header, n, payload[:n - 1]

    def _check_beats(self, beats, full, hdr_beats):
        if len(beats) < hdr_beats + 1:
            return self._drop("truncated")
        if any(k != full for _, k in beats[:-1]) or beats[-1][1] != (1 << CRC_BYTES) - 1:
            return self._drop("malformed")
        raw = b"".join(d.to_bytes(self.beat_bytes, "little") for d, _ in beats[:-1])
        raw += (beats[-1][0] & 0xFFFFFFFF).to_bytes(4, "little")
        return self.on_bytes(raw, counted=True)

    def on_bytes(self, raw: bytes, counted=False) -> str:
        """Process one frame given as bytes (beats already known to be well formed)."""
        if not counted:
            self.counters["rx_frames"] += 1
        try:
            frame = decode(raw, self.beat_bytes, self.max_payload, carries=_carries_data)
        except FrameError as err:
            return self._drop(err.reason)
        if frame.dst != self.node_id or frame.src >= self.n_nodes or frame.src == self.node_id:
            return self._drop("misrouted")
        self.acks.append((frame.src, frame.ack, frame.nak))
        self.counters["naks_received"] += frame.nak
        if frame.type == TYPE_ACK:
            self.counters["rx_acks"] += 1
            return "ack"
        exp = self.expected.get(frame.src, 0)
        if frame.seq != exp:
            self.counters["rx_dup"] += 1
            return "dup"
        self.expected[frame.src] = (exp + 1) % SEQ_MOD
        self.counters["rx_msgs"] += 1
        self.delivered.append(Delivered(frame.src, frame.dst, frame.kind, frame.status, frame.tag, frame.pid,
                                        frame.vaddr, frame.length, frame.payload))
        return "deliver"

    def reset_peer(self, peer):
        """Firmware's peer reset: the next message expected from ``peer`` is sequence number 0 again."""
        self.expected.pop(peer, None)

    def _drop(self, reason):
        self.counters[f"rx_drop_{reason}"] += 1
        return reason


@dataclass
class SenderModel:
    """Transmit side of one interface toward its peers.

    ``queue(msg)`` stores a message (a :class:`firmware.protocol_codec.Frame` without seq/ack) for
    ``msg.dst``; ``frames_to_send(peer)`` lists the sequence numbers the interface sends next (first
    transmissions, or the whole window again after ``go_back``); ``ack(peer, value)`` releases frames;
    ``timeout(peer)`` is a retransmit timer expiry, ``reset_peer(peer)`` firmware's peer reset.
    """
    node_id: int
    window: int
    retry_limit: int = 0
    base: dict = field(default_factory=dict)
    stored: dict = field(default_factory=dict)      # peer -> list of Frame, index 0 = seq base
    sent: dict = field(default_factory=dict)        # peer -> frames sent since base (since last go-back)
    retransmits: int = 0
    high: dict = field(default_factory=dict)
    retries: dict = field(default_factory=dict)     # peer -> consecutive timeouts without ack progress
    dead: set = field(default_factory=set)
    counters: dict = field(default_factory=lambda: {"peers_dead": 0, "tx_dead_dropped": 0, "tx_flushed": 0})

    def can_queue(self, peer):
        return peer in self.dead or len(self.stored.get(peer, [])) < self.window

    def queue(self, frame: Frame):
        """Store a message for ``frame.dst``; returns False if it was dropped (its peer is dead)."""
        peer = frame.dst
        if peer in self.dead:
            self.counters["tx_dead_dropped"] += 1
            return False
        if not self.can_queue(peer):
            raise ValueError(f"window of peer {peer} is full")
        self.stored.setdefault(peer, []).append(frame)
        self.base.setdefault(peer, 0)
        return True

    def next_frame(self, peer, ack_value=0):
        """The frame the interface sends next to ``peer`` (or None), as the codec would build it."""
        stored = self.stored.get(peer, [])
        sent = self.sent.get(peer, 0)
        if sent >= len(stored):
            return None
        f = stored[sent]
        seq = (self.base[peer] + sent) % SEQ_MOD
        if sent < self.high.get(peer, 0):
            self.retransmits += 1
        self.sent[peer] = sent + 1
        self.high[peer] = max(self.high.get(peer, 0), sent + 1)
        return Frame(dst=peer, src=self.node_id, type=TYPE_MSG, kind=f.kind, status=f.status, seq=seq,
                     ack=ack_value, tag=f.tag, pid=f.pid, length=f.length, vaddr=f.vaddr,
                     payload=f.payload if _carries_data(f.kind, f.status) else b"")

    def ack(self, peer, value):
        """Apply a cumulative ack; returns how many frames it released (0 if stale or out of range)."""
        base = self.base.get(peer, 0)
        d = (value - base) % SEQ_MOD
        stored = self.stored.get(peer, [])
        if d == 0 or d > len(stored):
            return 0
        self.base[peer] = (base + d) % SEQ_MOD
        self.stored[peer] = stored[d:]
        self.sent[peer] = max(self.sent.get(peer, 0) - d, 0)
        self.high[peer] = max(self.high.get(peer, 0) - d, 0)
        self.retries[peer] = 0
        return d

    def go_back(self, peer):
        """Nak: send everything unacknowledged again."""
        self.sent[peer] = 0

    def timeout(self, peer):
        """The retransmit timer of ``peer`` expired: ``"go_back"``, or ``"dead"`` when this is its
        ``retry_limit``-th consecutive expiry without ack progress (nothing is sent to it any more)."""
        if peer in self.dead:
            raise ValueError(f"peer {peer} is dead: its timer is stopped")
        self.retries[peer] = self.retries.get(peer, 0) + 1
        if self.retry_limit and self.retries[peer] >= self.retry_limit:
            self.dead.add(peer)
            self.counters["peers_dead"] += 1
            return "dead"
        self.go_back(peer)
        return "go_back"

    def reset_peer(self, peer):
        """Firmware's peer reset: discard what is stored for ``peer``, clear its dead state, restart its
        sequence numbers at 0. Returns the messages discarded (in sequence order)."""
        flushed = self.stored.pop(peer, [])
        self.counters["tx_flushed"] += len(flushed)
        self.dead.discard(peer)
        for state in (self.base, self.sent, self.high, self.retries):
            state.pop(peer, None)
        return flushed
