"""Configuration of a rack (:class:`RackParams`): P processor and M memory components on one switch.

Node ids: processor component ``i`` is node ``i`` (0 .. P-1), memory component ``j`` is node ``P + j``.
Every network interface knows all ``P + M`` nodes. The CSR space of the rack gives each component a
``2**RACK_COMPONENT_BITS``-word window (processors first, then memories) and the switch statistics the
window after the last component (:meth:`RackParams.csr_bases`).
"""

from dataclasses import asdict, dataclass, field, replace

from amaranth.utils import ceil_log2

from hw.lib.checks import check_int, is_int, is_pow2
from hw.memory.mmu import MMUParams
from hw.network.link import LinkParams
from hw.network.netif import NetIfParams
from hw.processor.excache import MISS_PATHS
from hw.processor.excache_params import ExCacheParams
from hw.protocol import NODE_ID_WIDTH
from hw.system.region_router import REPLICA_OUTSTANDING

__all__ = ["RackParams", "RACK_COMPONENT_BITS", "PROCESSOR_BLOCKS", "MEMORY_BLOCKS"]

#: Word-address bits of one component's window in the rack CSR space.
RACK_COMPONENT_BITS = 14
#: Blocks of a rack processor component and their bases inside its window.
PROCESSOR_BLOCKS = {"excache": 0x0000, "netif": 0x1000, "router": 0x2000}
#: Blocks of a memory component and their bases inside its window.
MEMORY_BLOCKS = {"mmu": 0x0000, "netif": 0x1000}


def _default_excache():
    return ExCacheParams(line_bytes=64, sets=64, ways=4, data_width=64, vaddr_width=48, pid_width=8, policy="lru")


def _default_netif():
    return NetIfParams(node_id=0, n_nodes=2, data_width=64, window=8, timeout=2048, max_payload=64,
                       rx_buffer_msgs=2)


@dataclass(frozen=True)
class RackParams:
    """A rack of ``processors`` x ``memories`` components, validated as a whole.

    Parameters
    ----------
    processors, memories : int
        Numbers of processor and memory components (each at least 1, together 2..64).
    excache : ExCacheParams
        The ExCache of every processor component.
    mmu : MMUParams
        The MMU of every memory component.
    netif : NetIfParams
        Transport parameters of every network interface (``node_id`` and ``n_nodes`` are replaced by the
        component's node id and ``processors + memories``).
    port : LinkParams
        Each switch port's link to its endpoint (latency, bandwidth, loss ...); port ``k`` (node ``k``)
        uses seed ``port.seed + k`` (wrapping, never 0) so ports lose frames independently.
    miss_path : str
        ``"hardware"`` or ``"software"`` (every ExCache).
    dram_bytes, dram_latency : int
        DRAM of every memory component (as :class:`hw.system.params.SystemParams`).
    router_entries : int
        Region table entries of each processor component's region router.
    region_log2 : int
        log2 of the region size in bytes: the unit the global memory manager places on memory components.
    node_id_width : int or None
        Bits of a node id in the rack's RTL (switch, router); default the fewest that number every node.
    retry_limit : int
        Consecutive retransmit timeouts without progress after which a network interface declares a peer
        dead (``NetIfParams.retry_limit``, 1..255): how a processor component detects a failed memory
        component. Detection takes about ``retry_limit * netif.timeout`` cycles.
    replay_slots : int
        Requests the region router keeps for re-sending after a failover (1..16): at least what one ExCache
        has outstanding (its miss handler: two, a dirty victim's write-back overlapped with the fetch; with
        fewer the fetch would wait for a slot while the miss handler cannot take the write-back's answer).
    """
    processors: int = 2
    memories: int = 2
    excache: ExCacheParams = field(default_factory=_default_excache)
    mmu: MMUParams = field(default_factory=MMUParams)
    netif: NetIfParams = field(default_factory=_default_netif)
    port: LinkParams = field(default_factory=LinkParams)
    miss_path: str = "hardware"
    dram_bytes: int = 1 << 20
    dram_latency: int = 4
    router_entries: int = 16
    region_log2: int = 16
    node_id_width: int = None
    retry_limit: int = 4
    replay_slots: int = 2

    def __post_init__(self):
        check_int("RackParams.processors", self.processors, 1, 63)
        check_int("RackParams.memories", self.memories, 1, 63)
        if not 2 <= self.n_nodes <= 64:
            raise ValueError(f"a rack has 2..64 components, not {self.processors} x {self.memories}")
        for name, cls in (("excache", ExCacheParams), ("mmu", MMUParams), ("netif", NetIfParams),
                          ("port", LinkParams)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"RackParams.{name} must be {cls.__name__}, not {getattr(self, name)!r}")
        if self.miss_path not in MISS_PATHS:
            raise ValueError(f"RackParams.miss_path must be 'hardware' or 'software', not {self.miss_path!r}")
        if self.node_id_width is not None:
            check_int("RackParams.node_id_width", self.node_id_width, 1, NODE_ID_WIDTH)
            if self.n_nodes > 1 << self.node_id_width:
                raise ValueError(f"{self.n_nodes} nodes do not fit {self.node_id_width}-bit node ids")
        ex, mmu = self.excache, self.mmu
        if getattr(ex, "line_store", "onchip") != "onchip":
            raise ValueError(f"a rack's ExCache keeps its lines on chip (excache.line_store 'onchip'); the "
                             f"processor-local memory port is not wired in a rack, not {ex.line_store!r}")
        widths = {"excache": ex.data_width, "mmu": mmu.data_width, "netif": self.netif.data_width,
                  "port": self.port.data_width}
        if len(set(widths.values())) != 1:
            raise ValueError("the message data width must be the same everywhere, not "
                             + ", ".join(f"{k}.data_width={v}" for k, v in widths.items()))
        if self.netif.max_payload < ex.line_bytes:
            raise ValueError(f"netif.max_payload must hold a cache line ({ex.line_bytes} bytes), "
                             f"not {self.netif.max_payload!r}")
        if ex.line_bytes > mmu.max_line_bytes:
            raise ValueError(f"excache.line_bytes must be at most the MMU's longest line access "
                             f"({mmu.max_line_bytes} bytes), not {ex.line_bytes!r}")
        if ex.vaddr_width > mmu.vaddr_width:
            raise ValueError(f"excache.vaddr_width must be at most mmu.vaddr_width ({mmu.vaddr_width}), "
                             f"not {ex.vaddr_width!r}")
        if (not is_pow2(self.dram_bytes) or self.dram_bytes > (1 << mmu.paddr_width)
                or self.dram_bytes < 4 * mmu.page_bytes):
            raise ValueError(f"dram_bytes must be a power of two of at least four pages and at most "
                             f"2**mmu.paddr_width, not {self.dram_bytes!r}")
        check_int("RackParams.dram_latency", self.dram_latency, 0, 255)
        check_int("RackParams.router_entries", self.router_entries, 1, 64)
        check_int("RackParams.retry_limit", self.retry_limit, 1, 255)
        check_int("RackParams.replay_slots", self.replay_slots, 1, 16)
        if not is_int(self.region_log2) or not mmu.page_bytes.bit_length() - 1 <= self.region_log2 \
                or self.region_log2 >= ex.vaddr_width:
            raise ValueError(f"RackParams.region_log2 must make regions of at least a page "
                             f"({mmu.page_bytes} bytes) and smaller than the virtual address space, "
                             f"not {self.region_log2!r}")

    # ------------------------------------------------------------------ derived
    @property
    def n_nodes(self):
        return self.processors + self.memories

    @property
    def node_bits(self):
        """Node-id width of the rack's RTL."""
        return self.node_id_width if self.node_id_width is not None else max(1, ceil_log2(self.n_nodes))

    @property
    def processor_nodes(self):
        return tuple(range(self.processors))

    @property
    def memory_nodes(self):
        return tuple(range(self.processors, self.n_nodes))

    @property
    def max_pid(self):
        """Largest pid both the ExCache and the MMU hold (pid 0 is reserved)."""
        return (1 << min(self.excache.pid_width, self.mmu.pid_width)) - 1

    @property
    def region_bytes(self):
        return 1 << self.region_log2

    def netif_of(self, node):
        """The network interface parameters of node ``node``."""
        # Processor components give up on a silent memory component; memory components never give up on a
        # processor component (processor failure is not modelled).
        limit = self.retry_limit if node in self.processor_nodes else 0
        rx = max(self.netif.rx_buffer_msgs, self.rx_buffer_need(node))
        return replace(self.netif, node_id=node, n_nodes=self.n_nodes, retry_limit=limit, rx_buffer_msgs=rx)

    def rx_buffer_need(self, node):
        """Receive buffers (``rx_buffer_msgs``) node ``node`` needs so that a lossless switch never drops a
        frame for want of one (``rx_drop_nobuf``; docs/netif.md, "Receive buffer sizing"). :meth:`netif_of`
        gives each node at least this many.

        A rack's ExCache is blocking with one request outstanding (``overlap_writeback`` off), the region
        router keeps at most ``replay_slots`` of them (a request waits for a log slot) and has at most
        ``REPLICA_OUTSTANDING`` secondary writes awaiting their answer. So a processor component receives at
        most one message with data (the LINE_READ_RESP) besides answers without data: 2. A memory component
        receives at most ``replay_slots + REPLICA_OUTSTANDING`` data messages of each processor component: a
        frame finds room if the others are at most the ring's messages less one.
        """
        if node in self.processor_nodes:
            return 2
        return self.processors * (self.replay_slots + REPLICA_OUTSTANDING)

    def port_of(self, node):
        """The link parameters of the switch port of node ``node``."""
        return replace(self.port, seed=(self.port.seed - 1 + node) % ((1 << 64) - 1) + 1)

    @property
    def csr_addr_width(self):
        return RACK_COMPONENT_BITS + ceil_log2(self.n_nodes + 1)

    def component_base(self, node):
        """Word-address base of node ``node``'s window (the switch's window is ``node = n_nodes``)."""
        return node << RACK_COMPONENT_BITS

    def csr_bases(self):
        """Block name -> word-address base: ``p<i>.excache``, ``p<i>.netif``, ``p<i>.router`` (processor
        ``i`` = node ``i``), ``m<j>.mmu``, ``m<j>.netif`` (memory ``j`` = node ``P + j``), ``switch``."""
        bases = {}
        for i, node in enumerate(self.processor_nodes):
            for block, off in PROCESSOR_BLOCKS.items():
                bases[f"p{i}.{block}"] = self.component_base(node) + off
        for j, node in enumerate(self.memory_nodes):
            for block, off in MEMORY_BLOCKS.items():
                bases[f"m{j}.{block}"] = self.component_base(node) + off
        bases["switch"] = self.component_base(self.n_nodes)
        return bases

    # ------------------------------------------------------------------ serialisation
    def as_dict(self):
        """JSON-serialisable form; inverse of :meth:`from_dict`."""
        return {"processors": self.processors, "memories": self.memories, "excache": self.excache.as_dict(),
                "mmu": self.mmu.as_dict(), "netif": asdict(self.netif), "port": asdict(self.port),
                "miss_path": self.miss_path, "dram_bytes": self.dram_bytes, "dram_latency": self.dram_latency,
                "router_entries": self.router_entries, "region_log2": self.region_log2,
                "node_id_width": self.node_id_width, "retry_limit": self.retry_limit,
                "replay_slots": self.replay_slots}

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise TypeError(f"RackParams.from_dict needs a dict, not {d!r}")
        known = {"processors", "memories", "excache", "mmu", "netif", "port", "miss_path", "dram_bytes",
                 "dram_latency", "router_entries", "region_log2", "node_id_width", "retry_limit", "replay_slots"}
        if set(d) - known:
            raise ValueError(f"unknown RackParams keys: {', '.join(sorted(set(d) - known))}")
        kw = dict(d)
        for key, make in (("excache", ExCacheParams), ("mmu", MMUParams), ("netif", NetIfParams),
                          ("port", LinkParams)):
            if kw.get(key) is not None:
                kw[key] = make(**kw[key])
        return cls(**kw)
