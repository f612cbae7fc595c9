"""One validated configuration of the whole system, from TOML and the command line.

A :class:`SystemConfig` holds every knob a user turns (cache geometry, TLB, page size, link, clock,
miss path, DRAM, CPU model), checks types and ranges where they enter, and maps to the hardware
parameter objects (``ExCacheParams``, ``MMUParams``, ``NetIfParams``, ``LinkParams``, ``SystemParams``),
whose own checks catch impossible combinations. Every problem is a :class:`~emu.errors.DisaggError`
of one line.

Sources, later ones overriding earlier ones: the built-in defaults (:data:`SCHEMA`, also written out in
``configs/default.toml``), a TOML file (``--config FILE``), and ``--set section.key=value`` overrides.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

from .errors import DisaggError

__all__ = ["SCHEMA", "SMALL_CACHE", "SystemConfig", "default_config", "small_config", "load_config", "parse_topology"]

#: Every setting: ``section -> key -> (type, default, description)``. ``float`` settings accept integers.
#: Defaults of the hardware settings are replaced, at import, by those of ``hw.system.params.run_default_params()``
#: (the tops' ``default_params()`` with the LegoOS-sized ExCache: docs/system.md, "Defaults").
SCHEMA = {
    "cache": {
        "line_bytes": (int, 64, "ExCache line size in bytes (power of two, 64..4096)"),
        "sets": (int, 64, "ExCache sets (power of two)"),
        "ways": (int, 4, "ExCache associativity (1 = direct mapped)"),
        "policy": (str, "lru", "replacement policy: lru, fifo, random or plru"),
        "line_store": (str, "onchip", "where line data lives: onchip (block RAM) or axi (processor-local memory "
                                      "on an AXI4 port, served in C++ by the harness)"),
        "local_latency": (int, 4, "line_store=axi: first-beat latency of the local memory in cycles (0..255)"),
        "local_reads": (int, 8, "line_store=axi: read hits in flight on the local port (1..64; one per cycle "
                                "needs local_latency <= local_reads - 2)"),
        "mshrs": (int, 8, "miss status holding registers (1..16): 1 is the blocking ExCache, more the "
                          "non-blocking one (hit-under-miss, miss-under-miss, merging)"),
        "rx_cut_through": (bool, False, "the fill takes a line while its frame still arrives (the processor's "
                                        "network interface receives cut-through; docs/excache.md)"),
    },
    "tlb": {
        "entries": (int, 64, "TLB entries of the memory-side MMU"),
        "ways": (int, 4, "TLB associativity (entries / ways must be a power of two)"),
    },
    "memory": {
        "page_bytes": (int, 4096, "page size of the memory component (power of two, >= 256)"),
        "dram_bytes": (int, 1 << 20, "DRAM of the memory component in bytes (power of two)"),
        "dram_latency": (int, 4, "extra DRAM access cycles (0..255)"),
        "read_slots": (int, 4, "read bursts the DRAM accepts ahead, each timed from its own address (1..16; "
                               "1: one transaction at a time; docs/timing.md, DRAM)"),
        "dram_model": (str, "compiled", "who serves the DRAM in the harness: compiled (C++, sparse, any size) or "
                                        "rtl (hw/memory/dram.py in the model, at most 16 MiB)"),
        "fill_bytes_per_cycle": (int, 64, "compiled DRAM: the memory monitor zeroes frames by the DRAM's fill engine "
                                          "at this many bytes per cycle (0: through the MMU's 8-byte memory "
                                          "window; docs/system.md)"),
    },
    "link": {
        "latency": (int, 16, "one-way link latency in cycles"),
        "bandwidth": (float, 8.0, "link bandwidth in bytes per cycle (multiple of 1/256, at most 8)"),
        "loss": (float, 0.0, "probability that a frame is lost (0..1)"),
        "corrupt": (float, 0.0, "probability that a frame is corrupted (0..1; dropped by CRC)"),
        "duplicate": (float, 0.0, "probability that a frame is duplicated (0..1)"),
        "reorder": (float, 0.0, "probability that a frame is delayed behind later ones (0..1)"),
        "seed": (int, 1, "seed of the link's loss generator (non-zero)"),
    },
    "network": {
        "window": (int, 8, "go-back-N window of the network interfaces (power of two)"),
        "timeout": (int, 2048, "retransmission timeout in cycles"),
    },
    "system": {
        "clock_mhz": (float, 250.0, "clock frequency in MHz, to express cycles in ns"),
        "miss_path": (str, "hardware", "ExCache miss path: hardware (miss handler) or software (processor monitor)"),
        "pid_width": (int, 8, "process id width in bits"),
    },
    "cpu": {
        "max_outstanding": (int, 4, "accesses the CPU model keeps in flight per thread (1 = blocking CPU)"),
        "threads": (int, 1, "hardware threads of the CPU model, each its own access stream (1..64; "
                            "docs/system.md)"),
    },
    "topology": {
        "processors": (int, 1, "processor components of the rack (1 x 1 = the single system; docs/rack.md)"),
        "memories": (int, 1, "memory components of the rack"),
        "region_bytes": (int, 1 << 20, "rack region size: the unit placed on a memory component (power of two, "
                                       ">= a page)"),
        "region_entries": (int, 16, "region table entries of each processor component's router (1..64)"),
        "region_policy": (str, "least-loaded", "placement of regions on memory components: least-loaded or "
                                               "round-robin"),
        "process_policy": (str, "least-loaded", "placement of processes on processor components: least-loaded "
                                                "or round-robin"),
        "replication": (int, 1, "copies of each rack region: 1, or 2 (every write goes to a primary and a "
                                "secondary memory component; docs/rack.md)"),
        "kill_memory": (int, -1, "fault plan: memory component (0..memories-1) that dies during the run; -1: none"),
        "kill_cycle": (int, 0, "fault plan: when kill_memory dies, in cycles from the start of the accesses"),
    },
    "harness": {
        "idle_skip": (bool, True, "advance idle cycles without evaluating the model (exact: same cycles and "
                                  "statistics; docs/system.md)"),
    },
}

#: Sections that do not change the hardware (left out of the cache key of the converted Verilog).
RUNTIME_SECTIONS = ("cpu", "harness")

#: ``PxM`` of ``--topology``: processor and memory component counts.
TOPOLOGY_MAX_COMPONENTS = 64


def parse_topology(text):
    """``"PxM"`` -> ``(P, M)``, or :class:`DisaggError` (one line)."""
    parts = str(text).lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise DisaggError(f"--topology must look like PxM (processor x memory components, e.g. 4x4), not {text!r}")
    p, m = int(parts[0]), int(parts[1])
    if p < 1 or m < 1 or p + m > TOPOLOGY_MAX_COMPONENTS:
        raise DisaggError(f"--topology {text}: needs at least 1 processor and 1 memory component and at most "
                          f"{TOPOLOGY_MAX_COMPONENTS} components in all")
    return p, m


_RATE_ONE = 65536   # the link's probabilities are in units of 1/65536

#: Who serves the memory component's DRAM in the harness (``memory.dram_model``): ``compiled`` is the C++
#: memory of ``emu/harness/axi_memory.h`` on the top's DRAM port, ``rtl`` the AxiDramModel inside the model.
DRAM_MODELS = ("compiled", "rtl")
#: Largest DRAM of the RTL model: Amaranth writes one initialiser line per word, so build time grows with it.
RTL_DRAM_MAX_BYTES = 16 << 20


def _paddr_width(dram_bytes):
    """The MMU's physical address width: 32 bits, or as many as a larger DRAM needs."""
    if isinstance(dram_bytes, int) and not isinstance(dram_bytes, bool) and dram_bytes > 1 << 32:
        return (dram_bytes - 1).bit_length()
    return 32

# Settings whose default is the default system of disagg run in hw/system/params.py (so both cannot drift apart).
_FROM_HW = {
    ("cache", "line_bytes"): lambda d: d.excache.line_bytes,
    ("cache", "sets"): lambda d: d.excache.sets,
    ("cache", "ways"): lambda d: d.excache.ways,
    ("cache", "policy"): lambda d: d.excache.policy,
    ("cache", "line_store"): lambda d: d.excache.line_store,
    ("cache", "local_latency"): lambda d: d.local_latency,
    ("cache", "local_reads"): lambda d: d.excache.local_reads,
    ("cache", "mshrs"): lambda d: d.excache.mshrs,
    ("cache", "rx_cut_through"): lambda d: d.excache.rx_cut_through,
    ("tlb", "entries"): lambda d: d.mmu.tlb_entries,
    ("tlb", "ways"): lambda d: d.mmu.tlb_ways,
    ("memory", "page_bytes"): lambda d: d.mmu.page_bytes,
    ("memory", "dram_bytes"): lambda d: d.dram_bytes,
    ("memory", "dram_latency"): lambda d: d.dram_latency,
    ("memory", "read_slots"): lambda d: d.dram_read_slots,
    ("link", "latency"): lambda d: d.link.latency,
    ("link", "bandwidth"): lambda d: float(d.link.bandwidth),
    ("link", "seed"): lambda d: d.link.seed,
    ("network", "window"): lambda d: d.proc_netif.window,
    ("network", "timeout"): lambda d: d.proc_netif.timeout,
    ("system", "miss_path"): lambda d: d.miss_path,
    ("system", "pid_width"): lambda d: d.excache.pid_width,
}


def _adopt_hw_defaults():
    from hw.system.params import run_default_params
    d = run_default_params()
    for (section, key), get in _FROM_HW.items():
        typ, _, doc = SCHEMA[section][key]
        SCHEMA[section][key] = (typ, get(d), doc)


_adopt_hw_defaults()


def _check_type(where, typ, value):
    if typ is bool:
        if not isinstance(value, bool):
            raise DisaggError(f"{where} must be true or false, not {value!r}")
        return value
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise DisaggError(f"{where} must be {'a number' if typ is float else 'an integer' if typ is int else 'a string'}"
                          f", not {value!r}")
    return value


class SystemConfig:
    """A complete, validated configuration. Read settings as ``config.cache.ways``.

    Parameters
    ----------
    values : dict, optional
        ``{section: {key: value}}`` overriding the defaults; unknown sections or keys are errors.
    source : str
        Where the values came from (for messages and reports).
    """

    def __init__(self, values=None, *, source="built-in default", explicit=None):
        self.source = source
        #: ``(section, key)`` of every setting given (by a file or an override) rather than defaulted.
        self.explicit = frozenset((s, k) for s, keys in (values or {}).items() if isinstance(keys, dict)
                                  for k in keys) if explicit is None else frozenset(explicit)
        merged = {section: {key: spec[1] for key, spec in keys.items()} for section, keys in SCHEMA.items()}
        for section, keys in (values or {}).items():
            if section not in SCHEMA:
                raise DisaggError(f"{source}: unknown section [{section}] (known: {', '.join(SCHEMA)})")
            if not isinstance(keys, dict):
                raise DisaggError(f"{source}: [{section}] must be a table of settings, not {keys!r}")
            for key, value in keys.items():
                if key not in SCHEMA[section]:
                    raise DisaggError(f"{source}: unknown setting {section}.{key} "
                                      f"(known in [{section}]: {', '.join(SCHEMA[section])})")
                merged[section][key] = _check_type(f"{source}: {section}.{key}", SCHEMA[section][key][0], value)
        self._values = merged
        self._params = self._build_params()

    # -- access ---------------------------------------------------------------------------------------

    def __getattr__(self, section):
        values = self.__dict__.get("_values")
        if values is None or section not in values:
            raise AttributeError(section)
        return SimpleNamespace(**values[section])

    def to_dict(self) -> dict:
        """``{section: {key: value}}`` of every setting."""
        return {s: dict(k) for s, k in self._values.items()}

    def key(self) -> str:
        """A short stable digest of the configuration."""
        return hashlib.sha256(json.dumps(self._values, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def ns_per_cycle(self) -> float:
        return 1000.0 / self.system.clock_mhz

    def with_overrides(self, assignments) -> SystemConfig:
        """A new configuration with ``section.key=value`` strings applied (values in TOML syntax;
        bare words are taken as strings)."""
        values = self.to_dict()
        explicit = set(self.explicit)
        for text in assignments or ():
            if "=" not in text:
                raise DisaggError(f"override {text!r} must look like section.key=value")
            name, raw = (part.strip() for part in text.split("=", 1))
            if name.count(".") != 1:
                raise DisaggError(f"override {text!r}: the setting must be section.key (e.g. cache.ways=8)")
            section, key = name.split(".")
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw
            if section not in values:
                raise DisaggError(f"override {text!r}: unknown section [{section}] (known: {', '.join(SCHEMA)})")
            values[section][key] = value
            explicit.add((section, key))
        return SystemConfig(values, source=self.source + (" + overrides" if assignments else ""), explicit=explicit)

    # -- hardware parameters ------------------------------------------------------------------------

    def _rate(self, name):
        p = getattr(self.link, name)
        if not 0.0 <= p <= 1.0:
            raise DisaggError(f"{self.source}: link.{name} must be a probability from 0 to 1, not {p!r}")
        return round(p * _RATE_ONE)

    def _build_params(self):
        from hw.processor.excache_params import ExCacheParams
        from hw.network.link import LinkParams
        from hw.memory.mmu import MMUParams
        from hw.network.netif import NetIfParams
        from hw.system.params import SystemParams, rx_buffer_need

        c, t, mem, ln, net, sy = self.cache, self.tlb, self.memory, self.link, self.network, self.system
        if sy.clock_mhz <= 0:
            raise DisaggError(f"{self.source}: system.clock_mhz must be positive, not {sy.clock_mhz!r}")
        if self.cpu.max_outstanding < 1:
            raise DisaggError(f"{self.source}: cpu.max_outstanding must be at least 1, not {self.cpu.max_outstanding!r}")
        if not 1 <= self.cpu.threads <= 64:
            raise DisaggError(f"{self.source}: cpu.threads must be from 1 to 64, not {self.cpu.threads!r}")
        if mem.dram_model not in DRAM_MODELS:
            raise DisaggError(f"{self.source}: memory.dram_model must be one of {', '.join(DRAM_MODELS)}, "
                              f"not {mem.dram_model!r}")
        if mem.dram_model == "rtl" and mem.dram_bytes > RTL_DRAM_MAX_BYTES:
            raise DisaggError(f"{self.source}: memory.dram_model = \"rtl\" holds at most {RTL_DRAM_MAX_BYTES >> 20} MiB "
                              f"(the RTL model's memory is converted word by word), not {mem.dram_bytes} bytes; "
                              f"use memory.dram_model = \"compiled\"")
        if not 1 <= mem.read_slots <= 16:
            raise DisaggError(f"{self.source}: memory.read_slots must be from 1 to 16, not {mem.read_slots!r}")
        if not 0 <= mem.fill_bytes_per_cycle <= 4096:
            raise DisaggError(f"{self.source}: memory.fill_bytes_per_cycle must be from 0 to 4096, "
                              f"not {mem.fill_bytes_per_cycle!r}")
        rates = {name: self._rate(name) for name in ("loss", "corrupt", "duplicate", "reorder")}
        try:
            excache = ExCacheParams(line_bytes=c.line_bytes, sets=c.sets, ways=c.ways, data_width=64, vaddr_width=48,
                                    pid_width=sy.pid_width, policy=c.policy, line_store=c.line_store,
                                    local_reads=c.local_reads, mshrs=c.mshrs, rx_cut_through=c.rx_cut_through)
            mmu = MMUParams(tlb_entries=t.entries, tlb_ways=t.ways, page_bytes=mem.page_bytes, pid_width=sy.pid_width,
                            vaddr_width=48, paddr_width=_paddr_width(mem.dram_bytes), data_width=64)
            # Receive buffers sized from the messages that can wait in them (at least the tops' 2), so that a
            # lossless link never drops a frame for want of one (docs/netif.md, "Receive buffer sizing").
            need = rx_buffer_need(excache)
            netifs = [NetIfParams(node_id=node, n_nodes=2, data_width=64, window=net.window, timeout=net.timeout,
                                  max_payload=max(64, c.line_bytes), rx_buffer_msgs=max(2, need[node]),
                                  rx_cut_through=c.rx_cut_through and node == 0) for node in (0, 1)]
            link = LinkParams(data_width=64, latency=ln.latency, bandwidth=ln.bandwidth, loss=rates["loss"],
                              corrupt=rates["corrupt"], dup=rates["duplicate"], reorder=rates["reorder"],
                              seed=ln.seed)
            return SystemParams(excache=excache, mmu=mmu, proc_netif=netifs[0], mem_netif=netifs[1], link=link,
                                miss_path=sy.miss_path, dram_bytes=mem.dram_bytes, dram_latency=mem.dram_latency,
                                dram_read_slots=mem.read_slots, local_latency=c.local_latency)
        except (TypeError, ValueError) as exc:
            raise DisaggError(f"{self.source}: impossible configuration: {exc}") from None

    @property
    def params(self):
        """The ``hw.system.params.SystemParams`` of this configuration."""
        return self._params

    def rack_excache(self):
        """The ExCache of each processor component of a rack.

        A rack keeps its lines on chip (its processor components have no local-memory port, docs/rack.md),
        so it starts from the tops' on-chip default ExCache (``SystemParams().excache``, 64 sets x 4 ways x
        64 B), not from ``disagg run``'s LegoOS-sized one; every ``[cache]`` setting given explicitly (file or
        ``--set``) applies on top, and ``RackParams`` refuses what a rack cannot be (``line_store = "axi"``).
        """
        from dataclasses import replace

        from hw.system.params import SystemParams

        given = {k: self._values["cache"][k] for k in ("line_bytes", "sets", "ways", "policy", "line_store",
                                                       "local_reads", "mshrs") if ("cache", k) in self.explicit}
        try:
            return replace(SystemParams().excache, pid_width=self._params.excache.pid_width, **given)
        except (TypeError, ValueError) as exc:
            raise DisaggError(f"{self.source}: impossible rack: {exc}") from None

    @property
    def is_rack(self) -> bool:
        """More than one processor or memory component (``[topology]``)."""
        return (self.topology.processors, self.topology.memories) != (1, 1)

    def rack_params(self):
        """The ``hw.system.rack_params.RackParams`` of this configuration: the components of :attr:`params`,
        ``[topology]`` of them on a switch whose ports are the ``[link]`` model."""
        from dataclasses import replace

        from hw.system.rack_params import RackParams
        from firmware.global_memory_manager import REGION_POLICIES
        from firmware.global_process_manager import PROCESS_POLICIES

        t, sp = self.topology, self._params
        if self._values["cache"]["rx_cut_through"]:
            # The rack's components share one NetIfParams (RackParams.netif) and the memory side takes whole
            # messages only, so receive cut-through has no place in a rack yet.
            raise DisaggError(f"{self.source}: impossible rack: cache.rx_cut_through is for one processor and one "
                              f"memory component (a rack's network interfaces store and forward)")
        from hw.memory.dram import AxiDramModel
        if sp.dram_read_slots != AxiDramModel.DEFAULT_READ_SLOTS:
            # RackParams has no such setting: refused rather than ignored.
            raise DisaggError(f"{self.source}: impossible rack: memory.read_slots is for one memory component "
                              f"(a rack's DRAMs take {AxiDramModel.DEFAULT_READ_SLOTS})")
        excache = self.rack_excache()
        for key, allowed in (("region_policy", REGION_POLICIES), ("process_policy", PROCESS_POLICIES)):
            if getattr(t, key) not in allowed:
                raise DisaggError(f"{self.source}: topology.{key} must be one of {', '.join(allowed)}, "
                                  f"not {getattr(t, key)!r}")
        rb = t.region_bytes
        if rb < 1 or rb & (rb - 1):
            raise DisaggError(f"{self.source}: topology.region_bytes must be a power of two, not {rb!r}")
        try:
            return RackParams(processors=t.processors, memories=t.memories, excache=excache, mmu=sp.mmu,
                              netif=replace(sp.proc_netif, n_nodes=2, node_id=0,
                                            max_payload=max(64, excache.line_bytes)), port=sp.link,
                              miss_path=sp.miss_path, dram_bytes=sp.dram_bytes, dram_latency=sp.dram_latency,
                              router_entries=t.region_entries, region_log2=rb.bit_length() - 1)
        except (TypeError, ValueError) as exc:
            raise DisaggError(f"{self.source}: impossible rack: {exc}") from None

    def toml(self) -> str:
        """The configuration as TOML, every setting with its description."""
        lines = []
        for section, keys in SCHEMA.items():
            lines.append(f"[{section}]")
            for key, (typ, _, doc) in keys.items():
                v = self._values[section][key]
                text = f'"{v}"' if typ is str else ("true" if v else "false") if typ is bool else repr(v)
                lines.append(f"{key} = {text}".ljust(28) + f"# {doc}")
            lines.append("")
        return "\n".join(lines)


def default_config() -> SystemConfig:
    """The built-in default configuration (the same as ``configs/default.toml``)."""
    return SystemConfig()


#: ``configs/small.toml``: the tops' small all-on-chip ExCache (rtl/system.v: 64 sets x 4 ways x 64 B = 16 KiB),
#: for quick runs and for tests that need a small model; everything else is the built-in default.
SMALL_CACHE = ("cache.line_bytes=64", "cache.sets=64", "cache.ways=4", "cache.line_store=onchip", "cache.mshrs=1")


def small_config(overrides=()) -> SystemConfig:
    """The built-in default with the small on-chip ExCache of :data:`SMALL_CACHE` (``configs/small.toml``),
    then ``overrides``."""
    return SystemConfig(source="small configuration").with_overrides([*SMALL_CACHE, *overrides])


def load_config(path=None, overrides=None) -> SystemConfig:
    """Defaults, then the TOML file ``path`` (if given), then ``overrides`` (``section.key=value``)."""
    if path is None:
        config = SystemConfig()
    else:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except FileNotFoundError:
            raise DisaggError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise DisaggError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise DisaggError(f"{path}: cannot read: {exc.strerror}") from None
        config = SystemConfig(values, source=str(path))
    return config.with_overrides(overrides) if overrides else config
