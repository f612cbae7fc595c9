"""Configuration of the whole system (:class:`SystemParams`) and its default.

The component defaults live here, not in the tops, so that the component and system tops both read them
without importing each other.
"""

from dataclasses import asdict, dataclass, field, replace

from hw.lib.checks import is_int, is_pow2
from hw.memory.dram import AxiDramModel
from hw.network.link import LinkParams
from hw.memory.mmu import MMUParams
from hw.network.netif import NetIfParams
from hw.processor.excache import MISS_PATHS
from hw.processor.excache_params import ExCacheParams

__all__ = ["SystemParams", "default_params", "legoos_excache", "run_default_params", "rx_buffer_need"]


def rx_buffer_need(excache):
    """``(processor, memory)``: the ``rx_buffer_msgs`` each network interface needs so that a lossless link
    never drops a frame for want of a receive buffer (``rx_drop_nobuf``), with one processor and one memory
    component (docs/netif.md, "Receive buffer sizing").

    Every message towards a node answers, or is, a request of an allocated MSHR (or of the blocking miss
    handler, which behaves as one MSHR here), and an MSHR is released only once its last response has been
    read out of the processor's buffer. Per MSHR: a LINE_WRITE (data) and a LINE_READ (none) to the memory
    side, a LINE_WRITE_RESP (none) before a LINE_READ_RESP (data) back. The memory side carries out a
    write before any later request, so a MSHR's LINE_WRITE has left the memory's buffer before its read is
    answered. The ring accepts a frame only with room for a full-size message past its unread data, header
    FIFO (``max(8, 2 * rx_buffer_msgs)``) room aside; so ``n`` buffers take any frame while at most ``n - 1``
    unread data messages are in. Processor: a response of MSHR ``k`` arrives while ``k``'s line is not in,
    so at most ``mshrs - 1`` lines are: ``mshrs``. Memory: a LINE_READ may arrive behind every MSHR's
    LINE_WRITE, its own included: ``mshrs + 1``.
    """
    return excache.mshrs, excache.mshrs + 1


def _default_excache():
    return ExCacheParams(line_bytes=64, sets=64, ways=4, data_width=64, vaddr_width=48, pid_width=8,
                         policy="lru")


def legoos_excache():
    """The ExCache of a small LegoOS processor, the default of ``disagg run`` (docs/system.md, "Defaults").

    64 MiB of processor-local memory in 4 KiB lines (LegoOS's line is a page), 2048 sets x 8 ways, LRU; the
    line data on the ``lmem`` AXI4 port (served by the harness's compiled local memory), tags and state on
    chip. The tops' default (``SystemParams()``, ``rtl/*.v``, FPGA builds, the cocotb tests) keeps the
    small all-on-chip ExCache of ``_default_excache``.
    """
    return ExCacheParams(line_bytes=4096, sets=2048, ways=8, data_width=64, vaddr_width=48, pid_width=8,
                         policy="lru", line_store="axi", mshrs=8)


def _default_proc_netif():
    return NetIfParams(node_id=0, n_nodes=2, data_width=64, window=8, timeout=2048, max_payload=64,
                       rx_buffer_msgs=2)


def _default_mem_netif():
    return NetIfParams(node_id=1, n_nodes=2, data_width=64, window=8, timeout=2048, max_payload=64,
                       rx_buffer_msgs=2)


@dataclass(frozen=True)
class SystemParams:
    """Configuration of a :class:`SystemTop`, validated as a whole.

    Parameters
    ----------
    excache : ExCacheParams
        Processor-side cache.
    mmu : MMUParams
        Memory-side MMU/TLB and page size.
    proc_netif, mem_netif : NetIfParams
        Network interfaces of the processor and memory components; their ``node_id`` are the two
        components' node ids (distinct, each a valid peer of the other).
    link : LinkParams
        The link from the processor to the memory component.
    link_back : LinkParams or None
        The link from the memory to the processor component; ``None``: the parameters of ``link`` with
        the next seed (``link.seed + 1``), so the two directions lose frames independently.
    miss_path : str
        ``"hardware"`` (default) or ``"software"`` (see ``docs/excache.md``, ``docs/system.md``).
    dram_bytes : int
        DRAM size of the memory component (power of two). The default, 1 GiB, runs real programs; it is
        served by the harness's compiled memory (``SystemTop(external_dram=True)``); tops with the RTL DRAM
        model inside (cocotb tests, FPGA) use small sizes.
    dram_latency : int
        Extra DRAM access cycles (0 .. 255).
    dram_read_slots : int
        Read bursts the DRAM accepts ahead, each timed from its own address (1 .. 16; 1: one transaction at a
        time): :class:`hw.memory.dram.AxiDramModel` ``read_slots``, and the harness's compiled DRAM (set at
        run time there).
    local_latency : int
        ``excache.line_store == "axi"``: first-beat latency of the processor-local memory holding the ExCache's
        line data (0 .. 255 cycles; served outside the RTL: the harness's compiled local memory, or a board's
        memory). It decides timing only, not the Verilog.
    """
    excache: ExCacheParams = field(default_factory=_default_excache)
    mmu: MMUParams = field(default_factory=MMUParams)
    proc_netif: NetIfParams = field(default_factory=_default_proc_netif)
    mem_netif: NetIfParams = field(default_factory=_default_mem_netif)
    link: LinkParams = field(default_factory=LinkParams)
    link_back: LinkParams = None
    miss_path: str = "hardware"
    dram_bytes: int = 1 << 30
    dram_latency: int = 4
    dram_read_slots: int = AxiDramModel.DEFAULT_READ_SLOTS
    local_latency: int = 4

    def __post_init__(self):
        for name, cls in (("excache", ExCacheParams), ("mmu", MMUParams), ("proc_netif", NetIfParams),
                          ("mem_netif", NetIfParams), ("link", LinkParams)):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise TypeError(f"SystemParams.{name} must be {cls.__name__}, not {value!r}")
        if self.link_back is not None and not isinstance(self.link_back, LinkParams):
            raise TypeError(f"SystemParams.link_back must be LinkParams or None, not {self.link_back!r}")
        if self.miss_path not in MISS_PATHS:
            raise ValueError(f"SystemParams.miss_path must be 'hardware' or 'software', not {self.miss_path!r}")
        ex, mmu, pn, mn = self.excache, self.mmu, self.proc_netif, self.mem_netif
        widths = {"excache.data_width": ex.data_width, "mmu.data_width": mmu.data_width,
                  "proc_netif.data_width": pn.data_width, "mem_netif.data_width": mn.data_width,
                  "link.data_width": self.link.data_width}
        if self.link_back is not None:
            widths["link_back.data_width"] = self.link_back.data_width
        if len(set(widths.values())) != 1:
            raise ValueError("the message data width must be the same everywhere, not "
                             + ", ".join(f"{k}={v}" for k, v in widths.items()))
        if pn.node_id == mn.node_id:
            raise ValueError(f"the processor and memory components need distinct node ids, not both {pn.node_id!r}")
        if mn.node_id >= pn.n_nodes or pn.node_id >= mn.n_nodes:
            raise ValueError(f"node ids must be peers of each other: processor node {pn.node_id} of "
                             f"{mn.n_nodes} at the memory side, memory node {mn.node_id} of {pn.n_nodes} at the "
                             f"processor side")
        if pn.rx_cut_through != ex.rx_cut_through:
            raise ValueError(f"proc_netif.rx_cut_through ({pn.rx_cut_through}) and excache.rx_cut_through "
                             f"({ex.rx_cut_through}) must agree: the ExCache's net_rx is the interface's rx")
        for name, n, need in zip(("proc_netif", "mem_netif"), (pn, mn), rx_buffer_need(ex)):
            if n.rx_buffer_msgs < need:
                raise ValueError(f"{name}.rx_buffer_msgs must be at least {need} with excache.mshrs = {ex.mshrs} "
                                 f"(messages that can wait in its receive buffer; docs/netif.md, \"Receive buffer "
                                 f"sizing\"), not {n.rx_buffer_msgs!r}")
            if n.max_payload < ex.line_bytes:
                raise ValueError(f"{name}.max_payload must hold a cache line ({ex.line_bytes} bytes), "
                                 f"not {n.max_payload!r}")
        if ex.line_bytes > mmu.max_line_bytes:
            raise ValueError(f"excache.line_bytes must be at most the MMU's longest line access "
                             f"({mmu.max_line_bytes} bytes: one page), not {ex.line_bytes!r}")
        if ex.vaddr_width > mmu.vaddr_width:
            raise ValueError(f"excache.vaddr_width must be at most mmu.vaddr_width ({mmu.vaddr_width}), "
                             f"not {ex.vaddr_width!r}")
        if (not is_pow2(self.dram_bytes) or self.dram_bytes > (1 << mmu.paddr_width)
                or self.dram_bytes < 4 * mmu.page_bytes):
            raise ValueError(f"dram_bytes must be a power of two of at least four pages "
                             f"({4 * mmu.page_bytes}) and at most 2**mmu.paddr_width, not {self.dram_bytes!r}")
        if not is_int(self.dram_latency) or not 0 <= self.dram_latency <= 255:
            raise ValueError(f"dram_latency must be an integer from 0 to 255, not {self.dram_latency!r}")
        if not is_int(self.dram_read_slots) or not 1 <= self.dram_read_slots <= 16:
            raise ValueError(f"dram_read_slots must be an integer from 1 to 16, not {self.dram_read_slots!r}")
        if not is_int(self.local_latency) or not 0 <= self.local_latency <= 255:
            raise ValueError(f"local_latency must be an integer from 0 to 255, not {self.local_latency!r}")

    def as_dict(self):
        """JSON-serialisable form (nested dicts of each block's parameters); inverse of :meth:`from_dict`."""
        return {
            "excache": self.excache.as_dict(),
            "mmu": self.mmu.as_dict(),
            "proc_netif": asdict(self.proc_netif),
            "mem_netif": asdict(self.mem_netif),
            "link": asdict(self.link),
            "link_back": None if self.link_back is None else asdict(self.link_back),
            "miss_path": self.miss_path,
            "dram_bytes": self.dram_bytes,
            "dram_latency": self.dram_latency,
            "dram_read_slots": self.dram_read_slots,
            "local_latency": self.local_latency,
        }

    @classmethod
    def from_dict(cls, d):
        """SystemParams from :meth:`as_dict` output; missing keys take the defaults."""
        if not isinstance(d, dict):
            raise TypeError(f"SystemParams.from_dict needs a dict, not {d!r}")
        unknown = set(d) - {"excache", "mmu", "proc_netif", "mem_netif", "link", "link_back", "miss_path",
                            "dram_bytes", "dram_latency", "dram_read_slots", "local_latency"}
        if unknown:
            raise ValueError(f"unknown SystemParams keys: {', '.join(sorted(unknown))}")
        kw = {}
        for key, make in (("excache", ExCacheParams), ("mmu", lambda **k: MMUParams(**k)),
                          ("proc_netif", NetIfParams), ("mem_netif", NetIfParams), ("link", LinkParams),
                          ("link_back", LinkParams)):
            if d.get(key) is not None:
                kw[key] = make(**d[key])
        for key in ("miss_path", "dram_bytes", "dram_latency", "dram_read_slots", "local_latency"):
            if key in d:
                kw[key] = d[key]
        return cls(**kw)

    @property
    def proc_node(self):
        """Node id of the processor component."""
        return self.proc_netif.node_id

    @property
    def mem_node(self):
        """Node id of the memory component."""
        return self.mem_netif.node_id

    @property
    def max_pid(self):
        """Largest pid both the ExCache and the MMU can hold (pid 0 is reserved)."""
        return (1 << min(self.excache.pid_width, self.mmu.pid_width)) - 1

    @property
    def return_link(self):
        """Parameters of the memory -> processor link."""
        if self.link_back is not None:
            return self.link_back
        return replace(self.link, seed=self.link.seed % ((1 << 64) - 1) + 1)


def default_params(**overrides):
    """The default system configuration (``rtl/system.v``), with ``overrides`` of SystemParams fields."""
    return SystemParams(**overrides)


def run_default_params(**overrides):
    """The default system of ``disagg run`` (``configs/default.toml``): :func:`default_params` with the
    LegoOS-sized ExCache of :func:`legoos_excache` (network payloads of a whole line)."""
    ex = legoos_excache()
    need = rx_buffer_need(ex)
    kw = {"excache": ex,
          "proc_netif": replace(_default_proc_netif(), max_payload=ex.line_bytes, rx_buffer_msgs=max(2, need[0])),
          "mem_netif": replace(_default_mem_netif(), max_payload=ex.line_bytes, rx_buffer_msgs=max(2, need[1]))}
    kw.update(overrides)
    return SystemParams(**kw)
