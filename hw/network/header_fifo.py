"""The receive buffer's header FIFO: first word fall through, with its output taken from a register.

A plain first-word-fall-through FIFO in LUT RAM (``amaranth.lib.fifo.SyncFIFO``) offers its head through
the RAM's combinational read: the read pointer, the RAM and whatever the consumer does with the header
form one path (issue 18: the memory component's critical path ran from the netif's header FIFO read
address through the RAM into the MMU's page match). This FIFO holds its head in a register instead, so
``r_data`` and ``r_rdy`` come from flip-flops, without the extra cycle of a FIFO with a registered output
(``SyncFIFOBuffered``): a word written while the head register is empty, or being emptied with nothing
behind it, goes straight into the head register, and is offered in the next cycle, as the fall-through
FIFO would offer it. Otherwise it goes into a ``SyncFIFO`` of ``depth - 1`` entries behind the head, from
whose output the head is refilled when it is taken. The capacity is ``depth`` (the head and ``depth - 1``
behind it; an entry waits behind the head only while the head is full).

::

    cycle        c          c + 1               c + 2
    w_en         word A     word B
    head         -          A (r_rdy)           A, or B if A was taken in c + 1
    behind       -          -                   B, or empty
"""

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

__all__ = ["HeaderFIFO"]


class HeaderFIFO(wiring.Component):
    """First-word-fall-through FIFO with a registered head (see the module docstring); the ports of
    ``SyncFIFO``'s, cycle for cycle.

    Parameters
    ----------
    width : int
        Bits per entry.
    depth : int
        Entries held (at least 2).

    Attributes
    ----------
    w_data : In(width)
    w_en : In(1)
        Write ``w_data``; only while ``w_rdy``.
    w_rdy : Out(1)
        Fewer than ``depth`` entries held.
    r_data : Out(width)
        The oldest entry, from a register.
    r_rdy : Out(1)
        An entry is held (a register).
    r_en : In(1)
        Take ``r_data`` (when ``r_rdy``).
    """

    def __init__(self, width, depth):
        if not isinstance(width, int) or width < 1:
            raise TypeError(f"HeaderFIFO width must be a positive integer, not {width!r}")
        if not isinstance(depth, int) or depth < 2:
            raise TypeError(f"HeaderFIFO depth must be an integer of at least 2, not {depth!r}")
        self.width, self.depth = width, depth
        super().__init__({
            "w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
            "r_data": Out(width), "r_rdy": Out(1), "r_en": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.behind = behind = SyncFIFO(width=self.width, depth=self.depth - 1)
        head_free = ~self.r_rdy | self.r_en          # the head register may be loaded in this cycle
        # A word goes behind the head unless the head takes it now (free, and nothing waits behind it).
        direct = head_free & ~behind.r_rdy
        m.d.comb += [
            self.w_rdy.eq(behind.w_rdy),               # the head is full whenever a word waits behind it
            behind.w_data.eq(self.w_data), behind.w_en.eq(self.w_en & ~direct),
            behind.r_en.eq(head_free),
        ]
        with m.If(head_free):
            m.d.sync += [self.r_data.eq(Mux(behind.r_rdy, behind.r_data, self.w_data)),
                         self.r_rdy.eq(behind.r_rdy | self.w_en)]
        return m
