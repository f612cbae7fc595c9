"""Golden model of the memory component's MMU: translation, permissions, ownership and DRAM contents.

Independent of the RTL (``hw/memory/mmu.py``) and of the firmware's encoder (``firmware/page_table.py``): it
decodes the hashed page table from its own copy of DRAM, following ``docs/page-table.md`` with its own
code. It has no TLB: it is the architectural behaviour a correct TLB must not change (so a stale TLB
entry after an unmap shows up as a mismatch).

Use: mirror into the model every DRAM write firmware makes (:meth:`MMUModel.write_mem`) and the
configuration it programs (:meth:`set_page_table`, :meth:`set_owner`), then ask :meth:`access` what
each request must be answered, in the order the MMU serves them.

Kinds and statuses are the values of ``hw.protocol.MsgKind``/``Status``, repeated here so the model
does not import the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MMUModel", "Outcome", "LINE_READ", "LINE_WRITE", "WORD_READ", "WORD_WRITE",
           "OK", "PAGE_FAULT", "PROT_FAULT", "BAD_REQUEST", "UNMAPPED"]

LINE_READ, LINE_WRITE, WORD_READ, WORD_WRITE = 0, 1, 2, 3
OK, PAGE_FAULT, PROT_FAULT, BAD_REQUEST = 0, 1, 2, 3
#: Outcome status meaning "no translation: the MMU must raise a fault event to firmware".
UNMAPPED = -1


@dataclass(frozen=True)
class Outcome:
    status: int          #: OK / PAGE_FAULT / PROT_FAULT / BAD_REQUEST, or UNMAPPED
    data: bytes = b""    #: bytes read (reads answered OK)
    paddr: int | None = None


class MMUModel:
    """Architectural model of one MMU and its DRAM.

    Parameters
    ----------
    page_bytes, pid_width, vaddr_width, paddr_width, data_width, bucket_entries : int
        The MMU's geometry.
    dram_bytes : int
        DRAM size; physical addresses wrap modulo it (as the built-in DRAM model does).
    """

    def __init__(self, *, page_bytes, pid_width, vaddr_width, paddr_width, data_width, bucket_entries,
                 dram_bytes):
        self.page_bytes = page_bytes
        self.page_shift = page_bytes.bit_length() - 1
        self.num_pids = 1 << pid_width
        self.vaddr_width, self.paddr_width = vaddr_width, paddr_width
        self.beat_bytes = data_width // 8
        self.bucket_entries = bucket_entries
        self.dram_bytes = dram_bytes
        self.mem = bytearray(dram_bytes)
        self.owner: dict[int, int] = {}
        self.pt_base, self.buckets_log2, self.max_probes = 0, 0, 1

    # ------------------------------------------------------------------ configuration (mirrored)
    def set_page_table(self, base=None, buckets_log2=None, max_probes=None):
        if base is not None:
            self.pt_base = base
        if buckets_log2 is not None:
            self.buckets_log2 = min(buckets_log2, 24)
        if max_probes is not None:
            self.max_probes = max(1, max_probes & 0xFF)

    def set_owner(self, pid, node):
        """Bind ``pid`` to ``node`` (``None`` unbinds). Pids out of range are ignored, like the hardware."""
        if not 0 <= pid < self.num_pids:
            return
        if node is None:
            self.owner.pop(pid, None)
        else:
            self.owner[pid] = node

    def write_mem(self, addr, data):
        data = bytes(data)
        addr %= self.dram_bytes
        if addr + len(data) <= self.dram_bytes:
            self.mem[addr:addr + len(data)] = data
        else:
            for i, b in enumerate(data):
                self.mem[(addr + i) % self.dram_bytes] = b

    def read_mem(self, addr, length):
        addr %= self.dram_bytes
        if addr + length <= self.dram_bytes:
            return bytes(self.mem[addr:addr + length])
        return bytes(self.mem[(addr + i) % self.dram_bytes] for i in range(length))

    # ------------------------------------------------------------------ translation
    def _home(self, pid, vpn):
        folded = 0
        for shift in (0, 16, 32):
            folded ^= (vpn >> shift) & 0xFFFF
        folded ^= (pid * 2533) & 0xFFFF          # 2533 == 0x9E5
        upper = ((vpn >> 16) ^ (vpn >> 32) ^ ((pid * 2533) >> 16)) & 0xFF    # bucket index bits 16..23
        return (folded | upper << 16) % (1 << self.buckets_log2)

    def lookup(self, pid, vpn):
        """``(pfn, readable, writable)`` from the page table in model DRAM, or ``None``."""
        nb = 1 << self.buckets_log2
        bucket_bytes = 16 * self.bucket_entries
        b = self._home(pid, vpn)
        for _ in range(self.max_probes):
            raw = self.read_mem(self.pt_base + b * bucket_bytes, bucket_bytes)
            saw_empty = False
            for k in range(self.bucket_entries):
                tag = int.from_bytes(raw[16 * k:16 * k + 8], "little")
                frame = int.from_bytes(raw[16 * k + 8:16 * k + 16], "little")
                valid, tomb = tag & 1, (tag >> 1) & 1
                if valid and (tag >> 8) & 0xFFFF == pid and tag >> 24 == vpn:
                    pfn = (frame >> 8) & ((1 << (self.paddr_width - self.page_shift)) - 1)
                    return pfn, bool(frame & 1), bool(frame & 2)
                if not valid and not tomb:
                    saw_empty = True
            if saw_empty:
                return None
            b = (b + 1) % nb
        return None

    # ------------------------------------------------------------------ requests
    def well_formed(self, kind, vaddr, length):
        if vaddr >> self.vaddr_width:
            return False
        if kind in (LINE_READ, LINE_WRITE):
            ok = (length > 0 and length % self.beat_bytes == 0 and vaddr % self.beat_bytes == 0
                  and length <= min(self.page_bytes, 1 << 15))
        elif kind in (WORD_READ, WORD_WRITE):
            ok = length in (1, 2, 4, 8) and vaddr % length == 0
        else:
            return False
        return ok and (vaddr % self.page_bytes) + length <= self.page_bytes

    def access(self, src, kind, pid, vaddr, length, data=b"", *, fault_served=True):
        """What the MMU must answer, applying a write to model DRAM when it succeeds.

        Parameters
        ----------
        src : int
            Source node stamped by the network interface.
        kind, pid, vaddr, length : int
            The request header.
        data : bytes
            Write data (``length`` bytes).
        fault_served : bool
            True when firmware has already had its chance on this request: an unmapped address is
            then ``PAGE_FAULT``; False returns ``UNMAPPED`` instead.
        """
        if not self.well_formed(kind, vaddr, length):
            return Outcome(BAD_REQUEST)
        if not 0 <= pid < self.num_pids or self.owner.get(pid) != src:
            return Outcome(PROT_FAULT)
        hit = self.lookup(pid, vaddr >> self.page_shift)
        if hit is None:
            return Outcome(PAGE_FAULT if fault_served else UNMAPPED)
        pfn, readable, writable = hit
        write = kind in (LINE_WRITE, WORD_WRITE)
        if not (writable if write else readable):
            return Outcome(PROT_FAULT)
        paddr = (pfn << self.page_shift) | (vaddr & (self.page_bytes - 1))
        if write:
            self.write_mem(paddr, bytes(data[:length]))
            return Outcome(OK, b"", paddr)
        return Outcome(OK, self.read_mem(paddr, length), paddr)
