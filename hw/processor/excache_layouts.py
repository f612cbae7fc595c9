"""Stream payloads and enums of the ExCache (CPU port, miss path, maintenance)."""

from amaranth.lib import data, enum

from hw.protocol import Status

__all__ = ["CpuOp", "CpuReq", "CpuResp", "TagEntry", "MissKind", "MissEvent", "MissCmdOp", "MissCmd",
           "VictimState", "MaintOp"]


class CpuOp(enum.Enum, shape=1):
    """What a CPU request does."""
    READ = 0
    WRITE = 1


class CpuReq(data.StructLayout):
    """One CPU access: the ``data_width`` word containing byte ``vaddr``."""

    def __init__(self, params):
        super().__init__({
            "op":    CpuOp,
            "pid":   params.pid_width,
            "vaddr": params.vaddr_width,          # byte address; the low byte_bits select nothing
            "strb":  params.data_width // 8,      # byte enables of a write (bit i = byte i of wdata)
            "wdata": params.data_width,
        })


class CpuResp(data.StructLayout):
    """Answer to one CPU access, in request order. ``rdata`` is 0 for writes and faults."""

    def __init__(self, params):
        super().__init__({
            "rdata":  params.data_width,
            "status": Status,
        })


class TagEntry(data.StructLayout):
    """State of one line: its tag, owner process and valid/dirty bits."""

    def __init__(self, params):
        super().__init__({
            "tag":   params.tag_bits,
            "pid":   params.pid_width,
            "valid": 1,
            "dirty": 1,
        })


class VictimState(TagEntry):
    """State of one way of the set under service, as the miss handler sees it."""


class MissKind(enum.Enum, shape=1):
    MISS = 0    #: a CPU access missed; the handler must fill a line (or abort)
    FLUSH = 1   #: a maintenance flush found a dirty line; the handler must write it back (or abort)


class MissEvent(data.StructLayout):
    """What the controller tells the miss handler (hardware or firmware)."""

    def __init__(self, params):
        super().__init__({
            "kind":         MissKind,
            "write":        1,                       # MISS: the missing access is a write
            "pid":          params.pid_width,        # MISS: requester's pid; FLUSH: the line's pid
            "vaddr":        params.vaddr_width,      # MISS: the access's address; FLUSH: the line's address
            "set":          max(1, params.index_bits),
            "way":          params.way_bits,         # MISS: suggested victim; FLUSH: the dirty way
            "victim_valid": 1,
            "victim_dirty": 1,
            "victim_pid":   params.pid_width,
            "victim_tag":   params.tag_bits,
        })


class MissCmdOp(enum.Enum, shape=2):
    """Commands the miss handler gives the controller while an event is open."""
    READ_LINE = 0   #: stream the line of ``way`` out on ``wb_data`` (state unchanged)
    MARK_CLEAN = 1  #: clear the dirty bit of ``way`` (its write-back was acknowledged); ends a FLUSH event
    FILL = 2        #: take a line from ``fill_data`` into ``way``, tag it with the missing access, replay; ends a MISS
    ABORT = 3       #: end the event; a MISS is answered with ``status`` and nothing is filled


class MissCmd(data.StructLayout):
    def __init__(self, params):
        super().__init__({
            "op":     MissCmdOp,
            "way":    params.way_bits,
            "status": Status,
        })


class MaintOp(enum.Enum, shape=2):
    """Maintenance commands (CSR ``maint_cmd.op``)."""
    NONE = 0
    INVALIDATE_PID = 1  #: drop every line of the pid, dirty or not (no write-back)
    FLUSH_PID = 2       #: write back every dirty line of the pid; lines stay valid and become clean
    FLUSH_ALL = 3       #: write back every dirty line; lines stay valid and become clean
