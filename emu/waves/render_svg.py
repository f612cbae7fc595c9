"""WaveDrom-style SVG of a :class:`~emu.waves.window.WaveWindow`, for docs and reports.

Written by hand (no WaveDrom, no network): one ``<g class="signal">`` per row with the signal name on
the left; 1-bit signals as a line between a low and a high level with sloped edges, buses as
hexagonal value boxes with the value in hex, unknown values hatched, undriven 1-bit values as a
line half-way; dashed lines at every clock
edge and the edge times on top.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .values import extend, has_xz, to_hex
from .window import WaveWindow

__all__ = ["render_svg"]

_ROW = 32        # row pitch
_WAVE_H = 20     # height of a wave inside its row
_TOP = 24        # space for the time labels
_CHAR = 7        # approximate width of one monospace character at font-size 11
_SLOPE = 3       # horizontal run of an edge

_STYLE = """
text { font-family: monospace; font-size: 11px; fill: #222; }
.name { font-weight: bold; }
.time { fill: #777; font-size: 10px; }
.grid { stroke: #ccc; stroke-width: 1; stroke-dasharray: 2,3; }
.bit { fill: none; stroke: #000; stroke-width: 1.5; }
.hiz { stroke: #36c; stroke-width: 1.5; }
.bus { fill: #fff; stroke: #000; stroke-width: 1.2; }
.unknown { fill: url(#hatch); stroke: #000; stroke-width: 1.2; }
""".strip()


def _segments(values):
    """Runs of equal values: (first index, end index, value)."""
    out, start = [], 0
    for k in range(1, len(values) + 1):
        if k == len(values) or values[k] != values[start]:
            out.append((start, k, values[start]))
            start = k
    return out


def _bit_row(values, x0, y0, cw):
    hi, lo = y0, y0 + _WAVE_H
    parts, pts = [], []
    for start, end, v in _segments(values):
        xa, xb = x0 + start * cw, x0 + end * cw
        if v in ("0", "1"):
            y = hi if v == "1" else lo
            if pts:
                pts.append((xa + _SLOPE, y))
            else:
                pts.append((xa, y))
            pts.append((xb, y))
        else:
            if pts:
                parts.append(f'<polyline class="bit" points="{_points(pts)}"/>')
                pts = []
            if v == "z":  # undriven: a line half-way, as WaveDrom draws it
                mid = y0 + _WAVE_H // 2
                parts.append(f'<line class="hiz" x1="{xa}" y1="{mid}" x2="{xb}" y2="{mid}"/>')
            else:
                parts.append(f'<rect class="unknown" x="{xa}" y="{hi}" width="{xb - xa}" height="{_WAVE_H}"/>')
    if pts:
        parts.append(f'<polyline class="bit" points="{_points(pts)}"/>')
    return parts


def _points(pts):
    return " ".join(f"{x},{y}" for x, y in pts)


def _bus_row(values, width, x0, y0, cw):
    parts = []
    mid, hi, lo = y0 + _WAVE_H // 2, y0, y0 + _WAVE_H
    values = [extend(v, width) for v in values]
    for start, end, v in _segments(values):
        xa, xb = x0 + start * cw, x0 + end * cw
        poly = [(xa, mid), (xa + _SLOPE, hi), (xb - _SLOPE, hi), (xb, mid), (xb - _SLOPE, lo), (xa + _SLOPE, lo)]
        cls = "unknown" if has_xz(v) else "bus"
        parts.append(f'<polygon class="{cls}" points="{_points(poly)}"/>')
        text = to_hex(v, width)
        room = (xb - xa - 2 * _SLOPE) // _CHAR
        if room < len(text):
            text = text[: max(room - 1, 0)] + "~" if room > 1 else ""
        if text:
            parts.append(f'<text x="{(xa + xb) / 2:g}" y="{mid + 4}" text-anchor="middle">{escape(text)}</text>')
    return parts


def render_svg(win: WaveWindow) -> str:
    """The window as an SVG document (a string)."""
    digits = [(t.width + 3) // 4 for _, t, _ in win.rows if t.width > 1]
    cw = max(24, _CHAR * max([1] + digits) + 2 * _SLOPE + 6)
    name_w = _CHAR * max(len(n) for n, _, _ in win.rows) + 16
    n = len(win.times)
    width = name_w + n * cw + 8
    height = _TOP + len(win.rows) * _ROW + 4
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f"<title>{escape(win.header())}</title>",
        "<defs>",
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/>'
        "</pattern>",
        f"<style>{_STYLE}</style>",
        "</defs>",
        '<g class="grid-lines">',
    ]
    free = 0
    for k, t in enumerate(win.times):
        x = name_w + k * cw
        out.append(f'<line class="grid" x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{height - 2}"/>')
        label = win.wave.format_time(t)
        if x >= free:
            out.append(f'<text class="time" x="{x + 2}" y="{_TOP - 10}">{escape(label)}</text>')
            free = x + _CHAR * len(label) + 6
    out.append("</g>")
    for i, (name, trace, values) in enumerate(win.rows):
        y0 = _TOP + i * _ROW + (_ROW - _WAVE_H) // 2
        out.append(f'<g class="signal" data-name={quoteattr(trace.name)}>')
        out.append(f'<text class="name" x="4" y="{y0 + _WAVE_H // 2 + 4}">{escape(name)}</text>')
        if trace.width == 1:
            out += _bit_row(values, name_w, y0, cw)
        else:
            out += _bus_row(values, trace.width, name_w, y0, cw)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
