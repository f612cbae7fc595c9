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

In a rack (``firmware.system_firmware.RackFirmware``) a process's address space is instead cut into
*rack regions*, the aligned ``region_bytes`` pieces of its regions, and each piece is placed on its own
memory component (LegoOS's distributed virtual memory; the processor component's region router sends each
miss to the piece's home, ``hw/system/region_router.py``), by :meth:`GlobalMemoryManager.place_regions`:

* ``"round-robin"``: pieces go to the memory components in turn (the turn carries over between
  processes);
* ``"least-loaded"``: each piece goes to the component with the most free frames (ties to the lower
  node id);
* either way a piece that does not fit its choice **spills** to the next component that can hold it
  (counted in :attr:`GlobalMemoryManager.spills`); if none can, the whole process is refused with
  :class:`PlacementError` (nothing stays reserved) naming what it needed and what each component had free.

**Failure** (:meth:`GlobalMemoryManager.fail_component`): a failed memory component takes no more
regions; every rack region whose primary it was is promoted to its secondary (the secondary becomes the
primary, the region is left with one copy), a region whose secondary it was loses the secondary, and a
region with no replica is *lost* (its accesses fail). Re-replication onto a third component is not done.

Pure Python bookkeeping: the GMM touches no hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Region", "PlacementError", "MemoryComponentInfo", "GlobalMemoryManager", "REGION_POLICIES",
           "RegionPlacement", "split_regions"]

#: Placement policies of rack regions on memory components.
REGION_POLICIES = ("least-loaded", "round-robin")


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


@dataclass(frozen=True)
class RegionPlacement:
    """One rack region of a process and its home memory component.

    Parameters
    ----------
    vaddr, length, writable
        The piece of one of the process's regions that lies in rack region ``number``.
    number : int
        ``vaddr // region_bytes``: the region number the router matches.
    node : int
        Node id of the home (primary) memory component.
    secondary : int or None
        With replication factor 2: node id of the secondary memory component, which receives every write
        too (never the primary).
    """
    vaddr: int
    length: int
    writable: bool
    number: int
    node: int
    secondary: int | None = None

    @property
    def region(self):
        return Region(self.vaddr, self.length, self.writable)


def split_regions(regions, region_bytes):
    """The pieces of sorted, non-overlapping ``regions`` cut at multiples of ``region_bytes``:
    ``[(number, Region), ...]`` in address order."""
    out = []
    for r in regions:
        va = r.vaddr
        while va < r.end:
            number = va // region_bytes
            end = min(r.end, (number + 1) * region_bytes)
            out.append((number, Region(va, end - va, r.writable)))
            va = end
    return out


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
        self._rack: dict[int, tuple[RegionPlacement, ...]] = {}
        self._turn = 0
        #: Rack regions that did not fit the policy's first choice and went to another component.
        self.spills = 0
        #: Node ids of failed memory components, and rack regions whose secondary was promoted.
        self.failed: set[int] = set()
        self.promotions = 0
        self._primaries: dict[str, int] = {}     # rack regions placed with each component as primary

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

    def _out_of_memory(self, pid, frames, what):
        free = "; ".join(f"{c.name} (node {c.node_id}): {c.free_frames} of {c.capacity_frames} frames free, "
                         f"{_size(c.free_frames * self.page_size)}"
                         for c in self.components.values()) or "no memory component registered"
        return PlacementError(f"out of memory: pid {pid} needs {frames} frames of {self.page_size} bytes "
                              f"({_size(frames * self.page_size)}, the pages its regions span), and {what} "
                              f"({free})")

    def place_regions(self, pid, regions, *, region_bytes, policy="least-loaded", replication=1):
        """Place each rack region of process ``pid`` on a memory component (see the module docstring);
        reserve its pages; return the :class:`RegionPlacement` tuple in address order. With ``replication``
        2 each region also gets a secondary: the other component with the most free frames that can hold it
        (its pages are reserved there too)."""
        if replication not in (1, 2):
            raise PlacementError(f"replication factor must be 1 or 2, not {replication!r}")
        if pid in self._placement or pid in self._rack:
            raise PlacementError(f"pid {pid} is already placed")
        if policy not in REGION_POLICIES:
            raise PlacementError(f"region placement policy must be one of {', '.join(REGION_POLICIES)}, "
                                 f"not {policy!r}")
        if not isinstance(region_bytes, int) or region_bytes < self.page_size or region_bytes & (region_bytes - 1):
            raise PlacementError(f"region size must be a power of two of at least a page ({self.page_size}), "
                                 f"not {region_bytes!r}")
        pieces = split_regions(self.check_regions(regions), region_bytes)
        order = [c for c in self.components.values() if c.node_id not in self.failed]
        if not order:
            raise self._out_of_memory(pid, sum(r.length for _, r in pieces) // self.page_size,
                                      "no memory component is registered")
        taken, out, spills, turn = {}, [], 0, self._turn
        primaries = dict(self._primaries)
        for number, r in pieces:
            frames = r.length // self.page_size
            if policy == "round-robin":
                ranked = [order[(turn + k) % len(order)] for k in range(len(order))]
            else:
                # With replication 2 the primary and the secondary take the same frames, so free frames tie
                # after every region: the tie goes to the component with fewer primaries, spreading the reads
                # (and what a failure takes over) instead of putting every primary on the lowest node id.
                ranked = sorted(order, key=lambda c: (-(c.free_frames - taken.get(c.name, 0)),
                                                      primaries.get(c.name, 0) if replication == 2 else 0,
                                                      c.node_id))
            fits = [c for c in ranked if c.free_frames - taken.get(c.name, 0) >= frames]
            if not fits:
                total = sum(p.length for _, p in pieces) // self.page_size
                raise self._out_of_memory(pid, total, f"no memory component has {frames} free frames for its "
                                                      f"region at {r.vaddr:#x} after placing the ones before")
            chosen = fits[0]
            spills += chosen is not ranked[0]
            if policy == "round-robin":
                turn = (order.index(chosen) + 1) % len(order)
            taken[chosen.name] = taken.get(chosen.name, 0) + frames
            primaries[chosen.name] = primaries.get(chosen.name, 0) + 1
            secondary = None
            if replication == 2:
                others = sorted((c for c in order if c is not chosen
                                 and c.free_frames - taken.get(c.name, 0) >= frames),
                                key=lambda c: (-(c.free_frames - taken.get(c.name, 0)), c.node_id))
                if not others:
                    total = 2 * sum(p.length for _, p in pieces) // self.page_size
                    raise self._out_of_memory(pid, total, f"no second memory component has {frames} free frames "
                                                          f"for the replica of its region at {r.vaddr:#x}")
                secondary = others[0].node_id
                taken[others[0].name] = taken.get(others[0].name, 0) + frames
            out.append(RegionPlacement(r.vaddr, r.length, r.writable, number, chosen.node_id, secondary))
        for name, frames in taken.items():
            self.components[name].reserved_frames += frames
        self._turn, self.spills = turn, self.spills + spills
        self._primaries = primaries
        self._rack[pid] = tuple(out)
        return self._rack[pid]

    def fail_component(self, node_id):
        """Memory component ``node_id`` has failed: promote secondaries (see the module docstring). Returns
        ``{pid: (old placements, new placements)}`` for every process that had a region on it (primary or
        secondary); a lost region keeps the failed node as its home (:meth:`lost_regions`)."""
        info = self._by_node(node_id)
        if node_id in self.failed:
            return {}
        self.failed.add(node_id)
        info.capacity_frames = info.reserved_frames      # nothing more is placed on it
        changed = {}
        for pid, placed in self._rack.items():
            new = []
            for p in placed:
                if p.node == node_id and p.secondary is not None:
                    p = RegionPlacement(p.vaddr, p.length, p.writable, p.number, p.secondary, None)
                elif p.secondary == node_id:
                    p = RegionPlacement(p.vaddr, p.length, p.writable, p.number, p.node, None)
                new.append(p)
            if new != list(placed):
                changed[pid] = (placed, tuple(new))
            elif any(p.node == node_id for p in placed):
                changed[pid] = (placed, placed)
            self._rack[pid] = tuple(new)
        self.promotions += sum(1 for old, new in changed.values() for a, b in zip(old, new) if a.node != b.node)
        return changed

    def lost_regions(self, pid):
        """The placements of ``pid`` whose home failed with no replica (their accesses fail NODE_DEAD)."""
        return tuple(p for p in self._rack.get(pid, ()) if p.node in self.failed)

    def placements_of(self, pid):
        """The :class:`RegionPlacement` tuple of a process placed by :meth:`place_regions`."""
        return self._rack[pid]

    def _by_node(self, node_id):
        return next(c for c in self.components.values() if c.node_id == node_id)

    def place(self, pid, regions):
        """Choose the memory component for process ``pid``; reserve its pages; return the component info."""
        if pid in self._placement or pid in self._rack:
            raise PlacementError(f"pid {pid} is already placed")
        regs = self.check_regions(regions)
        frames = sum(r.length // self.page_size for r in regs)
        candidates = [c for c in self.components.values() if c.free_frames >= frames]
        if not candidates:
            raise self._out_of_memory(pid, frames, f"no memory component has {frames} free frames")
        best = min(candidates, key=lambda c: (-c.free_frames, c.node_id))
        best.reserved_frames += frames
        self._placement[pid] = (best.name, frames, regs)
        return best

    def release(self, pid):
        """Return the reservation of process ``pid`` (at exit)."""
        if pid in self._rack:
            for p in self._rack.pop(pid):
                for node in (p.node, p.secondary):
                    if node is not None:
                        self._by_node(node).reserved_frames -= p.length // self.page_size
            return
        if pid not in self._placement:
            raise PlacementError(f"pid {pid} is not placed")
        name, frames, _ = self._placement.pop(pid)
        self.components[name].reserved_frames -= frames

    def component_of(self, pid):
        return self.components[self._placement[pid][0]]

    def regions_of(self, pid):
        return self._placement[pid][2]
