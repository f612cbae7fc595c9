"""Encoder of the hashed page table the MMU's walker reads (format: docs/page-table.md).

Firmware-side only; the golden model (``emu/models/mmu.py``) decodes the table with its own, separate
code so that a format mistake here cannot hide in both.

Summary: the table is ``2**buckets_log2`` buckets (``buckets_log2`` 0 to 24) of ``bucket_entries`` 16-byte entries at a
bucket-aligned base. Entry = word0 (tag) + word1 (frame), little-endian 64-bit words::

    word0: [0] valid  [1] tombstone  [7:2] 0  [23:8] pid  [63:24] vpn
    word1: [0] R      [1] W          [7:2] 0  [63:8] pfn

The home bucket of (pid, vpn) is ``bucket_hash``; a full bucket overflows into the next one (linear
probing, wrapping), at most ``max_probes`` buckets. The walker stops at a match, or at a bucket that
has an empty (neither valid nor tombstone) slot, or after ``max_probes`` buckets. Removal leaves a
tombstone so that probe chains through the bucket stay intact.
"""

from __future__ import annotations

from hw.memory.params import MAX_BUCKETS_LOG2

__all__ = ["PTE_BYTES", "HASH_PID_MULT", "PageTableFull", "bucket_hash", "encode_entry", "TOMBSTONE",
           "HashedPageTable"]

PTE_BYTES = 16
HASH_PID_MULT = 0x9E5
_M64 = (1 << 64) - 1
#: word0 of a removed entry.
TOMBSTONE = (2).to_bytes(8, "little")


class PageTableFull(RuntimeError):
    """No free slot within ``max_probes`` buckets of the home bucket."""


def bucket_hash(pid: int, vpn: int, buckets_log2: int) -> int:
    """Home bucket of (pid, vpn): a 24-bit hash, masked to ``buckets_log2`` bits. Bits 15..0 are the XOR fold
    of the vpn's 16-bit pieces and ``pid * 0x9E5``; bits 23..16 the XOR of vpn bits 23..16, 39..32 and bits
    23..16 of ``pid * 0x9E5``."""
    v = vpn & ((1 << 48) - 1)
    h = pid * HASH_PID_MULT
    low = (v ^ (v >> 16) ^ (v >> 32) ^ h) & 0xFFFF
    high = ((v >> 16) ^ (v >> 32) ^ (h >> 16)) & 0xFF
    return (low | high << 16) & ((1 << buckets_log2) - 1)


def encode_entry(pid: int, vpn: int, pfn: int, readable: bool, writable: bool) -> tuple[bytes, bytes]:
    """``(word0, word1)`` of a valid entry, 8 bytes each."""
    if not 0 <= pid < 1 << 16:
        raise ValueError(f"pid must fit in 16 bits, not {pid!r}")
    if not 0 <= vpn < 1 << 40:
        raise ValueError(f"vpn must fit in 40 bits, not {vpn!r}")
    if not 0 <= pfn < 1 << 56:
        raise ValueError(f"pfn must fit in 56 bits, not {pfn!r}")
    w0 = 1 | (pid << 8) | (vpn << 24)
    w1 = int(bool(readable)) | (int(bool(writable)) << 1) | (pfn << 8)
    return (w0 & _M64).to_bytes(8, "little"), (w1 & _M64).to_bytes(8, "little")


class HashedPageTable:
    """Firmware's shadow of the table in DRAM: which slot holds which key; produces the DRAM writes.

    Parameters
    ----------
    base : int
        Byte address of bucket 0 (bucket aligned).
    buckets_log2, bucket_entries, max_probes : int
        Geometry (``bucket_entries`` comes from the hardware, INFO1).
    """

    def __init__(self, base: int, buckets_log2: int, bucket_entries: int, max_probes: int):
        if not isinstance(buckets_log2, int) or not 0 <= buckets_log2 <= MAX_BUCKETS_LOG2:
            raise ValueError(f"buckets_log2 must be 0 to {MAX_BUCKETS_LOG2}, not {buckets_log2!r}")
        if not isinstance(max_probes, int) or not 1 <= max_probes <= 255:
            raise ValueError(f"max_probes must be 1 to 255, not {max_probes!r}")
        self.bucket_bytes = bucket_entries * PTE_BYTES
        if base % self.bucket_bytes:
            raise ValueError(f"page-table base must be aligned to {self.bucket_bytes} bytes, not {base:#x}")
        self.base, self.buckets_log2 = base, buckets_log2
        self.buckets, self.bucket_entries, self.max_probes = 1 << buckets_log2, bucket_entries, max_probes
        # slot state: None = empty, False = tombstone, (pid, vpn) = valid; a bucket never written is absent
        # (a table of millions of buckets costs only what is used)
        self._slots: dict[int, list] = {}
        self._where: dict[tuple[int, int], tuple[int, int]] = {}

    @property
    def size_bytes(self) -> int:
        return self.buckets * self.bucket_bytes

    def slot_addr(self, bucket: int, slot: int) -> int:
        return self.base + bucket * self.bucket_bytes + slot * PTE_BYTES

    def __contains__(self, key) -> bool:
        return key in self._where

    def insert(self, pid: int, vpn: int, pfn: int, readable: bool, writable: bool) -> list[tuple[int, bytes]]:
        """Writes that install (pid, vpn) -> pfn: frame word first, then the valid tag word.

        An existing entry of the key is rewritten in place.
        """
        w0, w1 = encode_entry(pid, vpn, pfn, readable, writable)
        key = (pid, vpn)
        if key in self._where:
            b, s = self._where[key]
        else:
            b = s = None
            home = bucket_hash(pid, vpn, self.buckets_log2)
            for i in range(min(self.max_probes, self.buckets)):
                cand = (home + i) % self.buckets
                slots = self._slots.get(cand)
                if slots is None:       # never written: all empty
                    b, s = cand, 0
                    break
                for j, state in enumerate(slots):
                    if not state:       # empty or tombstone
                        b, s = cand, j
                        break
                if b is not None:
                    break
            if b is None:
                raise PageTableFull(f"no free page-table slot for pid {pid} vpn {vpn:#x} within "
                                    f"{self.max_probes} buckets")
            self._slots.setdefault(b, [None] * self.bucket_entries)[s] = key
            self._where[key] = (b, s)
        addr = self.slot_addr(b, s)
        return [(addr + 8, w1), (addr, w0)]

    def remove(self, pid: int, vpn: int) -> list[tuple[int, bytes]]:
        """Writes that remove (pid, vpn) (a tombstone tag); empty if the key is not present."""
        where = self._where.pop((pid, vpn), None)
        if where is None:
            return []
        b, s = where
        self._slots[b][s] = False
        return [(self.slot_addr(b, s), TOMBSTONE)]
