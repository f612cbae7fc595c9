"""``disagg run --topology PxM``: a workload on a rack of P processor and M memory components, under cocotb.

The fast harness (``emu/harness``) drives one processor and one memory component; a rack runs under
cocotb with the real rack firmware and the rack golden model checking every access
(``emu/cosim/cocotb_rack.py``). The memory components' DRAM is served by cocotbext-axi RAMs on their
AXI4 ports (``RackTop(external_dram=True)``), so any DRAM size builds equally fast. Expect cocotb speed
(about 0.1 M cycles per second): a rack run is for a few thousand accesses per processor component.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import SystemConfig
from ..errors import DisaggError

__all__ = ["run_rack", "format_rack_summary"]


def _build_root():
    """Build folder of the rack runs (one sub-folder per configuration), beside the harness's."""
    from ..harness.build import HARNESS_BUILD
    return Path(HARNESS_BUILD).resolve().parent / "sim" / "rack-run"


def _verilog(params):
    from amaranth.back import verilog
    from hw.system.rack import RackTop
    return verilog.convert(RackTop(params, external_dram=True), name="top", emit_src=False)


def _pt_buckets_log2(params, workload):
    """A page table sized for the pages the workload touches (x4), not for the whole DRAM: the firmware
    zero-fills it through the MMU's CSR window, which under cocotb costs cycles per word."""
    pages = len(np.unique(workload["vaddr"] // params.mmu.page_bytes)) if len(workload) else 1
    entries = params.mmu.pt_bucket_entries
    buckets = max(4, 4 * pages // entries)
    limit = (params.dram_bytes // 4) // params.mmu.bucket_bytes
    return max(2, min(buckets, limit).bit_length() - 1)


def run_rack(config: SystemConfig, workload: np.ndarray, *, log=None) -> dict:
    """Run ``workload`` on the rack of ``config`` (``[topology]``); return the figures (raises DisaggError)."""
    from .runner import CocotbRun

    params = config.rack_params()
    t = config.topology
    firmware = {"process_policy": t.process_policy, "region_policy": t.region_policy, "on_oom": "refuse",
                "pt_buckets_log2": _pt_buckets_log2(params, workload)}
    cfg = {"rack": params.as_dict(), "firmware": firmware}
    from ..system.model_cache import source_digest
    # Keyed by the configuration and the sources of the RTL, so a changed hw/ never reuses a stale model.
    key = hashlib.sha1(json.dumps([params.as_dict(), source_digest()], sort_keys=True).encode()).hexdigest()[:10]
    sim = CocotbRun(build_root=_build_root() / key, test_module="emu.cosim.cocotb_rack", toplevel="top",
                    public="ports")    # the bench uses the top's ports only (docs/decisions.md)
    source = sim.build_root / "top.v"
    t0 = time.monotonic()
    if not source.exists():
        if log:
            log(f"converting the {params.processors} x {params.memories} rack to Verilog ...")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(_verilog(params))
    if log:
        log("building the cocotb model (cached per configuration) ...")
    try:
        sim.build([source])
    except Exception as exc:      # the toolchain's own message, on one line
        raise DisaggError(f"the rack model did not build: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    build_seconds = time.monotonic() - t0
    with tempfile.TemporaryDirectory() as tmp:
        wpath, out = Path(tmp) / "workload.npy", Path(tmp) / "out.json"
        np.save(wpath, workload)
        if log:
            log(f"running {len(workload):,} accesses on the rack, every access checked ...")
        outcome = sim.test(seed=1, env={"DISAGG_CONFIG": json.dumps(cfg, sort_keys=True),
                                        "DISAGG_RACK_WORKLOAD": str(wpath), "DISAGG_RACK_OUT": str(out)})
        result = json.loads(out.read_text()) if out.exists() else None
    if result is not None and "error" in result:
        raise DisaggError(result["error"])
    if not outcome.passed or result is None:
        raise DisaggError(f"the rack run failed: {outcome.reason} (log in {outcome.test_dir})")
    result["build_seconds"] = build_seconds
    result["topology"] = f"{params.processors}x{params.memories}"
    return result


def format_rack_summary(result, *, workload_name="", config_source="") -> str:
    """The human-readable summary of :func:`run_rack`'s figures."""
    s = result["statistics"]
    engine = "in the compiled rack" if result.get("engine") == "compiled" else "under cocotb"
    speed = f", {result['cycles'] / result['seconds']:,.0f} cycles/s" if result.get("seconds") else ""
    lines = [f"rack {result['topology']} ({config_source}), workload {workload_name}: {result['accesses']:,} accesses, "
             f"{result['checked']:,} checked by the rack golden model, 0 mismatches, {result['cycles']:,} cycles "
             f"({result['seconds']:.1f} s simulated {engine}{speed})"]
    if result.get("replication", 1) != 1:
        lines.append(f"replication {result['replication']}: every write to a primary and a secondary memory component")
    for rec in result.get("failovers") or ():
        lines.append(f"failover: memory node {rec['node']} failed at cycle {rec['failed_at']:,}, detected "
                     f"+{rec['detected_at'] - rec['failed_at']:,}, recovered +{rec['recovered_at'] - rec['detected_at']:,} "
                     f"cycles later; {rec['regions_promoted']} regions promoted, {rec['regions_lost']} lost")
    if result.get("node_dead"):
        lines.append(f"accesses answered NODE_DEAD (their process lost a region's only copy): {result['node_dead']:,}; "
                     f"those processes' accesses after their first NODE_DEAD not checked: "
                     f"{result.get('unchecked_after_failure', 0):,}")
    lines.append("processor components:  node  processes  hits  misses  write-backs  routed  unrouted  replicated  "
                 "re-sent")
    for node, p in s["processors"].items():
        ex = p["excache"]
        r = p["router"]
        lines.append(f"  {node:>4}  {p['processes']:>9}  {ex['hits']:>6}  {ex['misses']:>6}  {ex['writebacks']:>11}  "
                     f"{r['routed']:>6}  {r['unrouted']:>8}  {r.get('replicated', 0):>10}  {r.get('replayed', 0):>7}")
    lines.append("memory components:     node  frames used  frames free  requests  faults  prot faults")
    for node, m in s["memories"].items():
        mmu = m["mmu"]
        lines.append(f"  {node:>4}  {m['frames_used']:>11}  {m['frames_free']:>11}  {mmu['CNT_REQUESTS']:>8}  "
                     f"{mmu['CNT_FAULTS']:>6}  {mmu['CNT_PROT_FAULTS']:>11}")
    sw = s["switch"]
    cycles = max(1, sw["cycles"])
    lines.append(f"switch: {sw['frames_routed']:,} frames routed, {sw['dropped_unroutable']} unroutable, "
                 f"{sw['dropped_spoofed']} spoofed; per port: node  frames  utilisation  mean queue  lost")
    for node, p in sw["ports"].items():
        lines.append(f"  {node:>4}  {p['port_frames']:>8}  {p['port_busy'] / cycles:>10.1%}  "
                     f"{p['port_wait'] / cycles:>10.3f}  {p['link_lost']:>4}")
    lines.append(f"regions spilled to another memory component: {result['spills']}")
    return "\n".join(lines)
