"""The scaled reproduction of LegoOS's slowdown figure (``disagg sweep --preset legoos``).

LegoOS (Shan et al., OSDI'18; talk in shared/seeds/002): unmodified TensorFlow training CIFAR-10, 0.9 GB
working set, 4 threads, ExCache (or Linux local memory) of 128, 256 and 512 MB; LegoOS ran 1.3x to 1.7x
slower than Linux with unlimited memory, far better than Linux swapping to SSD, to a ramdisk, or InfiniSwap.

Here, at ``1/FACTOR`` scale (``emu.workloads.scale``): the ``mltrain`` workload (forward, backward and update
passes over per-layer weights, gradients and activations) with a 0.9 GB / FACTOR footprint, ExCache sizes
128/256/512 MB / FACTOR with 2 KiB lines (LegoOS's ExCache has 4 KiB ones; 2 KiB is our MMU's limit), a link latency giving a ~2-3 us remote
line fetch (docs/timing.md), and the swap baselines with the same capacities. See docs/experiments/legoos-slowdown.md for what matches and what not.
"""

from pathlib import Path

from ..errors import DisaggError

__all__ = ["FACTOR", "WORKING_SET", "EXCACHE_SIZES", "PARAMS", "CLOCK_MHZ", "LINK_LATENCY", "LINE", "run_preset"]

#: Scale factor: 0.9 GB / 4096 = 225 KiB fits the memory component's 1 MiB of DRAM.
FACTOR = 4096
#: LegoOS's working set and ExCache sizes (bytes), before scaling.
WORKING_SET = int(0.9 * (1 << 30))
EXCACHE_SIZES = (128 << 20, 256 << 20, 512 << 20)
#: mltrain at full scale: 8 layers x 48 MiB weights x 2.25 (weights, gradients, activations) = 864 MiB = 0.91 GB;
#: at 1/4096 each tensor is a whole number of 4 KiB pages (3 + 3 + 1 per layer), 224 KiB in all.
PARAMS = {"layers": 8, "layer_bytes": 48 << 20, "steps": 2, "think": 8.0}
#: The clock the preset simulates at. Only a label for the RTL, but it fixes what a cycle means: at 1 GHz the
#: link's 8 bytes per cycle are 64 Gb/s (InfiniBand EDR is 100 Gb/s) and the CPU thinks in 1 ns steps.
CLOCK_MHZ = 1000
#: One-way link latency in cycles (0.5 us at 1 GHz, the ~600 ns InfiniBand hop of shared/seeds/002). A 2 KiB
#: line fetch then costs ~2 us end to end (2 x 0.5 us on the wire, 0.25 us to serialise 2 KiB, DRAM and
#: MMU), the range of Clio's measured remote accesses (docs/timing.md).
LINK_LATENCY = 500
#: ExCache line size. LegoOS's ExCache uses a 4 KiB page as its cache line (shared/seeds/002, slide 42); our
#: MMU serves at most one 2 KiB AXI burst per line access, so 2 KiB is the closest the RTL allows.
LINE = 2048


def run_preset(args):
    from ..commands.sweep import config_and_timing, print_table
    from ..sweep import plot, points_for, run_sweep, write_outputs
    from ..workloads import generate
    from ..workloads.scale import scale_params, scale_size

    params = scale_params("mltrain", PARAMS, FACTOR)
    workload = generate("mltrain", seed=args.seed, **params)
    sizes = [scale_size(s, FACTOR) for s in EXCACHE_SIZES]
    lat = LINK_LATENCY if args.link_latencies is None else None
    points = points_for(sizes, ways=args.ways, lines=(LINE,), link_latencies=(lat,))
    if args.link_latencies is not None:
        raise DisaggError("--preset legoos fixes the link latency; drop --link-latencies")
    base_config, timing = config_and_timing(args, (f"system.clock_mhz={CLOCK_MHZ}",))
    rows = run_sweep(workload, points, jobs=args.jobs, timing=timing, check=not args.no_check,
                     base_config=base_config)
    meta = {"preset": "legoos", "workload": "mltrain", "params": params, "full_scale_params": PARAMS,
            "factor": FACTOR, "seed": args.seed, "accesses": int(len(workload)),
            "full_scale_excache_bytes": list(EXCACHE_SIZES), "link_latency": LINK_LATENCY,
            "line_bytes": LINE, "clock_mhz": CLOCK_MHZ}
    out = args.out or Path("build") / "sweep" / "legoos"
    paths = write_outputs(rows, out, meta=meta, timing=timing,
                          title=f"mltrain at 1/{FACTOR} scale (sizes shown at full scale)")
    # The figure with the x axis in full-scale megabytes, as in LegoOS's plot.
    full = plot(rows, Path(out) / "legoos-slowdown.png", timing=timing, size_scale=FACTOR, size_unit="MiB",
                title=f"LegoOS-style: mltrain 0.9 GB working set, run at 1/{FACTOR} scale")
    print_table(rows, timing)
    for p in (*paths, full):
        print(f"wrote {p}")
    return 0
