"""Golden model of the whole split system: what every CPU access must return.

The model knows nothing of caches, messages or page tables. It keeps, per process, the regions the
process was created with and the bytes it wrote, and answers each access of a workload
(:data:`emu.workload_format.WORKLOAD_DTYPE`) with the status and read data the CPU must see at the ExCache's
CPU port, whatever the cache geometry, miss-path mode, TLB size or link behaviour:

* an access inside one of the process's regions succeeds; memory starts zero-filled (the memory
  monitor allocates a zeroed frame on first touch) and a read returns the last value written by the
  same process;
* an access outside every region is answered ``PAGE_FAULT`` (the memory monitor refuses the fault),
  and a faulting write changes nothing;
* an access by a pid that is not running is answered ``PROT_FAULT``: the memory component binds every
  pid to the processor node that owns it, and a pid with no owner is refused (in the software-managed
  miss mode the processor monitor fails such a miss itself, with the same status);
* a process that exits loses its memory: a later process with the same pid starts from zeros.

Writes into a read-only region are not predicted: the processor component has no permission bits (in
LegoOS it never translates), so the ExCache accepts such a write into its line and the memory side
refuses the write-back later, at a moment that depends on the cache state. :meth:`SystemModel.run`
raises :class:`ModelError` for such a write instead of guessing.

The model assumes the memory component has frames for every page touched (a refused first touch for lack
of frames would be answered ``PAGE_FAULT``); size the DRAM for the workload.

Status codes are those of ``hw.protocol.Status`` (mirrored here so the model does not import the RTL).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STATUS_OK", "STATUS_PAGE_FAULT", "STATUS_PROT_FAULT", "Region", "ModelError", "SystemModel"]

STATUS_OK = 0
STATUS_PAGE_FAULT = 1
STATUS_PROT_FAULT = 2

_OP_READ = 0
_OP_WRITE = 1


class ModelError(ValueError):
    """The model was asked something it cannot answer (bad setup or an unpredictable access)."""


@dataclass(frozen=True)
class Region:
    """A contiguous range of a process's virtual address space.

    Parameters
    ----------
    vaddr : int
        First byte, page aligned.
    length : int
        Bytes, a positive multiple of the page size.
    writable : bool
        Whether the process may write it.
    """
    vaddr: int
    length: int
    writable: bool = True

    @property
    def end(self):
        return self.vaddr + self.length


def as_region(obj):
    """A :class:`Region` from a Region-like object (``vaddr``, ``length``, ``writable``) or a tuple."""
    if isinstance(obj, Region):
        return obj
    if isinstance(obj, tuple) and len(obj) in (2, 3):
        return Region(*obj)
    if all(hasattr(obj, a) for a in ("vaddr", "length")):
        return Region(int(obj.vaddr), int(obj.length), bool(getattr(obj, "writable", True)))
    raise ModelError(f"a region must be Region(vaddr, length, writable) or a (vaddr, length[, writable]) tuple, "
                     f"not {obj!r}")


class _Process:
    def __init__(self, regions):
        self.regions = regions              # sorted, non-overlapping
        self.pages = {}                     # page number -> bytearray(page_size)

    def region_of(self, vaddr):
        for region in self.regions:
            if region.vaddr <= vaddr < region.end:
                return region
        return None


class SystemModel:
    """Expected results of CPU accesses to the whole system.

    Parameters
    ----------
    page_size : int
        Page size of the memory component (power of two); regions must be aligned to it.
    vaddr_width : int
        Virtual address width; regions must fit below ``2**vaddr_width``.
    """

    def __init__(self, page_size=4096, vaddr_width=48):
        if not isinstance(page_size, int) or page_size < 64 or page_size & (page_size - 1):
            raise ModelError(f"page size must be a power of two of at least 64 bytes, not {page_size!r}")
        if not isinstance(vaddr_width, int) or not 12 <= vaddr_width <= 64:
            raise ModelError(f"vaddr width must be an integer from 12 to 64, not {vaddr_width!r}")
        self.page_size = page_size
        self.page_bits = page_size.bit_length() - 1
        self.vaddr_width = vaddr_width
        self._procs: dict[int, _Process] = {}

    # Process life cycle -----------------------------------------------------------------------
    def create_process(self, pid, regions):
        """Start process ``pid`` with ``regions`` (Region-like objects or tuples), all memory zero."""
        if not isinstance(pid, int) or pid <= 0:
            raise ModelError(f"pid must be a positive integer, not {pid!r}")
        if pid in self._procs:
            raise ModelError(f"pid {pid} is already running")
        regs = sorted((as_region(r) for r in regions), key=lambda r: r.vaddr)
        for r in regs:
            if r.vaddr % self.page_size or r.length <= 0 or r.length % self.page_size:
                raise ModelError(f"region {r} is not a non-empty whole number of {self.page_size}-byte pages")
            if r.end > (1 << self.vaddr_width):
                raise ModelError(f"region {r} does not fit in {self.vaddr_width}-bit virtual addresses")
        for a, b in zip(regs, regs[1:]):
            if b.vaddr < a.end:
                raise ModelError(f"regions {a} and {b} overlap")
        self._procs[pid] = _Process(regs)

    def exit_process(self, pid):
        """End process ``pid``; its memory is gone."""
        if pid not in self._procs:
            raise ModelError(f"pid {pid} is not running")
        del self._procs[pid]

    def running(self):
        """Pids of the running processes, sorted."""
        return sorted(self._procs)

    def regions(self, pid):
        return tuple(self._procs[pid].regions)

    # Accesses -----------------------------------------------------------------------------------
    def access(self, pid, op, vaddr, size, data=0):
        """One access; returns ``(status, read_data)`` (``read_data`` is 0 for writes and faults)."""
        if size not in (1, 2, 4, 8) or vaddr % size:
            raise ModelError(f"access of {size} bytes at {vaddr:#x} is not naturally aligned")
        proc = self._procs.get(pid)
        if proc is None:
            return STATUS_PROT_FAULT, 0
        region = proc.region_of(vaddr)
        if region is None:
            return STATUS_PAGE_FAULT, 0
        page_no, offset = vaddr >> self.page_bits, vaddr & (self.page_size - 1)
        page = proc.pages.get(page_no)
        if op == _OP_READ:
            if page is None:
                return STATUS_OK, 0
            return STATUS_OK, int.from_bytes(page[offset:offset + size], "little")
        if op != _OP_WRITE:
            raise ModelError(f"op must be 0 (read) or 1 (write), not {op!r}")
        if not region.writable:
            raise ModelError(f"pid {pid} writes {vaddr:#x} in read-only region {region}: the outcome depends on "
                             f"the cache state (the processor component has no permission bits)")
        if page is None:
            page = proc.pages[page_no] = bytearray(self.page_size)
        page[offset:offset + size] = (int(data) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        return STATUS_OK, 0

    def run(self, workload):
        """Expected results of a workload array, in order: ``(status uint8 array, read data uint64 array)``."""
        n = len(workload)
        status = np.zeros(n, dtype=np.uint8)
        rdata = np.zeros(n, dtype=np.uint64)
        pids = workload["pid"].tolist()
        ops = workload["op"].tolist()
        vaddrs = workload["vaddr"].tolist()
        sizes = workload["size"].tolist()
        datas = workload["data"].tolist()
        access = self.access
        for i in range(n):
            s, d = access(pids[i], ops[i], vaddrs[i], sizes[i], datas[i])
            if s or d:
                status[i] = s
                rdata[i] = d
        return status, rdata

    # Memory contents ------------------------------------------------------------------------------
    def read_bytes(self, pid, vaddr, length):
        """``length`` bytes of process ``pid`` from ``vaddr`` (zeros where never written)."""
        proc = self._procs.get(pid)
        if proc is None:
            raise ModelError(f"pid {pid} is not running")
        out = bytearray()
        while length:
            page_no, offset = vaddr >> self.page_bits, vaddr & (self.page_size - 1)
            take = min(length, self.page_size - offset)
            page = proc.pages.get(page_no)
            out += page[offset:offset + take] if page is not None else bytes(take)
            vaddr += take
            length -= take
        return bytes(out)

    def touched_pages(self, pid):
        """Virtual addresses of the pages process ``pid`` has written, sorted."""
        return sorted(p << self.page_bits for p in self._procs[pid].pages)

    def image(self, pid):
        """``{page vaddr: bytes}`` of every written page of ``pid`` that is not all zero."""
        return {p << self.page_bits: bytes(b) for p, b in sorted(self._procs[pid].pages.items()) if any(b)}
