"""Memory-side MMU of the memory component: the top that connects its sub-components.

Requests arrive as messages (``hw.protocol``) on ``net_rx``; each is checked (well-formed, pid in
range, pid owned by the source node), translated (TLB, else a walk of the hashed page table in DRAM),
permission-checked and carried out on the AXI4 DRAM port; the answer leaves on ``net_tx``. Unmapped
accesses wait for the memory monitor (fault register queue + ``irq``), which either installs a mapping
and replays the request or refuses it (``PAGE_FAULT``). See ``docs/mmu.md`` and ``docs/page-table.md``.

Requests are pipelined (docs/mmu.md, "Pipeline"): the translator decides one request per cycle while
the responder carries out earlier ones; a request waiting for the memory monitor is parked aside and
does not hold requests of other processes or other pages (a page's requests keep their order).

One job per sub-component (docs/mmu.md, "Structure"): :class:`~hw.memory.register_bank.MMURegisterBank`
(registers), :class:`~hw.memory.owners.OwnerTable`, :class:`~hw.memory.request_check.RequestChecker`,
:class:`~hw.memory.tlb.TLB`, :class:`~hw.memory.walker.PageTableWalker`,
:class:`~hw.memory.fault_queue.FaultQueue`, :class:`~hw.memory.translator.Translator` (front end), the
request queue, :class:`~hw.memory.responder.Responder` (back end), :class:`~hw.memory.data_mover.DataMover`,
:class:`~hw.memory.window.MemoryWindow` and :class:`~hw.memory.axi_arbiter.AXIArbiter`.
"""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.lib.axi import AXI4Signature
from hw.lib.csr import CSRBusSignature
from hw.memory.axi_arbiter import AXIArbiter
from hw.memory.data_mover import DataMover
from hw.memory.fault_queue import FaultQueue
from hw.memory.owners import OwnerTable
from hw.memory.params import MAX_BUCKETS_LOG2, PTE_BYTES, MMUParams
from hw.memory.register_bank import MMURegisterBank
from hw.memory.registers import (FAULT_REFUSE, FAULT_REPLAY, MEM_OP_FILL, MEM_OP_READ, MEM_OP_WRITE,
                                 MMU_REGS)
from hw.memory.ports import TranslatedRequest
from hw.memory.responder import Responder
from hw.memory.tlb import TLB
from hw.memory.translator import Translator
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
    walking : Out(1)
        The page-table walker holds the AXI port (the arbiter's registered grant): an ``axi`` read address
        accepted while it is high is a bucket read of a walk, and so are that burst's data beats. For
        observers (the memory component's probe).
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
            "walking": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.regs = regs = MMURegisterBank(p)
        m.submodules.owners = owners = OwnerTable(p.pid_width)
        m.submodules.tlb = tlb = TLB(p.tlb_entries, p.tlb_ways, p.pid_width, p.vpn_width, p.pfn_width)
        m.submodules.walker = walker = PageTableWalker(p)
        m.submodules.faults = faults = FaultQueue(p)
        m.submodules.translator = tr = Translator(p)
        entry = TranslatedRequest(p.paddr_width)
        m.submodules.queue = queue = SyncFIFO(width=entry.size, depth=p.request_queue)
        m.submodules.responder = resp = Responder(p)
        m.submodules.mover = mover = DataMover(p)
        m.submodules.window = window = MemoryWindow(p)
        # The grant registered and parked on the data mover (m1): no manager's handshake waits on the
        # grant decision in its cycle (issue 18's critical path), and a TLB hit's AR pays nothing when
        # the port is idle; a walk's bucket read and a window access pay one cycle (docs/mmu.md).
        m.submodules.arbiter = arbiter = AXIArbiter(3, addr_width=p.paddr_width, data_width=p.data_width,
                                                    id_width=p.axi_id_width, registered=True, park=1)

        # Outside world.
        wiring.connect(m, wiring.flipped(self.csr), regs.csr)
        wiring.connect(m, wiring.flipped(self.net_rx.hdr), tr.rx_hdr)
        wiring.connect(m, resp.tx_hdr, wiring.flipped(self.net_tx.hdr))
        wiring.connect(m, wiring.flipped(self.net_rx.data), mover.rx_data)
        wiring.connect(m, mover.tx_data, wiring.flipped(self.net_tx.data))
        wiring.connect(m, arbiter.axi, wiring.flipped(self.axi))
        m.d.comb += [self.irq.eq(faults.fault.pending), self.walking.eq(arbiter.grant[0])]   # m0: the walker

        # Register bank <-> owner table, TLB, fault queue, window.
        wiring.connect(m, regs.owner_set, owners.set)
        m.d.comb += [owners.get_pid.eq(regs.owner_sel), regs.owner_get_valid.eq(owners.get_valid),
                     regs.owner_get_node.eq(owners.get_node)]
        m.d.comb += [tlb.inv.eq(regs.inv), tlb.inv_mode.eq(regs.inv_mode), tlb.inv_pid.eq(regs.inv_pid),
                     tlb.inv_vpn.eq(regs.inv_vpn)]
        wiring.connect(m, faults.fault, regs.fault)
        wiring.connect(m, regs.window, window.regs)
        m.d.comb += resp.node_id.eq(regs.node_id)

        # Translator: owner table and TLB lookups, walker, fault queue, request queue.
        m.d.comb += [
            owners.check_en.eq(tr.owner_en), owners.check_pid.eq(tr.owner_pid),
            tr.owner_valid.eq(owners.check_valid), tr.owner_node.eq(owners.check_node),
            tlb.lk_stb.eq(tr.tlb_stb), tlb.lk_pid.eq(tr.tlb_pid), tlb.lk_vpn.eq(tr.tlb_vpn),
            tr.tlb_busy.eq(tlb.lk_busy), tr.tlb_hit.eq(tlb.lk_hit), tr.tlb_stale.eq(tlb.lk_stale), tr.tlb_pfn.eq(tlb.lk_pfn),
            tr.tlb_r.eq(tlb.lk_r), tr.tlb_w.eq(tlb.lk_w),
            walker.start.eq(tr.walk_start), walker.pid.eq(tr.walk_pid), walker.vpn.eq(tr.walk_vpn),
            walker.pt_base.eq(regs.pt_base), walker.pt_buckets_log2.eq(regs.pt_buckets_log2),
            walker.pt_max_probes.eq(regs.pt_max_probes), walker.inv.eq(regs.inv),
            tr.walk_done.eq(walker.done), tr.walk_found.eq(walker.found), tr.walk_pfn.eq(walker.pfn),
            tr.walk_r.eq(walker.r), tr.walk_w.eq(walker.w),
            tlb.fill.eq(walker.fill), tlb.fill_pid.eq(walker.fill_pid), tlb.fill_vpn.eq(walker.fill_vpn),
            tlb.fill_pfn.eq(walker.pfn), tlb.fill_r.eq(walker.r), tlb.fill_w.eq(walker.w),
            faults.push.eq(tr.park), faults.push_hdr.eq(tr.park_hdr), tr.parked_full.eq(faults.full),
            tr.parked_room2.eq(faults.room2), tr.parked_room3.eq(faults.room3), tr.parked_write.eq(faults.has_write),
            faults.match_pid.eq(tr.match_pid), faults.match_vpn.eq(tr.match_vpn), tr.parked_match.eq(faults.match),
            faults.hint_key.eq(tr.hint_key), tr.parked_hint.eq(faults.hint),
            tr.head.eq(faults.head), tr.head_cmd.eq(faults.head_cmd), faults.take.eq(tr.head_take),
            faults.pop.eq(tr.head_pop), faults.rearm.eq(tr.head_rearm),
            queue.w_en.eq(tr.push), queue.w_data.eq(tr.entry), tr.queue_room.eq(queue.w_rdy),
            tr.queue_room2.eq(queue.level <= p.request_queue - 2),
            tr.queue_room3.eq(queue.level <= p.request_queue - 3 if p.request_queue >= 3 else 0),
            tr.drained.eq(~queue.r_rdy & resp.idle),
            tr.window_busy.eq(window.regs.busy), window.go.eq(tr.window_go), tr.window_done.eq(window.done),
        ]

        # Responder: request queue, data mover.
        m.d.comb += [
            resp.queue.valid.eq(queue.r_rdy), resp.queue.payload.eq(queue.r_data), queue.r_en.eq(resp.queue.ready),
            mover.start.eq(resp.access_start), mover.drain.eq(resp.drain), mover.paddr.eq(resp.paddr),
            mover.write.eq(resp.write), mover.line.eq(resp.line), mover.length.eq(resp.length),
            resp.hdr_valid.eq(mover.hdr_valid), mover.hdr_ready.eq(resp.hdr_ready), resp.mover_done.eq(mover.done),
            mover.next_read.eq(resp.next_read),
        ]

        # Counters.
        ev = regs.events
        m.d.comb += [
            ev.tlb_hit.eq(tr.tlb_hit_event), ev.tlb_miss.eq(tr.tlb_miss_event), ev.walk.eq(walker.walk_started),
            ev.fault.eq(faults.fault_event), ev.bucket_read.eq(walker.bucket_read),
            ev.response.eq(resp.response_event), ev.prot_fault.eq(resp.prot_fault_event),
        ]

        # One DRAM port: walks (translator) and data transfers (responder) overlap; the memory window runs
        # alone. The arbiter grants one manager a whole transaction at a time.
        wiring.connect(m, walker.mem, arbiter.m0)
        wiring.connect(m, mover.mem, arbiter.m1)
        wiring.connect(m, window.mem, arbiter.m2)
        return m


def default_top():
    """The MMU in its default configuration (block ``mmu`` of ``hw/catalog.py``)."""
    return MemoryMMU(MMUParams())
