"""The global memory manager (GMM): which memory component holds a new process, and capacity accounting.

In LegoOS the GMM is a cluster-wide service that assigns each process's virtual memory regions to memory
components, balancing their load; the memory monitor of the chosen component then manages the pages.
Here one process lives on one memory component (the ExCache sends all of a process's misses to one node),
so the GMM places a process as a whole:

* each memory component is registered with its node id and its capacity in data frames (what its memory
  monitor can hand out after page tables);
* a process's regions are checked (page aligned, non-empty, non-overlapping, inside the virtual address
  space) and its *reservation* is the number of pages they span: first-touch allocation may use fewer,
  never more, so a placement never over-commits a component;
* the process goes to the component with the most free frames that can hold the whole reservation (ties
  go to the lower node id); if none can, placement fails with :class:`PlacementError`;
* on exit the reservation is returned.

Pure Python bookkeeping: the GMM touches no hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Region", "PlacementError", "MemoryComponentInfo", "GlobalMemoryManager"]


@dataclass(frozen=True)
class Region:
    """A region of a process's virtual address space.

    Parameters
    ----------
    vaddr : int
        First byte (page aligned).
    length : int
        Bytes (a positive multiple of the page size).
    writable : bool
        Whether the process may write it (read-only regions answer writes with a protection fault at
        the memory component).
    """
    vaddr: int
    length: int
    writable: bool = True

    @property
    def end(self):
        return self.vaddr + self.length


def _size(n):
    """``n`` bytes in the largest binary unit that keeps one decimal (``632.0 KiB``)."""
    for unit in ("GiB", "MiB", "KiB"):
        scale = {"GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10}[unit]
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


class PlacementError(RuntimeError):
    """No memory component can hold a process, or the regions are invalid."""


@dataclass
class MemoryComponentInfo:
    """What the GMM knows about one memory component."""
    name: str
    node_id: int
    capacity_frames: int
    reserved_frames: int = 0

    @property
    def free_frames(self):
        return self.capacity_frames - self.reserved_frames


class GlobalMemoryManager:
    """Places processes on memory components by capacity.

    Parameters
    ----------
    page_size : int
        Page size of every memory component (power of two).
    vaddr_width : int
        Virtual address width; regions must end at or below ``2**vaddr_width``.
    """

    def __init__(self, page_size=4096, vaddr_width=48):
        if not isinstance(page_size, int) or page_size < 64 or page_size & (page_size - 1):
            raise ValueError(f"page size must be a power of two of at least 64, not {page_size!r}")
        if not isinstance(vaddr_width, int) or not 12 <= vaddr_width <= 64:
            raise ValueError(f"virtual address width must be an integer from 12 to 64, not {vaddr_width!r}")
        self.page_size = page_size
        self.vaddr_width = vaddr_width
        self.components: dict[str, MemoryComponentInfo] = {}
        self._placement: dict[int, tuple[str, int, tuple[Region, ...]]] = {}

    def add_component(self, name, node_id, capacity_frames):
        """Register a memory component with ``capacity_frames`` data frames."""
        if name in self.components:
            raise ValueError(f"memory component {name!r} is already registered")
        if not isinstance(capacity_frames, int) or capacity_frames < 0:
            raise ValueError(f"capacity must be a non-negative number of frames, not {capacity_frames!r}")
        if any(c.node_id == node_id for c in self.components.values()):
            raise ValueError(f"node id {node_id!r} is already used by another memory component")
        self.components[name] = MemoryComponentInfo(name, node_id, capacity_frames)

    def check_regions(self, regions):
        """Validated, sorted tuple of :class:`Region` (raises :class:`PlacementError`)."""
        out = []
        for r in regions:
            if not isinstance(r, Region):
                raise PlacementError(f"a region must be a firmware.global_memory_manager.Region, not {r!r}")
            if r.vaddr < 0 or r.vaddr % self.page_size or r.length <= 0 or r.length % self.page_size:
                raise PlacementError(f"region {r} is not a non-empty whole number of {self.page_size}-byte pages")
            if r.end > (1 << self.vaddr_width):
                raise PlacementError(f"region {r} does not fit in {self.vaddr_width}-bit virtual addresses")
            out.append(r)
        if not out:
            raise PlacementError("a process needs at least one region")
        out.sort(key=lambda r: r.vaddr)
        for a, b in zip(out, out[1:]):
            if b.vaddr < a.end:
                raise PlacementError(f"regions {a} and {b} overlap")
        return tuple(out)

    def place(self, pid, regions):
        """Choose the memory component for process ``pid``; reserve its pages; return the component info."""
        if pid in self._placement:
            raise PlacementError(f"pid {pid} is already placed")
        regs = self.check_regions(regions)
        frames = sum(r.length // self.page_size for r in regs)
        candidates = [c for c in self.components.values() if c.free_frames >= frames]
        if not candidates:
            free = "; ".join(f"{c.name} (node {c.node_id}): {c.free_frames} of {c.capacity_frames} frames free, "
                             f"{_size(c.free_frames * self.page_size)}"
                             for c in self.components.values()) or "no memory component registered"
            raise PlacementError(f"out of memory: pid {pid} needs {frames} frames of {self.page_size} bytes "
                                 f"({_size(frames * self.page_size)}, the pages its regions span), and no memory "
                                 f"component has {frames} free frames ({free})")
        best = min(candidates, key=lambda c: (-c.free_frames, c.node_id))
        best.reserved_frames += frames
        self._placement[pid] = (best.name, frames, regs)
        return best

    def release(self, pid):
        """Return the reservation of process ``pid`` (at exit)."""
        if pid not in self._placement:
            raise PlacementError(f"pid {pid} is not placed")
        name, frames, _ = self._placement.pop(pid)
        self.components[name].reserved_frames -= frames

    def component_of(self, pid):
        return self.components[self._placement[pid][0]]

    def regions_of(self, pid):
        return self._placement[pid][2]
