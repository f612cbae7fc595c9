"""The text report ``disagg run`` prints: a summary of a run's statistics dictionary."""

from __future__ import annotations

__all__ = ["format_summary"]


def format_summary(s: dict, *, workload_name: str = "", config_source: str = "") -> str:
    """The human-readable summary of a statistics dictionary of :func:`emu.system.runner.run_workload`."""
    ns = 1000.0 / s["clock_mhz"]
    lines = []
    head = f"disagg run: {s['accesses']:,} accesses ({s['reads']:,} reads, {s['writes']:,} writes)"
    if workload_name:
        head += f" of workload '{workload_name}'"
    lines.append(head)
    lines.append(f"  configuration {config_source or 'built-in default'} [{s['config_key']}], "
                 f"miss path {s['miss_path']}, {s['clock_mhz']:g} MHz; model {s['build']['summary']}")
    lines.append(f"  simulated {s['cycles']:,} cycles = {s['time_ns'] / 1000:,.1f} us, "
                 f"{s['cycles_per_access']:.2f} cycles/access")
    lines.append("")
    p, m, n = s["processor"], s["memory"], s["network"]
    hit_rate = p["hits"] / max(1, p["hits"] + p["misses"])
    rows = [
        ("processor (ExCache)", f"hits {p['hits']:,}  misses {p['misses']:,}  ({hit_rate:.1%} hits)  "
                                f"evictions {p['evictions']:,}  write-backs {p['writebacks']:,}"),
        ("", "no translation at the processor (virtual tags; the memory component translates)"),
        ("memory (MMU)", f"TLB hits {m['tlb_hits']:,}  misses {m['tlb_misses']:,}  walks {m['walks']:,}  "
                         f"page faults {m['faults']:,}"),
        ("network", f"messages {n['messages']:,}  frames {n['frames']:,}  bytes {n['bytes']:,}  "
                    f"retransmissions {n['retransmissions']:,}"),
    ]
    if s["faults"]:
        rows.append(("faulted accesses", "  ".join(f"{k} {v:,}" for k, v in s["faults"].items())))
    width = max(len(r[0]) for r in rows)
    lines += [f"  {a:<{width}}  {b}" for a, b in rows]
    lat = s["latency"]
    lines.append("")
    lines.append(f"  average miss latency ({lat['misses_timed']:,} misses): {lat['miss_cycles']:.1f} cycles = "
                 f"{lat['miss_ns']:.1f} ns   (hit {lat['hit_cycles']:.1f} cycles)")
    lines.append(f"    {'stage':<14}{'cycles':>10}{'ns':>10}{'share':>8}")
    total = lat["miss_cycles"] or 1.0
    for name, v in lat["miss_stages"].items():
        lines.append(f"    {name:<14}{v['cycles']:>10.1f}{v['cycles'] * ns:>10.1f}{v['cycles'] / total:>8.1%}")
    threads = s.get("threads") or []
    if len(threads) > 1:
        lines.append("")
        lines.append(f"  CPU threads ({len(threads)})")
        lines.append(f"    {'thread':<8}{'accesses':>10}{'hits':>10}{'misses':>9}{'think':>11}{'latency':>9}"
                     f"{'miss lat':>10}{'finished at':>13}")
        for t in threads:
            lines.append(f"    {t['thread']:<8}{t['accesses']:>10,}{t['hits']:>10,}{t['misses']:>9,}"
                         f"{t['think_cycles']:>11,}{t['access_cycles']:>9.1f}{t['miss_cycles']:>10.1f}"
                         f"{t['finish_cycle']:>13,}")
        lines.append("    (hits/misses: accesses timed as such by the harness; latency in cycles; "
                     "finished at: cycle of the thread's last response)")
    sp = s["speed"]
    lines.append("")
    chk = s["check"]
    checked = (f"all {chk['checked']:,} accesses match the golden model" if chk["enabled"] and
               chk["checked"] == s["accesses"] else
               f"first {chk['checked']:,} accesses match the golden model" if chk["enabled"] else "not checked")
    lines.append(f"  speed: {sp['accesses_per_s']:,.0f} accesses/s, {sp['cycles_per_s']:,.0f} simulated cycles/s "
                 f"({sp['wall_seconds']:.2f} s wall, firmware {s['firmware']['seconds']:.2f} s, "
                 f"{s['firmware']['irq_returns']:,} firmware events); check: {checked}")
    if sp.get("idle_skipped_cycles"):
        lines.append(f"  idle-cycle skipping: {sp['idle_skipped_cycles']:,} of {s['cycles']:,} cycles "
                     f"({sp['idle_skipped_cycles'] / max(s['cycles'], 1):.1%}) advanced without evaluating the model")
    return "\n".join(lines)
