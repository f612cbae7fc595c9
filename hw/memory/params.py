"""Parameters of the memory-side MMU (:class:`MMUParams`), validated where they enter, and the
constants of the page-table format they size."""

from dataclasses import dataclass

from hw.lib.checks import check_int, is_pow2
from hw.protocol import LENGTH_WIDTH, PID_WIDTH

__all__ = ["MMUParams", "PTE_BYTES", "MAX_BUCKETS_LOG2", "MAX_LINE_BYTES"]

#: Bytes of one page-table entry (two 64-bit words, see docs/page-table.md).
PTE_BYTES = 16
#: Largest PT_BUCKETS_LOG2 (the bucket index and the walker's hash are 24 bits: 16 M buckets, 1 GiB of
#: 64-byte buckets, enough to map terabytes of 4 KiB pages at a low load).
MAX_BUCKETS_LOG2 = 24
#: Longest line access: a power of two that the 16-bit message length field holds.
MAX_LINE_BYTES = 1 << (LENGTH_WIDTH - 1)

_FIELDS = ("tlb_entries", "tlb_ways", "page_bytes", "pid_width", "vaddr_width", "paddr_width", "data_width",
           "pt_bucket_entries", "pt_buckets_log2", "pt_max_probes", "axi_id_width", "request_queue", "fault_slots")


@dataclass(frozen=True)
class MMUParams:
    """Validated parameters of :class:`hw.memory.mmu.MemoryMMU`.

    Parameters
    ----------
    tlb_entries : int
        TLB entries (``tlb_entries / tlb_ways`` sets, a power of two).
    tlb_ways : int
        TLB associativity.
    page_bytes : int
        Page size, a power of two from 256 bytes (default 4096).
    pid_width : int
        Process ids handled are ``0 .. 2**pid_width - 1`` (1 to 16); larger pids get ``PROT_FAULT``.
    vaddr_width : int
        Virtual address bits (default 48); a request at or beyond ``2**vaddr_width`` gets ``BAD_REQUEST``.
    paddr_width : int
        Physical (DRAM byte address) bits, the AXI address width.
    data_width : int
        Message data beat and AXI data width in bits (64 to 512, power of two).
    pt_bucket_entries : int
        Page-table entries per bucket (power of two); one bucket is read with one AXI burst. A full
        bucket overflows into the next bucket (linear probing, see docs/page-table.md).
    pt_buckets_log2 : int
        Reset value of ``PT_BUCKETS_LOG2`` (0 to 24): the table has ``2**pt_buckets_log2`` buckets.
        Firmware may change it before it fills the table.
    pt_max_probes : int
        Reset value of ``PT_MAX_PROBES`` (1 to 255): buckets a walk reads at most (overflow chain).
    axi_id_width : int
        AXI ID width (the MMU drives ID 0).
    request_queue : int
        Translated requests waiting for the data mover (2 to 64): how far translation runs ahead of the
        data transfers.
    fault_slots : int
        Requests parked aside while they wait for the memory monitor (1 to 16); while all are taken, new
        requests wait.
    """
    tlb_entries: int = 64
    tlb_ways: int = 4
    page_bytes: int = 4096
    pid_width: int = 8
    vaddr_width: int = 48
    paddr_width: int = 32
    data_width: int = 64
    pt_bucket_entries: int = 4
    pt_buckets_log2: int = 10
    pt_max_probes: int = 4
    axi_id_width: int = 1
    request_queue: int = 4
    fault_slots: int = 4

    def __post_init__(self):
        for name in _FIELDS:
            check_int(f"MMUParams.{name}", getattr(self, name))
        page_bytes, tlb_entries, tlb_ways = self.page_bytes, self.tlb_entries, self.tlb_ways
        if not is_pow2(page_bytes) or page_bytes < 256:
            raise ValueError(f"page_bytes must be a power of two of at least 256, not {page_bytes!r}")
        if tlb_ways < 1 or tlb_entries < tlb_ways or tlb_entries % tlb_ways or not is_pow2(tlb_entries // tlb_ways):
            raise ValueError(f"tlb_entries must be tlb_ways ({tlb_ways}) times a power of two, not {tlb_entries!r}")
        if not 1 <= self.pid_width <= PID_WIDTH:
            raise ValueError(f"pid_width must be 1 to {PID_WIDTH}, not {self.pid_width!r}")
        page_bits = self.page_bits
        if not page_bits < self.vaddr_width <= 64 or self.vaddr_width - page_bits > 40:
            raise ValueError(f"vaddr_width must exceed the page offset ({page_bits} bits), be at most 64 and "
                             f"leave at most 40 vpn bits, not {self.vaddr_width!r}")
        if not page_bits < self.paddr_width <= 64:
            raise ValueError(f"paddr_width must exceed the page offset ({page_bits} bits) and be at most 64, "
                             f"not {self.paddr_width!r}")
        if not is_pow2(self.data_width) or not 64 <= self.data_width <= 512:
            raise ValueError(f"data_width must be a power of two from 64 to 512, not {self.data_width!r}")
        if not is_pow2(self.pt_bucket_entries) or self.pt_bucket_entries * PTE_BYTES * 8 < self.data_width:
            raise ValueError(f"pt_bucket_entries must be a power of two with a bucket at least one data beat "
                             f"wide, not {self.pt_bucket_entries!r}")
        if not 0 <= self.pt_buckets_log2 <= MAX_BUCKETS_LOG2:
            raise ValueError(f"pt_buckets_log2 must be 0 to {MAX_BUCKETS_LOG2}, not {self.pt_buckets_log2!r}")
        if not 1 <= self.pt_max_probes <= 255:
            raise ValueError(f"pt_max_probes must be 1 to 255, not {self.pt_max_probes!r}")
        if not 2 <= self.request_queue <= 64:
            raise ValueError(f"request_queue must be 2 to 64, not {self.request_queue!r}")
        if not 1 <= self.fault_slots <= 16:
            raise ValueError(f"fault_slots must be 1 to 16, not {self.fault_slots!r}")
        if self.axi_id_width < 1:
            raise ValueError(f"axi_id_width must be positive, not {self.axi_id_width!r}")

    @property
    def page_bits(self):
        return self.page_bytes.bit_length() - 1

    @property
    def beat_bytes(self):
        return self.data_width // 8

    @property
    def lane_bits(self):
        """log2 of the bytes of one data beat (also the AXI size code)."""
        return self.beat_bytes.bit_length() - 1

    @property
    def vpn_width(self):
        return self.vaddr_width - self.page_bits

    @property
    def pfn_width(self):
        return self.paddr_width - self.page_bits

    @property
    def num_pids(self):
        return 1 << self.pid_width

    @property
    def bucket_bytes(self):
        return self.pt_bucket_entries * PTE_BYTES

    @property
    def bucket_beats(self):
        return self.bucket_bytes // self.beat_bytes

    @property
    def max_line_bytes(self):
        """Longest LINE_READ/LINE_WRITE: one page, at most :data:`MAX_LINE_BYTES` (the data mover splits it
        into AXI bursts)."""
        return min(self.page_bytes, MAX_LINE_BYTES)

    def as_dict(self):
        return {k: getattr(self, k) for k in _FIELDS}

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`as_dict`."""
        return cls(**d)
