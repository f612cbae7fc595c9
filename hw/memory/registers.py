"""The MMU's firmware register map and the command codes written to it.

Firmware (``firmware/memory_monitor.py``, ``firmware/csr_mem.py``) imports this module, not the RTL. The
kinds (``hw.lib.csr``) say how each register is implemented by :class:`hw.memory.register_bank.MMURegisterBank`;
the table in docs/mmu.md is generated from this map.
"""

from hw.lib.csr import Action, Counter, R, RW, Register, RegisterMap
from hw.memory.params import MAX_BUCKETS_LOG2
from hw.protocol import NODE_ID_WIDTH

__all__ = ["MMU_REGS", "COUNTERS", "FAULT_REPLAY", "FAULT_REFUSE", "MEM_OP_READ", "MEM_OP_WRITE", "MEM_OP_FILL"]

#: FAULT_RESOLVE commands.
FAULT_REPLAY = 1
FAULT_REFUSE = 2
#: MEM_CTRL commands.
MEM_OP_READ = 1
MEM_OP_WRITE = 2
MEM_OP_FILL = 3

#: Event counters: register name -> event port name of the register bank.
COUNTERS = {
    "CNT_TLB_HIT": "tlb_hit", "CNT_TLB_MISS": "tlb_miss", "CNT_WALKS": "walk", "CNT_FAULTS": "fault",
    "CNT_BUCKET_READS": "bucket_read", "CNT_REQUESTS": "response", "CNT_PROT_FAULTS": "prot_fault",
}
_COUNTER_DOCS = {
    "CNT_TLB_HIT": "requests translated by the TLB", "CNT_TLB_MISS": "TLB misses",
    "CNT_WALKS": "page-table walks started, replays included", "CNT_FAULTS": "page-fault events raised to firmware",
    "CNT_BUCKET_READS": "bucket bursts read by the walker", "CNT_REQUESTS": "requests answered",
    "CNT_PROT_FAULTS": "requests answered PROT_FAULT",
}

MMU_REGS = RegisterMap("mmu", [
    Register("INFO0", 0x00, "r", "geometry (read-only)",
             (("page_bits", 0, 8, "log2 page bytes"), ("pid_width", 8, 8, "pid bits"),
              ("vaddr_width", 16, 8, "virtual address bits"), ("paddr_width", 24, 8, "physical address bits")),
             kind=R()),
    Register("INFO1", 0x01, "r", "geometry (read-only)",
             (("tlb_entries", 0, 16, "TLB entries"), ("tlb_ways", 16, 8, "TLB ways"),
              ("bucket_entries", 24, 8, "page-table entries per bucket")), kind=R()),
    Register("PT_BASE", 0x02, "rw", "page-table base byte address (bucket aligned)", kind=RW(64)),
    Register("PT_BUCKETS_LOG2", 0x04, "rw", f"log2 of the number of buckets (0..{MAX_BUCKETS_LOG2}; larger "
             f"values store {MAX_BUCKETS_LOG2})", kind=RW(5, limit=MAX_BUCKETS_LOG2)),
    Register("PT_MAX_PROBES", 0x05, "rw", "buckets read at most per walk (>= 1; 0 acts as 1)", kind=RW(8)),
    Register("OWNER_SET", 0x06, "w", "bind pid to owner node",
             (("pid", 0, 16, "pid"), ("node", 16, 8, "owner node id"), ("valid", 31, 1, "1 bind, 0 unbind")),
             kind=Action()),
    Register("OWNER_SEL", 0x07, "rw", "pid whose binding OWNER_GET shows", kind=RW(16)),
    Register("OWNER_GET", 0x08, "r", "binding of OWNER_SEL",
             (("node", 0, 8, "owner node id"), ("valid", 31, 1, "bound")), kind=R()),
    Register("TLB_INV_VPN", 0x09, "rw", "vpn for TLB_INV one-entry invalidation", kind=RW(64)),
    Register("TLB_INV", 0x0b, "w", "invalidate TLB entries (takes effect in the write cycle)",
             (("pid", 0, 16, "pid"), ("mode", 16, 2, "0 = (pid, TLB_INV_VPN), 1 = all of pid, 2 = all")),
             kind=Action()),
    Register("FAULT_STATUS", 0x0c, "r", "head of the fault queue (irq = pending; all 0 when no fault is pending)",
             (("pending", 0, 1, "a fault waits"), ("write", 1, 1, "faulting access writes"),
              ("kind", 4, 4, "MsgKind of the request"), ("src", 8, 8, "source node"),
              ("pid", 16, 16, "pid")), kind=R()),
    Register("FAULT_VADDR", 0x0d, "r", "faulting virtual address (0 when no fault is pending)", kind=R(64)),
    Register("FAULT_RESOLVE", 0x0f, "w", "pop the fault: 1 = replay (mapping installed), 2 = refuse (PAGE_FAULT)",
             kind=Action(2)),
    Register("MEM_ADDR", 0x10, "rw", "memory window byte address (advances by 8 per READ/WRITE)", kind=RW(64)),
    Register("MEM_WDATA", 0x12, "rw", "memory window write data / fill pattern", kind=RW(64)),
    Register("MEM_LEN", 0x14, "rw", "FILL length in bytes (multiple of the beat size)", kind=RW(32)),
    Register("MEM_CTRL", 0x15, "rw", "write: 1 = READ 8 bytes, 2 = WRITE 8 bytes, 3 = FILL; read: status",
             (("busy", 0, 1, "operation in progress"), ("error", 1, 1, "last command misaligned, not done")),
             kind=Action(2, read_width=2)),
    Register("MEM_RDATA", 0x16, "r", "data of the last READ", kind=R(64)),
    *[Register(name, 0x18 + i, "rw", f"{_COUNTER_DOCS[name]} (32 bits, wraps; write sets)",
               kind=Counter(32, writable=True)) for i, name in enumerate(COUNTERS)],
    Register("NODE_ID", 0x1f, "rw", "this memory component's node id, put in the src of responses "
             "(the network interface stamps its own)", kind=RW(NODE_ID_WIDTH)),
])
