"""What a sweep writes: ``sweep.csv``, ``sweep.json``, ``sweep.png`` (faceted), and a table on stdout.

The plot shows the slowdown (log axis) against the first swept setting, one panel per value of the second
setting, one curve per combination of the others. When the first setting is the ExCache size
(``cache.size``), the axis is log2 and each panel also shows the swap baselines at the same capacities.
Failed points are listed in the CSV/JSON with their error and left out of the plot.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

from ..baselines import Timing
from ..errors import DisaggError
from .grid import SIZE, human_size

__all__ = ["write_outputs", "plot", "print_table"]


def _keys(rows, axes):
    """The swept settings that take more than one value (the plot's dimensions), in axis order."""
    return [a.key for a in axes if len(a.values) > 1]


def write_outputs(rows, out_dir, *, meta, timing=None, axes=(), title=None):
    """Write ``sweep.csv``, ``sweep.json`` and ``sweep.png`` into ``out_dir``; return their paths."""
    timing = timing or Timing()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DisaggError(f"cannot create {str(out_dir)!r}: {exc.strerror or exc}") from None
    fields = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    csv_path = out_dir / "sweep.csv"
    with open(csv_path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=fields, restval="")
        wr.writeheader()
        wr.writerows(rows)
    json_path = out_dir / "sweep.json"
    doc = {"meta": meta,
           "axes": [{"key": a.key, "values": list(a.values)} for a in axes],
           "timing": {"clock_hz": timing.clock_hz, "local_access_cycles": timing.local_access_cycles,
                      "page_size": timing.page_size,
                      "devices": [dataclasses.asdict(d) for d in timing.devices]},
           "rows": rows}
    json_path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    png_path = plot(rows, out_dir / "sweep.png", timing=timing, axes=axes, title=title)
    return csv_path, json_path, png_path


def _fmt(key, v):
    return human_size(v) if key == SIZE else str(v)


def plot(rows, path, *, timing=None, axes=(), title=None, size_scale=1, size_unit="KiB"):
    """Slowdown against the first swept setting, one panel per value of the second.

    ``size_scale`` multiplies ExCache sizes on the axis (to label a scaled-down run with the sizes it
    stands for) and ``size_unit`` names their unit (KiB, MiB or GiB).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timing = timing or Timing()
    div = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}.get(size_unit)
    if div is None:
        raise DisaggError(f"size_unit must be KiB, MiB or GiB, not {size_unit!r}")
    ok = [r for r in rows if r.get("status", "ok") == "ok"]
    dims = _keys(rows, axes) or [SIZE]
    xkey, facet = dims[0], (dims[1] if len(dims) > 1 else None)
    rest = dims[2:]
    facets = list(dict.fromkeys(r.get(facet) for r in ok)) if facet else [None]
    ncol = min(3, len(facets))
    nrow = math.ceil(len(facets) / ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(4.8 * ncol + 1.6 * (ncol == 1), 3.8 * nrow), dpi=120,
                            sharey=True, squeeze=False)
    xv = (lambda r: r["size"] * size_scale / div) if xkey == SIZE else (lambda r: r.get(xkey))
    numeric = all(isinstance(xv(r), (int, float)) and not isinstance(xv(r), bool) for r in ok)
    markers = "osD^v<>"
    for n, fval in enumerate(facets):
        ax = axs[n // ncol][n % ncol]
        frows = [r for r in ok if facet is None or r.get(facet) == fval]
        groups = {}
        for r in frows:
            groups.setdefault(tuple(r.get(k) for k in rest), []).append(r)
        xs_all = list(dict.fromkeys(xv(r) for r in frows))
        if numeric:
            xs_all.sort()
        pos = (lambda x: x) if numeric else (lambda x, xs=tuple(xs_all): xs.index(x))
        for k, (combo, rs) in enumerate(groups.items()):
            if numeric:
                rs = sorted(rs, key=xv)
            label = "disagg (RTL)" if not rest else "disagg " + ", ".join(
                f"{key}={_fmt(key, v)}" for key, v in zip(rest, combo))
            ax.plot([pos(xv(r)) for r in rs], [r["slowdown"] for r in rs], marker=markers[k % len(markers)],
                    linewidth=2, label=label)
        if xkey == SIZE:
            by_x = {}
            for r in frows:
                by_x.setdefault(xv(r), r)
            xs = sorted(by_x)
            for d, style in zip(timing.devices, ("--", "-.", ":", "--")):
                ys = [by_x[x].get(f"{d.name}_slowdown", float("nan")) for x in xs]
                ax.plot(xs, ys, linestyle=style, marker="x", label=f"{d.name} ({d.fault_us:g} us/fault)")
        ax.axhline(1.0, color="grey", linewidth=0.8)
        if numeric and xs_all and min(xs_all) > 0 and (xkey == SIZE or max(xs_all) / min(xs_all) >= 8):
            ax.set_xscale("log", base=2)
        if xs_all:
            ax.set_xticks([pos(x) for x in xs_all])
            ax.set_xticklabels([f"{x:g}" if isinstance(x, float) else str(x) for x in xs_all])
        ax.set_yscale("log")
        ax.set_xlabel(f"ExCache / local memory size ({size_unit})" if xkey == SIZE else xkey)
        if n % ncol == 0:
            ax.set_ylabel("slowdown vs. enough local memory")
        if facet is not None:
            ax.set_title(f"{facet}={_fmt(facet, fval)}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for n in range(len(facets), nrow * ncol):
        axs[n // ncol][n % ncol].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def print_table(rows, timing, axes=(), file=None):
    """The sweep as a fixed-width table: the swept settings, cycles, slowdowns; errors after it."""
    devs = [d.name for d in timing.devices]
    keys = [a.key for a in axes] or ["size"]
    head = [*keys, "sets x ways x line", "cycles", "slowdown", *devs]
    lines, errors = [head], []
    for r in rows:
        geom = f"{r['sets']}x{r['ways']}x{r['line']}" if "sets" in r else "-"
        cells = [_fmt(k, r.get(k, "")) for k in keys] + [geom]
        if r.get("status", "ok") != "ok":
            lines.append(cells + ["failed", "-"] + ["-"] * len(devs))
            errors.append(f"point {r['point']}: {r['error']}")
            continue
        lines.append(cells + [str(r["cycles"]), f"{r['slowdown']:.3f}"]
                     + [f"{r.get(d + '_slowdown', float('nan')):.2f}" for d in devs])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths)), file=file)
    for e in errors:
        print(e, file=file)
