"""Print the CPU seconds of each test from a ``DISAGG_TEST_CPU`` record (see sim_tests/conftest.py).

    DISAGG_TEST_CPU=/tmp/cpu.jsonl make test
    python scripts/test_cpu_report.py /tmp/cpu.jsonl [--top 40]

Prints the tests by CPU seconds (setup + call + teardown), then the total per file and the whole suite's total.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("record", help="the file DISAGG_TEST_CPU named")
    ap.add_argument("--top", type=int, default=40, help="tests to list (default 40)")
    args = ap.parse_args(argv)
    per_test = collections.defaultdict(lambda: [0.0, 0.0])
    try:
        with open(args.record) as f:
            for n, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                    per_test[row["test"]][0] += row["cpu"]
                    per_test[row["test"]][1] += row["wall"]
                except (ValueError, KeyError, TypeError):
                    sys.exit(f"error: {args.record}:{n}: not a DISAGG_TEST_CPU record line")
    except OSError as e:
        sys.exit(f"error: cannot read {args.record}: {e.strerror}")
    if not per_test:
        sys.exit(f"error: {args.record} holds no test")
    rows = sorted(per_test.items(), key=lambda kv: -kv[1][0])
    print(f"{'CPU s':>8} {'wall s':>8}  test")
    for name, (cpu, wall) in rows[:args.top]:
        print(f"{cpu:8.1f} {wall:8.1f}  {name}")
    files = collections.Counter()
    for name, (cpu, _) in per_test.items():
        files[name.split("::")[0]] += cpu
    print(f"\n{'CPU s':>8}  file")
    for name, cpu in files.most_common(args.top):
        print(f"{cpu:8.1f}  {name}")
    total = sum(c for c, _ in per_test.values())
    print(f"\n{len(per_test)} tests, {total:.0f} CPU s ({total / 60:.1f} CPU min)")


if __name__ == "__main__":
    main()
