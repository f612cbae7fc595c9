"""Request checker: is a request well formed, and what does it do?"""

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.protocol import MsgHeader, MsgKind, Status

__all__ = ["RequestChecker"]


class RequestChecker(wiring.Component):
    """Combinational checks of a request header (the translator registers them as it takes the header).

    Well formed (else ``BAD_REQUEST``): a LINE_READ/LINE_WRITE of a non-zero multiple of the beat size,
    beat aligned, at most ``max_line_bytes``; a WORD_READ/WORD_WRITE of 1, 2, 4 or 8 bytes, naturally
    aligned; inside one page and inside the virtual address space. Ownership (the owner table) is checked by
    the translator, one cycle later.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    req : In(MsgHeader())
        The request header.
    well_formed : Out(1)
    is_write, is_line : Out(1)
        The request writes; it is a line (not a word) access.
    has_data : Out(1)
        The header announced data beats (a write, or a response kind with OK status sent to the MMU by
        mistake): they must be drained when the request is not carried out.
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"RequestChecker needs MMUParams, not {params!r}")
        self.params = params
        super().__init__({
            "req": In(MsgHeader()),
            "well_formed": Out(1), "is_write": Out(1), "is_line": Out(1), "has_data": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        req = self.req
        kind, length, vaddr = req.kind, req.length, req.vaddr
        lane_bits = p.lane_bits
        is_line = (kind == MsgKind.LINE_READ) | (kind == MsgKind.LINE_WRITE)
        is_word = (kind == MsgKind.WORD_READ) | (kind == MsgKind.WORD_WRITE)
        is_write = (kind == MsgKind.LINE_WRITE) | (kind == MsgKind.WORD_WRITE)
        line_ok = ((length != 0) & (length[:lane_bits] == 0) & (vaddr[:lane_bits] == 0)
                   & (length <= p.max_line_bytes))
        word_ok = (((length == 1) | (length == 2) | (length == 4) | (length == 8))
                   & ((vaddr[:4] & (length[:4] - 1)) == 0))
        in_page = (vaddr[:p.page_bits] + length) <= p.page_bytes
        in_vspace = (vaddr >> p.vaddr_width) == 0
        response_with_data = (((kind == MsgKind.LINE_READ_RESP) | (kind == MsgKind.WORD_READ_RESP))
                              & (req.status == Status.OK))
        m.d.comb += [
            self.is_line.eq(is_line), self.is_write.eq(is_write),
            self.has_data.eq(is_write | response_with_data),
            self.well_formed.eq(Mux(is_line, line_ok, is_word & word_ok) & in_page & in_vspace),
        ]
        return m
