"""Data mover: carries out one translated request on DRAM and moves its data beats, or drains them."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.memory.params import MMUParams
from hw.memory.ports import BurstSignature
from hw.protocol import DataBeat, LENGTH_WIDTH

__all__ = ["DataMover"]


class DataMover(wiring.Component):
    """One request's DRAM transaction, between the message data streams and the AXI port.

    ``start`` (with ``paddr``, ``write``, ``line``, ``length``, sampled in that cycle) runs it: a line of
    ``length / beat`` beats is carried as INCR bursts of at most 256 beats, split at 4 KiB boundaries (AXI
    rules; a line never crosses its page, see the request checker); a word is one beat, shifted to its byte lane and masked by
    ``wstrb`` (writes) or shifted down and masked (reads). A read asks for its first burst in the cycle it
    starts (``start``; from the inputs) and for the response header (``hdr_valid``/``hdr_ready``) from the
    next cycle on, and streams the data beats once both are done; a write takes the
    beats from ``rx_data`` and ends with the B response. ``drain`` instead consumes the beats of a request
    that is not carried out, up to the one with ``last``. ``done`` is high in the last cycle of either.

    The header goes right behind the first AR, not after the data: the network interface needs the
    header's three wire beats (and its send pipeline, 2 cycles when it is idle) before the first data beat
    can follow it, and the DRAM's first beat comes ``dram_latency + 1`` cycles after the AR handshake, so
    the two meet (issue 13's line-miss latency; an AR a cycle later, or a header that waited for the AR
    handshake, holds the frame back a cycle). The frame therefore may start while the
    AR still waits for the DRAM port; it then pauses on the wire for the first beat, as any cut-through
    frame does (``docs/netif.md``, "Cut-through").

    Reads ask for later bursts while earlier ones stream and, once a read's bursts are all asked for, for
    the first burst of the *next* request if the responder says it is a read it will carry out
    (``next_read``; ``paddr``/``line``/``length`` are the request queue's head): its beats then wait in the
    subordinate and stream as soon as its header is out, so back-to-back line reads keep the wire busy
    instead of paying the DRAM latency each (issue 13's link utilisation). That early address is taken from
    registers (stable while it waits for ``arready``, also after the request was taken), it goes before
    the request's later bursts, and the port stays held (``req``) until its beats are in. So a
    subordinate that accepts several read addresses returns the beats back to back;
    the beats leave as one response with ``last`` on the request's final beat. Writes issue each burst's
    address after the previous burst's data, take B responses whenever they come and finish with the
    last one. Every address and length is a register, stable while its valid waits for ready.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    start, drain : In(1)
        Begin an access / a drain (only while idle).
    next_read : In(1)
        While a read streams: the request the responder takes next is a read it will carry out, and
        ``paddr``/``line``/``length`` are already its values (the mover may ask for its first burst).
    paddr : In(paddr_width)
    write, line : In(1)
    length : In(16)
        Bytes of the request.
    hdr_valid : Out(1), hdr_ready : In(1)
        Read response header handshake (the responder forms the header).
    done : Out(1)
    rx_data : In(stream.Signature(DataBeat(data_width)))
        Request data beats (writes, drains).
    tx_data : Out(stream.Signature(DataBeat(data_width)))
        Response data beats (reads).
    mem : Out(BurstSignature(paddr_width, data_width))
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"DataMover needs MMUParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "start": In(1), "drain": In(1), "next_read": In(1),
            "paddr": In(p.paddr_width), "write": In(1), "line": In(1), "length": In(LENGTH_WIDTH),
            "hdr_valid": Out(1), "hdr_ready": In(1), "done": Out(1),
            "rx_data": In(stream.Signature(DataBeat(p.data_width))),
            "tx_data": Out(stream.Signature(DataBeat(p.data_width))),
            "mem": Out(BurstSignature(p.paddr_width, p.data_width)),
        })

    def _burst(self, m, addr, left, prefix):
        """The beats of the burst from ``addr`` with ``left`` beats still to ask for: at most 256, and never
        across a 4 KiB boundary (AXI)."""
        lane_bits = self.params.lane_bits
        to_4k = Signal(13 - lane_bits + 1, name=f"{prefix}to_4k")
        burst = Signal(9, name=f"{prefix}burst")
        m.d.comb += [
            to_4k.eq((Const(4096, 13) - addr[:12]) >> lane_bits),
            burst.eq(Mux((left < to_4k) & (left < 256), left, Mux(to_4k < 256, to_4k, 256))),
        ]
        return burst

    def _in_page(self, addr, step):
        """``addr`` advanced by ``step`` bytes inside its page. A request never leaves its page (the request
        checker), so the page number stays and the adder is ``page_bits`` wide, not ``paddr_width``: the
        32-bit carry chain from the burst length into ``a_addr`` was the MMU's critical path (issue 18). Only
        the address after a request's last burst wraps inside the page instead of reaching the next one;
        no address is asked for then (``a_left`` is 0)."""
        pb = self.params.page_bits
        return Cat((addr[:pb] + step)[:pb], addr[pb:])

    def _word_masks(self, m, length):
        """A word access of ``length`` bytes: its byte strobes (``wstrb`` in the low lanes) and its bytes as a
        data-width mask in the low lanes."""
        word_mask = Signal(8)
        lane_mask = Signal(self.params.data_width)
        m.d.comb += [
            word_mask.eq(Mux(length == 8, 0xFF, Mux(length == 4, 0x0F, Mux(length == 2, 0x03, 0x01)))),
            lane_mask.eq(Cat(*[Mux(word_mask[i], 0xFF, 0) for i in range(8)])),
        ]
        return word_mask, lane_mask

    def _b_wait(self, m, issuing_write, b_taken, width):
        """Write bursts whose B response has not come: one more with each write address, one less with each B."""
        b_wait = Signal(width)
        with m.If(issuing_write & ~b_taken):
            m.d.sync += b_wait.eq(b_wait + 1)
        with m.Elif(b_taken & ~issuing_write):
            m.d.sync += b_wait.eq(b_wait - 1)
        return b_wait

    def elaborate(self, platform):
        p = self.params
        m = Module()
        mem, rx, tx = self.mem, self.rx_data, self.tx_data
        bb, lane_bits = p.beat_bytes, p.lane_bits
        max_beats = p.max_line_bytes >> lane_bits
        cw = max_beats.bit_length()          # counts 0 .. max_beats
        paddr = Signal(p.paddr_width)
        write, line = Signal(), Signal()
        length = Signal(LENGTH_WIDTH)
        with m.If(self.start):
            m.d.sync += [paddr.eq(self.paddr), write.eq(self.write), line.eq(self.line), length.eq(self.length)]
        lane = paddr[:lane_bits]
        beats = Signal(cw)                   # beats of the whole request
        m.d.comb += beats.eq(Mux(line, (length >> lane_bits)[:cw], 1))
        word_mask, lane_mask = self._word_masks(m, length)

        # Address issuer: the request as bursts of at most 256 beats that never cross a 4 KiB boundary
        # (AXI rule; the checker already keeps a line inside its page). ``a_addr``/``a_left`` are the
        # next burst's address and the beats not yet asked for; both are registers, so an address
        # waiting for ready keeps its payload.
        a_addr = Signal(p.paddr_width)
        a_left = Signal(cw)
        burst = self._burst(m, a_addr, a_left, "")
        # The next request's first burst (``next_read``): the same rule from the inputs, into registers.
        n_addr = Signal(p.paddr_width)
        n_left = Signal(cw)
        m.d.comb += [n_addr.eq(self.paddr & ~(bb - 1)), n_left.eq(Mux(self.line, (self.length >> lane_bits)[:cw], 1))]
        n_burst = self._burst(m, n_addr, n_left, "n_")
        pre = Signal()                   # an early first burst exists (asked for, or waiting for arready)
        pre_asking = Signal()            # ... and waits for arready
        pre_addr = Signal(p.paddr_width)
        pre_beats = Signal(9)
        pre_decide = Signal()            # (READ_DATA) ask for the next request's first burst from the next cycle
        with m.If(pre_decide):
            m.d.sync += [pre.eq(1), pre_asking.eq(1), pre_addr.eq(n_addr), pre_beats.eq(n_burst)]
        with m.If(self.start):
            # An early first burst (asked for or not yet) belongs to this request: go on after it.
            m.d.sync += [a_addr.eq(self._in_page(n_addr, Mux(pre, pre_beats << lane_bits, 0))),
                         a_left.eq(n_left - Mux(pre, pre_beats, 0))]
        issuing = Signal()               # this cycle's address handshake of the request's own bursts
        a_valid = a_left != 0
        own_ar = Signal()                # the state asks for the request's own bursts (a_valid)
        # A read's first burst is asked for in the cycle it starts, from the inputs (they are the request
        # queue's head, stable while the responder offers it), not a cycle later from a_addr: its DRAM beats
        # come a cycle earlier (issue 13's line-miss latency). If the address is taken (``early_taken``),
        # a_addr/a_left step past that burst in the next cycle, while the own address is held back (the
        # handshake only sets a flip-flop); if not, ISSUE keeps asking with the same address and length
        # (a_addr, a_left are the same values), as AXI requires of a valid address.
        early = Signal()                 # IDLE: a read without an early burst starts now
        early_taken = Signal()           # ... and its first address was taken (registered)
        m.d.sync += early_taken.eq(early & mem.arready)
        with m.If(early):
            m.d.comb += [mem.arvalid.eq(1), mem.araddr.eq(n_addr), mem.arlen.eq(n_burst - 1)]
        with m.Elif(write):
            m.d.comb += [mem.awaddr.eq(a_addr), mem.awlen.eq(burst - 1), issuing.eq(mem.awvalid & mem.awready)]
        with m.Elif(pre_asking):
            # The early burst first, in any state, until taken (AXI: a valid address stays until ready).
            m.d.comb += [mem.arvalid.eq(1), mem.araddr.eq(pre_addr), mem.arlen.eq(pre_beats - 1)]
            with m.If(mem.arready):
                m.d.sync += pre_asking.eq(0)
        with m.Else():
            m.d.comb += [mem.arvalid.eq(own_ar), mem.araddr.eq(a_addr), mem.arlen.eq(burst - 1),
                         issuing.eq(own_ar & mem.arready)]
        with m.If(issuing | early_taken):
            m.d.sync += [a_addr.eq(self._in_page(a_addr, burst << lane_bits)), a_left.eq(a_left - burst)]

        beat = Signal(cw)                # read: beats passed on; write: beats left in the current burst
        b_wait = self._b_wait(m, issuing & write, mem.bvalid & mem.bready, cw)
        last = beat == beats - 1

        hdr_sent = Signal()              # a read's header was taken while its first AR waited
        with m.FSM(name="mover_fsm"):
            with m.State("IDLE"):
                # An early burst's beats must come back to this manager: keep the port.
                m.d.comb += [mem.req.eq(pre | early), early.eq(self.start & ~self.write & ~pre)]
                m.d.sync += [beat.eq(0), hdr_sent.eq(0)]
                with m.If(self.start):
                    m.d.sync += pre.eq(0)
                    with m.If(pre | (early & mem.arready)):
                        m.next = "READ_HDR"
                    with m.Else():
                        m.next = "ISSUE"
                with m.Elif(self.drain):
                    m.next = "DRAIN"
            with m.State("ISSUE"):
                # A read's first burst, or the next write burst (earlier write bursts' B may come meanwhile).
                m.d.comb += mem.req.eq(1)
                with m.If(write):
                    m.d.comb += [mem.awvalid.eq(1), mem.bready.eq(1)]
                    with m.If(mem.awready):
                        m.d.sync += beat.eq(burst)
                        m.next = "WRITE_W"
                with m.Else():
                    m.d.comb += [own_ar.eq(1), self.hdr_valid.eq(~hdr_sent)]
                    hdr_done = hdr_sent | self.hdr_ready
                    with m.If(self.hdr_ready):
                        m.d.sync += hdr_sent.eq(1)
                    with m.If(mem.arready & hdr_done):
                        m.next = "READ_DATA"
                    with m.Elif(mem.arready):
                        m.next = "READ_HDR"
            with m.State("WRITE_W"):
                w_last = beat == 1
                m.d.comb += [mem.req.eq(1), mem.bready.eq(1),
                             mem.wvalid.eq(rx.valid), rx.ready.eq(mem.wready), mem.wlast.eq(w_last)]
                with m.If(line):
                    m.d.comb += [mem.wdata.eq(rx.payload.data), mem.wstrb.eq((1 << bb) - 1)]
                with m.Else():
                    m.d.comb += [mem.wdata.eq((rx.payload.data & lane_mask) << (lane * 8)),
                                 mem.wstrb.eq(word_mask << lane)]
                with m.If(rx.valid & mem.wready):
                    m.d.sync += beat.eq(beat - 1)
                    with m.If(w_last & a_valid):
                        m.next = "ISSUE"
                    with m.Elif(w_last):
                        m.next = "WRITE_B"
            with m.State("WRITE_B"):
                m.d.comb += [mem.req.eq(1), mem.bready.eq(1)]
                with m.If(mem.bvalid & (b_wait == 1)):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
            with m.State("READ_HDR"):
                # (Not the first burst again in the cycle after it was taken early: a_addr steps past it now.)
                m.d.comb += [mem.req.eq(1), own_ar.eq(a_valid & ~early_taken), self.hdr_valid.eq(1)]
                with m.If(self.hdr_ready):
                    m.next = "READ_DATA"
            with m.State("READ_DATA"):
                # Later bursts are asked for while earlier ones stream (a subordinate may accept them early).
                m.d.comb += [mem.req.eq(1), own_ar.eq(a_valid),
                             tx.valid.eq(mem.rvalid), mem.rready.eq(tx.ready), tx.payload.last.eq(last)]
                # Then the next request's first burst, once this one's are all asked for.
                m.d.comb += pre_decide.eq(~a_valid & ~pre & ~pre_asking & self.next_read)
                with m.If(line):
                    m.d.comb += tx.payload.data.eq(mem.rdata)
                with m.Else():
                    m.d.comb += tx.payload.data.eq((mem.rdata >> (lane * 8)) & lane_mask)
                with m.If(mem.rvalid & tx.ready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(last):
                        m.d.comb += self.done.eq(1)
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += rx.ready.eq(1)
                with m.If(rx.valid & rx.payload.last):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        return m
