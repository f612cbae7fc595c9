"""Memory monitor: the firmware of the memory component (LegoOS's memory-side manager).

It owns physical frames and per-process address spaces, writes page-table entries in the walker's
format (``firmware/page_table.py``), shoots down TLB entries on unmap and serves the MMU's page
faults: a fault inside a mapped region gets a zero-filled frame on first touch and is replayed; a
fault outside every region is refused (the requester gets ``PAGE_FAULT``).

Everything goes through :class:`firmware.bus.Bus` (registers of block ``mmu`` and memory writes), so
the same code runs under cocotb and in the harness. No cocotb import here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware.bus import Bus
from firmware.page_table import HashedPageTable, PageTableFull
from hw.memory.registers import MMU_REGS, FAULT_REFUSE, FAULT_REPLAY
from hw.memory.tlb import INV_ALL, INV_ONE, INV_PID

__all__ = ["MemoryMonitor", "FrameAllocator", "Region", "AddressSpace", "Fault", "MemoryMonitorError",
           "OutOfFrames"]

_M32 = 0xFFFF_FFFF
#: Bytes of page table zeroed per memory write at bring-up.
_ZERO_CHUNK = 1 << 20


class MemoryMonitorError(RuntimeError):
    """A request the memory monitor cannot honour (bad range, unknown pid, overlap)."""


class OutOfFrames(MemoryMonitorError):
    """No physical frame left."""


class FrameAllocator:
    """Free physical frame numbers ``first .. first + count - 1``: freed frames first (last freed first), then
    the lowest never-allocated one.

    Never-allocated frames are a counter, not a list, so a memory component of many GiB (millions of frames)
    costs nothing until its frames are used.
    """

    def __init__(self, first: int, count: int):
        if first < 0 or count < 0:
            raise ValueError(f"frame range must be non-negative, not {first!r}+{count!r}")
        self.first, self.count = first, count
        self._next = first              # lowest frame never allocated
        self._free: list[int] = []      # frames freed, reused last-freed first
        self._used: set[int] = set()

    @property
    def free_count(self) -> int:
        return len(self._free) + (self.first + self.count - self._next)

    def alloc(self) -> int:
        if not self._free:
            if self._next < self.first + self.count:
                pfn = self._next
                self._next += 1
                self._used.add(pfn)
                return pfn
            raise OutOfFrames(f"out of memory: no free frame (all {self.count} frames "
                              f"{self.first:#x}..{self.first + self.count - 1:#x} in use)")
        pfn = self._free.pop()
        self._used.add(pfn)
        return pfn

    def free(self, pfn: int) -> None:
        if pfn not in self._used:
            raise ValueError(f"frame {pfn:#x} is not allocated")
        self._used.remove(pfn)
        self._free.append(pfn)


@dataclass
class Region:
    """Virtual range ``[start, end)`` (page aligned) with permissions; ``lazy`` = frames on first touch."""
    start: int
    end: int
    writable: bool
    lazy: bool

    def __contains__(self, vaddr: int) -> bool:
        return self.start <= vaddr < self.end


@dataclass
class AddressSpace:
    pid: int
    owner: int
    regions: list = field(default_factory=list)
    pages: dict = field(default_factory=dict)    # vpn -> (pfn, writable)

    def region_of(self, vaddr: int):
        for r in self.regions:
            if vaddr in r:
                return r
        return None


@dataclass(frozen=True)
class Fault:
    """One page-fault event as read from the MMU, and what the monitor did."""
    pid: int
    vaddr: int
    write: bool
    src: int
    kind: int
    resolved: bool   # True: mapping installed and replayed; False: refused (PAGE_FAULT)
    #: Why a fault inside a region was refused (the memory component is out of frames or its page table is
    #: full: an out-of-memory condition the caller should report); empty for resolved faults and for
    #: accesses outside every region.
    reason: str = ""


class MemoryMonitor:
    """The memory component's firmware.

    Parameters
    ----------
    bus : Bus
        Register access to block ``block`` and memory access to the component's DRAM.
    dram_bytes : int
        DRAM size; frames are allocated above the page table.
    pt_base : int
        Byte address of the page table.
    pt_buckets_log2 : int
        log2 of the number of page-table buckets.
    max_probes : int
        Buckets a walk may read (overflow chain length).
    block : str
        Name of the MMU on the bus.
    frames_first : int, optional
        First allocatable frame number (default: the first frame after the page table).
    """

    def __init__(self, bus: Bus, *, dram_bytes: int, pt_base: int = 0, pt_buckets_log2: int = 10,
                 max_probes: int = 4, block: str = "mmu", frames_first: int | None = None):
        if not isinstance(bus, Bus):
            raise TypeError(f"MemoryMonitor needs a firmware.bus.Bus, not {bus!r}")
        self.bus, self.block = bus, block
        self.dram_bytes, self.pt_base = dram_bytes, pt_base
        self.pt_buckets_log2, self.max_probes = pt_buckets_log2, max_probes
        self.frames_first = frames_first
        self.spaces: dict[int, AddressSpace] = {}
        self.faults: list[Fault] = []
        self.table = None
        self.frames = None

    # ------------------------------------------------------------------ registers
    async def _rd(self, name):
        return await self.bus.read_reg(self.block, MMU_REGS.addr(name))

    async def _wr(self, name, value):
        await self.bus.write_reg(self.block, MMU_REGS.addr(name), value)

    # ------------------------------------------------------------------ bring-up
    async def init(self) -> None:
        """Read the MMU geometry, clear and program the page table, flush the TLB, reset counters."""
        info0, info1 = await self._rd("INFO0"), await self._rd("INFO1")
        self.page_bits = info0 & 0xFF
        self.page_bytes = 1 << self.page_bits
        self.num_pids = 1 << ((info0 >> 8) & 0xFF)
        self.vaddr_width = (info0 >> 16) & 0xFF
        self.bucket_entries = (info1 >> 24) & 0xFF
        self.table = HashedPageTable(self.pt_base, self.pt_buckets_log2, self.bucket_entries, self.max_probes)
        table_end = self.pt_base + self.table.size_bytes
        if table_end > self.dram_bytes:
            raise MemoryMonitorError(f"page table ({self.table.size_bytes} bytes at {self.pt_base:#x}) "
                                     f"does not fit in {self.dram_bytes} bytes of DRAM")
        first = self.frames_first
        if first is None:
            first = -(-table_end // self.page_bytes)
        self.frames = FrameAllocator(first, self.dram_bytes // self.page_bytes - first)
        # Zeroed in pieces of at most 1 MiB: each is one memory-window FILL that ends well within the bus's
        # poll budget (a 1 GiB DRAM has a 16 MiB table), and no table-sized buffer is built.
        size = self.table.size_bytes
        for off in range(0, size, _ZERO_CHUNK):
            await self.bus.fill_mem(self.pt_base + off, min(_ZERO_CHUNK, size - off), 0)
        await self._wr("PT_BASE_LO", self.pt_base & _M32)
        await self._wr("PT_BASE_HI", self.pt_base >> 32)
        await self._wr("PT_BUCKETS_LOG2", self.pt_buckets_log2)
        await self._wr("PT_MAX_PROBES", self.max_probes)
        await self._wr("TLB_INV", INV_ALL << 16)
        for name in ("CNT_TLB_HIT", "CNT_TLB_MISS", "CNT_WALKS", "CNT_FAULTS", "CNT_BUCKET_READS",
                     "CNT_REQUESTS", "CNT_PROT_FAULTS"):
            await self._wr(name, 0)

    # ------------------------------------------------------------------ processes
    async def create_process(self, pid: int, owner_node: int) -> AddressSpace:
        """Create an empty address space for ``pid``, usable only from node ``owner_node``."""
        if not 0 <= pid < self.num_pids:
            raise MemoryMonitorError(f"pid must be 0 to {self.num_pids - 1}, not {pid!r}")
        if not 0 <= owner_node < 256:
            raise MemoryMonitorError(f"owner node must be 0 to 255, not {owner_node!r}")
        if pid in self.spaces:
            raise MemoryMonitorError(f"pid {pid} already exists")
        space = self.spaces[pid] = AddressSpace(pid, owner_node)
        await self._wr("OWNER_SET", pid | owner_node << 16 | 1 << 31)
        return space

    async def destroy_process(self, pid: int) -> None:
        """Unbind the owner (requests get PROT_FAULT at once), remove every page, flush the pid's TLB."""
        space = self._space(pid)
        await self._wr("OWNER_SET", pid)
        for vpn in sorted(space.pages):
            await self._remove_page(space, vpn, shoot_down=False)
        await self._wr("TLB_INV", pid | INV_PID << 16)
        for vpn in list(space.pages):
            self.frames.free(space.pages.pop(vpn)[0])
        del self.spaces[pid]

    def _space(self, pid):
        if pid not in self.spaces:
            raise MemoryMonitorError(f"no process with pid {pid!r}")
        return self.spaces[pid]

    def _check_range(self, vaddr, length):
        if vaddr % self.page_bytes or length % self.page_bytes or length <= 0:
            raise MemoryMonitorError(f"range must be page aligned and non-empty, not {vaddr:#x}+{length:#x}")
        if vaddr + length > 1 << self.vaddr_width:
            raise MemoryMonitorError(f"range {vaddr:#x}+{length:#x} exceeds the {self.vaddr_width}-bit space")

    # ------------------------------------------------------------------ mappings
    async def map(self, pid: int, vaddr: int, length: int, *, writable: bool = True, lazy: bool = False) -> Region:
        """Map ``[vaddr, vaddr + length)`` of ``pid`` (readable; writable if asked).

        ``lazy`` only reserves the range: frames come on first touch, zero-filled. Otherwise every page
        gets a zero-filled frame and its entry now.
        """
        space = self._space(pid)
        self._check_range(vaddr, length)
        end = vaddr + length
        for r in space.regions:
            if r.start < end and vaddr < r.end:
                raise MemoryMonitorError(f"pid {pid}: {vaddr:#x}+{length:#x} overlaps region "
                                         f"{r.start:#x}..{r.end:#x}")
        region = Region(vaddr, end, writable, lazy)
        if not lazy:
            need = length // self.page_bytes
            if need > self.frames.free_count:
                raise OutOfFrames(f"out of memory: pid {pid} mapping {vaddr:#x}+{length:#x} needs {need} frames, "
                                  f"{self.frames.free_count} are free")
        space.regions.append(region)
        if not lazy:
            for va in range(vaddr, end, self.page_bytes):
                await self._install(space, va >> self.page_bits, writable)
        return region

    async def populate(self, pid: int, vaddr: int, length: int) -> int:
        """Give every page of ``[vaddr, vaddr + length)`` of ``pid`` that has no frame yet its zero-filled frame
        and entry now, with its region's permission, so no access there faults (a lazy region's pages are
        faulted in ahead of use). Every page must lie in a region. Returns the number of pages installed.
        """
        space = self._space(pid)
        self._check_range(vaddr, length)
        installed = 0
        for va in range(vaddr, vaddr + length, self.page_bytes):
            region = space.region_of(va)
            if region is None:
                raise MemoryMonitorError(f"pid {pid}: page {va:#x} is in no region")
            if va >> self.page_bits not in space.pages:
                await self._install(space, va >> self.page_bits, region.writable)
                installed += 1
        return installed

    async def unmap(self, pid: int, vaddr: int, length: int) -> int:
        """Unmap ``[vaddr, vaddr + length)`` of ``pid``: entries removed, TLB shot down, frames freed.

        Regions are trimmed or split. Returns the number of pages that had a frame.
        """
        space = self._space(pid)
        self._check_range(vaddr, length)
        end = vaddr + length
        kept = []
        for r in space.regions:
            if r.end <= vaddr or end <= r.start:
                kept.append(r)
                continue
            if r.start < vaddr:
                kept.append(Region(r.start, vaddr, r.writable, r.lazy))
            if end < r.end:
                kept.append(Region(end, r.end, r.writable, r.lazy))
        space.regions = kept
        removed = 0
        for vpn in [v for v in sorted(space.pages) if vaddr >> self.page_bits <= v < end >> self.page_bits]:
            await self._remove_page(space, vpn, shoot_down=True)
            self.frames.free(space.pages.pop(vpn)[0])
            removed += 1
        return removed

    async def _install(self, space, vpn, writable):
        pfn = self.frames.alloc()
        try:
            writes = self.table.insert(space.pid, vpn, pfn, True, writable)
        except PageTableFull:
            self.frames.free(pfn)
            raise
        await self.bus.fill_mem(pfn << self.page_bits, self.page_bytes, 0)   # zero-fill first
        for addr, data in writes:
            await self.bus.write_mem(addr, data)
        space.pages[vpn] = (pfn, writable)
        return pfn

    async def _remove_page(self, space, vpn, *, shoot_down):
        # Entry first, then the TLB: a walk after the entry is gone cannot refill the TLB, and the MMU
        # drops the fill of a walk that overlapped the invalidation. The frame is freed by the caller
        # only after this, so no stale translation can reach a reused frame.
        for addr, data in self.table.remove(space.pid, vpn):
            await self.bus.write_mem(addr, data)
        if shoot_down:
            await self._wr("TLB_INV_VPN_LO", vpn & _M32)
            await self._wr("TLB_INV_VPN_HI", vpn >> 32)
            await self._wr("TLB_INV", space.pid | INV_ONE << 16)

    def translate(self, pid: int, vaddr: int):
        """``(paddr, writable)`` of a resident page of ``pid``, else ``None`` (firmware's view)."""
        space = self.spaces.get(pid)
        if space is None:
            return None
        hit = space.pages.get(vaddr >> self.page_bits)
        if hit is None:
            return None
        return (hit[0] << self.page_bits) | (vaddr & (self.page_bytes - 1)), hit[1]

    # ------------------------------------------------------------------ faults
    async def handle_fault(self) -> Fault | None:
        """Serve the fault at the head of the MMU's queue, if any; return what was done."""
        status = await self._rd("FAULT_STATUS")
        if not status & 1:
            return None
        lo, hi = await self._rd("FAULT_VADDR_LO"), await self._rd("FAULT_VADDR_HI")
        vaddr = lo | hi << 32
        pid, write, src, kind = status >> 16, bool(status & 2), (status >> 8) & 0xFF, (status >> 4) & 0xF
        space = self.spaces.get(pid)
        region = space.region_of(vaddr) if space is not None else None
        vpn = vaddr >> self.page_bits
        resolved = False
        reason = ""
        if region is not None:
            if vpn in space.pages:
                resolved = True   # already installed (e.g. raced with a map): just replay
            else:
                try:
                    await self._install(space, vpn, region.writable)
                    resolved = True
                except (OutOfFrames, PageTableFull) as exc:
                    resolved = False
                    reason = f"pid {pid} page fault at {vaddr:#x} cannot be served: {exc}"
        fault = Fault(pid, vaddr, write, src, kind, resolved, reason)
        self.faults.append(fault)      # recorded before the MMU can answer the request
        await self._wr("FAULT_RESOLVE", FAULT_REPLAY if resolved else FAULT_REFUSE)
        return fault

    async def service_faults(self) -> int:
        """Serve faults until the queue is empty; return how many were served."""
        n = 0
        while await self.handle_fault() is not None:
            n += 1
        return n

    async def counters(self) -> dict:
        """The MMU's event counters by name."""
        return {name: await self._rd(name) for name in ("CNT_TLB_HIT", "CNT_TLB_MISS", "CNT_WALKS", "CNT_FAULTS",
                                                        "CNT_BUCKET_READS", "CNT_REQUESTS", "CNT_PROT_FAULTS")}
