"""Plain pytest tests of the system's parts: CSR mux, probe block (amaranth.sim), SystemParams,
the golden model, the GMM and the processor monitor's bookkeeping."""

import gc

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from emu.models.system import (STATUS_OK, STATUS_PAGE_FAULT, STATUS_PROT_FAULT, ModelError, SystemModel)
from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from firmware.bus import Bus, run_sync
from firmware.global_memory_manager import GlobalMemoryManager, PlacementError, Region
from firmware.processor_monitor import ProcessorMonitor, ProcessorMonitorError
from hw.lib.csr import CSRDecoder, Register, RegisterMap
from hw.lib.csrmux import CSRMux
from hw.processor.excache import ExCacheParams
from hw.processor.registers import register_map
from hw.network.netif import NetIfParams
from hw.system.probe import PROBE_CHAIN, PROBE_REGS, PROBE_STAGES, ProbeLayout, SystemProbe
from hw.system.address_map import SYSTEM_CSR_BASES
from hw.system.params import SystemParams
from hw.system.top import SystemTop

import numpy as np


# ---- CSR mux ------------------------------------------------------------------------------------

def _scratch_block(m, name, n):
    regmap = RegisterMap(name, [Register(f"r{i}", i, "rw", "scratch") for i in range(n)])
    dec = CSRDecoder(regmap)
    m.submodules[name] = dec
    from amaranth import Signal
    for i in range(n):
        reg = Signal(32, name=f"{name}_r{i}", init=i)
        m.d.comb += dec.regs[f"r{i}"].r_data.eq(reg)
        with m.If(dec.regs[f"r{i}"].w_stb):
            m.d.sync += reg.eq(dec.regs[f"r{i}"].w_data)
    return dec


def test_csr_mux_routes_by_base_with_one_cycle_reads():
    m = Module()
    mux = CSRMux({"a": (0x000, 2), "b": (0x100, 3)}, addr_width=9)
    m.submodules.mux = mux
    a = _scratch_block(m, "a", 4)
    b = _scratch_block(m, "b", 8)
    from amaranth.lib import wiring
    wiring.connect(m, mux.a, a.bus)
    wiring.connect(m, mux.b, b.bus)
    got = {}

    async def bench(ctx):
        bus = mux.bus

        async def write(addr, value):
            ctx.set(bus.addr, addr)
            ctx.set(bus.w_data, value)
            ctx.set(bus.w_stb, 1)
            await ctx.tick()
            ctx.set(bus.w_stb, 0)

        async def read(addr):
            ctx.set(bus.addr, addr)
            ctx.set(bus.r_stb, 1)
            await ctx.tick()
            ctx.set(bus.r_stb, 0)
            return ctx.get(bus.r_data)

        await write(0x001, 0x1111)
        await write(0x105, 0x5555)
        await write(0x080, 0xDEAD)        # no target: ignored
        got["a1"] = await read(0x001)
        got["hole"] = await read(0x080)
        got["beyond_a"] = await read(0x005)  # a's window is words 0..3: nobody answers
        got["b5"] = await read(0x105)
        await ctx.tick()
        got["held"] = ctx.get(bus.r_data)   # the value stays until the next read

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == {"a1": 0x1111, "b5": 0x5555, "hole": 0, "beyond_a": 0, "held": 0x5555}


@pytest.mark.parametrize("targets,width,exc,match", [
    ({"a": (0x10, 5)}, 8, ValueError, "multiple"),
    ({"a": (0, 4), "b": (0, 3)}, 8, ValueError, "overlap"),
    ({"a": (0x100, 8)}, 8, ValueError, "beyond"),
    ({"bus": (0, 4)}, 8, ValueError, "identifier"),
    ({"a": 4}, 8, TypeError, "base, addr_width"),
    ({}, 8, TypeError, "non-empty"),
])
@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_csr_mux_validates(targets, width, exc, match):
    with pytest.raises(exc, match=match):
        CSRMux(targets, addr_width=width)
    gc.collect()   # the half-built component warns when collected: here, under the filter


# ---- probe block ----------------------------------------------------------------------------------

def test_probe_block_counts_strobes_and_cycles():
    dut = SystemProbe()
    got = {}

    async def bench(ctx):
        bus = dut.csr

        async def read(name):
            ctx.set(bus.addr, PROBE_REGS.addr(name))
            ctx.set(bus.r_stb, 1)
            await ctx.tick()
            ctx.set(bus.r_stb, 0)
            return ctx.get(bus.r_data)

        for cycle in range(10):
            ctx.set(dut.probe.miss_msg, cycle % 2)
            ctx.set(dut.probe.dram_last, cycle < 3)
            await ctx.tick()
        ctx.set(dut.probe.miss_msg, 0)
        ctx.set(dut.probe.dram_last, 0)
        ctx.set(dut.link_resp_lost, 7)
        await ctx.tick()   # the event counters register their strobes: the last one counts a cycle later
        got["miss_msg"] = await read("count_miss_msg")
        got["dram_last"] = await read("count_dram_last")
        got["lost"] = await read("link_resp_lost")
        got["cycle"] = await read("cycle_LO")
        got["cycle_hi"] = await read("cycle_HI")
        got["id"] = await read("id")
        ctx.set(bus.addr, PROBE_REGS.addr("control"))
        ctx.set(bus.w_data, 1)
        ctx.set(bus.w_stb, 1)
        await ctx.tick()
        ctx.set(bus.w_stb, 0)
        got["cleared"] = await read("count_miss_msg")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # cycle_LO is sampled at its read strobe: 10 ticks of strobes, an idle tick and 3 reads before it
    assert got == {"miss_msg": 5, "dram_last": 3, "lost": 7, "cycle": 14, "cycle_hi": 0, "id": 0x5357_0001,
                   "cleared": 0}


def test_probe_layout_order_and_chain():
    layout = ProbeLayout()
    assert [(name, fld.offset) for name, fld in layout] == [(n, i) for i, (n, _) in enumerate(PROBE_STAGES)]
    assert PROBE_CHAIN[0] == "miss_msg" and PROBE_CHAIN[-1] == "cpu_resp"
    assert set(PROBE_CHAIN) <= {n for n, _ in PROBE_STAGES}


# ---- system parameters and ports ------------------------------------------------------------------

def _silence(obj, depth=0):
    """Mark a component tree as used (it is inspected, not elaborated)."""
    obj._MustUse__silence = True
    if depth < 4:
        for value in vars(obj).values():
            if hasattr(value, "elaborate"):
                _silence(value, depth + 1)


def test_system_top_ports():
    top = SystemTop(SystemParams())
    _silence(top)
    assert set(top.signature.members) == {"cpu_req", "cpu_resp", "csr", "irq_proc", "irq_mem", "probe"}
    assert top.signature.members["csr"].signature.addr_width == 15
    assert SYSTEM_CSR_BASES == {"excache": 0x0000, "proc_netif": 0x1000, "mmu": 0x2000, "mem_netif": 0x3000,
                                "probe": 0x4000}


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"miss_path": "firmware"}, ValueError, "miss_path"),
    ({"excache": {"ways": 4}}, TypeError, "ExCacheParams"),
    ({"excache": ExCacheParams(data_width=32)}, ValueError, "data width"),
    ({"mem_netif": NetIfParams(node_id=0, n_nodes=2)}, ValueError, "distinct node ids"),
    ({"mem_netif": NetIfParams(node_id=3, n_nodes=4)}, ValueError, "peers"),
    ({"excache": ExCacheParams(line_bytes=128, pid_width=8)}, ValueError, "max_payload"),
    ({"dram_bytes": 3 << 16}, ValueError, "dram_bytes"),
    ({"dram_latency": 300}, ValueError, "dram_latency"),
])
def test_system_params_are_validated(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SystemParams(**kwargs)


def test_system_params_round_trip():
    p = SystemParams(miss_path="software", dram_bytes=1 << 16)
    assert SystemParams.from_dict(p.as_dict()).as_dict() == p.as_dict()
    assert p.return_link.seed != p.link.seed
    with pytest.raises(ValueError, match="unknown"):
        SystemParams.from_dict({"cache": {}})


# ---- golden model -----------------------------------------------------------------------------------

def _w(rows):
    w = np.zeros(len(rows), dtype=WORKLOAD_DTYPE)
    for i, r in enumerate(rows):
        w[i] = (*r, 0) if len(r) == 5 else r
    return w


def test_model_semantics():
    m = SystemModel(page_size=256)
    m.create_process(1, [(0x1000, 0x200)])
    m.create_process(2, [(0x1000, 0x100), (0x8000, 0x100, False)])
    status, data = m.run(_w([
        (1, OP_READ, 0x1000, 8, 0),            # zero-filled
        (1, OP_WRITE, 0x1004, 4, 0x11223344),
        (2, OP_WRITE, 0x1004, 4, 0xAABBCCDD),  # same vaddr, other process
        (1, OP_READ, 0x1004, 4, 0),
        (2, OP_READ, 0x1004, 2, 0),
        (1, OP_READ, 0x1200, 8, 0),            # just past the region
        (3, OP_READ, 0x1000, 8, 0),            # not running
        (2, OP_READ, 0x8000, 8, 0),            # read-only region reads fine
    ]))
    assert status.tolist() == [STATUS_OK] * 5 + [STATUS_PAGE_FAULT, STATUS_PROT_FAULT, STATUS_OK]
    assert data.tolist() == [0, 0, 0, 0x11223344, 0xCCDD, 0, 0, 0]
    with pytest.raises(ModelError, match="read-only"):
        m.access(2, OP_WRITE, 0x8000, 8, 1)
    m.exit_process(1)
    m.create_process(1, [(0x1000, 0x200)])
    assert m.access(1, OP_READ, 0x1004, 4) == (STATUS_OK, 0)
    assert m.image(2) == {0x1000: bytes(4) + bytes.fromhex("ddccbbaa") + bytes(248)}


@pytest.mark.parametrize("regions,match", [
    ([(0x1001, 0x100)], "pages"), ([(0x1000, 0)], "pages"), ([(0x1000, 0x200), (0x1100, 0x100)], "overlap"),
    ([(1 << 48, 0x100)], "fit"),
])
def test_model_rejects_bad_regions(regions, match):
    with pytest.raises(ModelError, match=match):
        SystemModel(page_size=256).create_process(1, regions)


# ---- GMM ----------------------------------------------------------------------------------------------

def test_gmm_places_by_free_capacity_and_releases():
    g = GlobalMemoryManager(page_size=256)
    g.add_component("m0", 1, 10)
    g.add_component("m1", 2, 8)
    assert g.place(1, [Region(0, 256 * 6)]).name == "m0"        # most free: m0 (10)
    assert g.place(2, [Region(0, 256 * 5)]).name == "m1"        # m0 has 4, m1 8
    with pytest.raises(PlacementError, match="free frames"):
        g.place(3, [Region(0, 256 * 5)])                         # m0 4, m1 3
    g.release(1)
    assert g.place(3, [Region(0, 256 * 5)]).name == "m0"
    assert g.components["m0"].free_frames == 5 and g.components["m1"].free_frames == 3
    with pytest.raises(PlacementError, match="overlap"):
        g.place(4, [Region(0, 512), Region(256, 256)])
    with pytest.raises(PlacementError, match="already placed"):
        g.place(3, [Region(0, 256)])
    with pytest.raises(ValueError, match="node id"):
        g.add_component("m2", 2, 4)


# ---- processor monitor bookkeeping (on a register-level stand-in for the ExCache) ----------------------

class _ExCacheRegs(Bus):
    """Register file of an ExCache whose maintenance completes at once; records the command sequence."""

    REGS = register_map()

    def __init__(self, ways=4, sets=16):
        self.regs = {self.REGS.addr("info"): ways | (sets.bit_length() - 1) << 8 | 6 << 13}
        self.log = []
        self.done = False

    async def read_reg(self, block, addr):
        if addr == self.REGS.addr("status"):
            return 2 if self.done else 0
        return self.regs.get(addr, 0)

    async def write_reg(self, block, addr, value):
        name = next(r.name for r in self.REGS if r.addr == addr)
        if name == "maint_cmd":
            self.done = True
            self.log.append(("maint", value & 3, value >> 16))
        elif name == "status" and value & 2:
            self.done = False
        else:
            self.regs[addr] = value


class _Endpoint:
    def __init__(self, log):
        self.log = log

    async def create_address_space(self, pid, owner, regions):
        self.log.append(("create", pid, owner, len(regions)))

    async def destroy_address_space(self, pid):
        self.log.append(("destroy", pid))


def test_processor_monitor_pids_and_exit_order():
    bus = _ExCacheRegs()
    gmm = GlobalMemoryManager(page_size=256)
    gmm.add_component("mem", 1, 100)
    pm = ProcessorMonitor(bus, node_id=0, mem_node=1, max_pid=3, gmm=gmm, memories={1: _Endpoint(bus.log)})
    run_sync(pm.boot())
    assert pm.ways == 4 and pm.sets == 16 and pm.line_bytes == 64
    pids = [run_sync(pm.create_process([(0, 512)])) for _ in range(3)]
    assert pids == [1, 2, 3]
    with pytest.raises(ProcessorMonitorError, match="no free pid"):
        run_sync(pm.create_process([(0, 512)]))
    bus.log.clear()
    run_sync(pm.exit_process(2))
    # flush of pid 2, then invalidate of pid 2, then the memory side tears the address space down
    assert bus.log == [("maint", 2, 2), ("maint", 1, 2), ("destroy", 2)]
    assert run_sync(pm.create_process([(0, 512)])) == 2      # the only free pid
    assert gmm.components["mem"].free_frames == 100 - 3 * 2
    with pytest.raises(ProcessorMonitorError, match="not running"):
        run_sync(pm.exit_process(7))


def test_memory_component_net_slices():
    """The slices between the network interface and the MMU are there by default, absent with
    ``net_slices=False``, and the flag is checked where it enters."""
    from hw.system.components import MemoryComponent
    from hw.lib.stream_slice import BundleSlice
    p = SystemParams()
    with pytest.raises(TypeError, match="net_slices must be a bool, not 'yes'"):
        MemoryComponent(p.mmu, p.mem_netif, dram_bytes=1 << 16, dram_latency=4, net_slices="yes")
    for flag in (True, False):
        mc = MemoryComponent(p.mmu, p.mem_netif, dram_bytes=1 << 16, dram_latency=4, external_dram=True,
                             net_slices=flag)
        m = mc.elaborate(None)
        slices = {name for name in ("rx_slice", "tx_slice")
                  if name in m._named_submodules and isinstance(m.submodules[name], BundleSlice)}
        assert slices == ({"rx_slice", "tx_slice"} if flag else set())
        _silence(mc)
