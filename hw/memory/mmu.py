"""Memory-side MMU of the memory component: the top that connects its sub-components.

Requests arrive as messages (``hw.protocol``) on ``net_rx``; each is checked (well-formed, pid in
range, pid owned by the source node), translated (TLB, else a walk of the hashed page table in DRAM),
permission-checked and carried out on the AXI4 DRAM port; the answer leaves on ``net_tx``. Unmapped
accesses wait for the memory monitor (fault register queue + ``irq``), which either installs a mapping
and replays the request or refuses it (``PAGE_FAULT``). See ``docs/mmu.md`` and ``docs/page-table.md``.

Requests are served one at a time, in arrival order: a request waiting for the memory monitor holds
the ones behind it (LegoOS's memory component serialises faults per request stream in the same way).

One job per sub-component (docs/mmu.md, "Structure"): :class:`~hw.memory.register_bank.MMURegisterBank`
(registers), :class:`~hw.memory.owners.OwnerTable`, :class:`~hw.memory.request_check.RequestChecker`,
:class:`~hw.memory.tlb.TLB`, :class:`~hw.memory.walker.PageTableWalker`,
:class:`~hw.memory.data_mover.DataMover`, :class:`~hw.memory.window.MemoryWindow`,
:class:`~hw.memory.axi_arbiter.AXIArbiter`, sequenced by :class:`~hw.memory.sequencer.RequestSequencer`.
"""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axi import AXI4Signature
from hw.lib.csr import CSRBusSignature
from hw.memory.axi_arbiter import AXIArbiter
from hw.memory.data_mover import DataMover
from hw.memory.owners import OwnerTable
from hw.memory.params import MAX_BUCKETS_LOG2, PTE_BYTES, MMUParams
from hw.memory.register_bank import MMURegisterBank
from hw.memory.registers import (FAULT_REFUSE, FAULT_REPLAY, MEM_OP_FILL, MEM_OP_READ, MEM_OP_WRITE,
                                 MMU_REGS)
from hw.memory.request_check import RequestChecker
from hw.memory.sequencer import RequestSequencer
from hw.memory.tlb import TLB
from hw.memory.walker import HASH_PID_MULT, PageTableWalker
from hw.memory.window import MemoryWindow
from hw.protocol import MessagePort

__all__ = ["MMUParams", "MemoryMMU", "MMU_REGS", "PTE_BYTES", "HASH_PID_MULT", "MAX_BUCKETS_LOG2", "default_top",
           "FAULT_REPLAY", "FAULT_REFUSE", "MEM_OP_READ", "MEM_OP_WRITE", "MEM_OP_FILL"]


class MemoryMMU(wiring.Component):
    """The memory component's MMU top.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    net_rx : In(MessagePort(data_width))
        Requests (LINE_READ, LINE_WRITE + data beats, WORD_READ, WORD_WRITE + one beat). ``hdr.src``
        is the source node stamped by the network interface, the only identity trusted.
    net_tx : Out(MessagePort(data_width))
        Responses: kind = response kind, ``dst`` = request ``src``, ``tag``/``pid``/``vaddr`` echoed,
        ``status``; ``length`` = bytes of data that follow (0 when none).
    axi : Out(AXI4Signature(paddr_width, data_width, axi_id_width))
        DRAM port (INCR bursts, one transaction at a time).
    csr : In(CSRBusSignature(MMU_REGS.addr_width))
        Firmware registers, see ``MMU_REGS`` and docs/mmu.md.
    irq : Out(1)
        High while the fault queue is non-empty.
    pt_base : Out(64), pt_buckets_log2 : Out(5)
        The page table's extent as firmware configured it (PT_BASE, PT_BUCKETS_LOG2), for observers.
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MemoryMMU needs MMUParams, not {params!r}")
        self.params = params
        super().__init__({
            "net_rx": In(MessagePort(params.data_width)),
            "net_tx": Out(MessagePort(params.data_width)),
            "axi": Out(AXI4Signature(params.paddr_width, params.data_width, params.axi_id_width)),
            "csr": In(CSRBusSignature(MMU_REGS.addr_width)),
            "irq": Out(1),
            "pt_base": Out(64), "pt_buckets_log2": Out(5),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.regs = regs = MMURegisterBank(p)
        m.submodules.owners = owners = OwnerTable(p.pid_width)
        m.submodules.check = check = RequestChecker(p)
        m.submodules.tlb = tlb = TLB(p.tlb_entries, p.tlb_ways, p.pid_width, p.vpn_width, p.pfn_width)
        m.submodules.walker = walker = PageTableWalker(p)
        m.submodules.mover = mover = DataMover(p)
        m.submodules.window = window = MemoryWindow(p)
        m.submodules.arbiter = arbiter = AXIArbiter(3, addr_width=p.paddr_width, data_width=p.data_width,
                                                    id_width=p.axi_id_width)
        m.submodules.sequencer = seq = RequestSequencer(p)

        # Outside world.
        wiring.connect(m, wiring.flipped(self.csr), regs.csr)
        wiring.connect(m, wiring.flipped(self.net_rx.hdr), seq.rx_hdr)
        wiring.connect(m, seq.tx_hdr, wiring.flipped(self.net_tx.hdr))
        wiring.connect(m, wiring.flipped(self.net_rx.data), mover.rx_data)
        wiring.connect(m, mover.tx_data, wiring.flipped(self.net_tx.data))
        wiring.connect(m, arbiter.axi, wiring.flipped(self.axi))
        m.d.comb += [self.irq.eq(seq.irq), self.pt_base.eq(regs.pt_base),
                     self.pt_buckets_log2.eq(regs.pt_buckets_log2)]

        # Register bank <-> owner table, TLB, sequencer, window.
        wiring.connect(m, regs.owner_set, owners.set)
        m.d.comb += [owners.get_pid.eq(regs.owner_sel), regs.owner_get_valid.eq(owners.get_valid),
                     regs.owner_get_node.eq(owners.get_node)]
        m.d.comb += [tlb.inv.eq(regs.inv), tlb.inv_mode.eq(regs.inv_mode), tlb.inv_pid.eq(regs.inv_pid),
                     tlb.inv_vpn.eq(regs.inv_vpn)]
        wiring.connect(m, seq.fault, regs.fault)
        wiring.connect(m, regs.window, window.regs)
        m.d.comb += seq.node_id.eq(regs.node_id)

        # The request: checks and TLB lookup.
        req = seq.req
        vpn = req.vaddr[p.page_bits:p.vaddr_width]
        m.d.comb += [
            check.req.eq(req), owners.check_pid.eq(check.owner_pid),
            check.owner_valid.eq(owners.check_valid), check.owner_node.eq(owners.check_node),
            seq.well_formed.eq(check.well_formed), seq.owned.eq(check.owned), seq.is_write.eq(check.is_write),
            seq.is_line.eq(check.is_line), seq.has_data.eq(check.has_data),
            # The TLB reads its memories as the header is taken; its answer for req comes in LOOKUP.
            tlb.lk_stb.eq(seq.tlb_lookup), tlb.lk_pid.eq(seq.rx_hdr.payload.pid[:p.pid_width]),
            tlb.lk_vpn.eq(seq.rx_hdr.payload.vaddr[p.page_bits:p.vaddr_width]),
            seq.tlb_hit.eq(tlb.lk_hit), seq.tlb_pfn.eq(tlb.lk_pfn), seq.tlb_r.eq(tlb.lk_r), seq.tlb_w.eq(tlb.lk_w),
        ]

        # Walker: started by the sequencer, fills the TLB.
        m.d.comb += [
            walker.start.eq(seq.walk_start), walker.pid.eq(req.pid), walker.vpn.eq(vpn),
            walker.pt_base.eq(regs.pt_base), walker.pt_buckets_log2.eq(regs.pt_buckets_log2),
            walker.pt_max_probes.eq(regs.pt_max_probes), walker.inv.eq(regs.inv),
            seq.walk_done.eq(walker.done), seq.walk_found.eq(walker.found), seq.walk_pfn.eq(walker.pfn),
            seq.walk_r.eq(walker.r), seq.walk_w.eq(walker.w),
            tlb.fill.eq(walker.fill), tlb.fill_pid.eq(walker.fill_pid), tlb.fill_vpn.eq(walker.fill_vpn),
            tlb.fill_pfn.eq(walker.pfn), tlb.fill_r.eq(walker.r), tlb.fill_w.eq(walker.w),
        ]

        # Data mover and memory window: started by the sequencer.
        m.d.comb += [
            mover.start.eq(seq.access_start), mover.drain.eq(seq.drain), mover.paddr.eq(seq.paddr),
            mover.write.eq(check.is_write), mover.line.eq(check.is_line), mover.length.eq(req.length),
            seq.hdr_valid.eq(mover.hdr_valid), mover.hdr_ready.eq(seq.hdr_ready), seq.mover_done.eq(mover.done),
            seq.window_busy.eq(window.regs.busy), window.go.eq(seq.window_go), seq.window_done.eq(window.done),
        ]

        # Counters.
        ev = regs.events
        m.d.comb += [
            ev.tlb_hit.eq(seq.tlb_hit_event), ev.tlb_miss.eq(seq.tlb_miss_event), ev.walk.eq(walker.walk_started),
            ev.fault.eq(seq.fault_event), ev.bucket_read.eq(walker.bucket_read), ev.response.eq(seq.response_event),
            ev.prot_fault.eq(seq.prot_fault_event),
        ]

        # One DRAM port: the walker, the data mover and the window never overlap today (the sequencer runs
        # one at a time); the arbiter keeps that true when they do.
        wiring.connect(m, walker.mem, arbiter.m0)
        wiring.connect(m, mover.mem, arbiter.m1)
        wiring.connect(m, window.mem, arbiter.m2)
        return m


def default_top():
    """The MMU in its default configuration (block ``mmu`` of ``hw/catalog.py``)."""
    return MemoryMMU(MMUParams())
