"""ExCache tests: parameter validation and the golden model in plain pytest, the RTL through cocotb.

Configurations (each one Verilator build, shared by its tests):

=============  ======================================  ========  ==========  =========
name           geometry                                policy    miss path   accesses
=============  ======================================  ========  ==========  =========
default        4-way, 64 sets, 64 B lines (16 KiB)     lru       hardware    100k
dm64           direct mapped, 256 sets, 64 B lines     fifo(*)   hardware    100k
w4l256sw       4-way, 16 sets, 256 B lines (16 KiB)    plru      software    100k
w8l4k          8-way, 4 sets, 4 KiB lines (128 KiB)    random    hardware    100k
axi            default, line data in local memory      lru       hardware    100k
w4l4kswaxi     4-way, 4 sets, 4 KiB lines, local mem   plru      software    30k
nb8 (slow)     default, 8 MSHRs                        lru       hardware    100k
nb4sw (slow)   w4l256sw, 4 MSHRs                       plru      software    100k
nb8dm (slow)   dm64, 8 MSHRs                           (none)    hardware    100k
nb8axi (slow)  axi, 8 MSHRs                            lru       hardware    100k
nb4swaxi (sl.) w4l4kswaxi, 4 MSHRs                     plru      software    30k
=============  ======================================  ========  ==========  =========

(*) a direct-mapped cache has no choice to make; FIFO is additionally covered by the model tests below
and by ``-m slow`` (``w2l128fifo``).
"""

import pytest

from emu.models.excache import BackingMemory, ExCacheModel, OP_READ, OP_WRITE
from hw.processor.excache import ExCacheParams, ExCacheTop, default_params
from hw.processor.registers import register_map
from sim_tests.lib.runner import SimRun, run_cocotb

CONFIGS = {
    "default": {"params": default_params().as_dict(), "miss_path": "hardware", "accesses": 100_000,
                "shape": {"hot_fraction": 0.3, "cold_prob": 0.005}},
    "dm64": {"params": ExCacheParams(line_bytes=64, sets=256, ways=1, policy="fifo").as_dict(),
             "miss_path": "hardware", "accesses": 100_000, "shape": {"hot_fraction": 0.05, "cold_prob": 0.005, "homonym_prob": 0.0}},
    "w4l256sw": {"params": ExCacheParams(line_bytes=256, sets=16, ways=4, policy="plru").as_dict(),
                 "miss_path": "software", "accesses": 100_000,
                 "shape": {"hot_fraction": 0.4, "cold_prob": 0.003, "seq_prob": 0.7}},
    "w8l4k": {"params": ExCacheParams(line_bytes=4096, sets=4, ways=8, policy="random").as_dict(),
              "miss_path": "hardware", "accesses": 100_000,
              "shape": {"hot_fraction": 0.25, "cold_prob": 0.0005, "fault_prob": 0.0002, "seq_prob": 0.8,
                        "pids": [1, 2]}},
}
# The local-memory line store (line_store="axi"): the lmem port served by sim_tests/excache/local_memory.py with
# backpressure and gaps (random_traffic, directed) and without (hit latency with a 3-cycle local memory).
CONFIGS["axi"] = {**CONFIGS["default"], "params": ExCacheParams(line_store="axi").as_dict()}
CONFIGS["w4l4kswaxi"] = {"params": ExCacheParams(line_bytes=4096, sets=4, ways=4, policy="plru",
                                                 line_store="axi", local_reads=4).as_dict(),
                         "miss_path": "software", "accesses": 30_000,
                         "local": {"latency": 5, "backpressure": 0.2, "gaps": 0.15},
                         # one read hit per cycle needs local_reads >= latency + 2 (docs/excache.md)
                         "local_latency": 2,
                         "shape": {"hot_fraction": 0.25, "cold_prob": 0.0005, "fault_prob": 0.0002, "seq_prob": 0.8,
                                   "pids": [1, 2]}}
# The non-blocking controller (mshrs > 1): read responses reordered by the bench (matched by tag), in both miss
# paths, 100k accesses each, behind -m slow (three more Verilator builds); the default suite's short variant is
# test_excache_amaranth_sim.py::test_non_blocking_matches_model (no build).
NB_CONFIGS = {
    "nb8": {**CONFIGS["default"], "params": ExCacheParams(mshrs=8).as_dict()},
    "nb4sw": {**CONFIGS["w4l256sw"], "params": ExCacheParams(line_bytes=256, sets=16, ways=4, policy="plru",
                                                             mshrs=4).as_dict()},
    "nb8dm": {**CONFIGS["dm64"], "params": ExCacheParams(line_bytes=64, sets=256, ways=1, policy="fifo",
                                                         mshrs=8).as_dict()},
    # the local-memory line store (disagg run's default ExCache) with 8 MSHRs, and 4 MSHRs with 4 KiB lines
    "nb8axi": {**CONFIGS["axi"], "params": ExCacheParams(line_store="axi", mshrs=8).as_dict()},
    # w4l4kswaxi's hot set (a quarter of the 16 lines) fits in the cache, so its misses come one at a time and
    # never overlap (at most 2 requests outstanding: random_traffic's miss-under-miss check failed on every seed
    # tried); this variant's hot set is 1.5x the cache and its runs shorter, so misses of several sets overlap.
    "nb4swaxi": {**CONFIGS["w4l4kswaxi"], "params": ExCacheParams(line_bytes=4096, sets=4, ways=4, policy="plru",
                                                                  line_store="axi", local_reads=4, mshrs=4).as_dict(),
                 "shape": {"hot_fraction": 1.5, "cold_prob": 0.002, "fault_prob": 0.0002, "seq_prob": 0.5,
                           "pids": [1, 2]}},
}
SLOW_CONFIGS = {
    **NB_CONFIGS,
    "w2l128fifo": {"params": ExCacheParams(line_bytes=128, sets=32, ways=2, policy="fifo").as_dict(),
                   "miss_path": "hardware", "accesses": 300_000, "shape": {"hot_fraction": 0.6}},
}

GTKW = ["clk", "rst", "cpu_req__valid", "cpu_req__ready", "cpu_req__payload", "cpu_resp__valid",
        "cpu_resp__ready", "cpu_resp__payload", "net_tx__hdr__valid", "net_tx__hdr__ready", "net_tx__hdr__payload",
        "net_tx__data__valid", "net_tx__data__ready", "net_rx__hdr__valid", "net_rx__hdr__ready",
        "net_rx__hdr__payload", "net_rx__data__valid", "net_rx__data__ready", "irq", "csr__addr", "csr__r_stb",
        "csr__w_stb", "csr__r_data"]


def make_top(config):
    return ExCacheTop(ExCacheParams(**config["params"]), miss_path=config["miss_path"])


def sim(name, configs=CONFIGS):
    return SimRun(block="excache", component_factory=make_top, config=configs[name],
                  test_module="sim_tests.excache.cocotb_excache", toplevel="excache_top", gtkw_signals=GTKW)


def _case(config, testcase, marks=()):
    return pytest.param(config, testcase, id=f"{config}-{testcase}",
                        marks=[pytest.mark.xdist_group(f"excache-{config}"), *marks])


CASES = [
    _case("default", "demo"),
    _case("default", "directed"),
    _case("default", "hit_latency_and_throughput"),
    _case("default", "random_traffic"),
    _case("dm64", "hit_latency_and_throughput"),
    _case("dm64", "random_traffic"),
    _case("w4l256sw", "directed"),
    _case("w4l256sw", "software_event_registers"),
    _case("w4l256sw", "random_traffic"),
    _case("w8l4k", "hit_latency_and_throughput"),
    _case("w8l4k", "random_traffic"),
    _case("axi", "directed"),
    _case("axi", "hit_latency_and_throughput"),
    _case("axi", "random_traffic"),
    _case("w4l4kswaxi", "hit_latency_and_throughput"),
    _case("w4l4kswaxi", "random_traffic"),
]


@pytest.mark.parametrize("config,testcase", CASES)
def test_excache_rtl(request, capsys, config, testcase):
    run = sim(config)
    run_cocotb(request, run, testcase=testcase)
    if testcase == "demo":
        for waves in (False, True):
            summary = run.run_dir(testcase, waves=waves) / "excache_demo.txt"
            if summary.exists():
                with capsys.disabled():
                    print("\n" + summary.read_text(), end="")
                summary.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(SLOW_CONFIGS))
def test_excache_rtl_slow(request, config):
    run_cocotb(request, sim(config, SLOW_CONFIGS), testcase="random_traffic")


# ---- plain pytest -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    ({"line_bytes": 32}, "line_bytes"), ({"line_bytes": 8192}, "line_bytes"), ({"line_bytes": 96}, "line_bytes"),
    ({"sets": 3}, "sets"), ({"sets": 0}, "sets"), ({"ways": 0}, "ways"), ({"ways": 2.0}, "ways"),
    ({"data_width": 12}, "data_width"), ({"data_width": 1024, "line_bytes": 64}, "data_width"),
    ({"pid_width": 17}, "pid_width"), ({"policy": "mru"}, "policy"), ({"policy": "plru", "ways": 3}, "plru"),
    ({"vaddr_width": 12}, "vaddr_width"), ({"vaddr_width": 65}, "vaddr_width"),
    ({"line_store": "dram"}, "line_store"), ({"local_reads": 0}, "local_reads"), ({"local_reads": 65}, "local_reads"),
    ({"mshrs": 0}, "mshrs"), ({"mshrs": 17}, "mshrs"), ({"mshrs": 2.0}, "mshrs"),
    ({"mshrs": 8, "overlap_writeback": False}, "overlap_writeback"),
])
def test_params_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExCacheParams(**kwargs)


def test_top_arguments_are_validated():
    with pytest.raises(ValueError, match="miss_path"):
        ExCacheTop(default_params(), miss_path="firmware")
    with pytest.raises(TypeError, match="ExCacheParams"):
        ExCacheTop({"ways": 4})


def test_top_port_names():
    top = ExCacheTop(default_params())
    top._MustUse__silence = True   # only its signature is inspected
    assert set(top.signature.members) == {"cpu_req", "cpu_resp", "net_tx", "net_rx", "csr", "irq"}
    top = ExCacheTop(ExCacheParams(line_store="axi"))
    top._MustUse__silence = True
    assert set(top.signature.members) == {"cpu_req", "cpu_resp", "net_tx", "net_rx", "csr", "irq", "lmem"}
    assert top.signature.members["lmem"].signature.addr_width == 14   # 16 KiB of line data


def _model(policy, ways=4, sets=1, **kw):
    return ExCacheModel(line_bytes=64, sets=sets, ways=ways, policy=policy, memory=BackingMemory(64), **kw)


@pytest.mark.parametrize("policy,expected_victim", [("lru", 1), ("fifo", 0), ("plru", 1)])
def test_model_policies(policy, expected_victim):
    """Fill 4 ways of one set (lines 0..3), touch 0, 2, 3: who goes next?"""
    m = _model(policy)
    for line in range(4):
        m.access(OP_READ, 1, line * 64)
    for line in (0, 2, 3):
        assert m.access(OP_READ, 1, line * 64)[2]
    assert m.suggested_victim(0) == expected_victim


def test_model_random_policy_follows_the_lfsr():
    m = _model("random")
    for line in range(4):
        m.access(OP_READ, 1, line * 64)
    lfsr = m.lfsr
    assert m.suggested_victim(0) == (lfsr * 4) >> 16
    m.access(OP_READ, 1, 9 * 64)
    assert m.lfsr == ((lfsr >> 1) ^ 0xB400 if lfsr & 1 else lfsr >> 1)


def test_model_pid_homonyms_and_write_back():
    m = _model("lru", ways=1)
    m.access(OP_WRITE, 1, 0x100, 0xFF, 0x1111)
    rdata, status, hit = m.access(OP_READ, 2, 0x100)
    assert not hit and rdata != 0x1111
    assert m.memory.peek(1, 0x100)[:8] == (0x1111).to_bytes(8, "little")
    assert m.counters() == {"hits": 0, "misses": 2, "evictions": 1, "writebacks": 1}
    assert m.access(OP_READ, 1, 0x100)[0] == 0x1111


def test_register_map_documented():
    """docs/excache.md carries the table generated from the register map."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "excache.md").read_text()
    assert register_map().markdown() in doc, "docs/excache.md register table is stale: regenerate it"
