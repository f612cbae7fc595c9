"""Parse what Yosys and nextpnr write: memory inventory and mapping, cell statistics, utilisation, fmax.

Every parser takes text (or parsed JSON) and returns plain data, so it can be tested on captured report
snippets without running a tool.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from .targets import Target

__all__ = ["MemoryInfo", "parse_memory_dump", "parse_memory_mapping", "parse_stat_json",
           "parse_nextpnr_report", "parse_nextpnr_utilisation", "clock_fmax", "classify_memories",
           "not_fit_reason", "parse_critical_path", "cell_signal", "memory_reason"]

# Bits in one block RAM of each family: used to judge whether a memory that did not land in block RAM
# is big enough to matter.
BRAM_BITS = {"ecp5": 18 * 1024, "ice40": 4 * 1024}


@dataclass
class MemoryInfo:
    """One memory of the design, as Yosys saw it just before mapping memories to cells.

    Attributes
    ----------
    name : str
        Hierarchical memory name in the flattened design (``cache.data``).
    width, depth : int
        Word width in bits and number of words.
    read_ports, write_ports : int
        Port counts after Yosys merged/shared ports.
    async_read_ports : int
        Read ports whose address is not registered (combinational read): block RAM cannot do those.
    mapped_to : str
        ``"bram"``, ``"lutram"``, ``"ff"`` or ``"unknown"`` (filled from the mapping log).
    cell : str
        Yosys mapping cell (``$__DP16KD_``), or ``"flip-flops"``.
    reason : str
        Why the memory went where it went: for block RAM its ports and size, otherwise what kept it out
        (an asynchronous read, too many ports, too small to be worth a block RAM, ...).
    read_during_write : str
        What the registered read port must return when it reads the address that a write port (with its
        own address) writes at the same clock edge: ``"old"`` data (an Amaranth read port), ``"new"`` data
        (``transparent_for``), ``"mixed"`` (old for some write ports, new for others), ``"undefined"``
        (marked ``no_rw_check``: the design never uses such a read). ``""`` when it does not apply: no
        registered read and write port pair, several read ports, or one write port at the read's address
        (one RAM port then does both, and block RAM supports either rule there).
    """

    name: str
    width: int
    depth: int
    read_ports: int
    write_ports: int
    async_read_ports: int
    mapped_to: str = "unknown"
    cell: str = ""
    reason: str = ""
    read_during_write: str = ""

    @property
    def bits(self) -> int:
        return self.width * self.depth

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bits"] = self.bits
        return d


def _unescape_id(text: str) -> str:
    """RTLIL identifier or MEMID string to a plain name (``"\\\\cache.data"`` -> ``cache.data``)."""
    text = text.strip().strip('"')
    text = text.replace("\\\\", "\\")
    return text[1:] if text.startswith("\\") else text


def _count_bits(value: str, bit: str) -> int:
    """Count ``bit`` characters in an RTLIL constant like ``3'010``."""
    if "'" not in value:
        return 0
    return value.split("'", 1)[1].count(bit)


def _read_during_write(params: dict[str, str], conns: dict[str, str], read_ports: int, sync_reads: int) -> str:
    """:attr:`MemoryInfo.read_during_write` from a ``$mem_v2`` cell's parameters and connections."""
    write_ports = int(params.get("WR_PORTS", "0"))
    if read_ports != 1 or sync_reads != 1 or write_ports == 0:
        return ""
    if write_ports == 1 and conns.get("RD_ADDR") is not None and conns.get("RD_ADDR") == conns.get("WR_ADDR"):
        return ""
    # One bit per write port in each mask (read port 0).
    def bits(name):
        value = params.get(name, "")
        return value.split("'", 1)[1][-write_ports:] if "'" in value else ""
    collision_x, transparent = bits("RD_COLLISION_X_MASK"), bits("RD_TRANSPARENCY_MASK")
    if collision_x and set(collision_x) == {"1"}:
        return "undefined"
    if not transparent:
        return ""
    live = [t for t, x in zip(transparent, collision_x or "0" * len(transparent)) if x != "1"]
    if set(live) == {"1"}:
        return "new"
    return "old" if set(live) == {"0"} else "mixed"


def parse_memory_dump(text: str) -> dict[str, MemoryInfo]:
    """Memories from the RTLIL ``dump`` of the ``$mem_v2`` cells taken just before ``map_ram``."""
    memories: dict[str, MemoryInfo] = {}
    params: dict[str, str] | None = None
    conns: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("cell $mem_v2 "):
            params, conns = {}, {}
        elif params is not None and stripped.startswith("parameter "):
            parts = stripped.split(None, 2)
            if len(parts) == 3:
                params[parts[1].lstrip("\\")] = parts[2]
        elif params is not None and stripped.startswith("connect "):
            parts = stripped.split(None, 2)
            if len(parts) == 3:
                conns[parts[1].lstrip("\\")] = parts[2]
        elif params is not None and stripped == "end":
            name = _unescape_id(params.get("MEMID", '"?"'))
            read_ports = int(params.get("RD_PORTS", "0"))
            # RD_CLK_ENABLE has one bit per read port: 1 = registered (synchronous) read.
            sync_reads = _count_bits(params.get("RD_CLK_ENABLE", "0'"), "1")
            memories[name] = MemoryInfo(
                name=name,
                width=int(params.get("WIDTH", "0")),
                depth=int(params.get("SIZE", "0")),
                read_ports=read_ports,
                write_ports=int(params.get("WR_PORTS", "0")),
                async_read_ports=read_ports - sync_reads,
                read_during_write=_read_during_write(params, conns, read_ports, sync_reads),
            )
            params = None
    return memories


_LIBMAP = re.compile(r"^mapping memory (\S+) via (\S+)\s*$")
_LIBMAP_FF = re.compile(r"^using FF mapping for memory (\S+)\s*$")
_MEMORY_MAP = re.compile(r"^Mapping memory \\?(\S+) in module \\?(\S+):\s*$")


def parse_memory_mapping(log: str, top: str) -> dict[str, str]:
    """``{memory name: mapping cell or "flip-flops"}`` from a Yosys log.

    ``memory_libmap`` logs ``mapping memory <top>.<mem> via <cell>`` for memories it maps to a RAM
    primitive (or ``using FF mapping for memory ...``); ``memory_map`` logs
    ``Mapping memory \\<mem> in module \\<top>:`` for the ones it turns into flip-flops.
    """
    mapping: dict[str, str] = {}
    prefix = f"{top}."
    for line in log.splitlines():
        line = line.strip()
        m = _LIBMAP.match(line)
        if m:
            name = m.group(1)
            mapping[name[len(prefix):] if name.startswith(prefix) else name] = m.group(2)
            continue
        m = _LIBMAP_FF.match(line)
        if m:
            name = m.group(1)
            mapping[name[len(prefix):] if name.startswith(prefix) else name] = "flip-flops"
            continue
        m = _MEMORY_MAP.match(line)
        if m:
            mapping[_unescape_id(m.group(1))] = "flip-flops"
    return mapping


def classify_memories(memories: dict[str, MemoryInfo], mapping: dict[str, str], target: Target) -> list[MemoryInfo]:
    """Fill ``mapped_to``/``cell``/``reason`` of each memory; return them sorted by size, largest first."""
    for name, mem in memories.items():
        cell = mapping.get(name, "")
        mem.cell = cell
        if cell in target.bram_cells:
            mem.mapped_to = "bram"
        elif cell in target.lutram_cells:
            mem.mapped_to = "lutram"
        elif cell == "flip-flops":
            mem.mapped_to = "ff"
        else:
            mem.mapped_to = "unknown"
        mem.reason = memory_reason(mem, target)
    return sorted(memories.values(), key=lambda m: (-m.bits, m.name))


def memory_reason(mem: MemoryInfo, target: Target) -> str:
    """Why ``mem`` went where it went (its ``mapped_to``), derived from its ports and size."""
    bram_bits = BRAM_BITS.get(target.name, 18 * 1024)
    if mem.mapped_to != "bram":
        return _why_not_bram(mem, target, bram_bits)
    ports = f"{mem.read_ports} registered read + {mem.write_ports} write port" + ("s" if mem.write_ports != 1 else "")
    reason = (f"{ports}, {mem.bits} bits: fits the block RAM's synchronous ports "
              f"({mem.bits / bram_bits:.1f} x {bram_bits // 1024} Kbit of data)")
    return reason + _bypass_note(mem)


#: Read-during-write rules that block RAM does not have, so that Yosys builds them after the RAM.
BYPASSED_RULES = ("old", "new", "mixed")


def _bypass_note(mem: MemoryInfo) -> str:
    """What the read-during-write rule of a block RAM memory costs (neither ECP5 nor iCE40 block RAM defines
    a read of the address the other port writes, so Yosys builds the rule in logic)."""
    if mem.read_during_write in BYPASSED_RULES:
        what = {"old": "the old data", "new": "the new data", "mixed": "old or new data"}[mem.read_during_write]
        return (f"; a read of the address being written must return {what}, which the block RAM does not "
                f"define: Yosys adds a bypass after it (the write delayed in registers, an address compare, "
                f"a multiplexer), so no register follows the RAM directly (no_rw_check drops it where the "
                f"design never uses such a read)")
    if mem.read_during_write == "undefined":
        return "; a read during a write of the same address is left undefined (no_rw_check): no bypass"
    return ""


def _why_not_bram(mem: MemoryInfo, target: Target, bram_bits: int) -> str:
    reasons = []
    if mem.write_ports == 0:
        return "read-only table (Yosys turns switch/case statements into ROMs); logic, not storage"
    if mem.async_read_ports:
        reasons.append(f"{mem.async_read_ports} of {mem.read_ports} read ports are asynchronous "
                       f"(combinational read); block RAM needs a registered read address")
    if mem.read_ports + mem.write_ports > 2 and not mem.async_read_ports:
        reasons.append(f"{mem.read_ports} read + {mem.write_ports} write ports exceed the 2 ports of a block RAM")
    if not reasons:
        if mem.bits < bram_bits // 2:
            reasons.append(f"small ({mem.bits} bits): Yosys judged it cheaper than a "
                           f"{bram_bits // 1024} Kbit block RAM")
        else:
            reasons.append("Yosys' memory mapper chose it by cost; see yosys.log (memory_libmap)")
    return "; ".join(reasons)


def parse_stat_json(text: str) -> dict[str, int]:
    """Cell counts by type of the whole design from ``stat -json`` output."""
    data = json.loads(text)
    design = data.get("design")
    if design is None:
        # One module only: the design totals are that module's.
        modules = data.get("modules", {})
        if len(modules) != 1:
            raise ValueError("stat -json output has no 'design' section")
        design = next(iter(modules.values()))
    return {str(k): int(v) for k, v in design.get("num_cells_by_type", {}).items()}


def parse_nextpnr_report(report: dict) -> tuple[dict[str, tuple[int, int]], dict[str, float]]:
    """``({resource: (used, available)}, {clock net: achieved fmax MHz})`` from nextpnr's ``--report`` JSON."""
    util = {name: (int(v["used"]), int(v["available"])) for name, v in report.get("utilization", {}).items()}
    fmax = {name: float(v["achieved"]) for name, v in report.get("fmax", {}).items()}
    return util, fmax


_UTIL_LINE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")


def parse_nextpnr_utilisation(log: str) -> dict[str, tuple[int, int]]:
    """``{resource: (used, available)}`` from the "Device utilisation" block of a nextpnr log.

    Used when placement fails and nextpnr writes no JSON report; the last block in the log wins.
    """
    util: dict[str, tuple[int, int]] = {}
    for line in log.splitlines():
        m = _UTIL_LINE.match(line.strip())
        if m:
            util[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return util


def not_fit_reason(log: str) -> str | None:
    """A short "does not fit" explanation if nextpnr failed for lack of resources, else ``None``."""
    over = [f"{name} {used}/{avail}" for name, (used, avail) in parse_nextpnr_utilisation(log).items()
            if used > avail]
    if over:
        return "does not fit: " + ", ".join(over)
    m = re.search(r"no BELs remaining to implement cell type '([^']+)'", log)
    if m:
        return f"does not fit: out of {m.group(1)}"
    return None


def clock_fmax(fmax: dict[str, float], clock: str = "clk") -> float | None:
    """Achieved fmax of the net of port ``clock``.

    nextpnr renames the clock net after the input buffer and global buffer it inserts
    (``$glbnet$clk$TRELLIS_IO_IN`` on ECP5, ``clk$SB_IO_IN_$glb_clk`` on iCE40), so match the port name
    as a ``$``-delimited component.
    """
    pattern = re.compile(rf"(^|\$){re.escape(clock)}(\$|$)")
    matches = [mhz for name, mhz in fmax.items() if pattern.search(name)]
    if not matches:
        return None
    return min(matches)


# Suffixes Yosys and nextpnr append to a cell's or net's name when they map and pack it: a cell is named after
# the signal it drives (``ctrl.state_TRELLIS_FF_Q_3``), a net after the cell port it comes from
# (``ctrl.tags.tag_mem.0.4_DOA15``, ``cpu_resp__ready_LUT4_D_Z``); the rest says what it became.
_CELL_SUFFIX = re.compile(r"(_TRELLIS_|_DP16KD|_PDPW16KD|_LUT4|_CCU2C|_MULT18X18D|_ALU54B|_L6MUX21|_PFUMX|"
                          r"_SB_|_(DO|DI|AD|CE|WE|CS|OCE|RST)[AB]\d*|_DO_\d+|_DI_\d+|\$CCU2_|\$)")
_CELL_KIND = (("TRELLIS_FF", "flip-flop"), ("SB_DFF", "flip-flop"), ("DP16KD", "block RAM"),
              ("PDPW16KD", "block RAM"), ("SB_RAM40", "block RAM"), ("DPR16X4", "LUT RAM"), ("RAMW", "LUT RAM"),
              ("$DPRAM", "LUT RAM"),
              ("MULT18X18D", "multiplier"), ("ALU54B", "multiplier"), ("CCU2", "carry chain"),
              ("SB_CARRY", "carry chain"), ("LUT4", "LUT"), ("SB_LUT4", "LUT"))
# Ports of a DP16KD (ECP5 block RAM; nextpnr names those cells after the memory, ``ctrl.tag_mem.0.4``).
_BRAM_PORT = re.compile(r"^(DO|DI|AD|CE|OCE|WE|CS|RST|CLK)[AB]\d*$")


def cell_signal(cell: str) -> str:
    """The design signal a mapped cell or net is named after (``ctrl.state_TRELLIS_FF_Q_3`` -> ``ctrl.state``)."""
    cell = re.sub(r"\[\d+\]$", "", cell)
    m = _CELL_SUFFIX.search(cell)
    name = cell[:m.start()] if m and m.start() > 0 else cell
    return name.replace("\\", "")


def _cell_kind(cell: str, port: str) -> str:
    for token, kind in _CELL_KIND:
        if token in cell:
            return kind
    if _BRAM_PORT.match(port):
        return "block RAM"
    return "cell"


def parse_critical_path(report: dict, clock: str = "clk") -> dict | None:
    """The critical path of ``clock`` from nextpnr's ``--report`` JSON, summarised; ``None`` if there is none.

    nextpnr lists each path as segments: ``clk-to-q`` (the start register or RAM output), then
    alternating ``routing`` (a net) and ``logic`` (through a cell), and ``setup`` at the end register.
    Returned keys:

    ``start`` / ``end``
        The design signal of the start and end cell (``ctrl.tag_mem``, ``stats.hits``), from the cell names.
    ``start_cell`` / ``end_cell``
        The mapped cells and ports (``..._TRELLIS_FF_Q_3.Q``).
    ``start_kind`` / ``end_kind``
        ``flip-flop``, ``block RAM``, ``LUT RAM``, ... (from the cell name).
    ``start_net``
        The first net of the path (the start register's output signal, with its bit).
    ``logic_levels``
        Cells the path goes through (LUTs, LUT-RAM reads, multipliers, the entry into a carry chain),
        not counting steps along a carry chain, which are ``carry_steps``.
    ``delay_ns``, ``logic_ns``, ``routing_ns``
        Total path delay and its split (clock-to-out and setup count as logic).
    ``through``
        The design signals the path's nets are named after, in order, repeats merged (nets whose names
        Yosys or nextpnr made up are left out): the way from start to end through the design.
    """
    pattern = re.compile(rf"(^|\$){re.escape(clock)}(\$|$)")
    for path in report.get("critical_paths", []):
        if not (pattern.search(path.get("from", "")) and pattern.search(path.get("to", ""))):
            continue
        segments = path.get("path", [])
        if not segments:
            continue
        first, last = segments[0], segments[-1]
        levels = carry = 0
        logic_ns = routing_ns = 0.0
        through, start_net = [], ""
        for seg in segments:
            delay = float(seg.get("delay", 0.0))
            if seg.get("type") == "routing":
                routing_ns += delay
                net = seg.get("net", "")
                if not start_net:
                    start_net = net
                name = cell_signal(net) if net else ""
                if name and not name.startswith("$") and (not through or through[-1] != name):
                    through.append(name)
            else:
                logic_ns += delay
                if seg.get("type") == "logic":
                    if seg["from"].get("port") in ("FCI", "CI"):
                        carry += 1
                    else:
                        levels += 1
        start_cell, start_port = first["from"]["cell"], first["from"].get("port", "")
        end_cell, end_port = last["to"]["cell"], last["to"].get("port", "")
        return {
            "start": cell_signal(start_cell), "start_kind": _cell_kind(start_cell, start_port),
            "start_cell": f"{start_cell}.{start_port}", "start_net": start_net,
            "end": cell_signal(end_cell), "end_kind": _cell_kind(end_cell, end_port),
            "end_cell": f"{end_cell}.{end_port}",
            "logic_levels": levels, "carry_steps": carry,
            "delay_ns": round(logic_ns + routing_ns, 3), "logic_ns": round(logic_ns, 3),
            "routing_ns": round(routing_ns, 3), "through": through,
        }
    return None
