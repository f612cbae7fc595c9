"""The ``disagg synth`` table and its JSON form."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .flow import SynthResult
from .reports import BYPASSED_RULES

__all__ = ["COLUMNS", "format_table", "format_markdown", "format_memories", "format_critical_paths", "write_json",
           "format_seed_summary", "several_seeds"]

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


def several_seeds(results: list[SynthResult]) -> bool:
    """Some (block, target) was placed and routed with more than one seed: the tables then show the seed."""
    seen = {}
    for r in results:
        seen.setdefault((r.block, r.target), set()).add(r.seed)
    return any(len(seeds) > 1 for seeds in seen.values())


def _columns(with_seed: bool) -> list[str]:
    return [*COLUMNS[:2], "seed", *COLUMNS[2:]] if with_seed else list(COLUMNS)


def _row(r: SynthResult, with_seed: bool = False) -> list[str]:
    note = r.note if not r.fits or not r.finished else ""
    if below_constraint(r):
        note = f"below the {r.freq_constraint_mhz:g} MHz constraint"
    seed = [_cell(r.seed)] if with_seed else []
    return [r.block, r.target, *seed, _cell(r.luts), _cell(r.ffs), _cell(r.brams), _cell(r.lutram),
            _cell(r.fmax_mhz), note]


def format_table(results: list[SynthResult]) -> str:
    """A plain-text table, one row per (block, target) and, when several seeds ran, per seed; right-aligned
    numbers."""
    with_seed = several_seeds(results)
    columns = _columns(with_seed)
    rows = [columns] + [_row(r, with_seed) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    numeric = set(range(2, len(columns) - 1))
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in numeric and n else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def format_markdown(results: list[SynthResult]) -> str:
    """The same table as Markdown (for docs/fpga.md)."""
    with_seed = several_seeds(results)
    columns = _columns(with_seed)
    numeric = set(range(2, len(columns) - 1))
    rows = [_row(r, with_seed) for r in results]
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def format_seed_summary(results: list[SynthResult]) -> str:
    """fmax over the seeds of each (block, target) placed with more than one: minimum, median, maximum.

    One placement can move fmax by 10-20 % on a design whose critical paths are mostly routing, so a change is
    judged by the median (and the spread) over seeds, not by one run. Rows that did not fit or did not finish
    have no fmax and are counted apart.
    """
    groups = {}
    for r in results:
        groups.setdefault((r.block, r.target), []).append(r)
    lines = []
    for (block, target), rows in groups.items():
        if len({r.seed for r in rows}) < 2:
            continue
        fmax = sorted(r.fmax_mhz for r in rows if r.fmax_mhz is not None)
        seeds = ", ".join(_cell(r.seed) for r in rows)
        missing = len(rows) - len(fmax)
        if fmax:
            text = (f"  {block}/{target}: fmax min {fmax[0]:.1f}, median {statistics.median(fmax):.1f}, "
                    f"max {fmax[-1]:.1f} MHz over seeds {seeds}")
        else:
            text = f"  {block}/{target}: no fmax over seeds {seeds}"
        if missing and fmax:
            text += f" ({missing} without fmax: did not fit or did not finish)"
        lines.append(text)
    if not lines:
        return ""
    return "\n".join(["fmax over seeds:", *lines])


def _one_per_block(results: list[SynthResult]):
    """The first result of each block and target: the netlist, so its memories and moved flip-flops, is the
    same whatever the placer seed."""
    done = set()
    for r in results:
        if (r.block, r.target) not in done:
            done.add((r.block, r.target))
            yield r


def format_memories(results: list[SynthResult], all_memories: bool = False) -> str:
    """Where each memory went; by default only the ones that are not in block RAM, and the block RAMs that
    get a read-during-write bypass."""
    lines = []
    for r in _one_per_block(results):
        # Small ROMs are case statements Yosys extracted from logic; they only matter with --memories.
        mems = r.memories if all_memories else [m for m in r.memories_not_in_bram()
                                                 if m["write_ports"] or m["bits"] >= 1024]
        for m in mems:
            where = {"bram": "block RAM", "lutram": "LUT RAM", "ff": "flip-flops"}.get(m["mapped_to"], m["mapped_to"])
            line = f"  {r.block}/{r.target}: {m['name']} ({m['depth']}x{m['width']} = {m['bits']} bits) -> {where}"
            if m.get("reason"):
                line += f": {m['reason']}"
            lines.append(line)
    bypassed = []
    if not all_memories:
        for r in _one_per_block(results):
            for m in r.memories:
                if m["mapped_to"] == "bram" and m.get("read_during_write") in BYPASSED_RULES:
                    bypassed.append(f"  {r.block}/{r.target}: {m['name']}: a read during a write of the same "
                                    f"address returns the {m['read_during_write']} data, through a bypass after "
                                    f"the RAM (see --memories)")
    out = []
    if lines:
        out += ["memories:" if all_memories else "memories not in block RAM:", *lines]
    if bypassed:
        out += ([""] if out else []) + ["block RAM with a read-during-write bypass:", *bypassed]
    return "\n".join(out)


def format_output_registers(results: list[SynthResult]) -> str:
    """Which blocks had flip-flops moved into block RAM output registers (empty if none had)."""
    lines = []
    for r in _one_per_block(results):
        if r.outreg_ffs:
            lines.append(f"  {r.block}/{r.target}: {r.outreg_ffs} flip-flops into the output registers of "
                         f"{r.outreg_ports} read port{'s' if r.outreg_ports != 1 else ''}")
    return "\n".join(["block RAM output registers (not counted in FFs):", *lines]) if lines else ""


def format_path(r: SynthResult, through: int = 6, with_seed: bool = False) -> list[str]:
    """Lines describing the critical path of one result (empty if it has none)."""
    p = r.critical_path
    if not p:
        return []
    label = f"{r.block}/{r.target}" + (f" seed {r.seed}" if with_seed else "")
    lines = [f"  {label}: {p['delay_ns']:.1f} ns ({p['logic_ns']:.1f} logic + {p['routing_ns']:.1f} "
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
    with_seed = several_seeds(results)
    for r in results:
        if all_paths or below_constraint(r):
            lines += format_path(r, with_seed=with_seed)
    if not lines:
        return ""
    return "\n".join(["critical paths:" if all_paths else "critical paths of the blocks below their constraint:",
                      *lines])


def write_json(results: list[SynthResult], path: Path) -> None:
    """Write the results as a JSON list of objects (``block``, ``target``, ``luts``, ``ffs``, ``brams``,
    ``lutram``, ``fmax_mhz``, ``fits``, ``note``, ``critical_path``, device, memories, tool versions...)."""
    Path(path).write_text(json.dumps([r.to_dict() for r in results], indent=1) + "\n")
