"""A small top that follows the system contract, to test the harness binding on its own.

It has the ports of ``hw.system.top.SystemTop`` (``cpu_req``, ``cpu_resp``, ``csr``, ``irq_proc``, ``irq_mem``,
``probe``) around a deliberately simple memory:

* 64-bit words, ``depth`` of them, addressed by ``vaddr`` (the pid is carried but not used for data);
* a one-entry "page cache": an access to the last page touched is a hit (response after 2 cycles); any
  other page is a miss that strobes ``probe.miss``, ``probe.fetch`` after ``fetch_cycles`` and
  ``probe.fill`` after ``fill_cycles`` more (``probe.evict`` with ``miss`` if a page was held);
* pages at or above the ``limit`` register fault: the access waits with ``irq_mem`` high until firmware
  writes ``grant`` (new limit, the access is retried) or ``refuse`` (answered with status FAULT);
* ``irq_proc`` rises when the number of completed accesses reaches ``alarm_at`` (non-zero), until
  firmware writes ``ack``.

Request and response payloads are wider than 64 bits on purpose, so the binding's wide-port path is
exercised.
"""

from amaranth import Module, Signal, Mux
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature, CSRDecoder, Register, RegisterMap

__all__ = ["ToyOp", "ToyStatus", "ToyRequest", "ToyResponse", "ToyProbe", "TOY_REGS", "ToySystem"]


class ToyOp(enum.Enum, shape=1):
    READ = 0
    WRITE = 1


class ToyStatus(enum.Enum, shape=2):
    OK = 0
    FAULT = 1


class ToyRequest(data.StructLayout):
    def __init__(self):
        super().__init__({"op": ToyOp, "pid": 16, "vaddr": 32, "strb": 8, "wdata": 64})


class ToyResponse(data.StructLayout):
    def __init__(self):
        super().__init__({"rdata": 64, "status": ToyStatus})


class ToyProbe(data.StructLayout):
    def __init__(self):
        super().__init__({"miss": 1, "fetch": 1, "fill": 1, "evict": 1})


TOY_REGS = RegisterMap("toy", [
    Register("hits", 0, "r", "accesses to the held page"),
    Register("misses", 1, "r", "accesses to another page"),
    Register("limit", 2, "rw", "pages below this number are accessible"),
    Register("fault_page", 3, "r", "page of the access waiting on a fault"),
    Register("grant", 4, "w", "set limit and retry the faulting access"),
    Register("refuse", 5, "w", "answer the faulting access with FAULT"),
    Register("alarm_at", 6, "rw", "raise irq_proc when this many accesses completed (0: never)"),
    Register("ack", 7, "w", "clear irq_proc and alarm_at"),
    Register("evictions", 8, "r", "misses that replaced a held page"),
])


class ToySystem(wiring.Component):
    """The toy system top.

    Parameters
    ----------
    depth : int
        Memory words (power of two).
    page_words : int
        Words per page (power of two).
    fetch_cycles, fill_cycles : int
        Cycles of the two miss stages.

    Attributes
    ----------
    cpu_req : In stream of ToyRequest
        CPU accesses.
    cpu_resp : Out stream of ToyResponse
        One response per access, in order.
    csr : In CSRBusSignature
        Registers ``TOY_REGS``.
    irq_proc, irq_mem : Out(1)
        Interrupt lines (see the module docstring).
    probe : Out(ToyProbe)
        One-cycle strobes at miss-stage boundaries.
    """

    def __init__(self, depth=1024, page_words=16, fetch_cycles=5, fill_cycles=3):
        for name, v in (("depth", depth), ("page_words", page_words)):
            if not isinstance(v, int) or v < 1 or v & (v - 1):
                raise TypeError(f"{name} must be a power of two, not {v!r}")
        for name, v in (("fetch_cycles", fetch_cycles), ("fill_cycles", fill_cycles)):
            if not isinstance(v, int) or v < 1:
                raise TypeError(f"{name} must be a positive integer, not {v!r}")
        self.depth, self.page_words = depth, page_words
        self.fetch_cycles, self.fill_cycles = fetch_cycles, fill_cycles
        super().__init__({
            "cpu_req": In(stream.Signature(ToyRequest())),
            "cpu_resp": Out(stream.Signature(ToyResponse())),
            "csr": In(CSRBusSignature(TOY_REGS.addr_width)),
            "irq_proc": Out(1),
            "irq_mem": Out(1),
            "probe": Out(ToyProbe()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.dec = dec = CSRDecoder(TOY_REGS)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        regs = dec.regs

        m.submodules.mem = mem = Memory(shape=64, depth=self.depth, init=[])
        rd = mem.read_port(domain="comb")
        wr = mem.write_port(granularity=8)

        word_bits = (self.depth - 1).bit_length()
        page_shift = 3 + (self.page_words - 1).bit_length()
        req = Signal(ToyRequest())
        page = req.vaddr[page_shift:]
        held, held_valid = Signal(32), Signal()
        hits, misses, evictions = Signal(32), Signal(32), Signal(32)
        limit, fault_page = Signal(32), Signal(32)
        alarm_at, completed, irq_proc = Signal(32), Signal(32), Signal()
        count = Signal(16)
        resp_valid = Signal()
        resp = Signal(ToyResponse())

        m.d.comb += [
            rd.addr.eq(req.vaddr[3:3 + word_bits]),
            wr.addr.eq(req.vaddr[3:3 + word_bits]),
            wr.data.eq(req.wdata),
            self.cpu_resp.valid.eq(resp_valid),
            self.cpu_resp.payload.eq(resp),
            regs["hits"].r_data.eq(hits),
            regs["misses"].r_data.eq(misses),
            regs["evictions"].r_data.eq(evictions),
            regs["limit"].r_data.eq(limit),
            regs["fault_page"].r_data.eq(fault_page),
            regs["alarm_at"].r_data.eq(alarm_at),
            self.irq_proc.eq(irq_proc),
        ]
        with m.If(self.cpu_resp.valid & self.cpu_resp.ready):
            m.d.sync += [resp_valid.eq(0), completed.eq(completed + 1)]
            with m.If((alarm_at != 0) & (completed + 1 == alarm_at)):
                m.d.sync += irq_proc.eq(1)
        with m.If(regs["limit"].w_stb):
            m.d.sync += limit.eq(regs["limit"].w_data)
        with m.If(regs["alarm_at"].w_stb):
            m.d.sync += alarm_at.eq(regs["alarm_at"].w_data)
        with m.If(regs["ack"].w_stb):
            m.d.sync += [irq_proc.eq(0), alarm_at.eq(0)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cpu_req.ready.eq(~resp_valid | self.cpu_resp.ready)
                with m.If(self.cpu_req.valid & self.cpu_req.ready):
                    m.d.sync += req.eq(self.cpu_req.payload)
                    m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(page >= limit):
                    m.d.sync += fault_page.eq(page)
                    m.next = "FAULT"
                with m.Elif(held_valid & (held == page)):
                    m.d.sync += hits.eq(hits + 1)
                    m.next = "EXEC"
                with m.Else():
                    m.d.comb += [self.probe.miss.eq(1), self.probe.evict.eq(held_valid)]
                    m.d.sync += [misses.eq(misses + 1), evictions.eq(evictions + held_valid), count.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.sync += count.eq(count + 1)
                with m.If(count == self.fetch_cycles - 1):
                    m.d.comb += self.probe.fetch.eq(1)
                    m.d.sync += count.eq(0)
                    m.next = "FILL"
            with m.State("FILL"):
                m.d.sync += count.eq(count + 1)
                with m.If(count == self.fill_cycles - 1):
                    m.d.comb += self.probe.fill.eq(1)
                    m.d.sync += [held.eq(page), held_valid.eq(1)]
                    m.next = "EXEC"
            with m.State("EXEC"):
                with m.If(~resp_valid | self.cpu_resp.ready):
                    with m.If(req.op == ToyOp.WRITE):
                        m.d.comb += wr.en.eq(req.strb)
                    m.d.sync += [resp.rdata.eq(Mux(req.op == ToyOp.READ, rd.data, 0)),
                                 resp.status.eq(ToyStatus.OK), resp_valid.eq(1)]
                    m.next = "IDLE"
            with m.State("FAULT"):
                m.d.comb += self.irq_mem.eq(1)
                with m.If(regs["grant"].w_stb):
                    m.d.sync += limit.eq(regs["grant"].w_data)
                    m.next = "CHECK"
                with m.Elif(regs["refuse"].w_stb):
                    m.d.sync += [resp.rdata.eq(0), resp.status.eq(ToyStatus.FAULT), resp_valid.eq(1)]
                    m.next = "IDLE"
        return m
