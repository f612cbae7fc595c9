"""Formal harnesses of the memory-side MMU (run by ``disagg formal``; see ``docs/verification.md``).

Each harness instantiates :class:`hw.memory.mmu.MemoryMMU` in a small configuration, drives its inputs
freely and states one guarantee, looking only at its ports:

``handshake``
    Every stream and AXI4 channel the MMU drives obeys valid/ready (asserted); the ones it receives
    (requests, AXI responses) are assumed to. The CSR bus is free: firmware may write any register at any time
    (no configuration register feeds a payload in flight).
``owner_isolation``
    A request from a node that does not own the pid never reaches DRAM, and is answered with an error (PROT_FAULT, or
    BAD_REQUEST when it is malformed as well). The
    harness keeps its own copy of the owner table from the ``OWNER_SET`` writes on the CSR bus (the
    register contract of ``docs/mmu.md``), for one pid the solver picks. Firmware only writes ``OWNER_SET``
    here: the memory window (``MEM_CTRL``) reaches DRAM on purpose. Requests are offered one at a time (the
    MMU pipelines several, and its AXI transactions cannot be told apart at the ports), so a request is
    "being served" from the cycle its header is accepted to the cycle its response header leaves; no AXI
    read or write address may be issued in between when it came from a non-owner.

    ``pipelined=True`` lets the environment offer requests at any time, several in flight (the MMU's
    pipeline full, parked requests answered out of order). AXI transactions still cannot be told apart at
    the ports, except by what the MMU guarantees about its order: the responder carries out one request at a
    time, in queue order, and starts the next only after the previous response is complete (its header, and
    for a read its last data beat), so every data access between two response completions belongs to the
    second response's request. The page table is one bucket at address 0 (:func:`translation_params`), so a
    walk's bucket reads are recognised by address and shape and left out. The solver picks one tag; the
    request carrying it (tags are unique among requests in flight, as the ExCache's miss handler issues
    them) is tracked, and when it came from a non-owner its response must be an error with no data access
    since the previous response completed. What this variant does not see is a walk started for a
    non-owner's request (walks of other requests interleave with it); the one-at-a-time harness does.

``translation``
    A request for (pid, vaddr) reaches DRAM only inside the frame mapped to that pid and page, with the
    permission the access needs, and is answered OK only with that permission. The solver chooses one
    mapping (pid ``P``, page ``V``) -> (frame ``F``, ``R``, ``W``) once; the harness is the AXI memory, and
    every page-table entry it returns whose tag is (valid, ``P``, ``V``) is followed by the frame word of
    ``(F, R, W)``: the table maps ``(P, V)`` to ``F`` or not at all, whatever else it holds (every other
    entry, and all other data, is free and may differ from one read to the next). The TLB is not modelled:
    its contents are whatever the walks put there, so a TLB that answers ``(P, V)`` with another key's
    translation shows as an address outside ``F``. While a request for ``(P, V)`` is served (from its
    header to the end of its response; requests are offered one at a time, as for ``owner_isolation``),
    every AXI read address is a page-table read (a bucket burst inside the table) or lies, with its whole
    burst, in ``F`` with ``R`` and a read request; every write address lies in ``F`` with ``W`` and a write
    request. The page table is one bucket of one entry at DRAM address 0 (``PT_BASE`` and
    ``PT_BUCKETS_LOG2`` keep their reset values) and frame 0, which holds it, is never mapped (``F != 0``,
    the firmware's rule). The memory answers one read burst at a time. Firmware binds owners, invalidates
    TLB entries and resolves faults (replay or refuse) freely; it does not move the table or use the memory
    window (``MEM_CTRL``, which reaches DRAM on purpose).

``mutation`` names a deliberate bug placed between the checker and the MMU:

* ``"drop_valid"``: ``net_tx.hdr.valid`` is dropped for a cycle while the response waits (handshake);
* ``"skip_owner_check"``: the MMU is shown the owner's node id as the request's source, whatever the real
  source was (a check that trusts a forged ``src``: isolation);
* ``"tlb_ignores_pid"``: the MMU's TLB is built with its lookup and fill pids tied to 0 (a TLB tagged by
  virtual page only, so one process hits another's translation: translation);
* ``"skip_permission"``: the MMU is shown every page-table frame word with ``R`` and ``W`` set (a
  permission check skipped: translation).
"""

from amaranth import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.hdl import Assert, Assume, Cover

from hw.lib.formal import (check_harness_choice, AnyConst, AnySeq, drive_free_inputs, handshake_properties, handshake_with_mutant,
                            hold_reset_low, quiet_config_writes)
import hw.memory.mmu as mmu_module
from hw.memory.mmu import MemoryMMU
from hw.memory.tlb import TLB
from hw.memory.registers import MMU_REGS
from hw.memory.params import MMUParams
from hw.protocol import MsgKind, NODE_ID_WIDTH, Status

__all__ = ["PROPERTIES", "MUTATIONS", "EXTRA_MUTATIONS", "formal_params", "translation_params", "MMUFormal"]

PROPERTIES = ("handshake", "owner_isolation", "translation")
MUTATIONS = {"handshake": "drop_valid", "owner_isolation": "skip_owner_check", "translation": "tlb_ignores_pid"}
#: Further deliberate bugs a property must catch (``FormalCheck.extra_mutations``).
EXTRA_MUTATIONS = {"translation": ("skip_permission",)}

#: Registers whose value the MMU puts straight into an output payload, which firmware may then write only
#: while no output waits (:func:`hw.lib.formal.quiet_config_writes`). None: the walker samples ``PT_*`` once
#: per walk, the responder ``NODE_ID`` once per request and the memory window ``MEM_ADDR``/``MEM_LEN``/
#: ``MEM_WDATA`` once per command, so the CSR bus is entirely free.
CONFIG_REGISTERS = ()


def formal_params():
    """The small MMU the harnesses prove: a 4-entry 2-way TLB, 2-bit pids, 16-bit virtual and physical
    addresses, 4 KiB pages; every mechanism of the default is there, with few states."""
    return MMUParams(tlb_entries=4, tlb_ways=2, pid_width=2, vaddr_width=16, paddr_width=16)


def translation_params():
    """:func:`formal_params` with a page table of one bucket of one entry (two 64-bit beats a walk), one
    probe, two request-queue slots and one fault slot: a walk and the access after it fit in a short trace.
    The walker's hash, probing and matching are the same logic whatever the table's size."""
    return MMUParams(tlb_entries=4, tlb_ways=2, pid_width=2, vaddr_width=16, paddr_width=16,
                     pt_bucket_entries=1, pt_buckets_log2=0, pt_max_probes=1, request_queue=2, fault_slots=1)


class _PidBlindTLB(TLB):
    """The ``tlb_ignores_pid`` mutant: a TLB whose lookups and fills see pid 0 (tagged by page only)."""

    def elaborate(self, platform):
        ports = self.lk_pid, self.fill_pid
        self.lk_pid, self.fill_pid = Const(0, len(ports[0])), Const(0, len(ports[1]))
        try:
            return super().elaborate(platform)
        finally:
            self.lk_pid, self.fill_pid = ports


class _MMUWithPidBlindTLB(MemoryMMU):
    """The MMU built with :class:`_PidBlindTLB` in place of its TLB (everything else the real MMU)."""

    def elaborate(self, platform):
        real = mmu_module.TLB
        mmu_module.TLB = _PidBlindTLB
        try:
            return super().elaborate(platform)
        finally:
            mmu_module.TLB = real


class MMUFormal(Elaboratable):
    """Harness of one MMU property.

    Parameters
    ----------
    prop : str
        One of :data:`PROPERTIES`.
    params : MMUParams or None
        Default :func:`formal_params`.
    mutation : str or None
        A deliberate bug (see the module docstring), or ``None`` for the real MMU.
    pipelined : bool
        ``owner_isolation`` with several requests in flight (module docstring).
    """

    def __init__(self, prop, params=None, *, mutation=None, pipelined=False):
        check_harness_choice("MMU", prop, PROPERTIES, mutation,
                             {**MUTATIONS, "translation_permission": "skip_permission"})
        if pipelined and prop != "owner_isolation":
            raise ValueError(f"only owner_isolation has a pipelined variant, not {prop!r}")
        self.prop, self.mutation, self.pipelined = prop, mutation, pipelined
        if params is None:
            params = translation_params() if prop == "translation" or pipelined else formal_params()
        self.params = params
        if not isinstance(self.params, MMUParams):
            raise TypeError(f"params must be MMUParams, not {self.params!r}")

    def elaborate(self, platform):
        m = Module()
        cls = _MMUWithPidBlindTLB if self.mutation == "tlb_ignores_pid" else MemoryMMU
        m.submodules.dut = dut = cls(self.params)
        hold_reset_low(m)
        if self.prop == "translation":
            self._translation(m, dut)
        elif self.prop == "handshake":
            drive_free_inputs(m, dut)
            quiet_config_writes(m, dut, dut.csr, [MMU_REGS.addr(name) for name in CONFIG_REGISTERS])
            handshake_with_mutant(m, dut, "net_tx.hdr" if self.mutation == "drop_valid" else None)
        else:
            self._owner_isolation(m, dut)
        return m

    def _owner_isolation(self, m, dut):
        p = self.params
        src = Signal(NODE_ID_WIDTH)
        drive_free_inputs(m, dut, skip=[("net_rx", "hdr", "payload", "src"), ("csr",)])
        m.d.comb += src.eq(AnySeq(NODE_ID_WIDTH))
        handshake_properties(m, dut)
        # Firmware binds and unbinds owners, and does nothing else.
        owner_set = MMU_REGS.addr("OWNER_SET")
        w_data = Signal(32)
        m.d.comb += [w_data.eq(AnySeq(32)), dut.csr.w_stb.eq(AnySeq(1)), dut.csr.addr.eq(owner_set),
                     dut.csr.w_data.eq(w_data)]
        t_pid = AnyConst(p.pid_width)
        bound, owner = Signal(), Signal(NODE_ID_WIDTH)
        with m.If(dut.csr.w_stb & (w_data[:16] == t_pid)):
            m.d.sync += [bound.eq(w_data[31]), owner.eq(w_data[16:24])]
        hdr = dut.net_rx.hdr
        if self.mutation == "skip_owner_check":
            m.d.comb += hdr.payload.src.eq(owner)
        else:
            m.d.comb += hdr.payload.src.eq(src)
        if self.pipelined:
            self._owner_isolation_pipelined(m, dut, t_pid, bound, owner, src, w_data)
            return
        # Binding changes while the tracked pid's request is served would make "the owner" ambiguous.
        serving, foreign = Signal(), Signal()
        m.d.comb += Assume(~((serving | hdr.valid) & dut.csr.w_stb & (w_data[:16] == t_pid)))
        m.d.comb += Assume(~(serving & hdr.valid))       # one request at a time (see the module docstring)
        accepted = hdr.valid & hdr.ready
        from_stranger = (hdr.payload.pid == t_pid) & (~bound | (src != owner))
        responded = dut.net_tx.hdr.valid & dut.net_tx.hdr.ready
        with m.If(accepted):
            m.d.sync += [serving.eq(1), foreign.eq(from_stranger)]
        with m.Elif(responded):
            m.d.sync += [serving.eq(0), foreign.eq(0)]
        axi = dut.axi
        m.d.comb += Assert(~(foreign & (axi.arvalid | axi.awvalid)),
                           "a non-owner's request never reaches DRAM")
        m.d.comb += Assert(~(foreign & responded) | (dut.net_tx.hdr.payload.status != Status.OK),
                           "a non-owner's request is answered with an error")
        m.d.comb += Cover(foreign & responded)
        m.d.comb += Cover(serving & ~foreign & axi.arvalid)

    def _owner_isolation_pipelined(self, m, dut, t_pid, bound, owner, src, w_data):
        p = self.params
        hdr, tx_hdr, tx_data, axi = dut.net_rx.hdr, dut.net_tx.hdr, dut.net_tx.data, dut.axi
        accepted = hdr.valid & hdr.ready
        responded = tx_hdr.valid & tx_hdr.ready
        # Requests of the tracked pid in flight (every request is answered once, its pid echoed): the binding
        # of the pid stays put while one is, so "the owner" is the same at the check and at the answer.
        in_flight = Signal(4)
        m.d.sync += in_flight.eq(in_flight + (accepted & (hdr.payload.pid == t_pid))
                                 - (responded & (tx_hdr.payload.pid == t_pid)))
        m.d.comb += Assume(~((in_flight != 0) | (hdr.valid & (hdr.payload.pid == t_pid)))
                           | ~(dut.csr.w_stb & (w_data[:16] == t_pid)))
        m.d.comb += Assume(in_flight != 15)
        # The tracked request: the one with the solver's tag (unique while in flight).
        t_tag = AnyConst(len(hdr.payload.tag))
        tracked, foreign = Signal(), Signal()
        m.d.comb += Assume(~(tracked & hdr.valid & (hdr.payload.tag == t_tag)))
        from_stranger = (hdr.payload.pid == t_pid) & (~bound | (src != owner))
        answer = responded & (tx_hdr.payload.tag == t_tag) & tracked
        with m.If(accepted & (hdr.payload.tag == t_tag)):
            m.d.sync += [tracked.eq(1), foreign.eq(from_stranger)]
        with m.Elif(answer):
            m.d.sync += [tracked.eq(0), foreign.eq(0)]
        # Data accesses since the last response completed (bucket reads of the one-bucket table left out).
        bucket_read = (axi.araddr < p.bucket_bytes) & (axi.arlen == p.bucket_beats - 1)
        access = (axi.arvalid & ~bucket_read) | axi.awvalid
        complete = ((responded & (tx_hdr.payload.length == 0))
                    | (tx_data.valid & tx_data.ready & tx_data.payload.last))
        touched = Signal()
        with m.If(complete):
            m.d.sync += touched.eq(0)
        with m.Elif(access):
            m.d.sync += touched.eq(1)
        m.d.comb += Assert(~(answer & foreign) | (tx_hdr.payload.status != Status.OK),
                           "a non-owner's request is answered with an error")
        m.d.comb += Assert(~(answer & foreign & (touched | access)),
                           "a non-owner's request never reaches DRAM")
        m.d.comb += Cover(answer & foreign & (in_flight > 1))
        m.d.comb += Cover(accepted & (in_flight > 1) & (tracked | ~foreign))

    def _translation(self, m, dut):
        p = self.params
        if p.data_width != 64 or p.pt_buckets_log2 != 0 or p.page_bits >= p.paddr_width:
            raise ValueError("the translation harness models 64-bit beats and a one-bucket page table")
        axi, hdr = dut.axi, dut.net_rx.hdr
        mem_in = [("axi", name) for name in ("arready", "rvalid", "rdata", "rlast")]
        drive_free_inputs(m, dut, skip=[("csr",), *mem_in])
        handshake_properties(m, dut)
        # Firmware: binds owners, invalidates TLB entries, resolves faults; never moves the page table.
        regs = [MMU_REGS.addr(n) for n in ("OWNER_SET", "TLB_INV", "TLB_INV_VPN_LO", "FAULT_RESOLVE")]
        pick = Signal(2)
        m.d.comb += [pick.eq(AnySeq(2)), dut.csr.w_stb.eq(AnySeq(1)), dut.csr.w_data.eq(AnySeq(32)),
                     dut.csr.r_stb.eq(0),
                     dut.csr.addr.eq(Mux(pick[1], Mux(pick[0], regs[3], regs[2]), Mux(pick[0], regs[1], regs[0])))]

        # The one mapping the solver chooses: (t_pid, t_vpn) -> (t_pfn, t_r, t_w); frame 0 holds the table.
        t_pid, t_vpn, t_pfn = AnyConst(p.pid_width), AnyConst(p.vpn_width), AnyConst(p.pfn_width)
        t_r, t_w = AnyConst(1), AnyConst(1)
        m.d.comb += Assume(t_pfn != 0)

        # The memory: one read burst at a time; each beat's address is known.
        busy, base, length, beat = Signal(), Signal(p.paddr_width), Signal(8), Signal(8)
        tag_seen = Signal()          # the previous beat of this burst was the tag word of (t_pid, t_vpn)
        rdata = Signal(64)
        m.d.comb += [axi.arready.eq(~busy & AnySeq(1)), axi.rvalid.eq(busy & AnySeq(1)),
                     axi.rlast.eq(beat == length), rdata.eq(AnySeq(64))]
        beat_addr = (base + (beat << p.lane_bits))[:p.paddr_width]
        is_t_tag = (~beat_addr[3] & rdata[0] & (rdata[8:24] == t_pid) & (rdata[24:64] == t_vpn))
        frame_word = Cat(t_r, t_w, rdata[2:8], t_pfn, Const(0, 56 - p.pfn_width))
        m.d.comb += Assume(~(axi.rvalid & tag_seen) | (rdata == frame_word))
        if self.mutation == "skip_permission":
            m.d.comb += axi.rdata.eq(Mux(tag_seen, rdata | 0b11, rdata))
        else:
            m.d.comb += axi.rdata.eq(rdata)
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += [busy.eq(1), base.eq(axi.araddr), length.eq(axi.arlen), beat.eq(0), tag_seen.eq(0)]
        with m.Elif(axi.rvalid & axi.rready):
            m.d.sync += [beat.eq(beat + 1), tag_seen.eq(is_t_tag & (beat != length))]
            with m.If(beat == length):
                m.d.sync += busy.eq(0)

        # The request being served (one offered at a time), from its header to the end of its response.
        serving, tracked, writes = Signal(), Signal(), Signal()
        m.d.comb += Assume(~(serving & hdr.valid))
        req = hdr.payload
        accepted = hdr.valid & hdr.ready
        tx_hdr, tx_data = dut.net_tx.hdr, dut.net_tx.data
        hdr_out = tx_hdr.valid & tx_hdr.ready
        done = (hdr_out & (tx_hdr.payload.length == 0)) | (tx_data.valid & tx_data.ready & tx_data.payload.last)
        with m.If(accepted):
            m.d.sync += [serving.eq(1), writes.eq((req.kind == MsgKind.LINE_WRITE) | (req.kind == MsgKind.WORD_WRITE)),
                         tracked.eq((req.pid == t_pid) & (req.vaddr[p.page_bits:] == t_vpn))]
        with m.Elif(done):
            m.d.sync += [serving.eq(0), tracked.eq(0)]

        def in_frame(addr, alen):
            end = addr + ((alen + 1) << p.lane_bits) - 1
            return ((addr >> p.page_bits) == t_pfn) & ((end >> p.page_bits) == t_pfn)

        bucket_read = (axi.araddr < p.bucket_bytes) & (axi.arlen == p.bucket_beats - 1)
        m.d.comb += Assert(~(tracked & axi.arvalid) | bucket_read | (in_frame(axi.araddr, axi.arlen) & ~writes & t_r),
                           "a read of (pid, page) is a page-table read or inside its frame, with R")
        m.d.comb += Assert(~(tracked & axi.awvalid) | (in_frame(axi.awaddr, axi.awlen) & writes & t_w),
                           "a write of (pid, page) is inside its frame, with W")
        m.d.comb += Assert(~(tracked & hdr_out & (tx_hdr.payload.status == Status.OK)) | Mux(writes, t_w, t_r),
                           "(pid, page) is answered OK only with the permission its access needs")
        m.d.comb += Cover(tracked & axi.arvalid & ~bucket_read)
        m.d.comb += Cover(tracked & axi.awvalid)
