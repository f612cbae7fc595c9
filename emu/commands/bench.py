"""``disagg bench``: the default workload three ways (harness, raw compiled loop, cocotb) in one table."""

import json
from pathlib import Path

from ..bench import CONFIGURATIONS
from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("bench", help="measure the harness against the raw compiled loop and cocotb",
                       description="Run the same workload on the same system (1) with the harness as users run "
                                   "it, (2) as the raw compiled loop with every page mapped first, and (3) under "
                                   "cocotb awaiting every clock edge (a shorter run), and print the rates.")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration (default: built-in)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting (repeatable)")
    p.add_argument("--workload", default=None, metavar="NAME", help="workload generator (default: default)")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
                   help="workload parameter (repeatable)")
    p.add_argument("--seed", type=int, default=1, help="workload seed")
    p.add_argument("--cocotb-accesses", type=int, default=2000, metavar="N",
                   help="accesses of the cocotb run (default 2000)")
    p.add_argument("--cocotb-config", default="small", metavar="NAME",
                   help="configuration of the cocotb run, one of --configs' names (default: small; through "
                        "cocotb's AXI memories the default's 4 KiB lines did not finish 200 accesses in 11 minutes); "
                        "the harness/cocotb ratio compares the harness on the same configuration")
    p.add_argument("--no-cocotb", action="store_true", help="skip the cocotb measurement")
    p.add_argument("--configs", default=",".join(CONFIGURATIONS), metavar="NAMES",
                   help="comma-separated configurations of the per-configuration cycles/s rows, each the base "
                        "configuration with a few settings changed: " +
                        "; ".join(f"{k} = {v[0]}" for k, v in CONFIGURATIONS.items()) +
                        f" (default: {','.join(CONFIGURATIONS)}; '' for none)")
    p.add_argument("--topologies", default="", metavar="PxM,...",
                   help="also measure the compiled rack (docs/rack.md) on these topologies, e.g. 1x1,2x2,4x4 "
                        "(each built once; default: none)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    p.set_defaults(func=run)


def run(args):
    from .. import workloads
    from ..bench import bench, format_table
    from ..config import load_config
    config = load_config(args.config, args.overrides)
    configurations = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configurations if c not in CONFIGURATIONS]
    if unknown:
        raise DisaggError(f"--configs: unknown configuration {unknown[0]!r} (known: {', '.join(CONFIGURATIONS)})")
    if args.cocotb_accesses < 1:
        raise DisaggError(f"--cocotb-accesses must be at least 1, not {args.cocotb_accesses}")
    if args.cocotb_config not in CONFIGURATIONS:     # a bad name is an error even with --no-cocotb
        raise DisaggError(f"--cocotb-config: unknown configuration {args.cocotb_config!r} "
                          f"(known: {', '.join(CONFIGURATIONS)})")
    if not args.no_cocotb:
        from ..bench import cocotb_config
        try:
            cocotb_config(config, args.cocotb_config)
        except DisaggError as exc:
            raise DisaggError(f"--cocotb-config: {exc}") from None
    from ..config import parse_topology
    topologies = [t.strip() for t in args.topologies.split(",") if t.strip()]
    for t in topologies:
        parse_topology(t)
    name = args.workload or workloads.DEFAULT
    w = workloads.generate(name, seed=args.seed, **workloads.parse_params(name, args.params))
    r = bench(config, w, cocotb_accesses=args.cocotb_accesses, skip_cocotb=args.no_cocotb, log=print,
              configurations=configurations, cocotb_configuration=args.cocotb_config)
    print()
    print(f"disagg bench: workload '{name}' ({len(w):,} accesses), configuration {config.source}")
    print(format_table(r))
    if topologies:
        from ..rack.speed import format_rack_speed, rack_speed
        r["rack"] = rack_speed(config, topologies, log=print)
        print()
        print(format_rack_speed(r["rack"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(r, workload=name), indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0
