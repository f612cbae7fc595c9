"""End-to-end tests of the whole system (SystemTop + firmware) under cocotb, both miss-path modes.

One small configuration (three Verilator builds: hardware and software miss path, and the local line store), chosen so that misses,
evictions, write-backs, page faults and pid reuse all happen within a few thousand accesses:

=====================  =========================================================
ExCache                2-way, 16 sets, 64 B lines (2 KiB), LRU; pids 1..7; blocking, lines on chip
                       (test_local_memory_line_store: 8 MSHRs, lines in a local memory on AXI4)
MMU                    16-entry 2-way TLB, 256 B pages, 16 KiB DRAM (page table 1 KiB, 60 frames)
network                window 4, link latency 8 cycles, 8 B/cycle, no loss
CPU port               20% idle cycles on cpu_req, 20% backpressure on cpu_resp
=====================  =========================================================

Both modes run the same seed, hence the same workload, and must leave identical memory contents
(``test_modes_identical_memory``). The long runs are the harness's (``disagg run``).
"""

import json
import os

import pytest

from hw.processor.excache_params import ExCacheParams
from hw.network.link import LinkParams
from hw.memory.mmu import MMUParams
from hw.network.netif import NetIfParams
from hw.system.params import SystemParams, rx_buffer_need
from hw.system.top import SystemTop
from sim_tests.lib.runner import BUILD, SimRun, config_id, default_seed

pytestmark = pytest.mark.xdist_group("system")


def system_params(miss_path, line_store="onchip", mshrs=8):
    excache = ExCacheParams(line_bytes=64, sets=16, ways=2, data_width=64, vaddr_width=48, pid_width=3,
                            policy="lru", line_store=line_store, mshrs=mshrs)
    rx = [max(2, n) for n in rx_buffer_need(excache)]   # sized as disagg run sizes them (docs/netif.md)
    return SystemParams(
        excache=excache,
        mmu=MMUParams(tlb_entries=16, tlb_ways=2, page_bytes=256, pid_width=3, vaddr_width=48, paddr_width=14,
                      data_width=64, pt_bucket_entries=4),
        proc_netif=NetIfParams(node_id=0, n_nodes=2, data_width=64, window=4, timeout=1024, max_payload=64,
                               rx_buffer_msgs=rx[0]),
        mem_netif=NetIfParams(node_id=1, n_nodes=2, data_width=64, window=4, timeout=1024, max_payload=64,
                              rx_buffer_msgs=rx[1]),
        link=LinkParams(data_width=64, latency=8, bandwidth=8.0),
        miss_path=miss_path,
        dram_bytes=1 << 14,
        dram_latency=4,
    )


def make_top(config):
    return SystemTop(SystemParams.from_dict(config["system"]))


GTKW = ["clk", "rst", "cpu_req__valid", "cpu_req__ready", "cpu_req__payload", "cpu_resp__valid",
        "cpu_resp__ready", "cpu_resp__payload", "irq_proc", "irq_mem", "probe", "csr__addr", "csr__r_stb",
        "csr__w_stb", "csr__w_data", "csr__r_data"]


#: Test knobs, passed to cocotb in ``DISAGG_SYSTEM_TEST`` (kept out of the configuration so changing them
#: does not rebuild the model).
KNOBS = {"victim_policy": "fifo", "idle": 0.2, "backpressure": 0.2, "batches": 5, "accesses_per_batch": 300}


#: The line store's run is also the non-blocking controller's (8 MSHRs) under cocotb: one model for both.
MSHRS = {"onchip": 8, "axi": 8}


def sim(miss_path, line_store="onchip"):
    config = {"system": system_params(miss_path, line_store, MSHRS[line_store]).as_dict()}
    return SimRun(block="system", component_factory=make_top, config=config,
                  test_module="sim_tests.system.cocotb_system", toplevel="system_top", gtkw_signals=GTKW)


def _seed(request):
    """One seed for both modes (same workload), so their memory contents can be compared."""
    seed = request.config.getoption("--seed")
    return default_seed("sim_tests/system/test_system.py") if seed is None else seed


def _image_file(miss_path, seed, line_store="onchip"):
    store = "" if line_store == "onchip" else f"-{line_store}"
    return BUILD / "sim" / "system" / "images" / f"{miss_path}{store}-{seed}-{config_id(KNOBS)}.json"


#: Memory images written by this pytest process, so each (mode, line store) runs once per session whatever order
#: the tests run in (an image left in build/ by an earlier session is never trusted: the code may have changed).
_FRESH_IMAGES = set()


def _fresh_image(request, miss_path, line_store="onchip"):
    """The image of ``miss_path`` written in this session, running its cocotb test first if none was."""
    path = _image_file(miss_path, _seed(request), line_store)
    if path not in _FRESH_IMAGES:
        _run(request, miss_path, testcase="test_processes_faults_and_exit", line_store=line_store)
    return path


def _run(request, miss_path, testcase=None, line_store="onchip"):
    seed = _seed(request)
    image = _image_file(miss_path, seed, line_store)
    if image.exists():
        image.unlink()
    run = sim(miss_path, line_store)
    run.extra_env = {"DISAGG_IMAGE_FILE": str(image),
                     "DISAGG_SYSTEM_TEST": json.dumps(KNOBS)}
    run.sim = request.config.getoption("--sim")
    run.coverage = request.config.getoption("--coverage-rtl") and run.sim == "verilator"
    waves = request.config.getoption("--waves") or os.environ.get("WAVES", "") not in ("", "0")
    print(f"seed={seed} (reproduce with SEED={seed})")
    run.run(testcase=testcase, seed=seed, waves=waves, test_name=request.node.nodeid)
    assert image.exists(), "the cocotb test did not write its memory image"
    _FRESH_IMAGES.add(image)


@pytest.mark.parametrize("miss_path", ["hardware", "software"])
def test_system(request, miss_path):
    """Random multi-process traffic with faults and exits, and the isolation test, in one mode."""
    _run(request, miss_path)


def test_modes_identical_memory(request):
    """The hardware and software miss paths leave byte-identical memory for the same workload."""
    images = {m: json.loads(_fresh_image(request, m).read_text()) for m in ("hardware", "software")}
    hw_image, sw_image = images["hardware"], images["software"]
    assert hw_image.keys() == sw_image.keys()
    assert sum(len(pages) for pages in hw_image.values()) > 0
    for pid in hw_image:
        assert hw_image[pid] == sw_image[pid], f"pid {pid}: memory differs between the miss-path modes"


def test_local_memory_line_store(request):
    """line_store="axi" and 8 MSHRs under cocotb: the non-blocking ExCache with its line data in a local memory on
    its ``lmem`` AXI4 port (cocotbext-axi's AxiRam, SystemBench.attach_memories); every access matches the golden
    model and the memory left behind is byte-identical to the blocking on-chip cache's for the same workload."""
    _run(request, "hardware", testcase="test_processes_faults_and_exit", line_store="axi")
    axi = _image_file("hardware", _seed(request), "axi")
    a, b = json.loads(axi.read_text()), json.loads(_fresh_image(request, "hardware").read_text())
    assert sum(len(pages) for pages in a.values()) > 0
    assert a == b, "memory differs between the local-memory and the on-chip line store"
