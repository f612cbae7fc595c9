"""Signatures of the named ports between the MMU's sub-components (see docs/mmu.md, "Structure").

Each is written from the side that drives most of it (flip it for the other side).
"""

from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.protocol import LENGTH_WIDTH, MsgKind, NODE_ID_WIDTH, PID_WIDTH, Status, TAG_WIDTH, VADDR_WIDTH

__all__ = ["BurstSignature", "OwnerSetSignature", "FaultSignature", "WindowRegsSignature", "TranslatedRequest"]


class TranslatedRequest(data.StructLayout):
    """A request the translator has decided (translator -> request queue -> responder): what the response
    header echoes, the outcome (``status``; ``OK`` means carry it out at ``paddr``) and what the data
    mover needs."""

    def __init__(self, paddr_width):
        super().__init__({
            "kind": MsgKind, "src": NODE_ID_WIDTH, "tag": TAG_WIDTH, "pid": PID_WIDTH, "vaddr": VADDR_WIDTH,
            "length": LENGTH_WIDTH, "status": Status, "paddr": paddr_width,
            "is_write": 1, "is_line": 1, "has_data": 1,
        })


class BurstSignature(wiring.Signature):
    """One AXI4 manager as the MMU's sub-components see it: addresses, lengths, data and handshakes, plus
    ``req``. Size, burst type, cache, protection, lock and ID are constant and driven by
    :class:`hw.memory.axi_arbiter.AXIArbiter`.

    ``req`` (Out) is high from the cycle the manager raises its first address valid until the cycle of
    its last response handshake; the arbiter grants the port (in that cycle, or from a register one
    cycle later) and keeps the grant while ``req`` stays high. Address and write valids are high only
    while ``req`` is.
    """

    def __init__(self, addr_width, data_width):
        self.addr_width, self.data_width = addr_width, data_width
        super().__init__({
            "req": Out(1),
            "araddr": Out(addr_width), "arlen": Out(8), "arvalid": Out(1), "arready": In(1),
            "rdata": In(data_width), "rresp": In(2), "rlast": In(1), "rvalid": In(1), "rready": Out(1),
            "awaddr": Out(addr_width), "awlen": Out(8), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1), "wvalid": Out(1),
            "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        })

    def __eq__(self, other):
        return (type(other) is type(self) and other.addr_width == self.addr_width
                and other.data_width == self.data_width)

    def __repr__(self):
        return f"BurstSignature({self.addr_width}, {self.data_width})"


class OwnerSetSignature(wiring.Signature):
    """A write to the owner table (register bank -> owner table): bind or unbind ``pid``."""

    def __init__(self):
        super().__init__({"stb": Out(1), "pid": Out(PID_WIDTH), "node": Out(NODE_ID_WIDTH), "valid": Out(1)})


class FaultSignature(wiring.Signature):
    """The fault queue head (fault queue -> register bank) and firmware's answer (``resolve``)."""

    def __init__(self):
        super().__init__({
            "pending": Out(1), "write": Out(1), "kind": Out(4), "src": Out(NODE_ID_WIDTH),
            "pid": Out(PID_WIDTH), "vaddr": Out(VADDR_WIDTH),
            "resolve": In(1), "resolve_cmd": In(2),
        })


class WindowRegsSignature(wiring.Signature):
    """The memory window's registers (register bank -> memory window) and what the window writes back."""

    def __init__(self):
        super().__init__({
            "addr": Out(64), "wdata": Out(64), "len": Out(32), "cmd_stb": Out(1), "cmd": Out(2),
            "addr_load": In(1), "addr_next": In(64), "len_load": In(1), "len_next": In(32),
            "rdata": In(64), "busy": In(1), "error": In(1),
        })
