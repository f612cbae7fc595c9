"""Processor monitor: the firmware of the processor component (LegoOS's pComponent manager).

It owns the process life cycle on the processor side and, in the software-managed miss mode, the
ExCache's miss path:

* **pid allocation**: pids ``1 .. max_pid`` handed out round-robin (the next free one after the last
  given), so a pid is reused as late as possible;
* **process creation**: the global memory manager places the process on a memory component, then that
  component's memory monitor creates the address space (an RPC in LegoOS; here a call to a
  :class:`MemoryEndpoint`, see ``firmware/system_firmware.py``);
* **process exit**: ExCache flush of the pid (dirty lines written back), then invalidate of the pid,
  both through the ExCache CSRs, then the memory monitor tears the address space down and the GMM
  returns its reservation;
* **software-managed misses** (:meth:`ProcessorMonitor.service_misses`): each miss event waiting in the
  ExCache's CSRs is read and answered with a fill command into a way the monitor picks:

  - ``"fifo"`` (default): the monitor keeps a FIFO pointer per set and fills the way it points at
    (a set's ways are replaced in turn). When the hardware reports an invalid way in the set (its
    suggested victim is not valid) that way is used, as any policy would.
  - ``"suggested"``: the controller's suggested victim (its hardware replacement policy).

  A miss of a pid that is not running is failed with ``PROT_FAULT`` without any network traffic: the
  memory component would answer the same (no owner), so both miss paths give the same answers.

Everything goes through :class:`firmware.bus.Bus` (block ``excache``); no cocotb import here.
"""

from __future__ import annotations

from firmware.bus import Bus
from firmware.global_memory_manager import GlobalMemoryManager, PlacementError, Region
from hw.processor.registers import register_map
from hw.processor.excache_layouts import MaintOp
from hw.protocol import Status
from firmware.pids import next_free_pid

__all__ = ["ProcessorMonitor", "ProcessorMonitorError", "MissRecord", "VICTIM_POLICIES"]

#: Victim choices of the software-managed miss path.
VICTIM_POLICIES = ("fifo", "suggested")

_REGS = register_map()
_M32 = 0xFFFF_FFFF

# status register bits
_BUSY, _DONE, _PENDING, _SOFTWARE = 1, 2, 4, 8
# miss_cmd actions
_FILL, _FAIL = 0, 1


class ProcessorMonitorError(RuntimeError):
    """The processor monitor cannot do what was asked (no free pid, unknown pid, hardware timeout)."""


class MissRecord:
    """One software-managed miss event and the monitor's answer."""

    __slots__ = ("pid", "vaddr", "write", "set", "suggested", "way", "failed")

    def __init__(self, pid, vaddr, write, set_, suggested, way, failed):
        self.pid, self.vaddr, self.write, self.set = pid, vaddr, write, set_
        self.suggested, self.way, self.failed = suggested, way, failed

    def __repr__(self):
        what = "fail" if self.failed else f"fill way {self.way}"
        return f"MissRecord(pid={self.pid}, vaddr={self.vaddr:#x}, set={self.set}, {what})"


class ProcessorMonitor:
    """The processor component's firmware.

    Parameters
    ----------
    bus : Bus
        Register access to the ExCache (block ``block``).
    node_id : int
        Node id of this processor component (the owner of its processes at the memory side).
    mem_node : int
        Node id of the memory component the ExCache sends its misses to.
    max_pid : int
        Largest pid to hand out (pid 0 is reserved).
    gmm : GlobalMemoryManager
        Places new processes.
    memories : dict of int to MemoryEndpoint
        Memory monitors by node id (``create_address_space``/``destroy_address_space``).
    victim_policy : str
        Software miss path: ``"fifo"`` or ``"suggested"`` (see the module docstring).
    block : str
        Name of the ExCache on the bus.
    max_polls : int
        Status reads before a maintenance command is declared hung.
    idle : coroutine function, optional
        Awaited between status polls while waiting for the hardware, so other monitors (the memory
        monitor serving page faults that a draining pipeline needs) run meanwhile.
    """

    def __init__(self, bus, *, node_id, mem_node, max_pid, gmm, memories, victim_policy="fifo",
                 block="excache", max_polls=1_000_000, idle=None):
        if not isinstance(bus, Bus):
            raise TypeError(f"ProcessorMonitor needs a firmware.bus.Bus, not {bus!r}")
        if not isinstance(gmm, GlobalMemoryManager):
            raise TypeError(f"ProcessorMonitor needs a GlobalMemoryManager, not {gmm!r}")
        if victim_policy not in VICTIM_POLICIES:
            raise ValueError(f"victim policy must be one of {', '.join(VICTIM_POLICIES)}, not {victim_policy!r}")
        if not isinstance(max_pid, int) or max_pid < 1:
            raise ValueError(f"max_pid must be a positive integer, not {max_pid!r}")
        if mem_node not in memories:
            raise ValueError(f"no memory endpoint for the ExCache's memory node {mem_node!r}")
        self.bus, self.block = bus, block
        self.node_id, self.mem_node, self.max_pid = node_id, mem_node, max_pid
        self.gmm, self.memories = gmm, dict(memories)
        self.victim_policy = victim_policy
        self.max_polls = max_polls
        self.idle = idle
        self.processes: dict[int, int] = {}     # pid -> memory node
        self.misses: list[MissRecord] = []       # software-managed misses served, in order
        self._last_pid = 0
        self._fifo: dict[int, int] = {}
        self.ways = self.sets = self.line_bytes = None
        self.software = None

    # ------------------------------------------------------------------ registers
    async def _rd(self, name):
        return await self.bus.read_reg(self.block, _REGS.addr(name))

    async def _wr(self, name, value):
        await self.bus.write_reg(self.block, _REGS.addr(name), value)

    # ------------------------------------------------------------------ bring-up
    async def boot(self):
        """Read the ExCache geometry, point its misses at the memory node, clear status and counters."""
        info = await self._rd("info")
        self.ways = (info & 0xFF) or 256
        self.sets = 1 << ((info >> 8) & 0x1F)
        self.line_bytes = 1 << ((info >> 13) & 0xF)
        self.software = bool((info >> 19) & 1)
        await self._wr("mem_node", self.mem_node)
        if await self._rd("mem_node") != self.mem_node:
            raise ProcessorMonitorError(f"ExCache did not take memory node {self.mem_node}")
        await self._wr("status", _DONE)
        await self._wr("counters_clear", 1)

    # ------------------------------------------------------------------ processes
    def _alloc_pid(self):
        pid = next_free_pid(self.processes, self._last_pid, self.max_pid)
        if pid is None:
            raise ProcessorMonitorError(f"no free pid: all {self.max_pid} are running")
        self._last_pid = pid
        return pid

    async def create_process(self, regions):
        """Start a process with ``regions`` (:class:`Region` or ``(vaddr, length[, writable])``); return its pid."""
        regions = [r if isinstance(r, Region) else Region(*r) for r in regions]
        pid = self._alloc_pid()
        try:
            component = self.gmm.place(pid, regions)
        except PlacementError as exc:
            raise ProcessorMonitorError(str(exc)) from None
        if component.node_id != self.mem_node:
            # The ExCache reaches one memory node; the GMM only places there (see SystemFirmware).
            self.gmm.release(pid)
            raise ProcessorMonitorError(f"GMM placed pid {pid} on node {component.node_id}, which this "
                                        f"processor's ExCache does not reach (node {self.mem_node})")
        await self.memories[component.node_id].create_address_space(pid, self.node_id,
                                                                     self.gmm.regions_of(pid))
        self.processes[pid] = component.node_id
        return pid

    async def exit_process(self, pid):
        """End ``pid``: flush and invalidate its ExCache lines, tear down its address space, free the pid."""
        if pid not in self.processes:
            raise ProcessorMonitorError(f"pid {pid!r} is not running")
        await self.maintenance(MaintOp.FLUSH_PID, pid)
        await self.maintenance(MaintOp.INVALIDATE_PID, pid)
        node = self.processes.pop(pid)
        await self.memories[node].destroy_address_space(pid)
        self.gmm.release(pid)

    async def maintenance(self, op, pid=0):
        """Run one ExCache maintenance command and wait for it, serving misses meanwhile."""
        op = MaintOp(op)
        status = await self._wait_idle()
        if status & _DONE:
            await self._wr("status", _DONE)
        await self._wr("maint_cmd", op.value | (pid & 0xFFFF) << 16)
        for _ in range(self.max_polls):
            status = await self._rd("status")
            if status & _DONE:
                await self._wr("status", _DONE)
                return
            await self._between_polls(status)
        raise ProcessorMonitorError(f"ExCache maintenance {op.name} of pid {pid} did not finish")

    async def _wait_idle(self):
        for _ in range(self.max_polls):
            status = await self._rd("status")
            if not status & _BUSY:
                return status
            await self._between_polls(status)
        raise ProcessorMonitorError("ExCache maintenance engine stays busy")

    async def _between_polls(self, status):
        if status & _PENDING:
            await self.service_misses()
        if self.idle is not None:
            await self.idle()

    # ------------------------------------------------------------------ interrupts
    async def service_irq(self):
        """Serve what raised the ExCache's irq: pending misses, a stale ``done``. Returns events served."""
        status = await self._rd("status")
        n = 0
        if status & _DONE and not status & _BUSY:
            await self._wr("status", _DONE)
            n += 1
        if status & _PENDING:
            n += await self.service_misses()
        return n

    async def service_misses(self):
        """Answer every software-managed miss event waiting; return how many."""
        n = 0
        while (await self._rd("status")) & _PENDING:
            info = await self._rd("ev_info")
            lo, hi = await self._rd("ev_vaddr_lo"), await self._rd("ev_vaddr_hi")
            set_ = await self._rd("ev_set")
            vaddr = lo | hi << 32
            pid = info >> 16
            write = bool(info >> 1 & 1)
            suggested = (info >> 8) & 0xFF
            victim_valid = bool(info >> 2 & 1)
            if pid not in self.processes:
                await self._wr("miss_cmd", _FAIL | Status.PROT_FAULT.value << 16)
                self.misses.append(MissRecord(pid, vaddr, write, set_, suggested, None, True))
            else:
                way = self._choose_way(set_, suggested, victim_valid)
                await self._wr("miss_cmd", _FILL | way << 8)
                self.misses.append(MissRecord(pid, vaddr, write, set_, suggested, way, False))
            n += 1
        return n

    def _choose_way(self, set_, suggested, victim_valid):
        if self.victim_policy == "suggested" or not victim_valid:
            return suggested
        way = self._fifo.get(set_, 0)
        self._fifo[set_] = (way + 1) % self.ways
        return way

    # ------------------------------------------------------------------ statistics
    async def counters(self):
        """The ExCache's counters: hits, misses, evictions, writebacks."""
        return {name: await self._rd(name) for name in ("hits", "misses", "evictions", "writebacks")}
