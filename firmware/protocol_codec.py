"""Encoder/decoder of the network interface's wire frames, in plain Python.

Mirrors ``hw/network/frame.py`` (``docs/protocol.md``) without importing any RTL block, so firmware, the harness
and tests can build and check frames. The CRC is ``zlib.crc32``, an implementation independent of the
RTL's parallel CRC. Which messages carry data is the rule of ``hw.protocol.carries_data``, the one the RTL
uses too; :func:`decode` takes another statement of it (``carries=``) for golden models that must not
share it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from hw.protocol import carries_data

__all__ = ["HEADER_BYTES", "CRC_BYTES", "TYPE_MSG", "TYPE_ACK", "Frame", "FrameError", "encode", "decode",
           "carries_data", "frame_beats", "to_beats", "from_beats", "wire_bytes"]

HEADER_BYTES = 24
CRC_BYTES = 4
TYPE_MSG = 1
TYPE_ACK = 2
_HDR = struct.Struct("<BBBBHHBBHHHQ")


class FrameError(ValueError):
    """A byte string that is not a well-formed frame. ``reason`` is one of ``truncated``, ``oversize``,
    ``crc``, ``malformed``."""

    def __init__(self, reason, text):
        super().__init__(f"{reason}: {text}")
        self.reason = reason


@dataclass
class Frame:
    """One decoded frame (field meanings in ``docs/protocol.md``)."""
    dst: int
    src: int
    type: int = TYPE_MSG
    kind: int = 0
    status: int = 0
    seq: int = 0
    ack: int = 0
    tag: int = 0
    pid: int = 0
    length: int = 0
    vaddr: int = 0
    payload: bytes = field(default=b"")
    nak: int = 0

    def header_bytes(self) -> bytes:
        for name, width in (("dst", 8), ("src", 8), ("type", 8), ("kind", 4), ("status", 3), ("nak", 1), ("seq", 16),
                            ("ack", 16), ("tag", 8), ("pid", 16), ("length", 16), ("vaddr", 64)):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v < (1 << width):
                raise ValueError(f"frame field {name} must fit in {width} bits, not {v!r}")
        return _HDR.pack(self.dst, self.src, self.type, self.kind | (self.status << 4) | (self.nak << 7), self.seq, self.ack,
                         self.tag, 0, self.pid, self.length, 0, self.vaddr)


def _pad(n, beat_bytes):
    return -n % beat_bytes


def encode(frame: Frame, beat_bytes: int = 8) -> bytes:
    """The bytes of ``frame`` on the wire, CRC included.

    The payload is present only for message frames that carry data, must be ``length`` bytes, and is
    padded with zeros to a whole number of ``beat_bytes``.
    """
    head = frame.header_bytes()
    payload = b""
    if frame.type == TYPE_MSG and carries_data(frame.kind, frame.status):
        if len(frame.payload) != frame.length:
            raise ValueError(f"payload must be length={frame.length} bytes, not {len(frame.payload)}")
        payload = bytes(frame.payload) + bytes(_pad(frame.length, beat_bytes))
    elif frame.payload:
        raise ValueError("this frame carries no payload")
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body))


def decode(raw: bytes, beat_bytes: int = 8, max_payload: int = 1 << 16, carries=carries_data) -> Frame:
    """Parse and check a frame; raise :class:`FrameError` if it must be dropped.

    ``carries(kind, status)`` says whether a message frame has a payload (default: the shared rule).

    Checks, in the order the interface applies them: length at least header plus CRC (``truncated``),
    CRC (``crc``), type and reserved bits (``malformed``), payload length against ``max_payload``
    (``oversize``), then the byte count against what the header announces (``truncated`` if short,
    ``oversize`` if long).
    """
    raw = bytes(raw)
    if len(raw) < HEADER_BYTES + CRC_BYTES:
        raise FrameError("truncated", f"{len(raw)} bytes")
    body, crc = raw[:-CRC_BYTES], struct.unpack("<I", raw[-CRC_BYTES:])[0]
    if zlib.crc32(body) != crc:
        raise FrameError("crc", f"crc {crc:08x} != {zlib.crc32(body):08x}")
    dst, src, typ, ks, seq, ack, tag, rsv1, pid, length, rsv2, vaddr = _HDR.unpack(body[:HEADER_BYTES])
    kind, status, nak = ks & 15, (ks >> 4) & 7, ks >> 7
    if typ not in (TYPE_MSG, TYPE_ACK) or rsv1 or rsv2:
        raise FrameError("malformed", f"type {typ} / reserved bits set")
    n_payload = 0
    if typ == TYPE_MSG and carries(kind, status):
        if length > max_payload:
            raise FrameError("oversize", f"length {length} > {max_payload}")
        n_payload = length + _pad(length, beat_bytes)
    have = len(body) - HEADER_BYTES
    if have < n_payload:
        raise FrameError("truncated", f"{have} payload bytes, header says {n_payload}")
    if have > n_payload:
        raise FrameError("oversize", f"{have} payload bytes, header says {n_payload}")
    payload = body[HEADER_BYTES:HEADER_BYTES + (length if n_payload else 0)]
    return Frame(dst=dst, src=src, type=typ, kind=kind, status=status, seq=seq, ack=ack, tag=tag, pid=pid,
                 length=length, vaddr=vaddr, payload=payload, nak=nak)


def frame_beats(kind, status, length, beat_bytes=8, type=TYPE_MSG):
    """Number of wire beats of a frame (header, padded payload, CRC beat)."""
    n = HEADER_BYTES // beat_bytes + 1
    if type == TYPE_MSG and carries_data(kind, status):
        n += -(-length // beat_bytes)
    return n


def to_beats(raw: bytes, beat_bytes=8):
    """Split a frame into ``(tdata, tkeep, tlast)`` beats: whole beats, then the CRC alone in the last."""
    body, crc = raw[:-CRC_BYTES], raw[-CRC_BYTES:]
    beats = []
    for i in range(0, len(body), beat_bytes):
        chunk = body[i:i + beat_bytes]
        beats.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, 0))
    beats.append((int.from_bytes(crc, "little"), (1 << CRC_BYTES) - 1, 1))
    return beats


def from_beats(beats, beat_bytes=8) -> bytes:
    """Join ``(tdata, tkeep, ...)`` beats into bytes, keeping only bytes whose ``tkeep`` bit is set."""
    out = bytearray()
    for beat in beats:
        tdata, tkeep = beat[0], beat[1]
        for i in range(beat_bytes):
            if (tkeep >> i) & 1:
                out.append((tdata >> (8 * i)) & 0xFF)
    return bytes(out)


def wire_bytes(kind, status, length, beat_bytes=8, type=TYPE_MSG):
    """Bytes a frame occupies on the wire (the link's bandwidth unit)."""
    return (frame_beats(kind, status, length, beat_bytes, type) - 1) * beat_bytes + CRC_BYTES
