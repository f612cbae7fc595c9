"""Component-side message format shared by every block that talks over the network.

A *message* is a header on a header stream, followed (for kinds that carry data) by
``ceil(length / beat_bytes)`` beats on a data stream, the last one flagged ``last``. The two streams of
one direction form a :class:`MessagePort`. The ExCache miss handler, the network interface and the
memory-side MMU all use this one format, so they connect without adapters.

The wire format (sequence numbers, acks, CRC) is the network interface's business and is specified in
``docs/protocol.md``; this module is the single source of the component-side layouts.
"""

from amaranth.hdl import Value, ValueCastable
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import Out

from hw.lib.checks import is_pow2

__all__ = [
    "NODE_ID_WIDTH", "TAG_WIDTH", "PID_WIDTH", "VADDR_WIDTH", "LENGTH_WIDTH",
    "MsgKind", "Status", "MsgHeader", "DataBeat", "MessagePort",
    "carries_data", "is_response", "response_kind",
]

#: Field widths of the component-side header. Blocks may use fewer bits internally (for example a
#: 48-bit virtual address) and zero-extend into these.
NODE_ID_WIDTH = 8
TAG_WIDTH = 8
PID_WIDTH = 16
VADDR_WIDTH = 64
LENGTH_WIDTH = 16


class MsgKind(enum.Enum, shape=4):
    """What a message asks for or answers."""
    LINE_READ = 0        #: read ``length`` bytes (a cache line) at (pid, vaddr); no data beats
    LINE_WRITE = 1       #: write ``length`` bytes at (pid, vaddr); data beats follow
    WORD_READ = 2        #: read up to 8 bytes at (pid, vaddr), naturally aligned; no data beats
    WORD_WRITE = 3       #: write up to 8 bytes at (pid, vaddr), naturally aligned; one data beat
    LINE_READ_RESP = 4   #: answer to LINE_READ; data beats follow if status is OK
    LINE_WRITE_RESP = 5  #: answer to LINE_WRITE; no data beats
    WORD_READ_RESP = 6   #: answer to WORD_READ; one data beat if status is OK
    WORD_WRITE_RESP = 7  #: answer to WORD_WRITE; no data beats


class Status(enum.Enum, shape=3):
    """Outcome of a request, carried in responses (zero in requests)."""
    OK = 0
    PAGE_FAULT = 1   #: no mapping for (pid, vaddr) and the memory monitor refused to create one
    PROT_FAULT = 2   #: permission denied: read-only page written, or pid not owned by the source node
    BAD_REQUEST = 3  #: malformed request (bad length or alignment)
    NODE_DEAD = 4    #: the home memory component of the address failed and no replica holds it (rack failover)


class MsgHeader(data.StructLayout):
    """Header of one message on the component side."""

    def __init__(self):
        super().__init__({
            "kind":   MsgKind,
            "status": Status,
            "src":    NODE_ID_WIDTH,   # set by the network interface from the frame, never trusted from a component
            "dst":    NODE_ID_WIDTH,
            "tag":    TAG_WIDTH,       # request tag, echoed in the response; several may be outstanding
            "pid":    PID_WIDTH,
            "vaddr":  VADDR_WIDTH,
            "length": LENGTH_WIDTH,    # bytes of data requested or carried
        })


class DataBeat(data.StructLayout):
    """One beat of message data, ``width`` bits, little-endian bytes (byte 0 in bits 7..0).

    Parameters
    ----------
    width : int
        Data bits (a power of two, at least 8).
    verdict : bool
        Add the field ``discard``: on the last beat of a message handed over before it was checked (a
        network interface's ``rx`` with receive cut-through, ``docs/netif.md``), 1 says the message failed
        its checks and everything of it (header and beats) must be forgotten; 0 on every other beat.
    """

    def __init__(self, width, verdict=False):
        if not is_pow2(width) or width < 8:
            raise TypeError(f"Data beat width must be a power of two of at least 8 bits, not {width!r}")
        if not isinstance(verdict, bool):
            raise TypeError(f"DataBeat verdict must be a bool, not {verdict!r}")
        fields = {"data": width, "last": 1}
        if verdict:
            fields["discard"] = 1
        super().__init__(fields)


class MessagePort(wiring.Signature):
    """A message source: a header stream and a data stream. Flip it for a sink.

    Parameters
    ----------
    data_width : int
        Width of the data beats in bits (power of two, at least 8).
    verdict : bool
        The data beats carry ``discard`` (:class:`DataBeat`): messages with data may be offered before they
        were checked, and the last beat says whether to keep them. Only a consumer that can undo a message
        may take such a port (a port without it does not connect to one with it).
    """

    def __init__(self, data_width, verdict=False):
        self.data_width = data_width
        self.verdict = verdict
        super().__init__({
            "hdr":  Out(stream.Signature(MsgHeader())),
            "data": Out(stream.Signature(DataBeat(data_width, verdict))),
        })

    def __eq__(self, other):
        return (type(other) is type(self) and other.data_width == self.data_width
                and other.verdict == self.verdict)

    def __repr__(self):
        return f"MessagePort({self.data_width}, verdict=True)" if self.verdict else f"MessagePort({self.data_width})"


def _equals(value, member):
    """``value == member`` for an Amaranth value (an expression) or a Python int/enum (a bool).

    Python values are compared by their integer code, so the codes a 4-bit kind or a 3-bit status field
    can hold without naming a member (a malformed frame) simply match nothing.
    """
    if isinstance(value, (Value, ValueCastable)):
        return value == member
    return int(getattr(value, "value", value)) == member.value


def carries_data(kind, status=Status.OK):
    """Whether a message of ``kind`` and ``status`` is followed by ``ceil(length / beat_bytes)`` data beats.

    Writes always carry their data; read responses carry it only when ``status`` is OK; nothing else
    does. This is the one statement of the rule for the RTL and the firmware: given Python values
    (:class:`MsgKind`/:class:`Status` members or their integer codes) it returns a ``bool``; given an
    Amaranth value or view of either field it returns a 1-bit expression. (The golden models in
    ``emu/models/`` keep their own statement, so they stay independent of what they check.)
    """
    def kind_is(member):
        return _equals(kind, member)
    return (kind_is(MsgKind.LINE_WRITE) | kind_is(MsgKind.WORD_WRITE) |
            ((kind_is(MsgKind.LINE_READ_RESP) | kind_is(MsgKind.WORD_READ_RESP)) & _equals(status, Status.OK)))


def is_response(kind):
    return MsgKind(kind).value >= MsgKind.LINE_READ_RESP.value


def response_kind(kind):
    """The response kind that answers request ``kind``."""
    kind = MsgKind(kind)
    if is_response(kind):
        raise ValueError(f"{kind} is already a response")
    return MsgKind(kind.value + 4)
