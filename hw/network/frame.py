"""The wire frame of the network interface, defined once as Amaranth data layouts.

A frame is a byte string (see ``docs/protocol.md`` for the diagram)::

    bytes 0..23   FrameHeader (24 bytes, fields little-endian)
    bytes 24..    payload: ``length`` bytes if the message carries data, else none, padded with zero
                  bytes to a whole number of beats
    last 4 bytes  CRC-32 (IEEE 802.3, as ``zlib.crc32``) of everything before it, little-endian,
                  alone in the last beat (``tkeep`` = low 4 bytes)

``firmware/protocol_codec.py`` mirrors this layout in plain Python (it must not import the RTL);
``sim_tests/netif/test_codec.py`` checks the two agree bit for bit.
"""

from amaranth import Cat, Const, Mux, Value
from amaranth.lib import data, enum

from hw.protocol import MsgKind, Status, NODE_ID_WIDTH, TAG_WIDTH, PID_WIDTH, VADDR_WIDTH, LENGTH_WIDTH

__all__ = ["FrameType", "FrameHeader", "layout_cat", "HEADER_BYTES", "SEQ_WIDTH", "CRC_BYTES", "CRC32_POLY",
           "crc32_update_terms", "crc32_step"]

#: Sequence and acknowledgement numbers are 16 bits and wrap around.
SEQ_WIDTH = 16
#: The header is 24 bytes, a whole number of beats for 32- and 64-bit wires.
HEADER_BYTES = 24
CRC_BYTES = 4
#: Reflected CRC-32 polynomial (IEEE 802.3, zlib).
CRC32_POLY = 0xEDB88320


class FrameType(enum.Enum, shape=8):
    """What a frame carries."""
    MSG = 1   #: one message; consumes a sequence number; also carries a cumulative ack
    ACK = 2   #: a standalone cumulative ack; no message, ``seq`` is zero and ignored


class FrameHeader(data.StructLayout):
    """The 24-byte frame header. Field order is bit order: byte 0 is bits 7..0."""

    def __init__(self):
        super().__init__({
            "dst":    NODE_ID_WIDTH,   # byte 0: destination node id (the switch routes on it)
            "src":    NODE_ID_WIDTH,   # byte 1: source node id (stamped by the sending interface)
            "type":   FrameType,       # byte 2
            "kind":   MsgKind,         # byte 3 bits 3..0
            "status": Status,          # byte 3 bits 6..4
            "nak":    1,               # byte 3 bit 7: the sender saw a gap in dst's sequence (go back now)
            "seq":    SEQ_WIDTH,       # bytes 4..5: sequence number of a MSG frame
            "ack":    SEQ_WIDTH,       # bytes 6..7: next sequence number expected from dst (cumulative)
            "tag":    TAG_WIDTH,       # byte 8
            "rsv1":   8,               # byte 9, zero
            "pid":    PID_WIDTH,       # bytes 10..11
            "length": LENGTH_WIDTH,    # bytes 12..13: message length in bytes
            "rsv2":   16,              # bytes 14..15, zero
            "vaddr":  VADDR_WIDTH,     # bytes 16..23
        })
        assert self.size == HEADER_BYTES * 8


def layout_cat(layout, values):
    """A flat value of ``layout`` built from ``values`` (field name -> value; missing fields are zero).

    Unlike assigning field by field to a signal, the result is one expression, so constant fields do
    not become input-less ``always`` blocks in the generated Verilog.
    """
    parts = []
    for name, fld in sorted(layout, key=lambda item: item[1].offset):
        v = values.get(name, 0)
        v = Const(v, fld.width) if isinstance(v, int) else Value.cast(v)
        if len(v) < fld.width:
            v = Cat(v, Const(0, fld.width - len(v)))
        parts.append(v[:fld.width])
    return Cat(*parts)


def _crc32_symbolic(n_bytes):
    """Symbolic reflected CRC-32 over ``n_bytes`` bytes.

    Returns a list of 32 ints; bit ``j`` of the new state is the XOR of the inputs whose bits are set
    in entry ``j``: bits 0..31 of an entry select state bits, bits 32.. select data bits.
    """
    state = [1 << i for i in range(32)]
    for byte in range(n_bytes):
        for bit in range(8):
            state[0] ^= 1 << (32 + byte * 8 + bit)
            lsb = state[0]
            state = state[1:] + [0]
            for j in range(32):
                if (CRC32_POLY >> j) & 1:
                    state[j] ^= lsb
    return state


def crc32_update_terms(n_bytes):
    """XOR terms of a parallel CRC-32 update over ``n_bytes`` data bytes (see :func:`_crc32_symbolic`)."""
    return _crc32_symbolic(n_bytes)


def crc32_step(state, data, n_bytes):
    """Amaranth expression: the CRC-32 register after absorbing ``n_bytes`` bytes of ``data``.

    ``state`` is the raw (un-inverted) register; start from ``0xFFFFFFFF`` and invert at the end,
    like zlib.
    """
    bits = Cat(state[:32], data[:n_bytes * 8])
    terms = crc32_update_terms(n_bytes)
    # Column form of the same GF(2) matrix: every input bit that is set flips a constant pattern of the
    # 32 new state bits. Amaranth keeps ``Mux(bit, pattern, 0)`` as one 32-bit select, so a simulator
    # evaluates a few word operations per input bit. The row form (one masked XOR reduction per output
    # bit) is folded by Amaranth into per-bit concatenations: Verilator then assembled a 96-bit word bit
    # by bit for each of the 32 outputs, which was most of the simulation time of the whole system.
    out = Const(0, 32)
    for i in range(len(bits)):
        column = sum(1 << j for j, mask in enumerate(terms) if (mask >> i) & 1)
        if column:
            out = out ^ Mux(bits[i], column, 0)
    return out
