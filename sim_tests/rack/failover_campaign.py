"""The failure campaign: for each memory component of a rack with replication 2 and 1% loss on the switch,
``--runs`` seeded runs with the failure at a random cycle (``test_failover.run_one``), every access checked, no
write lost; prints each run's failover record and the detection and recovery times (median and max).

    PYTHONPATH=. python -m sim_tests.rack.failover_campaign --topology 2x2 --runs 20 [--seed 1]

Runs under cocotb, one simulation per run (the build is shared). A failing run stops the campaign with its
seed and the run folder (no waveform re-run: reproduce it with pytest and SEED=...).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sim_tests.rack.test_failover import KILL_WINDOW, KNOBS, failover_run

import random


def campaign(processors, memories, runs, first_seed=1, log=print):
    """Run the campaign; return the list of failover records (raises AssertionError on a failing run)."""
    run = failover_run(processors, memories)
    core = run.cocotb_run()
    t0 = time.monotonic()
    core.build([run.generate()])
    log(f"build: {time.monotonic() - t0:.0f} s")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.jsonl"
        for kill in range(memories):
            for k in range(runs):
                seed = first_seed + k
                kill_after = random.Random(seed * 31 + kill).randrange(*KILL_WINDOW)
                env = {"DISAGG_CONFIG": json.dumps(run.config, sort_keys=True), "DISAGG_SEED": str(seed),
                       "DISAGG_RACK_TEST": json.dumps({**KNOBS, "kill": kill, "kill_after": kill_after}),
                       "DISAGG_RACK_RECORD": str(out)}
                t1 = time.monotonic()
                outcome = core.test(testcase="rack_failover", seed=seed, env=env)
                if not outcome.passed:
                    raise AssertionError(f"m{kill} seed {seed} (kill after {kill_after} cycles) failed: "
                                         f"{outcome.reason} ({core.run_dir('rack_failover')})")
                rec = json.loads(out.read_text().splitlines()[-1])
                records.append(rec)
                log(f"m{kill} seed {seed}: failed at {rec['failed_at']}, detected +{rec['detection']}, recovered "
                    f"+{rec['recovery']}, {rec['replayed']} re-sent ({time.monotonic() - t1:.0f} s)")
    return records


def summary(records):
    det = [r["detection"] for r in records]
    rec = [r["recovery"] for r in records]
    return (f"{len(records)} runs, every access checked, 0 mismatches, 0 lost writes; detection "
            f"median {statistics.median(det):.0f} max {max(det)} cycles; recovery median {statistics.median(rec):.0f} "
            f"max {max(rec)} cycles; requests re-sent: {sum(r['replayed'] for r in records)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", default="2x2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        p, m = (int(x) for x in args.topology.lower().split("x"))
    except ValueError:
        print(f"--topology must look like PxM, not {args.topology!r}", file=sys.stderr)
        return 2
    try:
        records = campaign(p, m, args.runs, args.seed)
    except AssertionError as exc:
        print(f"campaign failed: {exc}", file=sys.stderr)
        return 1
    print(summary(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
