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
from firmware.global_memory_manager import REGION_POLICIES, GlobalMemoryManager, PlacementError, Region
from firmware.global_process_manager import GlobalProcessManager, ProcessPlacementError
from firmware.memory_monitor import MemoryMonitor
from firmware.processor_monitor import ProcessorMonitor
from hw.memory.params import MAX_BUCKETS_LOG2
from hw.processor.excache_layouts import MaintOp
from hw.network.registers import LINK_COUNTERS, NETIF_COUNTERS, NETIF_REGISTERS
from hw.system.probe_registers import PROBE_REGS, PROBE_STAGES
from hw.system.rack_registers import ROUTER_COUNTERS, router_register_map, switch_port_counters, switch_register_map

__all__ = ["MemoryEndpoint", "SystemFirmware", "Region", "default_pt_buckets_log2", "RackFirmware",
           "RackOutOfMemory", "OOM_ACTIONS"]


def default_pt_buckets_log2(dram_bytes, bucket_bytes, page_bytes=None):
    """Page-table buckets for a DRAM: the table takes about 1/16 of it (at least one bucket), but past 65,536
    buckets no more than one bucket per frame (``page_bytes`` given: a load of at most 1/E with E entries per
    bucket, so nearly every walk reads one bucket) and at most 2**MAX_BUCKETS_LOG2 (the MMU's limit). Up to
    64 MiB of 4 KiB pages this is the 1/16 rule alone; 1 GiB gets 2**18 buckets (16 MiB of 64-byte buckets)."""
    buckets = max(1, dram_bytes // 16 // bucket_bytes)
    if page_bytes is not None:
        buckets = min(buckets, max(1 << 16, dram_bytes // page_bytes))
    return min(MAX_BUCKETS_LOG2, buckets.bit_length() - 1)


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
            pt_buckets_log2 = default_pt_buckets_log2(params.dram_bytes, mmu.bucket_bytes, mmu.page_bytes)
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


# ====================================================================================================== rack

class RackOutOfMemory(RuntimeError):
    """The rack cannot hold a process (one line: what it needed and what each memory component had free)."""


#: Retransmission timeouts a request may wait for its response before the region router probes (re-sends) it.
PROBE_TIMEOUTS = 2

#: What the rack does with a process it has no memory for: refuse it (``RackOutOfMemory``) or suspend it
#: until exits free enough memory (Pufferfish-style), retried in creation order at every exit.
OOM_ACTIONS = ("refuse", "suspend")


class RackFirmware:
    """All the firmware of a rack (``hw.system.rack.RackTop``) on its one bus: the two-level resource
    management of LegoOS.

    * **Global level**: the global process manager (``firmware/global_process_manager.py``) picks the
      processor component and the rack-wide pid of a new process; the global memory manager
      (``firmware/global_memory_manager.py``) places each of its rack regions on a memory component.
    * **Component level**: each processor component's processor monitor (boot, maintenance, software
      misses), each memory component's memory monitor (page tables, frames, faults). Process creation
      asks each home memory component to create the pid's address space, owned by the processor node,
      holding only its own regions (an RPC in LegoOS, a call here), then writes the region router of the
      processor component: one entry per rack region, ``(pid, region) -> home node``.

    Parameters
    ----------
    bus : Bus
        Block names of ``hw.system.rack_params.RackParams.csr_bases`` (``p<i>.excache``, ``m<j>.mmu``, ...).
    params : hw.system.rack_params.RackParams
    process_policy, region_policy : str
        Placement policies of the GPM and the GMM.
    on_oom : str
        ``"refuse"`` or ``"suspend"`` (:data:`OOM_ACTIONS`).
    victim_policy, max_probes, pt_buckets_log2
        As for :class:`SystemFirmware` (every component the same).
    """

    def __init__(self, bus, params, *, process_policy="least-loaded", region_policy="least-loaded",
                 on_oom="refuse", victim_policy="fifo", pt_buckets_log2=None, max_probes=4):

        if not isinstance(bus, Bus):
            raise TypeError(f"RackFirmware needs a firmware.bus.Bus, not {bus!r}")
        if on_oom not in OOM_ACTIONS:
            raise ValueError(f"out-of-memory action must be one of {', '.join(OOM_ACTIONS)}, not {on_oom!r}")
        if region_policy not in REGION_POLICIES:
            raise ValueError(f"region placement policy must be one of {', '.join(REGION_POLICIES)}, "
                             f"not {region_policy!r}")
        self.bus, self.params = bus, params
        self.region_policy, self.on_oom = region_policy, on_oom
        self._router_regs = router_register_map()
        self._switch_regs = switch_register_map(params.n_nodes)
        self._port_counters = switch_port_counters()
        mmu = params.mmu
        if pt_buckets_log2 is None:
            pt_buckets_log2 = default_pt_buckets_log2(params.dram_bytes, mmu.bucket_bytes, mmu.page_bytes)
        self.gpm = GlobalProcessManager(params.processor_nodes, params.max_pid, process_policy)
        self.gmm = GlobalMemoryManager(page_size=mmu.page_bytes, vaddr_width=params.excache.vaddr_width)
        self.memories, self.endpoints = {}, {}
        for j, node in enumerate(params.memory_nodes):
            mem_bus = CsrMemoryBus(bus, f"m{j}.mmu", beat_bytes=mmu.beat_bytes)
            monitor = MemoryMonitor(mem_bus, dram_bytes=params.dram_bytes, pt_base=0,
                                    pt_buckets_log2=pt_buckets_log2, max_probes=max_probes, block=f"m{j}.mmu")
            self.memories[node] = monitor
            self.endpoints[node] = MemoryEndpoint(monitor, node)
        self.processors = {}
        for i, node in enumerate(params.processor_nodes):
            self.processors[node] = ProcessorMonitor(
                bus, node_id=node, mem_node=params.memory_nodes[0], max_pid=params.max_pid, gmm=self.gmm,
                memories=self.endpoints, victim_policy=victim_policy, block=f"p{i}.excache",
                idle=self._serve_memories)
        self._free_entries = {node: list(range(params.router_entries)) for node in params.processor_nodes}
        self._entries: dict[int, list[int]] = {}      # pid -> router entries used
        self.suspended: list[tuple] = []               # (regions, vnode, pin, replication) waiting for memory
        self.failovers: list[dict] = []                # one record per failed memory component
        self.started: list[int] = []                   # pids started from the suspended queue
        self.booted = False

    # ------------------------------------------------------------------ helpers
    def _proc_block(self, node, block):
        return f"p{self.params.processor_nodes.index(node)}.{block}"

    async def _router_wr(self, node, name, value):
        await self.bus.write_reg(self._proc_block(node, "router"), self._router_regs.addr(name), value)

    async def _router_rd(self, node, name):
        return await self.bus.read_reg(self._proc_block(node, "router"), self._router_regs.addr(name))

    async def _serve_memories(self):
        for node, monitor in self.memories.items():
            if node not in self.gmm.failed:
                await monitor.service_faults()

    def _check_booted(self):
        if not self.booted:
            raise RuntimeError("RackFirmware.boot() must run first")

    # ------------------------------------------------------------------ bring-up
    async def boot(self):
        """Memory monitors, GMM registration, processor monitors, empty region tables."""
        for j, (node, monitor) in enumerate(self.memories.items()):
            await monitor.init()
            self.gmm.add_component(f"m{j}", node, self.endpoints[node].free_frames())
        for node, monitor in self.processors.items():
            await monitor.boot()
            await self._router_wr(node, "invalidate_all", 1)
            await self._router_wr(node, "counters_clear", 1)
            await self._router_wr(node, "default_node", monitor.mem_node)
            # A request unanswered for two retransmission timeouts is sent again, so that a memory component
            # that died after acknowledging it is still detected by the network interface's retry limit.
            await self._router_wr(node, "probe_after", PROBE_TIMEOUTS * self.params.netif.timeout)
        self.booted = True

    # ------------------------------------------------------------------ processes
    async def create_process(self, regions, *, vnode=None, pin=None, replication=1):
        """Start a process with ``regions`` (``Region`` or ``(vaddr, length[, writable])``) on the processor
        component the GPM picks (or ``pin``); return its pid. ``replication`` 2: every region has a secondary
        memory component that receives every write too (the router duplicates writes). Out of memory:
        :class:`RackOutOfMemory` (``on_oom="refuse"``) or ``None`` with the request queued (``"suspend"``)."""
        self._check_booted()
        regions = tuple(r if isinstance(r, Region) else Region(*r) for r in regions)
        try:
            return await self._create(regions, vnode, pin, replication)
        except RackOutOfMemory:
            if self.on_oom == "refuse":
                raise
            self.suspended.append((regions, vnode, pin, replication))
            return None

    async def _create(self, regions, vnode, pin, replication=1):
        try:
            pid, node = self.gpm.place(vnode, pin)
        except ProcessPlacementError as exc:
            raise RackOutOfMemory(str(exc)) from None
        try:
            placed = self.gmm.place_regions(pid, regions, region_bytes=self.params.region_bytes,
                                            policy=self.region_policy, replication=replication)
        except PlacementError as exc:
            raise RackOutOfMemory(f"rack {exc}") from None
        free = self._free_entries[node]
        if len(placed) > len(free):
            self.gmm.release(pid)
            raise RackOutOfMemory(f"out of region table entries: pid {pid} spans {len(placed)} regions of "
                                  f"{self.params.region_bytes} bytes and processor node {node}'s region router "
                                  f"has {len(free)} of {self.params.router_entries} entries free")
        homes = {}
        for p in placed:
            homes.setdefault(p.node, []).append(p.region)
            if p.secondary is not None:
                homes.setdefault(p.secondary, []).append(p.region)
        # Every live memory component binds the pid to its processor node, the homes with their regions and the
        # others with none: an access outside every region is not routed and goes to the ExCache's default
        # memory node, which must then answer PAGE_FAULT (no region), not PROT_FAULT (unknown pid).
        for mem_node in self.params.memory_nodes:
            if mem_node not in self.gmm.failed:
                await self.endpoints[mem_node].create_address_space(pid, node, homes.get(mem_node, ()))
        entries = [free.pop(0) for _ in placed]
        for index, p in zip(entries, placed):
            await self._write_entry(node, index, pid, p)
        self._entries[pid] = entries
        self.gpm.commit(pid, node, vnode)
        # The processor monitor serves this pid's software misses (it holds pid -> home of its first region).
        self.processors[node].processes[pid] = placed[0].node
        return pid

    async def exit_process(self, pid):
        """End ``pid``: flush and invalidate its ExCache lines, clear its router entries, tear its address
        spaces down, free its reservations and pid; then start what was suspended, if it fits now.
        Returns the pids started from the suspended queue."""
        self._check_booted()
        if pid not in self.gpm.processes:
            raise RuntimeError(f"pid {pid!r} is not running")
        node = self.gpm.node_of(pid)
        monitor = self.processors[node]
        await monitor.maintenance(MaintOp.FLUSH_PID, pid)
        await monitor.maintenance(MaintOp.INVALIDATE_PID, pid)
        await self.drain_replicas(node)
        monitor.processes.pop(pid, None)
        for index in self._entries.pop(pid):
            await self._router_wr(node, "commit", 0 | index << 8)
            self._free_entries[node].append(index)
        for mem_node, monitor in self.memories.items():
            if mem_node not in self.gmm.failed and pid in monitor.spaces:
                await self.endpoints[mem_node].destroy_address_space(pid)
        self.gmm.release(pid)
        self.gpm.release(pid)
        return await self._resume()

    async def _resume(self):
        started = []
        waiting, self.suspended = self.suspended, []
        for request in waiting:
            try:
                pid = await self._create(*request)
            except RackOutOfMemory:
                self.suspended.append(request)
                continue
            started.append(pid)
        self.started += started
        return started

    async def drain_replicas(self, node=None, max_polls=100_000):
        """Wait until every write sent to a secondary by processor ``node``'s router (all routers: ``None``) has
        been answered, serving page faults meanwhile (a secondary faults its pages in on first write). The
        ExCache completes a write-back on the primary's answer, so a flush is complete on both copies only
        after this."""
        nodes = self.params.processor_nodes if node is None else (node,)
        for n in nodes:
            for _ in range(max_polls):
                answered = await self._router_rd(n, "replica_acks") + await self._router_rd(n, "replica_lost")
                if answered == await self._router_rd(n, "replicated"):
                    break
                await self._serve_memories()
            else:
                raise RuntimeError(f"processor node {n}: secondary writes unanswered after {max_polls} polls")

    async def flush_all(self):
        """Write every dirty ExCache line of every processor component back, to both copies of replicated
        regions (lines stay valid)."""
        for monitor in self.processors.values():
            await monitor.maintenance(MaintOp.FLUSH_ALL)
        await self.drain_replicas()

    def placements_of(self, pid):
        """The GMM's :class:`firmware.global_memory_manager.RegionPlacement` tuple of ``pid``."""
        return self.gmm.placements_of(pid)

    # ------------------------------------------------------------------ interrupts
    async def service_irqs(self, irq_proc=None, irq_mem=None, irq_net=0):
        """Serve the raised interrupts: ``irq_proc``/``irq_mem``/``irq_net`` are bit masks (bit ``i``: processor
        ``i`` / memory ``j`` / processor ``i``'s network interface), ``None`` for all. A dead peer first (the
        failover), then page faults. Returns the number of events served."""
        self._check_booted()
        n = 0
        if irq_net:
            n += await self.service_failures(irq_net)
        for j, (node, monitor) in enumerate(self.memories.items()):
            if node in self.gmm.failed:
                continue        # a failed component's monitor is gone with it
            if irq_mem is None or irq_mem >> j & 1:
                n += await monitor.service_faults()
        for i, monitor in enumerate(self.processors.values()):
            if irq_proc is None or irq_proc >> i & 1:
                n += await monitor.service_irq()
        return n

    # ------------------------------------------------------------------ failover
    async def service_failures(self, irq_net=None):
        """A processor component's network interface declared peers dead (``irq_net``: bit mask of processor
        components, ``None`` for all): acknowledge the interrupts, read which memory components are dead and
        fail over each one not handled yet (:meth:`fail_over`). Returns the number of failovers done."""
        self._check_booted()
        events = NETIF_REGISTERS.addr("events")
        dead = set()
        for i, node in enumerate(self.params.processor_nodes):
            if irq_net is not None and not irq_net >> i & 1:
                continue
            block = self._proc_block(node, "netif")
            await self.bus.write_reg(block, events, 1)                  # W1C: peer_dead
            for k in range((max(self.params.memory_nodes) >> 5) + 1):
                word = await self.bus.read_reg(block, NETIF_REGISTERS.addr(f"peer_dead_{k}"))
                dead |= {32 * k + b for b in range(32) if word >> b & 1}
        done = 0
        for node in sorted(dead & set(self.params.memory_nodes) - self.gmm.failed):
            await self.fail_over(node)
            done += 1
        return done

    async def fail_over(self, node):
        """Memory component ``node`` has failed: the GMM promotes the secondary of each of its regions; every
        affected region-table entry is rewritten (new primary, no secondary); an ExCache whose default memory
        node it was gets a live one; then every router marks it failed, which re-sends the outstanding requests
        to it to their region's new home (or answers them NODE_DEAD where no replica exists). Appends the
        failover record (cycles of failure, detection and recovery, from the switch) to :attr:`failovers`."""
        self._check_booted()
        changed = self.gmm.fail_component(node)
        for pid, (old, new) in changed.items():
            owner = self.gpm.node_of(pid)
            for index, before, after in zip(self._entries[pid], old, new):
                if before != after:
                    await self._write_entry(owner, index, pid, after)
            self.processors[owner].processes[pid] = new[0].node
        live = [n for n in self.params.memory_nodes if n not in self.gmm.failed]
        for proc, monitor in self.processors.items():
            if monitor.mem_node == node and live:
                monitor.mem_node = live[0]
                await monitor._wr("mem_node", live[0])
            await self._router_wr(proc, "default_node", monitor.mem_node)
        for proc in self.params.processor_nodes:
            await self._router_wr(proc, "fail_node", node)
        regs = self._switch_regs
        record = {"node": node,
                  "failed_at": await self.bus.read_reg("switch", regs.addr("failed_at")),
                  "detected_at": await self.bus.read_reg("switch", regs.addr("detected_at")),
                  "recovered_at": await self.bus.read_reg("switch", regs.addr("cycles_LO")),
                  "regions_promoted": sum(1 for old, new in changed.values() for a, b in zip(old, new)
                                          if a.node != b.node),
                  "regions_lost": sum(len(self.gmm.lost_regions(pid)) for pid in changed)}
        self.failovers.append(record)
        await self.bus.write_reg("switch", regs.addr("record_clear"), 1)
        return record

    async def _write_entry(self, node, index, pid, p):
        await self._router_wr(node, "entry_pid", pid)
        await self._router_wr(node, "entry_region", p.number & 0xFFFF_FFFF)
        await self._router_wr(node, "entry_region_hi", p.number >> 32)
        await self._router_wr(node, "entry_node", p.node)
        await self._router_wr(node, "entry_replica", 0 if p.secondary is None else p.secondary | 1 << 8)
        await self._router_wr(node, "commit", 1 | index << 8)

    async def kill_memory(self, j, cycle):
        """The fault plan: memory component ``j`` (node ``P + j``) dies at ``cycle`` (its switch port drops
        everything from then on)."""
        await self.bus.write_reg("switch", self._switch_regs.addr(f"p{self.params.memory_nodes[j]}_kill_at"), cycle)

    # ------------------------------------------------------------------ statistics
    async def statistics(self):
        """Every counter of the rack: ``{"processors": {node: {...}}, "memories": {node: {...}},
        "switch": {"cycles", crossbar counters, "ports": {node: {...}}}}``."""
        stats = {"processors": {}, "memories": {}, "switch": {}}
        netif_regs = [(name, NETIF_REGISTERS.addr(name)) for name, _ in NETIF_COUNTERS]
        for node, monitor in self.processors.items():
            block = self._proc_block(node, "netif")
            stats["processors"][node] = {
                "excache": await monitor.counters(),
                "router": {name: await self._router_rd(node, name) for name, _ in ROUTER_COUNTERS},
                "netif": {name: await self.bus.read_reg(block, addr) for name, addr in netif_regs},
                "processes": self.gpm.load(node),
            }
        for j, (node, monitor) in enumerate(self.memories.items()):
            stats["memories"][node] = {
                "mmu": await monitor.counters(),
                "netif": {name: await self.bus.read_reg(f"m{j}.netif", addr) for name, addr in netif_regs},
                "frames_used": monitor.frames.count - monitor.frames.free_count,
                "frames_free": monitor.frames.free_count,
                "failed": node in self.gmm.failed,
            }
        sw = stats["switch"]
        regs = self._switch_regs
        lo = await self.bus.read_reg("switch", regs.addr("cycles_LO"))
        hi = await self.bus.read_reg("switch", regs.addr("cycles_HI"))
        sw["cycles"] = lo | hi << 32
        for name in ("frames_routed", "dropped_unroutable", "dropped_spoofed", "dropped_dead"):
            sw[name] = await self.bus.read_reg("switch", regs.addr(name))
        stats["failovers"] = [dict(r) for r in self.failovers]
        sw["ports"] = {}
        for k in range(self.params.n_nodes):
            sw["ports"][k] = {name: await self.bus.read_reg("switch", regs.addr(f"p{k}_{name}"))
                              for name in self._port_counters}
        return stats
