"""Parameters of the ExCache, validated where they enter."""

from dataclasses import dataclass

from hw.lib.checks import is_int, is_pow2

__all__ = ["ExCacheParams", "POLICIES", "LINE_STORES", "MAX_MSHRS"]

#: Replacement policies the RTL and the golden model both implement.
POLICIES = ("lru", "fifo", "random", "plru")
#: Where the line data lives: block RAM inside the ExCache, or a processor-local memory on an AXI4 port.
LINE_STORES = ("onchip", "axi")
#: Most miss status holding registers (an MSHR number travels in the request header's 8-bit ``tag``).
MAX_MSHRS = 16


def _log2(x):
    return x.bit_length() - 1


@dataclass(frozen=True)
class ExCacheParams:
    """Configuration of one ExCache.

    Parameters
    ----------
    line_bytes : int
        Cache line size in bytes, a power of two from 64 to 4096.
    sets : int
        Number of sets, a power of two (1 .. 65536).
    ways : int
        Associativity, 1 (direct mapped) .. 64. ``plru`` needs a power of two.
    data_width : int
        Width of the CPU data path and of the message data beats in bits: a power of two, at least 8,
        at most ``line_bytes * 8``.
    vaddr_width : int
        Virtual address width in bits (at most 64, the message header's ``vaddr``).
    pid_width : int
        Process id width in bits (1 .. 16, the message header's ``pid``).
    policy : str
        Replacement policy: ``"lru"``, ``"fifo"``, ``"random"`` (16-bit LFSR) or ``"plru"`` (tree).
    line_store : str
        ``"onchip"``: line data in block RAM inside the ExCache (small caches, FPGA). ``"axi"``: line data in
        processor-local memory behind the ExCache's ``lmem`` AXI4 port (LegoOS's ExCache in local DRAM); tags
        and replacement state stay on chip.
    local_reads : int
        ``"axi"`` only: read hits in flight on the ``lmem`` port at most (1 .. 64). Back-to-back read hits run
        at one per cycle while the local memory's first-beat latency is at most ``local_reads - 2`` cycles.
        The non-blocking controller's answer queue has ``mshrs + local_reads`` entries with this store
        (:func:`~hw.processor.answer_queue.queue_depth`).
    overlap_writeback : bool
        A dirty victim's LINE_WRITE and the LINE_READ are both sent before either is answered (the fetch does
        not wait for the write-back's answer). This needs the two answers in request order, which holds when
        both go to the same memory component (``docs/mmu.md``, "Ordering"); a rack, whose region router may
        send them to two components, turns it off.
    mshrs : int
        Miss status holding registers (1 .. 16). 1 is the blocking controller (one miss open, the pipeline
        stops behind it); more is the non-blocking one (:mod:`hw.processor.nb_controller`: hit-under-miss,
        miss-under-miss, merging), which needs ``overlap_writeback``; with ``line_store="axi"`` its read hits and
        completions go through :class:`~hw.processor.local_read_port.LocalReadPort`.
    rx_cut_through : bool
        ``net_rx`` is a verdict port (``MessagePort(data_width, verdict=True)``, the network interface's
        ``NetIfParams.rx_cut_through``): a line read response is handed over while its frame still arrives, and
        the fill writes its beats as they come; the line is installed (and the access answered) only with the
        last beat when its ``discard`` is 0. A discarded or non-matching message is sunk (``docs/excache.md``,
        "Receive cut-through"). False: store and forward (every message already checked).
    """
    line_bytes: int = 64
    sets: int = 64
    ways: int = 4
    data_width: int = 64
    vaddr_width: int = 48
    pid_width: int = 16
    policy: str = "lru"
    line_store: str = "onchip"
    local_reads: int = 8
    overlap_writeback: bool = True
    mshrs: int = 1
    rx_cut_through: bool = False

    def __post_init__(self):
        if not is_pow2(self.line_bytes) or not 64 <= self.line_bytes <= 4096:
            raise ValueError(f"line_bytes must be a power of two from 64 to 4096, not {self.line_bytes!r}")
        if not is_pow2(self.sets) or self.sets > 65536:
            raise ValueError(f"sets must be a power of two from 1 to 65536, not {self.sets!r}")
        if not is_int(self.ways) or not 1 <= self.ways <= 64:
            raise ValueError(f"ways must be an integer from 1 to 64, not {self.ways!r}")
        if not is_pow2(self.data_width) or self.data_width < 8 or self.data_width > 8 * self.line_bytes:
            raise ValueError(f"data_width must be a power of two from 8 to line_bytes*8 "
                             f"({8 * self.line_bytes}), not {self.data_width!r}")
        if not is_int(self.pid_width) or not 1 <= self.pid_width <= 16:
            raise ValueError(f"pid_width must be an integer from 1 to 16, not {self.pid_width!r}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {self.policy!r}")
        if self.policy == "plru" and not is_pow2(self.ways):
            raise ValueError(f"policy 'plru' needs a power-of-two number of ways, not {self.ways!r}")
        if self.line_store not in LINE_STORES:
            raise ValueError(f"line_store must be one of {', '.join(LINE_STORES)}, not {self.line_store!r}")
        if not is_int(self.local_reads) or not 1 <= self.local_reads <= 64:
            raise ValueError(f"local_reads must be an integer from 1 to 64, not {self.local_reads!r}")
        if not isinstance(self.overlap_writeback, bool):
            raise TypeError(f"overlap_writeback must be a bool, not {self.overlap_writeback!r}")
        if not isinstance(self.rx_cut_through, bool):
            raise TypeError(f"rx_cut_through must be a bool, not {self.rx_cut_through!r}")
        if not is_int(self.mshrs) or not 1 <= self.mshrs <= MAX_MSHRS:
            raise ValueError(f"mshrs must be an integer from 1 to {MAX_MSHRS}, not {self.mshrs!r}")
        if self.mshrs > 1 and not self.overlap_writeback:
            raise ValueError("mshrs > 1 (the non-blocking controller) needs overlap_writeback: a victim's "
                             "LINE_WRITE must be answered before its MSHR's LINE_READ (one memory component)")
        if not is_int(self.vaddr_width) or self.vaddr_width > 64:
            raise ValueError(f"vaddr_width must be an integer of at most 64, not {self.vaddr_width!r}")
        if self.vaddr_width < self.offset_bits + self.index_bits + 1:
            raise ValueError(f"vaddr_width must leave at least one tag bit above offset and index "
                             f"({self.offset_bits + self.index_bits + 1} bits), not {self.vaddr_width!r}")

    # Derived geometry -------------------------------------------------------------------------
    @property
    def word_bytes(self):
        return self.data_width // 8

    @property
    def words_per_line(self):
        return self.line_bytes // self.word_bytes

    @property
    def offset_bits(self):
        """Byte offset within a line."""
        return _log2(self.line_bytes)

    @property
    def byte_bits(self):
        """Byte offset within a data word."""
        return _log2(self.word_bytes)

    @property
    def word_bits(self):
        """Word index within a line."""
        return _log2(self.words_per_line)

    @property
    def index_bits(self):
        return _log2(self.sets)

    @property
    def tag_bits(self):
        return self.vaddr_width - self.offset_bits - self.index_bits

    @property
    def way_bits(self):
        """Bits of a way number (at least 1)."""
        return max(1, (self.ways - 1).bit_length())

    @property
    def capacity_bytes(self):
        return self.line_bytes * self.sets * self.ways

    @property
    def local_addr_width(self):
        """Byte address width of the ``lmem`` port: the line data, line ``set * ways + way`` at
        ``line * line_bytes`` (at least 12 bits)."""
        return max(12, (self.capacity_bytes - 1).bit_length())

    def as_dict(self):
        return {"line_bytes": self.line_bytes, "sets": self.sets, "ways": self.ways,
                "data_width": self.data_width, "vaddr_width": self.vaddr_width,
                "pid_width": self.pid_width, "policy": self.policy, "line_store": self.line_store,
                "local_reads": self.local_reads, "mshrs": self.mshrs,
                "rx_cut_through": self.rx_cut_through}
