"""Side-by-side build time of the harness model of two checkouts (issue 12: "build time must not grow by more
than 20%"; issue 17: a 16 GiB + 128 MiB configuration builds as fast as the default).

    python scripts/speed_build_time.py --ref /work/wt/ref --new . [--rounds 2] [--set section.key=value ...]
                                       [--new-set section.key=value ...]

Each build is a child process with ``PYTHONPATH`` set to one checkout, in a fresh build folder of its own
(Verilator's run-time library is copied in from the checkout's ``build/harness/`` and not counted, as in
``scripts/harness_build_size.py``): the Verilog conversion and the compile of the model, nothing cached. The
sides alternate round by round, so that a change of machine load hits both alike. Reported per build: CPU
seconds (user + sys) of the conversion (this process) and of the compile (this process and its children:
Verilator, make, g++), which a loaded machine disturbs far less than wall-clock time; and wall seconds.
``--set`` applies to both sides, ``--new-set`` to the new side only (e.g. a configuration the reference
cannot build).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _child(tree: Path, sets: list[str]) -> dict:
    import emu.harness.build as harness_build
    with tempfile.TemporaryDirectory(prefix="speed-build-") as tmp:
        build_dir = Path(tmp)
        for runtime in (tree / "build" / "harness").glob("runtime-*"):
            if runtime.is_dir():
                shutil.copytree(runtime, build_dir / runtime.name)
        harness_build.HARNESS_BUILD = build_dir    # read at call time by system_verilog and build_model
        from emu.config import load_config
        from emu.harness import build_model
        # Decided by the checkout's files: an editable install of another checkout may resolve missing modules.
        import emu
        if (Path(emu.__file__).parent / "run.py").exists():   # 5509269: before emu/run.py was split up
            from emu.run import system_verilog
        else:
            from emu.system.model_cache import system_verilog
        config = load_config(None, sets)
        t, c = time.monotonic(), _cpu(resource.RUSAGE_SELF)
        verilog, ports = system_verilog(config)
        convert_wall, convert_cpu = time.monotonic() - t, _cpu(resource.RUSAGE_SELF) - c
        t, c, k = time.monotonic(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        # A checkout with profile-guided builds trains the model as build_system does (the training counted).
        import inspect
        if "train" in inspect.signature(build_model).parameters:
            from emu.harness.pgo import system_trainer
            built = build_model(verilog=verilog, ports=ports, train=system_trainer(config, ports))
        else:
            built = build_model(verilog=verilog, ports=ports)
        compile_wall = time.monotonic() - t
        compile_cpu = _cpu(resource.RUSAGE_SELF) - c + _cpu(resource.RUSAGE_CHILDREN) - k
        if built.cached:
            raise SystemExit("speed_build_time: the model was cached in a fresh build folder")
        return {"convert_cpu": convert_cpu, "compile_cpu": compile_cpu, "convert_wall": convert_wall,
                "compile_wall": compile_wall, "verilog_lines": verilog.count("\n")}


def _run_child(tree: Path, sets: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree)]
    for s in sets:
        cmd += ["--set", s]
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"speed_build_time: build in {tree} failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", type=Path, help="reference checkout (e.g. a worktree of 5509269)")
    ap.add_argument("--new", type=Path, default=Path("."), help="checkout to compare (default: .)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--new-set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child.resolve(), args.set)))
        return 0
    if args.ref is None or args.rounds < 1:
        ap.error("--ref is required and --rounds must be at least 1")
    sides = {"ref": (args.ref.resolve(), args.set), "new": (args.new.resolve(), args.set + args.new_set)}
    load0 = os.getloadavg()
    runs = {name: [] for name in sides}
    for r in range(args.rounds):
        for name, (tree, sets) in sides.items():
            res = _run_child(tree, sets)
            runs[name].append(res)
            print(f"round {r + 1} {name}: convert {res['convert_cpu']:6.1f} CPU-s ({res['convert_wall']:6.1f} s wall)"
                  f"  compile {res['compile_cpu']:6.1f} CPU-s ({res['compile_wall']:6.1f} s wall)"
                  f"  {res['verilog_lines']:,} Verilog lines", flush=True)
    load1 = os.getloadavg()
    med = {name: {k: statistics.median(x[k] for x in rs) for k in ("convert_cpu", "compile_cpu")}
           for name, rs in runs.items()}
    print()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} (1 min); {os.cpu_count()} cores")
    print(f"{'side':<5}{'settings':<40}{'convert CPU-s':>15}{'compile CPU-s':>15}{'total':>9}{'vs ref':>8}")
    total = {name: m["convert_cpu"] + m["compile_cpu"] for name, m in med.items()}
    for name, (_tree, sets) in sides.items():
        ratio = f"{total[name] / total['ref']:.2f}x" if name == "new" else ""
        print(f"{name:<5}{(' '.join(sets) or 'default')[:39]:<40}{med[name]['convert_cpu']:>15.1f}"
              f"{med[name]['compile_cpu']:>15.1f}{total[name]:>9.1f}{ratio:>8}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "median": med, "load": [load0, load1]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
