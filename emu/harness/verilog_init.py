"""Memory initialisers of generated Verilog written as loops, for the harness build (issue 17).

Amaranth (through Yosys's ``write_verilog``) writes a memory's initial contents one statement per word::

    reg [271:0] tag_mem [4095:0];
    initial begin
      tag_mem[0] = 272'h0000...;
      tag_mem[1] = 272'h0000...;
      ...
      tag_mem[4095] = 272'h0000...;
    end

A 128 MiB ExCache's tag store is 4,096 such lines of 272 bits (and as many for its replacement state); Verilator
turns each into C++ of its own, which the compiler then has to compile. :func:`compact_initialisers` rewrites
every run of at least :data:`MIN_RUN` statements that assign the *same constant* to *consecutive words* of the
same memory into one loop in a named block of its own::

      begin : disagg_init_3
        integer i;
        for (i = 0; i <= 4095; i = i + 1)
          tag_mem[i] = 272'h0000...;
      end

The result is exactly the same: the same words get the same values, in the same order, at the same time
(the loop runs where the run of statements was, inside the same ``initial`` block), and nothing else changes
(statements that are not part of such a run are kept as they are, character for character). Verilator keeps
loops longer than its unroll limit (``--unroll-count``, 64) as loops, so the model's initial function no
longer grows with the memory's depth. :func:`expand_loops` is the inverse, used by the tests to check that.

Only the harness's private copy of the Verilog is rewritten; ``rtl/*.v`` stays as Amaranth writes it.
"""

from __future__ import annotations

import re

__all__ = ["MIN_RUN", "compact_initialisers", "expand_loops"]

#: Shortest run of equal consecutive initialisers written as a loop (shorter ones cost little either way).
MIN_RUN = 16

# One initialiser statement of Yosys's style: indentation, memory name (plain or escaped identifier; an
# escaped one ends with the space before "["), word index, a sized constant.
_INIT = re.compile(r"^(?P<ind>[ \t]+)(?P<name>\\\S+ |[A-Za-z_][A-Za-z0-9_$]*)\[(?P<idx>\d+)\] = "
                   r"(?P<value>\d+'[bodhBODH][0-9a-fA-FxXzZ_?]+);$")
_LOOP_HEAD = re.compile(r"^(?P<ind>[ \t]+)begin : disagg_init_\d+$")


def compact_initialisers(verilog: str, *, min_run: int = MIN_RUN) -> str:
    """``verilog`` with every run of at least ``min_run`` equal initialisers of consecutive words as a loop."""
    if min_run < 2:
        raise ValueError(f"min_run must be at least 2, not {min_run!r}")
    lines = verilog.split("\n")
    out: list[str] = []
    depth = 0           # nesting inside an "initial begin ... end" block (0: outside)
    serial = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if depth == 0:
            out.append(line)
            if line.strip() == "initial begin":
                depth = 1
            i += 1
            continue
        m = _INIT.match(line)
        if not m:
            stripped = line.strip()
            if stripped == "end" or stripped.startswith("end "):
                depth -= 1
            elif stripped.endswith("begin"):
                depth += 1
            out.append(line)
            i += 1
            continue
        # The longest run starting here: same name, same value, indices counting up by one.
        j = i + 1
        idx = int(m["idx"])
        while j < len(lines):
            n = _INIT.match(lines[j])
            if not n or n["name"] != m["name"] or n["value"] != m["value"] or n["ind"] != m["ind"] \
                    or int(n["idx"]) != idx + (j - i):
                break
            j += 1
        if j - i < min_run:
            out.extend(lines[i:j])
        else:
            ind = m["ind"]
            serial += 1
            out += [f"{ind}begin : disagg_init_{serial}",
                    f"{ind}  integer i;",
                    f"{ind}  for (i = {idx}; i <= {idx + (j - i) - 1}; i = i + 1)",
                    f"{ind}    {m['name']}[i] = {m['value']};",
                    f"{ind}end"]
        i = j
    return "\n".join(out)


def expand_loops(verilog: str) -> str:
    """The inverse of :func:`compact_initialisers`: each of its loops written out as one statement per word."""
    lines = verilog.split("\n")
    out: list[str] = []
    i = 0
    loop_for = re.compile(r"^\s+for \(i = (\d+); i <= (\d+); i = i \+ 1\)$")
    loop_body = re.compile(r"^\s+(\\\S+ |[A-Za-z_][A-Za-z0-9_$]*)\[i\] = (\S+);$")
    while i < len(lines):
        head = _LOOP_HEAD.match(lines[i])
        if head and i + 4 < len(lines) and lines[i + 1].strip() == "integer i;" and lines[i + 4].strip() == "end":
            f, b = loop_for.match(lines[i + 2]), loop_body.match(lines[i + 3])
            if f and b:
                out += [f"{head['ind']}{b[1]}[{k}] = {b[2]};" for k in range(int(f[1]), int(f[2]) + 1)]
                i += 5
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)
