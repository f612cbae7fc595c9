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

from ..sweeps import SIZE, Axis, SweepOptions, config_and_timing, plot, print_table, run_sweep, write_outputs

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


def run_preset(options: SweepOptions):
    """Run the preset with ``options`` (engine, output folder, overrides); print the table; return 0."""
    from ..workloads import generate
    from ..workloads.scale import scale_params, scale_size

    params = scale_params("mltrain", PARAMS, FACTOR)
    workload = generate("mltrain", seed=options.seed, **params)
    axes = [Axis(SIZE, tuple(scale_size(s, FACTOR) for s in EXCACHE_SIZES))]
    base_config, timing = config_and_timing(options, (f"system.clock_mhz={CLOCK_MHZ}", f"link.latency={LINK_LATENCY}",
                                                      f"cache.line_bytes={LINE}"))
    out = options.out or Path("build") / "sweep" / "legoos"
    result = run_sweep(workload, axes, base_config=base_config, out=out, timing=timing, log=print,
                       **options.engine_kwargs())
    meta = {"preset": "legoos", "workload": "mltrain", "params": params, "full_scale_params": PARAMS,
            "factor": FACTOR, "seed": options.seed, "accesses": int(len(workload)),
            "full_scale_excache_bytes": list(EXCACHE_SIZES), "link_latency": LINK_LATENCY,
            "line_bytes": LINE, "clock_mhz": CLOCK_MHZ, "where": result.where}
    paths = write_outputs(result, out, meta=meta, timing=result.timing, axes=axes,
                          title=f"mltrain at 1/{FACTOR} scale (sizes shown at full scale)")
    # The figure with the x axis in full-scale megabytes, as in LegoOS's plot.
    full = plot(result, Path(out) / "legoos-slowdown.png", timing=result.timing, axes=axes, size_scale=FACTOR,
                size_unit="MiB", title=f"LegoOS-style: mltrain 0.9 GB working set, run at 1/{FACTOR} scale")
    print_table(result, result.timing, axes)
    for p in (*paths, full):
        print(f"wrote {p}")
    return 1 if result.failed else 0
