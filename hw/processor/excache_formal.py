"""Formal harnesses of the ExCache (run by ``disagg formal``; see ``docs/verification.md``).

Each harness instantiates :class:`hw.processor.excache.ExCacheTop` in a small configuration with the hardware
miss path, drives its inputs freely and states one guarantee. They look only at the ports, so they hold
whatever the inside of the cache looks like:

``handshake``
    Every stream the ExCache drives obeys valid/ready (asserted); every stream it receives is assumed to.
``pid_isolation``
    A read never returns data of another process. The environment tags every data word it hands the cache
    with the process it belongs to (top bits of the word = pid): a CPU write by pid ``p`` writes words
    tagged ``p``, and the line data answering a LINE_READ for pid ``p`` is tagged ``p``. A read by pid
    ``q`` answered OK must then return a word tagged ``q``.
``no_lost_write``
    A dirty line is never dropped without its write-back: one word ``(P, A)`` chosen by the solver is
    tracked end to end. The environment is a memory that holds that word (any initial value), stores it
    from LINE_WRITE data and returns it in LINE_READ_RESP data. Every read of ``(P, A)`` answered OK
    returns the last value the CPU wrote there before the read was accepted.
``order``
    Responses come out in request order: a read of the tracked word answered OK returns the value it
    had when the read was accepted, not a later write's (part of ``no_lost_write``'s checker, which pairs
    responses with requests in order).

``scenario=True`` narrows ``no_lost_write``'s environment to one eviction round trip: the CPU writes the tracked
word, then accesses another line of its set (the eviction: one way), then reads the word back, at any timing,
with every output taken at once and the memory free in latency and data. Every trace of the narrowed harness
is a trace of the free one (it only adds assumptions and fixes free inputs to one of their values), so a
counterexample found there is one of the property; and its traces are short enough for BMC to reach the
write-back's round trip (41 cycles since the registered tag read, 36 before), which the free harness's BMC does
not.

``line_store="axi"`` builds the cache with its line data in processor-local memory behind the ``lmem`` AXI4 port
(:mod:`hw.processor.line_store_axi`); ``handshake`` then covers that port's channels too (``lmem.ar``/``aw``/``w``
asserted, ``lmem.r``/``b`` assumed), and its ``drop_valid`` mutant drops ``lmem.aw.valid`` instead (a line fill
writes the local memory early in a trace). The local memory is assumed to answer as AXI4 says
(:func:`hw.lib.formal.axi_subordinate_rules`: read data only for an address taken, ``rlast`` on each burst's
last beat, a write response only after its burst's address and last beat): with free inputs a B response that
arrives before its burst's data makes the store's count of writes in flight wrap, and the read address it then
withdraws is no bug of the cache.

``mutation`` names a deliberate bug placed between the checker and the cache, so a test can show each
property catches what it is meant to catch:

* ``"drop_valid"``: ``net_tx.hdr.valid`` is dropped for a cycle while a request waits (handshake);
* ``"alias_pid"``: the cache sees ``pid & ~1`` (two processes share tags: isolation);
* ``"lose_writeback"``: the data beats of LINE_WRITE never reach memory (a lost dirty line);
* ``"reorder_responses"``: a response is held back and let out after the next one (responses out of request
  order: ``pid_isolation``'s and ``no_lost_write``'s checkers pair responses with requests in order, so they
  state the order too).
"""

from types import SimpleNamespace

from amaranth import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.hdl import Assert, Assume, Cover

from hw.lib.formal import (check_harness_choice, AnyConst, AnySeq, drive_free_inputs, handshake_properties, handshake_with_mutant,
                            hold_reset_low, quiet_config_writes, axi_subordinate_rules)
from hw.processor.excache import ExCacheTop
from hw.processor.registers import register_map
from hw.processor.excache_layouts import CpuOp
from hw.processor.excache_params import ExCacheParams
from hw.protocol import MsgKind, Status

__all__ = ["PROPERTIES", "MUTATIONS", "formal_params", "ExCacheFormal"]

PROPERTIES = ("handshake", "pid_isolation", "no_lost_write")
MUTATIONS = {"handshake": "drop_valid", "pid_isolation": "alias_pid", "no_lost_write": "lose_writeback"}
#: Further deliberate bugs a property must catch (``FormalCheck.extra_mutations``).
EXTRA_MUTATIONS = {"pid_isolation": ("reorder_responses",)}

#: Registers whose value the ExCache puts straight into an output payload, which firmware may then write only
#: while no output waits (:func:`hw.lib.formal.quiet_config_writes`). None: the miss handler samples
#: ``mem_node`` once per miss, so the CSR bus is entirely free.
CONFIG_REGISTERS = ()

#: Requests the checker can pair with responses (the cache holds fewer: the 2-stage hit pipeline plus the
#: access that missed).
_PENDING = 4


def formal_params(prop="handshake", line_store="onchip"):
    """The small ExCache configuration the harnesses prove: 2 sets x 2 ways of 64 B lines, 64-bit words,
    2-bit pids, 12-bit addresses, so every mechanism of the default is there with few states. For
    ``no_lost_write`` one line of one 512-bit word (one beat a line), so that a write, its eviction and the
    read that fetches it back fit in a short trace. ``line_store`` as :class:`ExCacheParams`."""
    if prop == "no_lost_write":
        return ExCacheParams(line_bytes=64, sets=1, ways=1, data_width=512, vaddr_width=12, pid_width=2,
                             policy="lru", line_store=line_store)
    return ExCacheParams(line_bytes=64, sets=2, ways=2, data_width=64, vaddr_width=12, pid_width=2,
                         policy="lru", line_store=line_store)


class ExCacheFormal(Elaboratable):
    """Harness of one ExCache property.

    Parameters
    ----------
    prop : str
        One of :data:`PROPERTIES`.
    params : ExCacheParams or None
        Default :func:`formal_params`.
    mutation : str or None
        A deliberate bug (see the module docstring), or ``None`` for the real cache.
    scenario : bool
        ``no_lost_write`` only: the eviction scenario (module docstring).
    line_store : str
        ``"onchip"`` or ``"axi"`` (the ``lmem`` port; module docstring), when ``params`` is not given.
    """

    def __init__(self, prop, params=None, *, mutation=None, scenario=False, line_store="onchip"):
        check_harness_choice("ExCache", prop, PROPERTIES, mutation,
                             {**MUTATIONS, "order": "reorder_responses"})
        if scenario and prop != "no_lost_write":
            raise ValueError(f"only no_lost_write has a scenario, not {prop!r}")
        self.prop, self.mutation, self.scenario = prop, mutation, scenario
        self.params = formal_params(prop, line_store) if params is None else params
        if not isinstance(self.params, ExCacheParams):
            raise TypeError(f"params must be ExCacheParams, not {self.params!r}")

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.dut = dut = ExCacheTop(p, miss_path="hardware")
        hold_reset_low(m)
        # The CPU request reaches the cache through a seam where a mutation can alter it.
        req_pid = Signal(p.pid_width)
        if self.prop == "no_lost_write":
            # The data abstraction (see _no_lost_write) is built into the inputs: the bits it fixes at zero
            # are constants, which the tools then remove from the cache's data path and line store.
            drive_free_inputs(m, dut, skip=[("cpu_req", "payload"), ("net_rx", "data", "payload"), ("csr",)])
            req, rxd = dut.cpu_req.payload, dut.net_rx.data.payload
            wb = p.data_width // 8
            m.d.comb += [req.op.eq(AnySeq(len(req.op.as_value()))), req.vaddr.eq(AnySeq(p.vaddr_width)),
                         req.strb.eq(AnySeq(wb)), req.wdata.eq(spread(AnySeq(wb), wb)),
                         rxd.data.eq(spread(AnySeq(wb), wb)), rxd.last.eq(AnySeq(1))]
        else:
            drive_free_inputs(m, dut, skip=[("cpu_req", "payload"), ("csr",)])
            m.d.comb += dut.cpu_req.payload.eq(AnySeq(len(dut.cpu_req.payload.as_value())))
        m.d.comb += req_pid.eq(AnySeq(p.pid_width))
        if self.scenario:
            # The eviction scenario (see _no_lost_write) takes every output at once.
            m.d.comb += [dut.cpu_resp.ready.eq(1), dut.net_tx.hdr.ready.eq(1), dut.net_tx.data.ready.eq(1)]
        m.d.comb += dut.cpu_req.payload.pid.eq(req_pid & ~1 if self.mutation == "alias_pid" else req_pid)
        if self.prop == "handshake":
            m.d.comb += [dut.csr.addr.eq(AnySeq(len(dut.csr.addr))), dut.csr.r_stb.eq(AnySeq(1)),
                         dut.csr.w_stb.eq(AnySeq(1)), dut.csr.w_data.eq(AnySeq(32))]
            quiet_config_writes(m, dut, dut.csr, [register_map().addr(name) for name in CONFIG_REGISTERS])
        # Otherwise the CSR bus stays idle: maintenance commands (invalidate by pid) drop lines on purpose.
        if p.line_store == "axi":
            axi_subordinate_rules(m, dut.lmem, name="lmem")
        if self.prop == "handshake":
            seam = "lmem.aw" if p.line_store == "axi" else "net_tx.hdr"
            handshake_with_mutant(m, dut, seam if self.mutation == "drop_valid" else None)
        else:
            handshake_properties(m, dut)
        self._resp = self._response_seam(m, dut)
        if self.prop == "pid_isolation":
            self._pid_isolation(m, dut, req_pid)
        elif self.prop == "no_lost_write":
            self._no_lost_write(m, dut, req_pid)
        return m

    # -- the responses the checker sees ------------------------------------------------------------------
    def _response_seam(self, m, dut):
        """What the checker sees of ``cpu_resp``: the cache's responses as they are, or, with the
        ``reorder_responses`` mutation, with one response held back (when the solver says so) and let out
        after the next one."""
        resp = dut.cpu_resp
        if self.mutation != "reorder_responses":
            return resp
        view = SimpleNamespace(valid=Signal(name="seen_resp_valid"), ready=Signal(name="seen_resp_ready"),
                               payload=Signal(resp.payload.shape(), name="seen_resp_payload"))
        held, release = Signal(), Signal()
        held_payload = Signal(resp.payload.shape())
        m.d.comb += view.ready.eq(AnySeq(1))
        with m.If(release):                                   # the held response, after the one that overtook it
            m.d.comb += [view.valid.eq(1), view.payload.eq(held_payload), resp.ready.eq(0)]
            with m.If(view.ready):
                m.d.sync += [held.eq(0), release.eq(0)]
        with m.Elif(~held & resp.valid & AnySeq(1)):          # hold this one back
            m.d.comb += [view.valid.eq(0), resp.ready.eq(1)]
            m.d.sync += [held.eq(1), held_payload.eq(resp.payload)]
        with m.Else():                                        # pass through (overtaking a held one)
            m.d.comb += [view.valid.eq(resp.valid), view.payload.eq(resp.payload), resp.ready.eq(view.ready)]
            with m.If(held & resp.valid & view.ready):
                m.d.sync += release.eq(1)
        return view

    # -- request/response pairing -----------------------------------------------------------------------
    def _pending_fifo(self, m, dut, width):
        """An in-order queue of ``width``-bit records, one per accepted CPU request; returns
        ``(push_data, head, count)``: drive ``push_data``, read ``head`` when a response leaves."""
        entries = [Signal(width, name=f"pending{i}") for i in range(_PENDING)]
        count = Signal(range(_PENDING + 1))
        push_data = Signal(width)
        push = dut.cpu_req.valid & dut.cpu_req.ready
        pop = self._resp.valid & self._resp.ready
        # Keep the checker's queue from overflowing: a cache that accepts more than it can answer is caught
        # by the assertion below, not hidden by the assumption.
        m.d.comb += Assert(~pop | (count != 0), "a response without a request")
        m.d.comb += Assume(~dut.cpu_req.valid | (count < _PENDING - 1))
        new = count + push - pop
        m.d.sync += count.eq(new)
        shifted = entries[1:] + [Const(0, width)]
        after_pop = [Mux(pop, shifted[i], entries[i]) for i in range(_PENDING)]
        slot = count - pop
        for i in range(_PENDING):
            m.d.sync += entries[i].eq(Mux(push & (slot == i), push_data, after_pop[i]))
        return push_data, entries[0], count

    # -- pid isolation ----------------------------------------------------------------------------------
    def _pid_isolation(self, m, dut, req_pid):
        p = self.params
        tag_lo = p.data_width - p.pid_width
        req = dut.cpu_req.payload
        # The environment's data carries its owner in the top bits.
        m.d.comb += Assume(req.wdata[tag_lo:] == req_pid)
        last_read_pid = Signal(p.pid_width)
        tx = dut.net_tx.hdr
        with m.If(tx.valid & tx.ready & (tx.payload.kind == MsgKind.LINE_READ)):
            m.d.sync += last_read_pid.eq(tx.payload.pid)
        m.d.comb += Assume(~dut.net_rx.data.valid | (dut.net_rx.data.payload.data[tag_lo:] == last_read_pid))
        push_data, head, _ = self._pending_fifo(m, dut, 1 + p.pid_width)
        m.d.comb += push_data.eq(Cat(req.op == CpuOp.READ, req_pid))
        resp = self._resp
        is_read, pid = head[0], head[1:]
        m.d.comb += Assert(~(resp.valid & resp.ready & is_read & (resp.payload.status == Status.OK))
                           | (resp.payload.rdata[tag_lo:] == pid), "a read returns its own process's data")
        m.d.comb += Cover(resp.valid & resp.ready & is_read & (resp.payload.status == Status.OK) & (pid == 1))

    # -- no lost write ----------------------------------------------------------------------------------
    def _no_lost_write(self, m, dut, req_pid):
        p = self.params
        wb = p.data_width // 8
        word_bits = (wb - 1).bit_length()
        line_bits = (p.line_bytes - 1).bit_length()
        words = p.line_bytes // wb
        t_pid = AnyConst(p.pid_width)
        t_word = AnyConst(p.vaddr_width - word_bits)          # word address of the tracked word
        init = AnyConst(wb)                                   # its initial value in memory (lane bits)
        req = dut.cpu_req.payload

        def is_target_line(pid, vaddr):
            return (pid == t_pid) & (vaddr[line_bits:p.vaddr_width] == t_word[line_bits - word_bits:])

        target_index = t_word[:line_bits - word_bits]         # the word's index inside its line
        # The memory's copy of the tracked word.
        mem = Signal(wb)
        mem_written = Signal()
        mem_now = Mux(mem_written, mem, init)
        # The CPU's view: the last value written.
        latest = Signal(wb)
        cpu_written = Signal()
        latest_now = Mux(cpu_written, latest, init)
        m.d.comb += Assume(req_pid != 0)   # pid 0 is reserved (no process has it)

        # Data abstraction: every data word the environment hands the cache (CPU writes, line data) has one
        # free bit per byte lane (bit 0 of each byte) and zeros elsewhere. The cache only moves, stores and
        # byte-merges data, treating the bits of a byte lane alike, so a word lost, stale, misplaced or
        # merged into the wrong lane shows in these bits as it would in any; the solver tracks 1/8 of the bits.

        # Every response is OK: a refused write-back may drop a line on purpose.
        m.d.comb += Assume(~dut.net_rx.hdr.valid | (dut.net_rx.hdr.payload.status == Status.OK))
        # Track the cache's requests to memory: is the current LINE_WRITE / the last LINE_READ for the line?
        tx, txd = dut.net_tx.hdr, dut.net_tx.data
        writing_target, write_beat = Signal(), Signal(range(words + 1))
        reading_target = Signal()
        with m.If(tx.valid & tx.ready):
            with m.If(tx.payload.kind == MsgKind.LINE_WRITE):
                m.d.sync += [writing_target.eq(is_target_line(tx.payload.pid, tx.payload.vaddr)),
                             write_beat.eq(0)]
            with m.If(tx.payload.kind == MsgKind.LINE_READ):
                m.d.sync += reading_target.eq(is_target_line(tx.payload.pid, tx.payload.vaddr))
        with m.If(txd.valid & txd.ready):
            m.d.sync += write_beat.eq(write_beat + 1)
            if self.mutation != "lose_writeback":
                with m.If(writing_target & (write_beat == target_index)):
                    m.d.sync += [mem.eq(lanes(txd.payload.data, wb)), mem_written.eq(1)]
        # Memory answers LINE_READ with its copy of the tracked word.
        rx, rxd = dut.net_rx.hdr, dut.net_rx.data
        read_beat = Signal(range(words + 1))
        with m.If(rx.valid & rx.ready):
            m.d.sync += read_beat.eq(0)
        with m.If(rxd.valid & rxd.ready):
            m.d.sync += read_beat.eq(read_beat + 1)
        m.d.comb += Assume(~(rxd.valid & reading_target & (read_beat == target_index))
                           | (lanes(rxd.payload.data, wb) == mem_now))

        # The CPU writes (byte-masked) the tracked word.
        accepted = dut.cpu_req.valid & dut.cpu_req.ready
        hit_target = is_target_line(req_pid, req.vaddr) & (req.vaddr[word_bits:line_bits] == target_index)
        wlanes = lanes(req.wdata, wb)
        merged = Cat(*(Mux(req.strb[i], wlanes[i], latest_now[i]) for i in range(wb)))
        push_data, head, _ = self._pending_fifo(m, dut, 1 + wb)
        # A read of the tracked word expects the value at the time it was accepted.
        m.d.comb += push_data.eq(Cat(hit_target & (req.op == CpuOp.READ), latest_now))
        with m.If(accepted & hit_target & (req.op == CpuOp.WRITE)):
            m.d.sync += [latest.eq(merged), cpu_written.eq(1)]
        if self.scenario:
            # The eviction scenario: the CPU writes the tracked word, then touches another line of its set (which
            # evicts it: one way), then reads it back; any timing, any memory latency, any data.
            n_acc = Signal(2)
            with m.If(accepted & (n_acc != 3)):
                m.d.sync += n_acc.eq(n_acc + 1)
            same_set = req.vaddr[line_bits:line_bits + p.index_bits] == t_word[line_bits - word_bits:][:p.index_bits]
            v = dut.cpu_req.valid
            m.d.comb += [Assume(~v | (n_acc != 3)),
                         Assume(~(v & (n_acc == 0)) | (hit_target & (req.op == CpuOp.WRITE))),
                         Assume(~(v & (n_acc == 1)) | (same_set & ~is_target_line(req_pid, req.vaddr))),
                         Assume(~(v & (n_acc == 2)) | (hit_target & (req.op == CpuOp.READ)))]
        resp = self._resp
        check = resp.valid & resp.ready & head[0] & (resp.payload.status == Status.OK)
        m.d.comb += Assert(~check | (resp.payload.rdata == spread(head[1:], wb)), "a read returns the last write")
        m.d.comb += Cover(check & mem_written)


def lanes(word, byte_lanes):
    """Bit 0 of each byte of ``word``: the bits the data abstraction of ``no_lost_write`` leaves free."""
    return Cat(*(word[8 * i] for i in range(byte_lanes)))


def spread(bits, byte_lanes):
    """A word whose byte ``i`` is bit ``i`` of ``bits`` (or bit 0 of byte ``i`` of a full word), zeros
    elsewhere: the inverse of :func:`lanes`."""
    if len(bits) != byte_lanes:
        bits = lanes(bits, byte_lanes)
    return Cat(*(Cat(bits[i], Const(0, 7)) for i in range(byte_lanes)))
