"""All the firmware of one system (``hw.system.top.SystemTop``), bundled behind five calls.

The harness and the cocotb tests drive a system through :class:`SystemFirmware`:

* :meth:`SystemFirmware.boot` brings up the memory monitor (page table, TLB, counters), registers the
  memory component with the global memory manager and boots the processor monitor;
* :meth:`SystemFirmware.create_process` / :meth:`SystemFirmware.exit_process` start and end processes;
* :meth:`SystemFirmware.service_irqs` serves what raised ``irq_proc`` (software-managed misses) and
  ``irq_mem`` (page faults);
* :meth:`SystemFirmware.statistics` reads every counter of the system.

Roles, as in LegoOS: the **processor monitor** (``firmware/processor_monitor.py``) allocates pids, ends
processes (ExCache flush + invalidate) and, in the software-managed miss mode, picks victims; the
**memory monitor** (``firmware/memory_monitor.py``) owns frames and page tables and serves faults; the
**global memory manager** (``firmware/global_memory_manager.py``) places processes on memory components.

Monitor-to-monitor messages: in LegoOS the processor monitor asks the memory monitor over the network
(an RPC) to create or destroy an address space. In this emulation the RPC is a Python call to
:class:`MemoryEndpoint`, which runs the memory monitor's code on the memory component's CSR bus; the
data path (cache lines) is the only traffic on the emulated network.

Every hardware access goes through the one :class:`firmware.bus.Bus` given, whose block names are
those of ``hw.system.address_map.SYSTEM_CSR_BASES``; memory (page tables, zero-filled frames) is reached through the
MMU's memory window (:class:`firmware.csr_mem.CsrMemoryBus`), never through a back door.
"""

from __future__ import annotations

from firmware.bus import Bus
from firmware.csr_mem import CsrMemoryBus
from firmware.global_memory_manager import GlobalMemoryManager, Region
from firmware.memory_monitor import MemoryMonitor
from firmware.processor_monitor import ProcessorMonitor
from hw.processor.excache_layouts import MaintOp
from hw.network.registers import LINK_COUNTERS, NETIF_COUNTERS, NETIF_REGISTERS
from hw.system.probe_registers import PROBE_REGS, PROBE_STAGES

__all__ = ["MemoryEndpoint", "SystemFirmware", "Region", "default_pt_buckets_log2"]


def default_pt_buckets_log2(dram_bytes, bucket_bytes):
    """Page-table buckets for a DRAM: the table takes about 1/16 of it (at least one bucket, at most 2**16)."""
    buckets = max(1, dram_bytes // 16 // bucket_bytes)
    return min(16, buckets.bit_length() - 1)


class MemoryEndpoint:
    """The memory monitor's side of the monitor-to-monitor RPC (a direct call in this emulation).

    Parameters
    ----------
    monitor : MemoryMonitor
    node_id : int
        Node id of the memory component.
    """

    def __init__(self, monitor, node_id):
        if not isinstance(monitor, MemoryMonitor):
            raise TypeError(f"MemoryEndpoint needs a MemoryMonitor, not {monitor!r}")
        self.monitor, self.node_id = monitor, node_id

    async def create_address_space(self, pid, owner_node, regions):
        """Create ``pid``'s address space, owned by ``owner_node``, with lazily allocated ``regions``."""
        await self.monitor.create_process(pid, owner_node)
        for r in regions:
            await self.monitor.map(pid, r.vaddr, r.length, writable=r.writable, lazy=True)

    async def destroy_address_space(self, pid):
        await self.monitor.destroy_process(pid)

    def free_frames(self):
        return self.monitor.frames.free_count


class SystemFirmware:
    """Processor monitor, memory monitor and GMM of one system, on one bus.

    Parameters
    ----------
    bus : Bus
        Register access by block name (``excache``, ``proc_netif``, ``mmu``, ``mem_netif``, ``probe``;
        word addresses within the block). Only ``read_reg``/``write_reg`` are used.
    params : hw.system.params.SystemParams
        The configuration of the system being run.
    victim_policy : str
        Victim choice in the software-managed miss mode: ``"fifo"`` (the processor monitor's own FIFO per
        set) or ``"suggested"`` (the ExCache's hardware policy). Ignored with the hardware miss path.
    pt_buckets_log2 : int, optional
        Page-table size; default :func:`default_pt_buckets_log2`.
    max_probes : int
        Buckets a page walk may read.
    """

    def __init__(self, bus, params, *, victim_policy="fifo", pt_buckets_log2=None, max_probes=4):
        if not isinstance(bus, Bus):
            raise TypeError(f"SystemFirmware needs a firmware.bus.Bus, not {bus!r}")
        self.bus, self.params = bus, params
        mmu = params.mmu
        if pt_buckets_log2 is None:
            pt_buckets_log2 = default_pt_buckets_log2(params.dram_bytes, mmu.bucket_bytes)
        self.mem_bus = CsrMemoryBus(bus, "mmu", beat_bytes=mmu.beat_bytes)
        self.memory = MemoryMonitor(self.mem_bus, dram_bytes=params.dram_bytes, pt_base=0,
                                    pt_buckets_log2=pt_buckets_log2, max_probes=max_probes, block="mmu")
        self.endpoint = MemoryEndpoint(self.memory, params.mem_node)
        self.gmm = GlobalMemoryManager(page_size=mmu.page_bytes, vaddr_width=params.excache.vaddr_width)
        self.processor = ProcessorMonitor(bus, node_id=params.proc_node, mem_node=params.mem_node,
                                          max_pid=params.max_pid, gmm=self.gmm,
                                          memories={params.mem_node: self.endpoint},
                                          victim_policy=victim_policy, block="excache",
                                          idle=self._serve_memory)
        self.booted = False

    async def _serve_memory(self):
        await self.memory.service_faults()

    async def boot(self):
        """Bring the system up: memory monitor, GMM registration, processor monitor."""
        await self.memory.init()
        self.gmm.add_component("mem", self.params.mem_node, self.endpoint.free_frames())
        await self.processor.boot()
        self.booted = True

    async def create_process(self, regions):
        """Start a process with ``regions`` (``Region`` or ``(vaddr, length[, writable])``); return its pid."""
        self._check_booted()
        return await self.processor.create_process(regions)

    async def exit_process(self, pid):
        """End process ``pid`` (ExCache flush + invalidate, then its address space is torn down)."""
        self._check_booted()
        await self.processor.exit_process(pid)

    async def service_irqs(self, irq_proc=True, irq_mem=True):
        """Serve the sources of the raised interrupts; return the number of events served.

        Page faults first: a software-managed miss is answered by a fill whose request may fault, and a
        fault is served without waiting for the processor side.
        """
        self._check_booted()
        n = 0
        if irq_mem:
            n += await self.memory.service_faults()
        if irq_proc:
            n += await self.processor.service_irq()
        return n

    async def statistics(self):
        """Every counter of the system: ``{"excache": {...}, "mmu": {...}, "proc_netif": {...},
        "mem_netif": {...}, "probe": {...}}`` (probe: stage counts, link counters, ``cycles``)."""
        stats = {"excache": await self.processor.counters(), "mmu": await self.memory.counters()}
        for block in ("proc_netif", "mem_netif"):
            stats[block] = {name: await self.bus.read_reg(block, NETIF_REGISTERS.addr(name))
                            for name, _ in NETIF_COUNTERS}
        probe = {}
        lo = await self.bus.read_reg("probe", PROBE_REGS.addr("cycle_LO"))
        hi = await self.bus.read_reg("probe", PROBE_REGS.addr("cycle_HI"))
        probe["cycles"] = lo | hi << 32
        for name, _ in PROBE_STAGES:
            probe[f"count_{name}"] = await self.bus.read_reg("probe", PROBE_REGS.addr(f"count_{name}"))
        for link in ("link_req", "link_resp"):
            for name in LINK_COUNTERS:
                probe[f"{link}_{name}"] = await self.bus.read_reg("probe", PROBE_REGS.addr(f"{link}_{name}"))
        stats["probe"] = probe
        return stats

    async def read_process_memory(self, pid, vaddr, length):
        """Bytes of ``pid`` at ``[vaddr, vaddr + length)`` as the memory component holds them (the ExCache
        is not consulted: flush it first), zeros for pages never touched. Goes through the MMU's memory
        window, page by page, with the memory monitor's translation."""
        page = self.memory.page_bytes
        out = bytearray()
        while length:
            take = min(length, page - vaddr % page)
            hit = self.memory.translate(pid, vaddr)
            out += bytes(take) if hit is None else await self.mem_bus.read_mem(hit[0], take)
            vaddr += take
            length -= take
        return bytes(out)

    async def flush_all(self):
        """Write every dirty ExCache line back (lines stay valid)."""
        await self.processor.maintenance(MaintOp.FLUSH_ALL)

    def _check_booted(self):
        if not self.booted:
            raise RuntimeError("SystemFirmware.boot() must run first")
