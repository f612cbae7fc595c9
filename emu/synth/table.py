"""The ``disagg synth`` table and its JSON form."""

from __future__ import annotations

import json
from pathlib import Path

from .flow import SynthResult

__all__ = ["COLUMNS", "format_table", "format_markdown", "format_memories", "format_critical_paths", "write_json"]

COLUMNS = ("block", "target", "LUTs", "FFs", "BRAMs", "LUT-RAM", "fmax MHz", "note")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def below_constraint(r: SynthResult) -> bool:
    """The design fits but its fmax is below the clock constraint it was placed and routed for."""
    return bool(r.fits and r.fmax_mhz is not None and r.freq_constraint_mhz and r.fmax_mhz < r.freq_constraint_mhz)


def _row(r: SynthResult) -> list[str]:
    note = r.note if not r.fits or not r.finished else ""
    if below_constraint(r):
        note = f"below the {r.freq_constraint_mhz:g} MHz constraint"
    return [r.block, r.target, _cell(r.luts), _cell(r.ffs), _cell(r.brams), _cell(r.lutram),
            _cell(r.fmax_mhz), note]


def format_table(results: list[SynthResult]) -> str:
    """A plain-text table, one row per (block, target); right-aligned numbers."""
    rows = [list(COLUMNS)] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    numeric = {2, 3, 4, 5, 6}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in numeric and n else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def format_markdown(results: list[SynthResult]) -> str:
    """The same table as Markdown (for docs/fpga.md)."""
    rows = [_row(r) for r in results]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---:" if i in (2, 3, 4, 5, 6) else "---"
                                                             for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def format_memories(results: list[SynthResult], all_memories: bool = False) -> str:
    """Where each memory went; by default only the ones that are not in block RAM."""
    lines = []
    for r in results:
        # Small ROMs are case statements Yosys extracted from logic; they only matter with --memories.
        mems = r.memories if all_memories else [m for m in r.memories_not_in_bram()
                                                 if m["write_ports"] or m["bits"] >= 1024]
        for m in mems:
            where = {"bram": "block RAM", "lutram": "LUT RAM", "ff": "flip-flops"}.get(m["mapped_to"], m["mapped_to"])
            line = f"  {r.block}/{r.target}: {m['name']} ({m['depth']}x{m['width']} = {m['bits']} bits) -> {where}"
            if m.get("reason"):
                line += f": {m['reason']}"
            lines.append(line)
    if not lines:
        return ""
    title = "memories:" if all_memories else "memories not in block RAM:"
    return "\n".join([title, *lines])


def format_path(r: SynthResult, through: int = 6) -> list[str]:
    """Lines describing the critical path of one result (empty if it has none)."""
    p = r.critical_path
    if not p:
        return []
    lines = [f"  {r.block}/{r.target}: {p['delay_ns']:.1f} ns ({p['logic_ns']:.1f} logic + {p['routing_ns']:.1f} "
             f"routing), {p['logic_levels']} logic level{'' if p['logic_levels'] == 1 else 's'}"
             + (f" + {p['carry_steps']} carry steps" if p["carry_steps"] else ""),
             f"    from {p['start']} ({p['start_kind']}, {p['start_cell']})",
             f"    to   {p['end']} ({p['end_kind']}, {p['end_cell']})"]
    if p["through"]:
        nets = p["through"]
        shown = nets if len(nets) <= through else [*nets[:through - 1], "...", nets[-1]]
        lines.append(f"    via  {', '.join(shown)}")
    return lines


def format_critical_paths(results: list[SynthResult], all_paths: bool = False) -> str:
    """The critical path of every result below its constraint (of every result with ``all_paths``)."""
    lines = []
    for r in results:
        if all_paths or below_constraint(r):
            lines += format_path(r)
    if not lines:
        return ""
    return "\n".join(["critical paths:" if all_paths else "critical paths of the blocks below their constraint:",
                      *lines])


def write_json(results: list[SynthResult], path: Path) -> None:
    """Write the results as a JSON list of objects (``block``, ``target``, ``luts``, ``ffs``, ``brams``,
    ``lutram``, ``fmax_mhz``, ``fits``, ``note``, ``critical_path``, device, memories, tool versions...)."""
    Path(path).write_text(json.dumps([r.to_dict() for r in results], indent=1) + "\n")
