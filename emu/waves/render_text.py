r"""Plain-text rendering of a :class:`~emu.waves.window.WaveWindow`, readable in a CI log.

One row per signal and one fixed-width cell per clock cycle (the value sampled at that rising edge).
ASCII only, so it survives any log viewer::

    w.vcd: 5 cycles of top.clk from 20 ns to 60 ns; values sampled at each rising edge
    time (ns)   20   30   40   50   60
    s__valid    _____/--------------\____
    s__ready    _______________/---------
    s__payload  |000 |01a  01a |xxx |02b
    rst         -----\___________________

* 1-bit signals: ``_`` is 0, ``-`` is 1, ``/`` and ``\\`` mark a cell where the value rose or fell, ``x``/``z``
  unknown or undriven.
* Buses: hexadecimal, every cell; ``|`` starts a cell whose value differs from the cycle before
  (the first cell is always marked). A hex digit with an unknown bit prints ``x`` (``z`` if undriven).
"""

from __future__ import annotations

from .values import extend, to_hex
from .window import WaveWindow

__all__ = ["render_text"]

_LEVEL = {"0": "_", "1": "-", "x": "x", "z": "z"}


def _bit_cells(values, w):
    cells, prev = [], None
    for v in values:
        body = _LEVEL.get(v, "x")
        mark = body
        if prev == "0" and v == "1":
            mark = "/"
        elif prev == "1" and v == "0":
            mark = "\\"
        cells.append(mark + body * (w - 1))
        prev = v
    return cells


def _bus_cells(values, width, w):
    cells, prev = [], None
    for v in values:
        v = extend(v, width)
        mark = "|" if v != prev else " "
        cells.append((mark + to_hex(v, width)).ljust(w))
        prev = v
    return cells


def _ruler(win: WaveWindow, w: int) -> str:
    out, free = [], 0
    for k, t in enumerate(win.times):
        label = win.wave.format_time(t)[: -len(" ns")]
        col = k * w
        if col >= free:
            out.append(" " * (col - len("".join(out))) + label)
            free = col + len(label) + 1
    return "".join(out)


def render_text(win: WaveWindow) -> str:
    """The window as text lines (see the module docstring), ending with a newline."""
    digits = [(t.width + 3) // 4 for _, t, _ in win.rows if t.width > 1]
    w = max([2] + digits) + 2
    label = "time (ns)"
    name_w = max([len(label)] + [len(n) for n, _, _ in win.rows])
    lines = [win.header(), f"{label.ljust(name_w)}  {_ruler(win, w)}".rstrip()]
    for name, trace, values in win.rows:
        cells = _bit_cells(values, w) if trace.width == 1 else _bus_cells(values, trace.width, w)
        lines.append(f"{name.ljust(name_w)}  {''.join(cells)}".rstrip())
    return "\n".join(lines) + "\n"
