"""Every block's register table in its doc is the one generated from its register map (``RegisterMap.markdown``).

The table must appear exactly once, as a block of its own (a blank line or a marker comment before it, a line end
after it), so
a table spliced into a sentence or a heading (as ``docs/mmu.md`` once had) fails as well as a stale one.
To regenerate a table: ``python -c 'from hw.memory.mmu import MMU_REGS; print(MMU_REGS.markdown())'``.
"""

import difflib
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: block -> (its doc, the register map: "module:attribute", called if callable)
REGISTER_DOCS = {
    "excache": ("docs/excache.md", "hw.processor.registers:register_map"),
    "mmu": ("docs/mmu.md", "hw.memory.mmu:MMU_REGS"),
    "netif": ("docs/netif.md", "hw.network.registers:NETIF_REGISTERS"),
    "probe": ("docs/system.md", "hw.system.probe_registers:PROBE_REGS"),
    "router": ("docs/rack.md", "hw.system.rack_registers:router_register_map"),
}

HEADER = "| addr | name | access | description |"


def _regmap(spec):
    module, _, name = spec.partition(":")
    obj = getattr(importlib.import_module(module), name)
    return obj() if callable(obj) else obj


def _stale_report(doc, table):
    """The nearest register table of the doc against the generated one, as a unified diff."""
    lines = doc.splitlines()
    starts = [i for i, line in enumerate(lines) if line == HEADER]
    if not starts:
        return "no register table in the doc"
    want = table.splitlines()
    best = max(starts, key=lambda i: difflib.SequenceMatcher(None, lines[i:i + len(want)], want).ratio())
    end = best
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(difflib.unified_diff(lines[best:end], want, "doc", "generated", lineterm="", n=1))


@pytest.mark.parametrize("block", sorted(REGISTER_DOCS))
def test_register_table_matches_doc(block):
    doc_path, spec = REGISTER_DOCS[block]
    doc = (REPO / doc_path).read_text()
    table = _regmap(spec).markdown()
    count = doc.count(table)
    assert count, f"{doc_path}: the register table of {block} ({spec}) is stale; regenerate it:\n" + \
        _stale_report(doc, table)
    assert count == 1, f"{doc_path}: the register table of {block} appears {count} times (pasted into text?)"
    at = doc.index(table)
    before, after = doc[:at], doc[at + len(table):]
    previous = before[:-1].rpartition("\n")[2]
    # after a blank line, or after a marker comment (<!-- register-map:begin -->)
    assert before.endswith("\n") and (previous == "" or previous.startswith("<!--")) and after[:1] in ("", "\n"), (
        f"{doc_path}: the register table of {block} is not a block of its own (spliced into a line?)")
    # A header row anywhere but at the start of a line is a table pasted into text.
    spliced = [n for n, line in enumerate(doc.splitlines(), 1) if HEADER in line and line != HEADER]
    assert not spliced, f"{doc_path}: register table header inside a line at line(s) {spliced}"


def test_a_stale_table_is_reported():
    doc = "## Registers\n\n| addr | name | access | description |\n|---:|---|---|---|\n| 0x00 | `A` | r | old |\n"
    table = "| addr | name | access | description |\n|---:|---|---|---|\n| 0x00 | `A` | r | new |"
    report = _stale_report(doc, table)
    assert "-| 0x00 | `A` | r | old |" in report and "+| 0x00 | `A` | r | new |" in report
