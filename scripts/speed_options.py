"""Compiler and Verilator options of the harness model, measured one by one in one run (issue 12).

    python scripts/speed_options.py [--variants base,os,o3,native,clang,pgo] [--rounds 2]
                                    [-p n=50000] [--set memory.dram_bytes=1048576]

Each variant changes one setting of ``emu.harness.build`` (``OPT_FAST``, ``CXXFLAGS``, ``CXX``,
``VERILATOR_FLAGS``) in a child process of this checkout, builds the default system model with it (its
first build time is reported; the Verilog conversion is cached and common to all) and runs the raw mode of
``scripts/speed_compare.py`` (every page mapped, the whole workload in one call of the compiled loop). The
variants alternate round by round, so that a change of machine load hits them alike. Reported: build
seconds, simulated cycles per CPU-second of the model's thread (median over rounds), and whether every
variant gave the same results (a digest of every access's result and timing).

``pgo`` builds an instrumented model (``-fprofile-generate``), trains it on the same workload with a
different seed, and builds the model again with ``-fprofile-use``; its build time is the sum of both
builds and the training run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PGO_DIR = ROOT / "build" / "harness" / "pgo-profile"

#: name -> (what changes, a function of the build module applying it)
VARIANTS = {
    "base": "as shipped, without the automated profile-guided build (DISAGG_HARNESS_PGO=0, as every variant but pgoauto/pgonopart)",
    "pgoauto": "as shipped: the automated profile-guided build of emu.harness.build (DISAGG_HARNESS_PGO=1)",
    "pgonopart": "pgoauto with -fprofile-use alone (no -fprofile-partial-training: code the training never ran optimised for size)",
    "v3": "-march=x86-64-v3 (AVX2, BMI2: variable shifts without flags; no AVX-512)",
    "novec": "-fno-tree-vectorize (gcc 12 vectorizes at -O2)",
    "g": "OPT_FAST=-O2 -g (for a line-level profile, e.g. callgrind_annotate --auto=yes; not a speed option)",
    "inlinecf": "Verilator --inline-cfuncs 1000 --inline-cfuncs-product 1000000 (inline larger CFuncs)",
    "os": "OPT_FAST=-Os (Verilator's default)",
    "o3": "OPT_FAST=-O3",
    "native": "-march=native",
    "clang": "CXX=clang++",
    "pgo": "PGO: -fprofile-generate, training run, -fprofile-use",
    "threads2": "Verilator --threads 2",
    "nodfg": "Verilator -fno-dfg (no data-flow-graph optimisation)",
    "notable": "Verilator -fno-table (no lookup tables for case statements)",
    "inline": "Verilator --inline-mult 100000 (inline every module)",
    "splitcf": "Verilator --output-split-cfuncs 2000 (smaller eval functions)",
    "noxfast": "Verilator without --x-assign fast --x-initial fast",
    "default-vis": "without -fvisibility=hidden (every function of the model exported, called through the PLT)",
    "no-lto": "without -flto=auto (no link-time optimisation)",
    "noplt": "-fno-plt -fno-semantic-interposition",
    "o3native": "OPT_FAST=-O3 and -march=native",
}

#: Verilator flags added by the Verilator variants.
_VERILATOR_VARIANTS = {"threads2": ["--threads", "2"], "nodfg": ["-fno-dfg"], "notable": ["-fno-table"],
                       "inline": ["--inline-mult", "100000"], "splitcf": ["--output-split-cfuncs", "2000"],
                       "inlinecf": ["--inline-cfuncs", "1000", "--inline-cfuncs-product", "1000000"]}


def _apply(b, variant, stage=None):
    # Profile-guided builds are on by default (emu.harness.build.pgo_enabled): off for every variant but the
    # two that measure them, so that each variant changes one thing against ``base``.
    os.environ["DISAGG_HARNESS_PGO"] = "1" if variant in ("pgoauto", "pgonopart") else "0"
    if variant == "pgonopart":
        b.PGO_FLAGS_USE = b.PGO_FLAGS_USE.replace(" -fprofile-partial-training", "")
    elif variant == "g":
        b.OPT_FAST = f"{b.OPT_FAST} -g"
    elif variant == "v3":
        b.CXXFLAGS = b.CXXFLAGS + ["-march=x86-64-v3"]
    elif variant == "novec":
        b.CXXFLAGS = b.CXXFLAGS + ["-fno-tree-vectorize"]
    elif variant == "os":
        b.OPT_FAST = "-Os"
    elif variant == "o3":
        b.OPT_FAST = "-O3"
    elif variant == "default-vis":
        b.CXXFLAGS = [f for f in b.CXXFLAGS if f != "-fvisibility=hidden"]
    elif variant == "no-lto":
        b.CXXFLAGS = [f for f in b.CXXFLAGS if f != "-flto=auto"]
    elif variant == "native":
        b.CXXFLAGS = b.CXXFLAGS + ["-march=native"]
    elif variant == "noplt":
        b.CXXFLAGS = b.CXXFLAGS + ["-fno-plt", "-fno-semantic-interposition"]
    elif variant == "o3native":
        b.OPT_FAST = "-O3"
        b.CXXFLAGS = b.CXXFLAGS + ["-march=native"]
    elif variant == "clang":
        b.CXX = "clang++"
        run = b._run

        def _run(cmd, cwd, what):        # clang's atomics need libatomic at link time
            return run(cmd + ["-latomic"] if "-shared" in cmd else cmd, cwd, what)
        b._run = _run
    elif variant in _VERILATOR_VARIANTS:
        b.VERILATOR_FLAGS = b.VERILATOR_FLAGS + _VERILATOR_VARIANTS[variant]
    elif variant == "noxfast":
        flags = list(b.VERILATOR_FLAGS)
        for opt in ("--x-assign", "--x-initial"):
            i = flags.index(opt)
            del flags[i:i + 2]
        b.VERILATOR_FLAGS = flags
    elif variant == "pgo":
        if stage == "gen":
            b.OPT_FAST = f"{b.OPT_FAST} -fprofile-generate={PGO_DIR} -fprofile-update=single"
        else:
            b.OPT_FAST = f"{b.OPT_FAST} -fprofile-use={PGO_DIR} -fprofile-partial-training -Wno-missing-profile"
            run = b._run

            def _run(cmd, cwd, what):
                # The profile's file names carry the object's path, which has the model's key: give the
                # instrumented build's profile the name this build looks for.
                if any("libVtop.a" in str(c) or "libharness.so" in str(c) for c in cmd):
                    key = Path(cwd).name if Path(cwd).name != "obj" else Path(cwd).parent.name
                    for f in PGO_DIR.glob("*.gcda"):
                        parts = f.name.split("#harness#", 1)
                        if len(parts) == 2 and "#" in parts[1]:
                            rest = parts[1].split("#", 1)[1]
                            target = PGO_DIR / f"{parts[0]}#harness#{key}#{rest}"
                            if target != f and not target.exists():
                                shutil.copy(f, target)
                return run(cmd, cwd, what)
            b._run = _run


def _child(args):
    from emu.harness import build as b
    _apply(b, args.variant, args.stage)
    import speed_compare
    ns = argparse.Namespace(mode=args.mode, workload="default", seed=args.seed, param=args.param, set=args.set,
                           workload_file=args.workload_file)
    return speed_compare._child(ns)


def _run_child(variant, mode, args, stage=None, seed=None):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--variant", variant, "--mode", mode,
           "--seed", str(seed if seed is not None else args.seed)]
    wfile = args.train_workload_file if seed is not None else args.workload_file
    if wfile:
        cmd += ["--workload-file", str(wfile)]
    if stage:
        cmd += ["--stage", stage]
    for p in args.param:
        cmd += ["-p", p]
    for s in args.set:
        cmd += ["--set", s]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"speed_options: {variant} {mode} failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="base,os,o3,native,pgo")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workload-file", type=Path,
                    help="a saved workload array (.npy) instead of generating one (e.g. the reference's)")
    ap.add_argument("--train-workload-file", type=Path,
                    help="the workload of the PGO training run (default: generated with seed + 1)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or args.rounds < 1:
        ap.error(f"variants must be among {', '.join(VARIANTS)} and rounds >= 1 (got {bad or args.rounds})")
    builds = {}
    for v in variants:
        if v == "pgo":
            shutil.rmtree(PGO_DIR, ignore_errors=True)
            g = _run_child(v, "build", args, stage="gen")
            t0 = time.monotonic()
            _run_child(v, "raw", args, stage="gen", seed=args.seed + 1)      # training, another seed
            train = time.monotonic() - t0
            u = _run_child(v, "build", args, stage="use")
            builds[v] = (g["first_build_seconds"] + train + u["first_build_seconds"],
                         f"{g['build']} + training {train:.1f} s + {u['build']}")
        else:
            r = _run_child(v, "build", args)
            builds[v] = (r["first_build_seconds"], r["build"])
        print(f"{v}: model {builds[v][1]} (build {builds[v][0]:.1f} s)", flush=True)
    load0 = os.getloadavg()
    runs = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            res = _run_child(v, "raw", args, stage="use" if v == "pgo" else None)
            runs[v].append(res)
            print(f"round {r + 1} {v:<9} {res['cycles']:>11,} cycles {res['cycles'] / res['cpu_seconds']:>12,.0f} "
                  f"cycles/CPU-s", flush=True)
    load1 = os.getloadavg()
    base = variants[0]
    med = {v: statistics.median(x["cycles"] / x["cpu_seconds"] for x in runs[v]) for v in variants}
    digests = {x["stats"]["results"] for v in variants for x in runs[v]}
    print()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} (1 min); results identical: "
          f"{'yes' if len(digests) == 1 else 'NO'}")
    print(f"{'variant':<10}{'build s':>9}{'cycles/CPU-s':>14}{'vs ' + base:>10}  what")
    for v in variants:
        print(f"{v:<10}{builds[v][0]:>9.1f}{med[v]:>14,.0f}{med[v] / med[base]:>9.2f}x  {VARIANTS[v]}")
    if args.json:
        args.json.write_text(json.dumps({"builds": builds, "median": med, "load": [load0, load1],
                                         "identical": len(digests) == 1}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
