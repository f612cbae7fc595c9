"""The set-up of issue 13's experiments, without the RTL: the LegoOS preset's threads and baselines charged the
way the RTL is (emu/baselines.py, emu/experiments/legoos.py), and the Clio comparison's link and sizes
(emu/experiments/clio.py). The RTL runs themselves are the experiments (docs/experiments/)."""

import numpy as np
import pytest

from emu.baselines import (SWAP_DEVICES, SwapDevice, Timing, baseline_cycles, interleave_threads, local_cycles,
                           page_cache_misses, rtl_charged, swap_cycles)
from emu.errors import DisaggError
from emu.workload_format import OP_READ, OP_WRITE, empty


def _rows(vaddrs, ops, think=0, pid=1):
    w = empty(len(vaddrs))
    w["pid"], w["size"], w["think"] = pid, 8, think
    w["vaddr"], w["op"] = vaddrs, ops
    return w


def test_rtl_charged_devices_pay_first_touches_and_dirty_evictions():
    for plain, charged in zip(SWAP_DEVICES, rtl_charged()):
        assert charged.name == plain.name and charged.fault_us == plain.fault_us
        assert charged.first_touch_us == charged.dirty_evict_us == plain.fault_us
        assert plain.first_touch_us == plain.dirty_evict_us == 0
    # Pages 0, 1, 2 touched (written), 0 again with room for two: 3 first touches, 1 swap-in, 2 dirty evictions.
    w = _rows([0, 4096, 8192, 0], [OP_WRITE, OP_WRITE, OP_WRITE, OP_READ], think=10)
    assert page_cache_misses(w, 2 * 4096) == (1, 2, 3)
    t = Timing(clock_hz=1e9, local_access_cycles=5)
    dev = SwapDevice("d", 2.0, dirty_evict_us=3.0, first_touch_us=4.0)
    assert swap_cycles(w, 2 * 4096, dev, t) == 4 * 15 + 2000 + 2 * 3000 + 3 * 4000
    with pytest.raises(DisaggError, match="first_touch_us"):
        SwapDevice("bad", 1.0, first_touch_us=-1.0)


def test_threads_compute_in_parallel_and_stall_together_on_faults():
    # Two threads of 3 accesses each, one after the other in the array (as cpu.threads splits it).
    a = _rows([0, 8, 16], [OP_READ] * 3, think=10)
    b = _rows([4096, 4104, 8192], [OP_READ] * 3, think=1)
    w = np.concatenate([a, b])
    t1 = Timing(local_access_cycles=2)
    t2 = Timing(local_access_cycles=2, threads=2)
    assert local_cycles(w, t1) == 6 * 2 + 33
    assert local_cycles(w, t2) == max(3 * 12, 3 * 3)                 # the longest thread
    assert interleave_threads(w, 2)["vaddr"].tolist() == [0, 4096, 8, 4104, 16, 8192]
    dev = SwapDevice("d", 1.0, first_touch_us=1.0)
    out = baseline_cycles(w, [4096], Timing(clock_hz=1e9, local_access_cycles=2, threads=2, devices=(dev,)))
    # Interleaved, a one-page cache sees pages 0, 1, 0, 1, 0, 2: three first touches and three swap-ins,
    # each stalling both threads for 1 us.
    assert out["faults"][4096] == (3, 0, 3)
    assert out["d"][4096] == 36 + 6 * 1000
    with pytest.raises(DisaggError, match="threads"):
        Timing(threads=0)


def test_threads_stall_alone_with_stalls_own():
    """``stalls="own"`` (the non-blocking ExCache): a fault stalls only the thread whose access faulted, so the
    faults of different threads overlap; the counts are the same, attributed per thread."""
    a = _rows([0, 8, 16], [OP_READ] * 3, think=10)
    b = _rows([4096, 4104, 8192], [OP_WRITE] * 3, think=1)
    w = np.concatenate([a, b])
    seen, thread = interleave_threads(w, 2, with_thread=True)
    assert thread.tolist() == [0, 1, 0, 1, 0, 1]
    # Pages 0 (a), 1 (b, written), 0 (a), 1 (b), 0 (a), 2 (b) in a one-page cache: a has 1 first touch and
    # 2 swap-ins, each evicting b's dirty page 1 (2 dirty evictions, counted for a, whose fault caused them);
    # b has 2 first touches and 1 swap-in, each evicting a's clean page 0.
    assert page_cache_misses(seen, 4096, thread=thread, threads=2) == ([2, 1], [2, 0], [1, 2])
    assert page_cache_misses(seen, 4096) == (3, 2, 3)
    dev = SwapDevice("d", 1.0, dirty_evict_us=1.0, first_touch_us=1.0)
    own = baseline_cycles(w, [4096], Timing(clock_hz=1e9, local_access_cycles=2, threads=2, devices=(dev,),
                                            stalls="own"))
    both = baseline_cycles(w, [4096], Timing(clock_hz=1e9, local_access_cycles=2, threads=2, devices=(dev,)))
    assert own["faults"] == both["faults"] == {4096: (3, 2, 3)}
    assert own["d"][4096] == max(36 + 5 * 1000, 9 + 3 * 1000)
    assert both["d"][4096] == 36 + 8 * 1000
    with pytest.raises(DisaggError, match="stalls must be one of all, own"):
        Timing(stalls="some")


def test_legoos_preset_workload_shards_into_four_equal_threads():
    from emu.experiments.legoos import EXCACHE_SIZES, FACTOR, LINE, THREADS, preset_workload, shard_threads
    from emu.workloads.threads import split_stream
    params, w = preset_workload(seed=0)
    assert FACTOR <= 64 and min(EXCACHE_SIZES) // FACTOR // LINE >= 512          # issue 13's bounds
    parts = split_stream(w, THREADS)
    assert len({len(p) for p in parts}) == 1
    blocks = [np.unique((p["vaddr"] // np.uint64(16 << 10)) % np.uint64(THREADS)) for p in parts]
    assert [b.tolist() for b in blocks] == [[k] for k in range(THREADS)]         # each thread its own blocks
    pages = np.unique(w["vaddr"] >> np.uint64(12))
    assert len(pages) * 4096 == (864 << 20) // FACTOR              # mltrain's 864 MiB (0.91 GB) at 1/FACTOR
    with pytest.raises(DisaggError, match="equal streams"):
        shard_threads(_rows([0, 8, 16 << 10], [OP_READ] * 3), threads=2)


def test_legoos_preset_is_non_blocking_and_its_baselines_stall_all_threads():
    """The preset's ExCache has 8 MSHRs with its lines in local memory (disagg run's default store), 4 KiB lines
    and 4 threads; a configuration of it is valid, and the preset charges its baselines with every fault
    stalling every thread (the ExCache answers in request order), "own" on request."""
    from emu.config import load_config
    from emu.experiments.legoos import MSHRS, PRESET_OVERRIDES
    from emu.sweeps import SweepOptions, config_and_timing
    config = load_config(None, list(PRESET_OVERRIDES))
    p = config.params.excache
    assert (p.mshrs, p.line_store, p.line_bytes, config.cpu.threads) == (MSHRS, "axi", 4096, 4) and MSHRS == 8
    from emu.experiments.legoos import preset_timing
    base, timing = config_and_timing(SweepOptions(), PRESET_OVERRIDES)
    charged = preset_timing(base, timing)
    assert base.cache.mshrs == 8 and charged.threads == 4 and charged.stalls == "all"
    assert charged.devices == rtl_charged(timing.devices)
    assert preset_timing(base, timing, stalls="own").stalls == "own"
    blocking, timing1 = config_and_timing(SweepOptions(overrides=("cache.mshrs=1",)), PRESET_OVERRIDES)
    assert preset_timing(blocking, timing1).stalls == "all"
    with pytest.raises(DisaggError, match="stalls must be one of all, own"):
        preset_timing(base, timing, stalls="some")


def test_clio_link_is_10_gbps_and_sizes_are_checked(capsys):
    from emu.experiments.clio import link_bandwidth, main
    assert link_bandwidth(250.0) == 5.0                   # 10 Gb/s = 1.25 GB/s = 5 B per 4 ns cycle
    assert link_bandwidth(1000.0) == 1.25
    for bad in ("3", "8192", "a"):
        with pytest.raises(SystemExit) as e:
            main(["--sizes", bad])
        assert e.value.code == 2
