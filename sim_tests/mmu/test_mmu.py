"""Memory-side MMU: cocotb + Verilator against the golden model, with the built-in DRAM model and AxiRam.

One Verilator build per backend; each run executes all cocotb tests of ``sim_tests/mmu/cocotb_mmu.py``
(random traffic, isolation cases, registers and memory window, latency). The default suite makes
30k accesses against the built-in DRAM model and 30k against AxiRam (with random stalls on all five
AXI channels), 10k with the smallest request queue and a single fault slot; ``-m slow`` runs 100k for each
backend (the issue-13 campaign size). ``MMU_ACCESSES=N`` overrides the count. Every run has idle cycles
on the request streams and backpressure on the response streams.
"""

import json
import os
from pathlib import Path

import pytest

from hw.memory.dram import MemoryMMUWithDram
from hw.memory.mmu import MemoryMMU, MMUParams
from sim_tests.lib.runner import SimRun, run_cocotb

# Small TLB (eviction pressure) and a small page table (bucket overflow and probing), 16 pids. The
# built-in DRAM is kept small (its Verilog initialiser, one line per word, dominates the build time), with
# 1 KiB pages so that it still holds 128 frames; the AxiRam run uses the default 4 KiB pages.
PARAMS = dict(tlb_entries=16, tlb_ways=2, pid_width=4, data_width=64, pt_bucket_entries=4)
HDL = {
    "dram": dict(backend="dram", params=dict(PARAMS, page_bytes=1024), dram_bytes=1 << 17, dram_latency=3),
    "axiram": dict(backend="axiram", params=dict(PARAMS, page_bytes=4096), dram_bytes=1 << 20),
    # The pipeline at its narrowest: a full request queue and a full fault queue stop the translator often.
    "small_queues": dict(backend="dram", params=dict(PARAMS, page_bytes=1024, request_queue=2, fault_slots=1),
                         dram_bytes=1 << 17, dram_latency=3),
}
RUN = dict(pt_buckets_log2=5, max_probes=8, idle=0.15, backpressure=0.15, axi_pause=0.2, line_bytes=64)
N_DEFAULT = {"dram": 30_000, "axiram": 30_000, "small_queues": 10_000}
# The translator's skid_valid and its replica take_net made visible to the bench (Verilator; Icarus shows all).
PUBLIC_VLT = Path(__file__).with_name("translator_public.vlt")


def top(cfg):
    params = MMUParams(**cfg["params"])
    if cfg["backend"] == "dram":
        return MemoryMMUWithDram(params, dram_bytes=cfg["dram_bytes"], dram_latency=cfg["dram_latency"])
    return MemoryMMU(params)


def sim(backend, n_accesses, line_bytes=64):
    hdl = HDL[backend]
    cfg = {**hdl, **RUN, "n_accesses": n_accesses, "line_bytes": line_bytes}
    return SimRun(block="mmu", component_factory=top, config=hdl, test_module="sim_tests.mmu.cocotb_mmu",
                  build_args=[str(PUBLIC_VLT)],
                  extra_env={"DISAGG_CONFIG": json.dumps(cfg)},
                  gtkw_signals=["net_rx__hdr__valid", "net_rx__hdr__ready", "net_tx__hdr__valid",
                                "net_tx__hdr__ready", "irq", "csr__w_stb", "csr__r_stb"])


@pytest.mark.parametrize("backend", ["dram", "axiram", "small_queues"])
def test_mmu(request, backend):
    n = int(os.environ.get("MMU_ACCESSES", N_DEFAULT[backend]))   # override for quick local runs
    run_cocotb(request, sim(backend, n))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["dram", "axiram", "small_queues"])
def test_mmu_100k(request, backend):
    run_cocotb(request, sim(backend, 100_000))


def test_mmu_4k_lines(request):
    """Whole-page (4 KiB) lines: two AXI bursts each, random stalls on every AXI channel and the streams."""
    run_cocotb(request, sim("axiram", int(os.environ.get("MMU_ACCESSES", 1500)), line_bytes=4096),
               testcase="random_traffic")


@pytest.mark.slow
def test_mmu_4k_lines_20k(request):
    run_cocotb(request, sim("axiram", 20_000, line_bytes=4096), testcase="random_traffic")
