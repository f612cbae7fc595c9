"""Sweeps: one workload over several ExCache geometries (and link latencies), with baselines and a plot.

:func:`run_sweep` runs every :class:`SweepPoint` through a *run function* (by default
:func:`emu.system.runner.run_workload` on the base :class:`emu.config.SystemConfig` with the point's cache geometry
and link latency), in parallel worker processes, and returns one row per point with the slowdown against
the local-memory baseline and the swap baselines of :mod:`emu.baselines` at the same capacity.
:func:`write_outputs` writes ``sweep.csv``, ``sweep.json`` and ``sweep.png``.

Slowdown = (simulated cycles of the disaggregated run / clock) / (local-memory time of the same trace).
Both are in the same clock, so it is a ratio of cycles.

Each distinct geometry is a separate Verilator build (the harness caches builds under ``build/harness``
keyed by the generated Verilog, so a second sweep or another workload over the same geometries only
simulates).
"""

import csv
import dataclasses
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .baselines import Timing, baseline_cycles
from .errors import DisaggError

__all__ = ["SweepPoint", "points_for", "run_sweep", "write_outputs", "plot", "harness_run", "with_point",
           "cycles_of", "measured_hit_cycles", "timing_of_rows"]


@dataclass(frozen=True)
class SweepPoint:
    """One configuration of a sweep.

    Parameters
    ----------
    size : int
        ExCache capacity in bytes (``sets * ways * line``).
    ways : int
    line : int
        ExCache line size in bytes.
    link_latency : int or None
        Link latency in cycles (both directions); None keeps the base configuration's.
    """

    size: int
    ways: int
    line: int
    link_latency: int = None

    @property
    def sets(self):
        return self.size // (self.ways * self.line)

    def label(self):
        s = f"{_human(self.size)} ({self.sets}x{self.ways}x{self.line}B)"
        return s if self.link_latency is None else f"{s} link {self.link_latency}"


def _human(n):
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def points_for(sizes, *, ways=4, lines=(64,), link_latencies=(None,)):
    """The cross product of sizes x line sizes x link latencies, validated (sets must be a power of two)."""
    if not sizes:
        raise DisaggError("a sweep needs at least one ExCache size")
    pts = []
    for line in lines:
        for lat in link_latencies:
            for size in sizes:
                for what, v in (("ExCache size", size), ("line size", line), ("ways", ways)):
                    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                        raise DisaggError(f"{what} must be a positive int, not {v!r}")
                if lat is not None and (isinstance(lat, bool) or not isinstance(lat, int) or lat < 1):
                    raise DisaggError(f"link latency must be a positive int (cycles), not {lat!r}")
                if line & (line - 1):
                    raise DisaggError(f"line size must be a power of two, not {line!r}")
                sets = size // (ways * line)
                if sets < 1 or sets * ways * line != size or sets & (sets - 1):
                    raise DisaggError(f"ExCache size {size} is not a power-of-two number of sets of "
                                      f"{ways} ways x {line} B lines")
                pts.append(SweepPoint(size, ways, line, lat))
    if len(set(pts)) != len(pts):
        raise DisaggError("the sweep lists the same point twice")
    return pts


def _replace_nested(obj, match, fn):
    """Return ``obj`` with every nested dataclass field for which ``match(value)`` replaced by ``fn(value)``."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if match(v):
            changes[f.name] = fn(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            nv = _replace_nested(v, match, fn)
            if nv is not v:
                changes[f.name] = nv
    return dataclasses.replace(obj, **changes) if changes else obj


def _is_excache(v):
    return type(v).__name__ == "ExCacheParams"


def _is_link(v):
    return type(v).__name__ == "LinkParams"


def with_point(config, point):
    """``config`` with the point's ExCache geometry and link latency.

    An :class:`emu.config.SystemConfig` (anything with ``with_overrides``) gets ``cache.sets``,
    ``cache.ways``, ``cache.line_bytes`` and ``link.latency`` overrides; any other configuration is walked
    as nested dataclasses and its ``ExCacheParams`` / ``LinkParams`` fields are replaced.
    """
    if hasattr(config, "with_overrides"):
        sets = [f"cache.sets={point.sets}", f"cache.ways={point.ways}", f"cache.line_bytes={point.line}"]
        if point.link_latency is not None:
            sets.append(f"link.latency={point.link_latency}")
        return config.with_overrides(sets)
    found = []

    def geometry(ex):
        found.append(ex)
        try:
            return dataclasses.replace(ex, sets=point.sets, ways=point.ways, line_bytes=point.line)
        except (TypeError, ValueError) as exc:
            raise DisaggError(f"ExCache {point.label()}: {exc}") from None

    out = _replace_nested(config, _is_excache, geometry)
    if not found:
        raise DisaggError(f"configuration {type(config).__name__} has no ExCacheParams to sweep")
    if point.link_latency is not None:
        def latency(link):
            try:
                return dataclasses.replace(link, latency=point.link_latency)
            except (TypeError, ValueError) as exc:
                raise DisaggError(f"link latency {point.link_latency}: {exc}") from None
        out = _replace_nested(out, _is_link, latency)
    return out


def cycles_of(stats):
    """Total simulated cycles in a run's statistics dict."""
    for key in ("cycles", "total_cycles", "sim_cycles"):
        if key in stats:
            return int(stats[key])
    raise DisaggError(f"run statistics have no cycle count (keys: {', '.join(sorted(stats))})")


def _hit_totals(stats):
    """(hits, hit latency sum) of one run's statistics: flat harness counters or emu.system.runner's nested dict."""
    if "hit_count" in stats:
        return int(stats["hit_count"]), int(stats.get("hit_latency_sum", 0))
    lat = stats.get("latency")
    if isinstance(lat, dict) and "hit_cycles" in lat and "accesses" in stats:
        hits = int(stats["accesses"]) - int(lat.get("misses_timed", 0))
        return hits, float(lat["hit_cycles"]) * hits
    return 0, 0


def measured_hit_cycles(results):
    """Mean ExCache hit latency over runs (hit latency sum / hits of their statistics), rounded.

    Falls back to :data:`emu.baselines.DEFAULT_LOCAL_ACCESS_CYCLES` if no run reports hits.
    """
    from .baselines import DEFAULT_LOCAL_ACCESS_CYCLES
    totals = [_hit_totals(r) for r in results]
    hits = sum(h for h, _ in totals)
    total = sum(t for _, t in totals)
    return max(1, round(total / hits)) if hits else DEFAULT_LOCAL_ACCESS_CYCLES


#: Parts of emu.system.runner's statistics not copied into sweep rows (configuration echo, raw counters, lists).
_SKIP_STATS = ("config", "counters", "processes", "miss_stages_detail_cycles", "check", "firmware", "faults")


def flat_stats(stats, prefix="stat_"):
    """Numeric leaves of a (nested) statistics dict as ``{prefix + "a_b": value}``."""
    out = {}
    for key, v in stats.items():
        if key in _SKIP_STATS:
            continue
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            out.update(flat_stats(v, name + "_"))
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            out[name] = v.item() if hasattr(v, "item") else v
        elif isinstance(v, (bool, np.bool_)):
            out[name] = int(v)
    return out


def harness_run(config, workload, check=True):
    """The default run function: :func:`emu.system.runner.run_workload` (imported lazily: it builds Verilator models)."""
    try:
        from .system.runner import run_workload
    except ImportError as exc:
        raise DisaggError(f"the emulation harness (emu.system.runner) is not available: {exc}") from None
    return run_workload(config, workload, check=check)


def _default_config():
    try:
        from .config import SystemConfig
    except ImportError as exc:
        raise DisaggError(f"emu.config is not available: {exc}") from None
    return SystemConfig()


def clock_hz_of(config, default=1e9):
    """The clock of a configuration (``system.clock_mhz`` of a SystemConfig), else ``default``."""
    try:
        return float(config.system.clock_mhz) * 1e6
    except AttributeError:
        return default


def _job(run_fn, config, workload, check):
    return run_fn(config, workload, check=check)


def run_sweep(workload, points, *, run_fn=None, base_config=None, jobs=None, progress=True, timing=None,
              check=True):
    """Run ``workload`` at every point; return rows (dicts) in the order of ``points``.

    Parameters
    ----------
    workload : ndarray of WORKLOAD_DTYPE
    points : list of SweepPoint
    run_fn : callable, optional
        ``run_fn(config, workload, check=...) -> stats dict`` with a cycle count (see :func:`cycles_of`);
        must be picklable when ``jobs > 1``. Default :func:`harness_run`.
    base_config : optional
        Configuration the points modify (default ``emu.config.SystemConfig()``).
    jobs : int, optional
        Worker processes (default: one per core, at most one per point); 1 runs in this process.
    timing : Timing, optional
        Clock and baseline costs. With ``local_access_cycles=None`` (the default) the local baseline's
        access cost is the runs' measured mean ExCache hit latency (:func:`measured_hit_cycles`); every
        row records the value used in ``local_access_cycles``.
    """
    from .workload_format import validate
    validate(workload, what="sweep workload")
    timing = timing or Timing()
    run_fn = run_fn or harness_run
    if base_config is None:
        base_config = _default_config()
    configs = [with_point(base_config, p) for p in points]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, len(points))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise DisaggError(f"jobs must be a positive int, not {jobs!r}")
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(points), desc="sweep", unit="point")
    results = [None] * len(points)
    try:
        if jobs == 1:
            for i, cfg in enumerate(configs):
                results[i] = run_fn(cfg, workload, check=check)
                if bar:
                    bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(_job, run_fn, cfg, workload, check): i for i, cfg in enumerate(configs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    if bar:
                        bar.update(1)
    finally:
        if bar:
            bar.close()
    if timing.local_access_cycles is None:
        timing = dataclasses.replace(timing, local_access_cycles=measured_hit_cycles(results))
    base = baseline_cycles(workload, sorted({p.size for p in points}), timing)
    local = base["local"]
    rows = []
    for p, stats in zip(points, results):
        cyc = cycles_of(stats)
        row = {"size": p.size, "sets": p.sets, "ways": p.ways, "line": p.line,
               "link_latency": p.link_latency if p.link_latency is not None else "",
               "cycles": cyc, "seconds": cyc / timing.clock_hz, "local_cycles": local,
               "local_access_cycles": timing.local_access_cycles,
               "slowdown": cyc / local if local else float("nan")}
        row.update(flat_stats(stats))
        swap_ins, dirty, first = base["faults"][p.size]
        row["page_swap_ins"] = swap_ins
        row["page_dirty_evictions"] = dirty
        row["page_first_touches"] = first
        for d in timing.devices:
            row[f"{d.name}_slowdown"] = base[d.name][p.size] / local if local else float("nan")
        rows.append(row)
    return rows


def timing_of_rows(rows, timing):
    """``timing`` with the local access cost the rows were computed with."""
    if rows and timing.local_access_cycles is None:
        return dataclasses.replace(timing, local_access_cycles=rows[0]["local_access_cycles"])
    return timing


def write_outputs(rows, out_dir, *, meta, timing=None, title=None):
    """Write ``sweep.csv``, ``sweep.json`` and ``sweep.png`` into ``out_dir``; return their paths."""
    timing = timing_of_rows(rows, timing or Timing())
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
           "timing": {"clock_hz": timing.clock_hz, "local_access_cycles": timing.local_access_cycles,
                      "page_size": timing.page_size,
                      "devices": [dataclasses.asdict(d) for d in timing.devices]},
           "rows": rows}
    json_path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    png_path = plot(rows, out_dir / "sweep.png", timing=timing, title=title)
    return csv_path, json_path, png_path


def plot(rows, path, *, timing=None, title=None, size_scale=1, size_unit="KiB"):
    """Slowdown versus ExCache size (log2 axis): one curve per (line, link latency), plus the swap baselines.

    ``size_scale`` multiplies the sizes on the axis (to label a scaled-down run with the sizes it stands
    for) and ``size_unit`` names the unit (KiB or MiB).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timing = timing or Timing()
    div = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}.get(size_unit)
    if div is None:
        raise DisaggError(f"size_unit must be KiB, MiB or GiB, not {size_unit!r}")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    groups = {}
    for r in rows:
        groups.setdefault((r["line"], r["link_latency"]), []).append(r)
    markers = "osD^v<>"
    for k, ((line, lat), rs) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))):
        rs = sorted(rs, key=lambda r: r["size"])
        label = "disagg (RTL)" if len(groups) == 1 else f"disagg {line} B lines" + (f", link {lat} cyc" if lat != "" else "")
        ax.plot([r["size"] * size_scale / div for r in rs], [r["slowdown"] for r in rs],
                marker=markers[k % len(markers)], linewidth=2, label=label)
    by_size = {}
    for r in rows:
        by_size.setdefault(r["size"], r)
    sizes = sorted(by_size)
    for d, style in zip(timing.devices, ("--", "-.", ":", "--")):
        ax.plot([s * size_scale / div for s in sizes], [by_size[s][f"{d.name}_slowdown"] for s in sizes],
                linestyle=style, marker="x", label=f"{d.name} ({d.fault_us:g} us/fault)")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xticks([s * size_scale / div for s in sizes])
    ax.set_xticklabels([f"{s * size_scale / div:g}" for s in sizes])
    ax.set_yscale("log")
    ax.set_xlabel(f"ExCache / local memory size ({size_unit})")
    ax.set_ylabel("slowdown vs. enough local memory")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
