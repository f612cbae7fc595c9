"""Where a Verilated model's instructions go, by block of the design (issue 12): a line-level callgrind
profile of a model built with ``-g`` attributed to the signals the generated C++ assigns.

    python scripts/speed_options.py --child --variant g --mode build --set ...        (the -g model)
    valgrind --tool=callgrind --callgrind-out-file=cg.out python scripts/speed_options.py --child \\
        --variant g --mode raw --workload-file W.npy --set ...
    callgrind_annotate --auto=yes --show-percs=no cg.out > cg.txt
    python scripts/speed_profile_blocks.py cg.txt [--depth 4] [--top 30]

Each annotated line of the model's ``Vtop___024root__*.cpp`` belongs to a statement; the statement to the
signal it assigns (Verilator's names: ``top__DOT__system__DOT__proc__DOT__excache__DOT__ctrl__DOT__x``), and
the signal to its block (the path without the signal's name, cut at ``--depth`` levels). A condition line
(``if (...)``) goes to the next assignment. Instructions of Verilator's run-time helpers and of the driver are
reported as such. The figures are instruction counts, which do not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_SOURCE = re.compile(r"^-- Auto-annotated source: (.*)$")
_LINE = re.compile(r"^\s*([\d,]+|\.)\s(.*)$")
# An assignment's target: ``x = ...`` or, as Verilator wraps long statements, ``x`` alone with ``= ...`` below.
_LHS = re.compile(r"^\s*(?:vlSelfRef\.|vlSelf->)?(\w+)(?:\[\w+\])*\s*(?:(?:=|\|=|&=)(?!=)|$)")


def _block(name: str, depth: int) -> str:
    parts = name.split("__DOT__")
    if len(parts) < 2:
        return "(Verilator internal)"
    path = [p for p in parts[:-1] if p not in ("top",)]
    return ".".join(path[:depth]) or "top"


def _attribute(lines: list[tuple[int, str]], depth: int) -> Counter:
    """``lines``: (count, code) in source order; the count of each line goes to its statement's block."""
    owners: list[str | None] = []
    current = None
    for _count, code in lines:
        m = _LHS.match(code)
        if m:
            current = _block(m.group(1), depth)
            owners.append(current)
        elif code.strip().startswith(("if ", "} else", "switch", "case", "for ")) or code.strip() in ("{", "}"):
            owners.append(None)            # a condition: the next assignment's
        else:
            owners.append(current)         # a continuation line of the statement above
    # Conditions go to the next assignment.
    nxt = None
    for i in range(len(owners) - 1, -1, -1):
        if owners[i] is None:
            owners[i] = nxt or "(control)"
        else:
            nxt = owners[i]
    out = Counter()
    for (count, _code), owner in zip(lines, owners):
        out[owner] += count
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("annotated", type=Path, help="output of callgrind_annotate --auto=yes --show-percs=no")
    ap.add_argument("--depth", type=int, default=4, help="levels of the block path kept (default 4)")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args(argv)
    totals = Counter()
    source = None
    lines: list[tuple[int, str]] = []
    files = Counter()

    def flush():
        if source is None or not lines:
            return
        name = Path(source).name
        if name.startswith("Vtop___024root__") and not name.endswith("Slow.cpp"):
            totals.update(_attribute(lines, args.depth))
        else:
            key = "driver" if name in ("driver.cpp", "axi_memory.h", "local_memory.h") else f"(file) {name}"
            totals[key] += sum(c for c, _ in lines)
        files[name] += sum(c for c, _ in lines)

    for raw in args.annotated.read_text(errors="replace").splitlines():
        m = _SOURCE.match(raw)
        if m:
            flush()
            source, lines = m.group(1).strip(), []
            continue
        if source is None:
            continue
        if "events annotated" in raw or raw.startswith("The following files"):   # the end of the sources
            flush()
            source, lines = None, []
            continue
        if raw.startswith("--"):
            continue
        m = _LINE.match(raw)
        if m and not m.group(2).lstrip().startswith(("=>", "<=")):   # not a call's inclusive cost
            count = 0 if m.group(1) == "." else int(m.group(1).replace(",", ""))
            lines.append((count, m.group(2)))
    flush()
    total = sum(totals.values())
    if not total:
        sys.exit("speed_profile_blocks: no annotated model source found (built with -g? --auto=yes?)")
    print(f"{'block (signal assigned)':<60}{'instructions':>16}{'share':>8}")
    for block, count in totals.most_common(args.top):
        print(f"{block:<60}{count:>16,}{count / total:>8.1%}")
    print(f"{'total annotated':<60}{total:>16,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
