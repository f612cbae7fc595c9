"""One row per sweep point: its settings, its cycles, and the slowdown against the local and swap baselines.

Slowdown = (simulated cycles of the disaggregated run) / (local-memory cycles of the same trace), both in
the same clock (:mod:`emu.baselines`). The swap baselines use local memory of the point's ExCache capacity.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..baselines import DEFAULT_LOCAL_ACCESS_CYCLES, baseline_cycles
from ..errors import DisaggError
from .grid import SIZE

__all__ = ["cycles_of", "measured_hit_cycles", "flat_stats", "build_rows", "capacity"]


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
        elif isinstance(v, (bool, np.bool_)):
            out[name] = int(v)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out[name] = v.item() if hasattr(v, "item") else v
    return out


def capacity(config) -> int:
    """ExCache capacity of a configuration in bytes."""
    c = config.cache
    return c.sets * c.ways * c.line_bytes


def build_rows(workload, points, configs, records, timing):
    """Rows in grid order, and the :class:`~emu.baselines.Timing` they used.

    ``configs[i]`` is the configuration of ``points[i]`` (None if impossible) and ``records[i]`` its record
    (``status`` ok with ``stats``, or error with ``error``). With ``timing.local_access_cycles`` None, the
    local access cost is the measured mean ExCache hit latency of the points that ran.
    """
    ok = [r["stats"] for r in records if r and r["status"] == "ok"]
    if timing.local_access_cycles is None:
        timing = dataclasses.replace(timing, local_access_cycles=measured_hit_cycles(ok))
    caps = sorted({capacity(c) for c, r in zip(configs, records)
                   if c is not None and r and r["status"] == "ok" and capacity(c) >= timing.page_size})
    base = baseline_cycles(workload, caps, timing)
    local = base["local"]
    rows = []
    for p, cfg, rec in zip(points, configs, records):
        row = {"point": p.label()}
        for k, v in p.values:
            row[k] = v
        if cfg is not None:
            size = capacity(cfg)
            row.update({"size": size, "sets": cfg.cache.sets, "ways": cfg.cache.ways, "line": cfg.cache.line_bytes,
                        "link_latency": cfg.link.latency})
        else:
            size = p.get(SIZE)
        row["status"] = rec["status"]
        if rec["status"] != "ok":
            row["error"] = rec["error"]
            rows.append(row)
            continue
        stats = rec["stats"]
        cyc = cycles_of(stats)
        row.update({"cycles": cyc, "seconds": cyc / (cfg.system.clock_mhz * 1e6), "local_cycles": local,
                    "local_access_cycles": timing.local_access_cycles,
                    "slowdown": cyc / local if local else float("nan")})
        row.update(flat_stats(stats))
        if size in base["faults"]:
            swap_ins, dirty, first = base["faults"][size]
            row.update({"page_swap_ins": swap_ins, "page_dirty_evictions": dirty, "page_first_touches": first})
        for d in timing.devices:
            row[f"{d.name}_slowdown"] = (base[d.name][size] / local if local and size in base[d.name]
                                         else float("nan"))
        rows.append(row)
    return rows, timing
