"""Side-by-side simulation speed of two checkouts on the same workload and configuration (issue 12).

    python scripts/speed_compare.py --ref /work/wt/ref --new . [--rounds 3] [--mode raw,harness]
                                    [--workload default] [-p n=200000] [--set link.loss=0.01]

Each measurement is a child process with ``PYTHONPATH`` set to one checkout, so each side imports its own
``emu``/``hw``/``firmware``; the children alternate (ref, new, ref, new, ...) so that a change of machine
load hits both sides alike. Models are built (or taken from each checkout's cache) before anything is
timed. Reported per run:

* ``cpu cycles/s``: simulated cycles per CPU-second of the measuring thread (``time.thread_time`` around
  the run loop), which a shared machine disturbs far less than wall-clock time;
* ``wall cycles/s``: the same per wall-clock second;
* whether the statistics of the two sides are identical (every key of ``run_workload``'s statistics but
  the wall-clock ``speed``, ``firmware.seconds`` and ``build`` entries; the raw mode compares every
  access's result and the driver's counters).

Modes: ``raw`` = every touched page mapped first, the whole workload in one call of the compiled loop
(no Python until it is done; the model's own speed); ``harness`` = ``run_workload`` as users run it
(firmware, faults, golden-model check).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PYTHON = sys.executable

# ------------------------------------------------------------------------------------------------------
# Child side: runs inside one checkout (its emu/hw/firmware on sys.path).

#: Statistics that are not results: wall-clock time, the build, and the configuration as written (a newer
#: checkout has more settings).
_VOLATILE = ("speed", "build", "config", "config_key")


def _import_runner():
    # Decided by the checkout's files: an editable install of another checkout may resolve missing modules.
    import emu
    if (Path(emu.__file__).parent / "run.py").exists():     # before emu/run.py was split into emu/system/
        from emu.run import SystemRunner, default_processes
    else:
        from emu.system.processes import default_processes
        from emu.system.runner import SystemRunner
    return SystemRunner, default_processes


def _child(args) -> dict:
    import hashlib
    import time

    import numpy as np

    from emu import workloads
    from emu.config import load_config
    from firmware.bus import run_sync

    config = load_config(None, args.set)
    if args.workload_file:
        w = np.load(args.workload_file)
    else:
        w = workloads.generate(args.workload, seed=args.seed, **workloads.parse_params(args.workload, args.param))
    if args.mode == "workload":
        np.save(args.save_workload, w)
        return {"accesses": len(w)}
    SystemRunner, default_processes = _import_runner()
    if args.mode == "build":
        t0 = time.monotonic()
        runner = SystemRunner(config)
        out = {"build": runner.built.describe_build(), "seconds": time.monotonic() - t0,
               "first_build_seconds": runner.built.first_build_seconds}
        runner.close()
        return out
    runner = SystemRunner(config)
    try:
        if args.mode == "harness":
            c0, t0, w0 = runner.model.cycle, time.thread_time(), time.monotonic()
            s = runner.run(w)
            cpu, wall = time.thread_time() - t0, time.monotonic() - w0
            cycles = s["cycles"]
            stable = {k: v for k, v in s.items() if k not in _VOLATILE}
            stable["firmware"] = {k: v for k, v in s["firmware"].items() if k != "seconds"}
            return {"cycles": cycles, "cpu_seconds": cpu, "wall_seconds": wall,
                    "stats": json.loads(json.dumps(stable, default=str)), "accesses": len(w)}
        from emu.harness import new_results
        page = config.params.mmu.page_bytes
        wl = np.ascontiguousarray(w.copy())
        fw = runner.firmware
        for proc in default_processes(w, page):
            pid = run_sync(fw.create_process(proc.regions))
            wl["pid"][w["pid"] == proc.pid] = pid
            for vaddr, length, _ in proc.regions:
                if hasattr(fw.memory, "populate"):
                    run_sync(fw.memory.populate(pid, vaddr, length))
                else:                 # 5509269
                    space = fw.memory.spaces[pid]
                    for va in range(vaddr, vaddr + length, page):
                        run_sync(fw.memory._install(space, va // page, True))
        results = new_results(len(wl))
        model = runner.model
        c0, t0, w0 = model.cycle, time.thread_time(), time.monotonic()
        status = model.run(wl, results)
        cpu, wall = time.thread_time() - t0, time.monotonic() - w0
        cycles = model.cycle - c0
        # Cycle-relative, so that a different boot length (firmware) does not hide or fake a difference.
        h = hashlib.sha256(results["rdata"].tobytes() + results["status"].tobytes())
        h.update((results["t_done"] - results["t_issue"]).tobytes())
        h.update((results["t_issue"] - np.uint64(c0)).tobytes())
        return {"cycles": cycles, "cpu_seconds": cpu, "wall_seconds": wall,
                "stats": {"results": h.hexdigest()}, "status": int(status), "accesses": len(w)}
    finally:
        runner.close()


# ------------------------------------------------------------------------------------------------------
# Parent side.

def _run_child(tree: Path, mode: str, args, side: str = "ref", extra=()) -> dict:
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", "--mode", mode, "--workload", args.workload,
           "--seed", str(args.seed), *extra]
    for p in args.param:
        cmd += ["-p", p]
    for s in args.set + (args.new_set if side == "new" else []):
        cmd += ["--set", s]
    if args.workload_file and mode != "workload":
        cmd += ["--workload-file", str(args.workload_file)]
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"speed_compare: {mode} run in {tree} failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same_statistics(all_stats):
    """Whether every run's statistics agree on the keys all of them have; and the keys some lack."""
    common = set.intersection(*(set(s) for s in all_stats))
    only = set.union(*(set(s) for s in all_stats)) - common
    first = {k: all_stats[0][k] for k in common}
    return all({k: s[k] for k in common} == first for s in all_stats), only


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", type=Path, help="reference checkout (e.g. a worktree of 5509269)")
    ap.add_argument("--new", type=Path, default=Path("."), help="checkout to compare (default: .)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mode", default="raw,harness", help="comma-separated: raw, harness")
    ap.add_argument("--workload", default="default")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--new-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="a setting for the new side only (one the reference does not have)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workload-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--save-workload", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    if args.ref is None:
        ap.error("--ref is required")
    trees = {"ref": args.ref.resolve(), "new": args.new.resolve()}
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    bad = [m for m in modes if m not in ("raw", "harness")]
    if bad or args.rounds < 1:
        ap.error(f"modes must be raw or harness and rounds >= 1 (got {bad or args.rounds})")
    # The workload is generated once, by the reference's generator, and both sides run that array: a newer
    # checkout's generator of the same name may make other accesses.
    import tempfile
    tmp = tempfile.TemporaryDirectory(prefix="speed-compare-")
    wfile = Path(tmp.name) / "workload.npy"
    _run_child(trees["ref"], "workload", args, extra=["--save-workload", str(wfile)])
    args.workload_file = wfile
    for name, tree in trees.items():   # build or load both models first: nothing below is a build
        b = _run_child(tree, "build", args, name)
        print(f"{name}: model {b['build']} (first build {b['first_build_seconds']:.1f} s)", flush=True)
    load0 = os.getloadavg()
    runs = {(name, m): [] for name in trees for m in modes}
    for r in range(args.rounds):
        for m in modes:
            for name in ("ref", "new"):
                res = _run_child(trees[name], m, args, name)
                runs[(name, m)].append(res)
                print(f"round {r + 1} {m:<8} {name}: {res['cycles']:>11,} cycles  "
                      f"{res['cycles'] / res['cpu_seconds']:>12,.0f} cycles/CPU-s  "
                      f"{res['cycles'] / res['wall_seconds']:>12,.0f} cycles/wall-s", flush=True)
    load1 = os.getloadavg()
    print()
    print(f"workload {args.workload} {' '.join(args.param)} (generated by the reference) "
          f"{' '.join('--set ' + s for s in args.set)} {' '.join('--new-set ' + s for s in args.new_set)}".rstrip())
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} (1 min); {os.cpu_count()} cores")
    print(f"{'mode':<9}{'side':<5}{'cycles':>12}{'cycles/CPU-s (median)':>24}{'cycles/wall-s (median)':>24}"
          f"{'speed-up (CPU)':>16}  same statistics")
    summary = {}
    for m in modes:
        med = {}
        for name in ("ref", "new"):
            rs = runs[(name, m)]
            med[name] = (statistics.median(x["cycles"] / x["cpu_seconds"] for x in rs),
                         statistics.median(x["cycles"] / x["wall_seconds"] for x in rs))
        same, only = _same_statistics([x["stats"] for name in trees for x in runs[(name, m)]])
        for name in ("ref", "new"):
            up = f"{med[name][0] / med['ref'][0]:.2f}x" if name == "new" else ""
            print(f"{m:<9}{name:<5}{runs[(name, m)][0]['cycles']:>12,}{med[name][0]:>24,.0f}{med[name][1]:>24,.0f}"
                  f"{up:>16}  {'yes' if same else 'NO'}" if name == "new" else
                  f"{m:<9}{name:<5}{runs[(name, m)][0]['cycles']:>12,}{med[name][0]:>24,.0f}{med[name][1]:>24,.0f}")
        if only:
            print(f"{'':<14}statistics present on one side only (not compared): {', '.join(sorted(only))}")
        summary[m] = {"ref_cpu": med["ref"][0], "new_cpu": med["new"][0], "ref_wall": med["ref"][1],
                      "new_wall": med["new"][1], "speedup_cpu": med["new"][0] / med["ref"][0], "identical": same}
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "load": [load0, load1],
                                         "runs": {f"{k[0]}/{k[1]}": v for k, v in runs.items()}}, indent=2))
    return 0 if all(s["identical"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
