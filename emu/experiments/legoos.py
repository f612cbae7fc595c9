"""The scaled reproduction of LegoOS's slowdown figure (``disagg sweep --preset legoos``).

LegoOS (Shan et al., OSDI'18; talk in shared/seeds/002): unmodified TensorFlow training CIFAR-10, 0.9 GB
working set, 4 threads, ExCache (or Linux local memory) of 128, 256 and 512 MB with 4 KiB lines; LegoOS ran
1.3x to 1.7x slower than Linux with unlimited memory, far better than Linux swapping to SSD, to a ramdisk, or
InfiniSwap.

Here, at ``1/FACTOR`` scale (``emu.workloads.scale``): the ``mltrain`` workload (forward, backward and update
passes over per-layer weights, gradients and activations) with a 0.9 GB / FACTOR footprint, one training step,
4 CPU threads each working on its share of every tensor (:func:`shard_threads`), ExCache sizes
128/256/512 MB / FACTOR with LegoOS's 4 KiB lines, a link latency giving a remote line fetch of a few us
(docs/timing.md), and the swap baselines with the same capacities, charged for first touches and dirty
evictions the way the RTL is (:func:`emu.baselines.rtl_charged`). The ExCache is non-blocking (:data:`MSHRS`
miss status holding registers, its lines in local memory as disagg run's default), but it answers in request
order and every thread is blocking: a thread's next access (a hit too) is answered only after the open miss
ahead of it, so no thread runs past another's miss by more than one access. The baselines' faults therefore
stall every thread (:data:`BASELINE_STALLS`, ``Timing.stalls = "all"``); ``stalls="own"`` (a fault stalls only
its own thread, as Linux's page faults do) is :func:`preset_timing`'s option, for comparison.
See docs/experiments/legoos-slowdown.md for what matches and what not.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import DisaggError
from ..sweeps import SIZE, Axis, SweepOptions, config_and_timing, plot, print_table, run_sweep, write_outputs

__all__ = ["FACTOR", "WORKING_SET", "EXCACHE_SIZES", "PARAMS", "CLOCK_MHZ", "LINK_LATENCY", "LINE", "THREADS", "MSHRS",
           "PRESET_OVERRIDES", "BASELINE_STALLS",
           "SHARD_BYTES", "shard_threads", "preset_workload", "preset_timing", "run_preset"]

#: Scale factor: 0.9 GB / 64 = 13.5 MiB; the smallest ExCache (128 MB / 64 = 2 MiB) holds 512 lines of 4 KiB.
FACTOR = 64
#: LegoOS's working set and ExCache sizes (bytes), before scaling.
WORKING_SET = int(0.9 * (1 << 30))
EXCACHE_SIZES = (128 << 20, 256 << 20, 512 << 20)
#: mltrain at full scale: 8 layers x 48 MiB weights x 2.25 (weights, gradients, activations) = 864 MiB = 0.91 GB.
#: One training step (forward, backward, update: 5.3 M accesses at 1/64) keeps a point within 10 minutes of
#: simulation; LegoOS's figure is a steady-state rate of a long run, so the first touches of this one step
#: are a larger share here than there (docs/experiments/legoos-slowdown.md).
PARAMS = {"layers": 8, "layer_bytes": 48 << 20, "steps": 1, "think": 8.0}
#: The clock the preset simulates at. Only a label for the RTL, but it fixes what a cycle means: at 1 GHz the
#: link's 8 bytes per cycle are 64 Gb/s (InfiniBand EDR is 100 Gb/s) and the CPU thinks in 1 ns steps.
CLOCK_MHZ = 1000
#: One-way link latency in cycles (0.5 us at 1 GHz, the ~600 ns InfiniBand hop of shared/seeds/002). A 4 KiB
#: line fetch then costs ~1.5-2 us of network (2 x 0.5 us on the wire, 0.5 us to serialise 4 KiB) plus the
#: MMU, DRAM and the ExCache's fill.
LINK_LATENCY = 500
#: ExCache line size: LegoOS's ExCache uses a 4 KiB page as its cache line (shared/seeds/002, slide 42).
LINE = 4096
#: CPU threads, as LegoOS's TensorFlow run.
THREADS = 4
#: ExCache miss status holding registers (issue 13's default of the non-blocking ExCache): each of the blocking
#: threads keeps its miss in flight while the others go on.
MSHRS = 8
#: Each thread takes every THREADS-th block of this many bytes of every tensor (TensorFlow's intra-op thread
#: pool splits an element-wise or matrix operation into contiguous ranges, one per thread).
SHARD_BYTES = 16 << 10


def shard_threads(workload, threads=THREADS, shard_bytes=SHARD_BYTES):
    """One program's stream as ``threads`` streams, one after the other (as ``cpu.threads`` splits it).

    Thread ``k`` gets, in program order, the accesses whose address lies in a block ``b`` of ``shard_bytes``
    with ``b % threads == k``: every pass over a tensor is shared among the threads, each on its own part, and
    they meet at the same tensors in the same order. The streams must come out of equal length (so that
    ``split_stream`` finds them again): true for ``mltrain``, whose tensors are multiples of
    ``threads * shard_bytes``.
    """
    block = (workload["vaddr"] // np.uint64(shard_bytes)) % np.uint64(threads)
    parts = [workload[block == k] for k in range(threads)]
    if len({len(p) for p in parts}) != 1:
        raise DisaggError(f"the workload does not shard into {threads} equal streams of {shard_bytes}-byte blocks "
                          f"({', '.join(str(len(p)) for p in parts)} accesses)")
    return np.concatenate(parts)


def preset_workload(seed=0, factor=FACTOR):
    """The preset's mltrain workload at ``1/factor`` scale, sharded into :data:`THREADS` streams."""
    from ..workloads import generate
    from ..workloads.scale import scale_params
    params = scale_params("mltrain", PARAMS, factor)
    return params, shard_threads(generate("mltrain", seed=seed, **params))


#: The preset's settings (before the user's --set overrides).
PRESET_OVERRIDES = (f"system.clock_mhz={CLOCK_MHZ}", f"link.latency={LINK_LATENCY}", f"cache.line_bytes={LINE}",
                    f"cpu.threads={THREADS}", f"cache.mshrs={MSHRS}")


#: Whom a baseline's fault stalls (``Timing.stalls``). "all": the RTL's ExCache answers in request order (no id
#: on ``cpu_resp``, docs/excache.md) and each thread has one access in flight, so while a miss is open every
#: other thread waits for its own next answer behind it, with 8 MSHRs as with one (the MSHRs overlap misses
#: issued together, not a thread's computation with another's miss). Measured: the 128 MB point takes
#: 44,336,202 cycles with 8 MSHRs and 43,951,947 with the blocking ExCache (docs/experiments/legoos-slowdown.md).
BASELINE_STALLS = "all"


def preset_timing(config, timing, stalls=BASELINE_STALLS):
    """The baselines' timing charged the way the RTL of ``config`` is: first touches and dirty evictions a page
    transfer each (:func:`emu.baselines.rtl_charged`), and each fault stalls every thread
    (:data:`BASELINE_STALLS`; ``stalls="own"``: only the faulting thread, as Linux's page faults and an ExCache
    answering out of order would; for comparison). ``config`` is checked to be the preset's kind (threads)."""
    from ..baselines import STALLS, rtl_charged
    if stalls not in STALLS:
        raise DisaggError(f"stalls must be one of {', '.join(STALLS)}, not {stalls!r}")
    if config.cpu.threads != timing.threads:
        raise DisaggError(f"timing is for {timing.threads} threads, the configuration has {config.cpu.threads}")
    return replace(timing, devices=rtl_charged(timing.devices), stalls=stalls)


def run_preset(options: SweepOptions):
    """Run the preset with ``options`` (engine, output folder, overrides); print the table; return 0."""
    from ..workloads.scale import scale_size

    params, workload = preset_workload(options.seed)
    axes = [Axis(SIZE, tuple(scale_size(s, FACTOR) for s in EXCACHE_SIZES))]
    base_config, timing = config_and_timing(options, PRESET_OVERRIDES)
    timing = preset_timing(base_config, timing)
    stalls = timing.stalls
    out = options.out or Path("build") / "sweep" / "legoos"
    result = run_sweep(workload, axes, base_config=base_config, out=out, timing=timing, log=print,
                       **options.engine_kwargs())
    meta = {"preset": "legoos", "workload": "mltrain", "params": params, "full_scale_params": PARAMS,
            "factor": FACTOR, "seed": options.seed, "accesses": int(len(workload)),
            "full_scale_excache_bytes": list(EXCACHE_SIZES), "link_latency": LINK_LATENCY,
            "line_bytes": LINE, "clock_mhz": CLOCK_MHZ, "threads": THREADS, "shard_bytes": SHARD_BYTES,
            "mshrs": base_config.cache.mshrs, "rx_cut_through": base_config.cache.rx_cut_through,
            "baselines": "first touches and dirty evictions charged a page transfer each (emu.baselines.rtl_charged); "
                         f"a fault stalls {'its own thread' if stalls == 'own' else 'every thread'}",
            "where": result.where}
    paths = write_outputs(result, out, meta=meta, timing=result.timing, axes=axes,
                          title=f"mltrain at 1/{FACTOR} scale (sizes shown at full scale)")
    # The figure with the x axis in full-scale megabytes, as in LegoOS's plot.
    full = plot(result, Path(out) / "legoos-slowdown.png", timing=result.timing, axes=axes, size_scale=FACTOR,
                size_unit="MiB", title=f"LegoOS-style: mltrain 0.9 GB working set, run at 1/{FACTOR} scale")
    print_table(result, result.timing, axes)
    for p in (*paths, full):
        print(f"wrote {p}")
    return 1 if result.failed else 0
