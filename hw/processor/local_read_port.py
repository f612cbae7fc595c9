"""The non-blocking ExCache's reads of the local-memory line store (``mshrs`` > 1, ``line_store="axi"``).

Three blocks read the line data: the pipeline's read hits, the answer queue's completions (a word each, for
answer-queue slot ``slot``) and the victim's line read of a write-back (:class:`~hw.processor.line_writeback.
LineWriteBack`, ``line``: ``words_per_line`` words). Their read data comes back on the one R channel of
:class:`~hw.processor.line_store_axi.AxiLineStore`, in request order. This port sits between them and the store::

    req (merged requesters) --> held request --(store.rd: en = held, fields held until ready)--> AR
                                     '-- taken by the store: its route (word of slot s | line) --> route FIFO
    R beat --> route FIFO's head: word --> word_valid, word_slot, word_data (the answer queue captures it)
                                  line --> line_valid / line_ready (the write-back stream), popped at its last word

* A request is taken (``req.ready``) when nothing is held or the held one goes to the store in this cycle; it
  is then held in a register that drives the store's ``rd``. The AR channel's valid and payload therefore come
  from registers only: they cannot fall or change before AR's ready, whatever the requesters do next (a
  requester's ``en`` follows stalls and the tag compare), and the store's other decisions that look at AR
  (a write is not taken while AR is valid) add no combinational path back to the requesters.
* ``pending``: a request is held, not yet taken by the store. A write of the pipeline or of the answer queue
  waits while one is (the store orders a read only against writes it has already taken, so a write taken
  before a held read of the same word would overtake it). So does a fill's line write that would open a burst
  (the store refuses it while ``rd.en``): the way it fills may be the held read's, since a completion's read
  releases its MSHR when requested and the next miss of the set may reserve the same way. The beats of a
  burst already open are still taken: stopping them would hold back the B response that a held read waits
  for.
* Routes: each answer-queue slot has at most one word read in flight and there is at most one line read,
  so the route FIFO (``queue_depth + 1`` entries) never overflows. Word beats are always taken; a line's beats
  go at the write-back stream's pace (``line_ready``), and the word reads behind it wait in order.
* No beat is taken while the route FIFO is empty. A line of more than 256 words is read as several AR
  bursts, and the store takes the request (its route is written) only with the last AR: the first burst's
  beats may arrive before that (AR held low for a few cycles by the memory), and taken without a route they
  were lost (the write-back then waited forever for the line's last words: ``nb4swaxi``, session 12).

One cycle is added to a read hit against the blocking controller's local-memory pipeline (whose AR leaves
S1 directly): the request is registered before AR.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.processor.answer_queue import queue_depth
from hw.processor.array_ports import DataReadSignature
from hw.processor.excache_params import ExCacheParams

__all__ = ["LocalReadPort"]


class LocalReadPort(wiring.Component):
    """Held read requests and R-beat routing for the non-blocking controller's local-memory store.

    Parameters
    ----------
    params : ExCacheParams
        With ``mshrs`` > 1 and ``line_store="axi"``.

    Attributes
    ----------
    req : In(DataReadSignature)
        The requesters' merged read port; ``ready``: the request is taken (held) at this edge.
    slot : In(range(queue_depth))
        The answer-queue slot of a word request (with ``req``; ignored for ``line``).
    store : Out(DataReadSignature)
        To the store's ``rd``: the held request.
    rdata : In(data_width)
    rvalid : In(1)
    rready : Out(1)
        The store's read data (R).
    pending : Out(1)
        A request is held, not yet taken by the store.
    word_valid : Out(1)
        Pulse: the R beat of a word read, for answer-queue slot ``word_slot``, is ``word_data``.
    word_slot : Out(range(queue_depth))
    word_data : Out(data_width)
    line_valid : Out(1)
    line_ready : In(1)
        The R beats of the line read (data on ``rdata``): valid, and taken by the write-back stream.
    """

    def __init__(self, params):
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        if params.mshrs < 2 or params.line_store != "axi":
            raise ValueError(f"LocalReadPort is the non-blocking controller's local-memory read port (mshrs > 1, "
                             f"line_store 'axi'), not mshrs {params.mshrs!r}, line_store {params.line_store!r}")
        self.params = p = params
        slots = range(queue_depth(p))
        super().__init__({
            "req":        In(DataReadSignature(p)),
            "slot":       In(slots),
            "store":      Out(DataReadSignature(p)),
            "rdata":      In(p.data_width),
            "rvalid":     In(1),
            "rready":     Out(1),
            "pending":    Out(1),
            "word_valid": Out(1),
            "word_slot":  Out(slots),
            "word_data":  Out(p.data_width),
            "line_valid": Out(1),
            "line_ready": In(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        req, store = self.req, self.store
        depth = queue_depth(p)

        # The held request: it alone drives the store.
        held = Signal()
        held_slot = Signal.like(self.slot)
        m.d.comb += [store.en.eq(held), self.pending.eq(held)]
        fields = ("set", "way", "word", "line")
        regs = {f: Signal.like(getattr(req, f), name=f"held_{f}") for f in fields}
        m.d.comb += [getattr(store, f).eq(regs[f]) for f in fields]
        taken = held & store.ready
        m.d.comb += req.ready.eq(~held | taken)
        with m.If(req.en & req.ready):
            m.d.sync += [held.eq(1), held_slot.eq(self.slot), *(regs[f].eq(getattr(req, f)) for f in fields)]
        with m.Elif(taken):
            m.d.sync += held.eq(0)

        # Routes of the reads the store took, in request order (the order of their R beats).
        m.submodules.route = route = SyncFIFO(width=len(held_slot) + 1, depth=depth + 1)
        m.d.comb += [route.w_en.eq(taken), route.w_data.eq(Cat(held_slot, regs["line"]))]
        head_slot = route.r_data[:len(held_slot)]
        head_line = route.r_data[-1]
        beat = self.rvalid & route.r_rdy
        words = Signal(p.word_bits + 1)        # beats of the line read taken so far
        line_last = words == p.words_per_line - 1
        m.d.comb += [
            self.rready.eq(route.r_rdy & (~head_line | self.line_ready)),
            self.word_valid.eq(beat & ~head_line), self.word_slot.eq(head_slot), self.word_data.eq(self.rdata),
            self.line_valid.eq(beat & head_line),
        ]
        line_taken = beat & head_line & self.line_ready
        with m.If(line_taken):
            m.d.sync += words.eq(Mux(line_last, 0, words + 1))
        m.d.comb += route.r_en.eq((beat & ~head_line) | (line_taken & line_last))
        return m
