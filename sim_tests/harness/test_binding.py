"""The harness binding (codegen, build cache, ctypes driver) on a small top of our own (toy_system.py).

Every figure asserted here is a cycle count or a value, never wall-clock time.
"""

import random

import numpy as np
import numpy.testing  # imported up front: a lazy import of it mid-test has hit a KeyError in the import lock
import pytest

from emu.errors import DisaggError
from emu.harness import HarnessModel, RunStatus, build_model, new_results
from emu.harness import codegen
from emu.harness.layouts import RESULT_DTYPE, STATS_DTYPE
from emu.workload_format import WORKLOAD_DTYPE, empty
from firmware.bus import run_sync
from sim_tests.harness.toy_system import TOY_REGS, ToyRequest, ToySystem
from sim_tests.lib.runner import default_seed

CHAIN = ["miss", "fetch", "fill"]
FETCH, FILL = 5, 3
DEPTH, PAGE_WORDS = 1024, 16
PAGE_BYTES = PAGE_WORDS * 8


@pytest.fixture(scope="module")
def built():
    return build_model(ToySystem(DEPTH, PAGE_WORDS, FETCH, FILL), chain=CHAIN)


def _model(built, **kw):
    m = HarnessModel(built, **kw)
    m.reset()
    return m


def _random_workload(rng, n, pages):
    w = empty(n)
    for i in range(n):
        size = rng.choice((1, 2, 4, 8))
        page = rng.randrange(pages) if rng.random() < 0.3 else (i // 16) % pages
        w[i] = (1 + rng.randrange(3), rng.randrange(2), page * PAGE_BYTES + rng.randrange(PAGE_BYTES // size) * size,
                size, rng.getrandbits(64), rng.choice((0, 0, 0, 1, 5)))
    return w


def _expected(w):
    """Reference: a flat byte memory (the toy ignores the pid for data)."""
    mem = bytearray(DEPTH * 8)
    out = np.zeros(len(w), dtype=np.uint64)
    for i, (_pid, op, vaddr, size, data, _think) in enumerate(w.tolist()):
        a = vaddr % (DEPTH * 8)
        if op:
            mem[a:a + size] = (data & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        else:
            out[i] = int.from_bytes(mem[a:a + size], "little")
    return out


def test_generated_header_follows_layouts():
    sp = codegen.describe(ToySystem(), chain=CHAIN)
    layout = ToyRequest()
    for name in ("op", "pid", "vaddr", "strb", "wdata"):
        assert sp.req_fields[name] == (layout[name].offset, layout[name].width)
    assert sp.ports["cpu_req__payload"].width == layout.size > 64   # exercises the VlWide path
    header = codegen.generate_header(sp)
    assert f"REQ_WDATA_OFF = {layout['wdata'].offset}" in header
    assert "#define P_cpu_req__valid cpu_req___05Fvalid" in header
    assert "CHAIN[CHAIN_N > 0 ? CHAIN_N : 1] = {0, 1, 2}" in header
    records = codegen.generate_records_header()
    for name, dtype in (("Access", WORKLOAD_DTYPE), ("Result", RESULT_DTYPE), ("Stats", STATS_DTYPE)):
        assert f"sizeof({name}) == {dtype.itemsize}" in records
    with pytest.raises(DisaggError, match="unknown probe strobe"):
        codegen.describe(ToySystem(), chain=["nope"])


def test_second_build_is_cached(built):
    again = build_model(ToySystem(DEPTH, PAGE_WORDS, FETCH, FILL), chain=CHAIN)
    assert again.cached and again.key == built.key and again.library == built.library
    other = codegen.describe(ToySystem(DEPTH, PAGE_WORDS, FETCH + 1, FILL))
    assert other.req_fields == built.ports.req_fields   # same ports, different design: different key below
    assert "built in" in built.describe_build() or built.cached


def test_csr_read_write(built):
    m = _model(built)
    m.csr_write(TOY_REGS.addr("limit"), 0x1234)
    c0 = m.cycle
    assert m.csr_read(TOY_REGS.addr("limit")) == 0x1234
    assert m.cycle - c0 == 2          # a read takes two cycles: r_stb, then r_data
    assert m.csr_read(TOY_REGS.addr("hits")) == 0


def test_random_accesses_match_reference_with_exact_stage_cycles(built):
    rng = random.Random(default_seed("harness-binding-random"))
    m = _model(built)
    m.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    w = _random_workload(rng, 3000, DEPTH * 8 // PAGE_BYTES)
    res = new_results(len(w))
    assert m.run(w, res) == RunStatus.DONE
    assert res["done"].all() and (res["status"] == 0).all()
    np.testing.assert_array_equal(res["rdata"], _expected(w))
    st = m.stats()
    hits, misses = m.csr_read(TOY_REGS.addr("hits")), m.csr_read(TOY_REGS.addr("misses"))
    assert st["issued"] == st["completed"] == len(w) == hits + misses
    assert st["miss_count"] == misses and st["hit_count"] == hits
    assert st["probe_count"][0] == misses and st["probe_count"][3] == m.csr_read(TOY_REGS.addr("evictions"))
    # The toy's miss stages last exactly FETCH and FILL cycles; both accountings agree.
    assert st["stage_sum"][1] == FETCH * misses and st["stage_n"][1] == misses
    assert st["stage_sum"][2] == FILL * misses
    assert st["miss_stage_sum"][1] == FETCH * misses and st["miss_stage_sum"][2] == FILL * misses
    assert st["miss_stage_sum"][:4].sum() == st["miss_latency_sum"]
    lat = (res["t_done"] - res["t_issue"]).astype(np.int64)
    assert lat.sum() == st["latency_sum"] == st["hit_latency_sum"] + st["miss_latency_sum"]
    assert st["think_cycles"] == w["think"].sum()
    assert st["chain_orphans"] == 0 and st["unexpected_responses"] == 0


def test_batches_give_the_same_results_as_one_run(built):
    rng = random.Random(default_seed("harness-binding-batches"))
    w = _random_workload(rng, 500, 8)
    one, many = new_results(len(w)), new_results(len(w))
    m1 = _model(built)
    m1.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    assert m1.run(w, one) == RunStatus.DONE
    m2 = _model(built)
    m2.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    batches = 0
    while (status := m2.run(w, many, start=m2.position, max_cycles=97)) == RunStatus.BATCH:
        batches += 1
    assert status == RunStatus.DONE and batches > 10
    np.testing.assert_array_equal(one, many)


class _ToyBus:
    """Firmware bus over the model (the same shape as the system's harness bus)."""

    def __init__(self, model):
        self.model = model

    async def read_reg(self, block, addr):
        return self.model.csr_read(addr)

    async def write_reg(self, block, addr, value):
        self.model.csr_write(addr, value)


async def _serve_fault(bus, refuse_page):
    page = await bus.read_reg("toy", TOY_REGS.addr("fault_page"))
    if page == refuse_page:
        await bus.write_reg("toy", TOY_REGS.addr("refuse"), 1)
    else:
        await bus.write_reg("toy", TOY_REGS.addr("grant"), page + 1)
    return page


def test_irq_mem_returns_to_firmware(built):
    m = _model(built)
    m.csr_write(TOY_REGS.addr("limit"), 1)
    w = empty(6)
    w["pid"], w["size"], w["op"] = 1, 8, [1, 1, 1, 0, 0, 0]
    w["vaddr"] = [0, 2 * PAGE_BYTES, 3 * PAGE_BYTES, 0, 2 * PAGE_BYTES, 3 * PAGE_BYTES]
    w["data"] = [11, 22, 33, 0, 0, 0]
    res = new_results(len(w))
    bus = _ToyBus(m)
    served = []
    while (status := m.run(w, res, start=m.position)) != RunStatus.DONE:
        assert status == RunStatus.IRQ and m.irq_mem and not m.irq_proc
        served.append(run_sync(_serve_fault(bus, refuse_page=2)))
    assert served == [2, 3]   # page 2 refused (limit stays 1), page 3 granted (limit 4)
    assert res["status"].tolist() == [0, 1, 0, 0, 0, 0]
    assert res["rdata"].tolist() == [0, 0, 0, 11, 0, 33]   # the refused write left nothing
    assert m.stats()["irq_mem_events"] == 2


def test_irq_proc_returns_and_clears(built):
    m = _model(built)
    m.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    m.csr_write(TOY_REGS.addr("alarm_at"), 10)
    w = empty(40)
    w["pid"], w["size"], w["vaddr"] = 1, 8, np.arange(40, dtype=np.uint64) * 8
    res = new_results(len(w))
    assert m.run(w, res) == RunStatus.IRQ and m.irq_proc
    done_at_irq = int(res["done"].sum())
    assert 10 <= done_at_irq < 40
    m.csr_write(TOY_REGS.addr("ack"), 1)
    assert not m.irq_proc
    assert m.run(w, res, start=m.position) == RunStatus.DONE and res["done"].all()


def test_bad_arrays_are_refused(built):
    m = _model(built)
    with pytest.raises(DisaggError, match="WORKLOAD_DTYPE"):
        m.run(np.zeros(4, dtype=np.uint64), new_results(4))
    with pytest.raises(DisaggError, match="results"):
        m.run(empty(4), new_results(2))


def test_waveform_window_only(built, tmp_path):
    import vcdvcd
    traced = build_model(ToySystem(DEPTH, PAGE_WORDS, FETCH, FILL), chain=CHAIN, trace="vcd")
    assert traced.key != built.key
    path = tmp_path / "w.vcd"
    m = HarnessModel(traced, waves=path, window=(100, 149))
    m.reset()
    m.csr_write(TOY_REGS.addr("limit"), 1 << 20)
    w = empty(200)
    w["pid"], w["size"], w["vaddr"] = 1, 8, np.arange(200, dtype=np.uint64) * 64
    assert m.run(w, new_results(len(w))) == RunStatus.DONE
    m.close()
    v = vcdvcd.VCDVCD(str(path))
    times = sorted({t for sig in v.data.values() for t, _ in sig.tv})
    assert times[0] == 1000 and times[-1] == 1495   # cycles 100..149, ten time units per cycle
