"""Plain-Python tests of the MMU's parameters, page-table encoder vs the model's decoder, and the memory
monitor running synchronously (as in the harness) against the golden model."""

import gc
import random

import pytest

from emu.models.mmu import MMUModel, OK, PAGE_FAULT, PROT_FAULT, BAD_REQUEST, UNMAPPED
from firmware.bus import Bus, run_sync
from firmware.memory_monitor import MemoryMonitor, MemoryMonitorError
from firmware.page_table import HashedPageTable, PageTableFull, bucket_hash
from hw.lib.axi import AXI4Signature
from hw.memory.dram import AxiDramModel, MemoryMMUWithDram
from hw.memory.mmu import MMU_REGS, MMUParams, MemoryMMU

# Components built only to check their constructors and signatures are never elaborated.
pytestmark = pytest.mark.filterwarnings("ignore:.*created but never used")


@pytest.mark.parametrize("kw, exc, text", [
    (dict(page_bytes=3000), ValueError, "page_bytes"),
    (dict(page_bytes=128), ValueError, "page_bytes"),
    (dict(tlb_entries=12, tlb_ways=4), ValueError, "tlb_entries"),
    (dict(tlb_entries="64"), TypeError, "tlb_entries"),
    (dict(pid_width=17), ValueError, "pid_width"),
    (dict(vaddr_width=12), ValueError, "vaddr_width"),
    (dict(vaddr_width=64), ValueError, "vaddr_width"),
    (dict(paddr_width=65), ValueError, "paddr_width"),
    (dict(data_width=32), ValueError, "data_width"),
    (dict(pt_bucket_entries=3), ValueError, "pt_bucket_entries"),
    (dict(data_width=512, pt_bucket_entries=2), ValueError, "pt_bucket_entries"),
    (dict(pt_buckets_log2=25), ValueError, "pt_buckets_log2"),
    (dict(pt_max_probes=0), ValueError, "pt_max_probes"),
])
def test_params_rejected(kw, exc, text):
    with pytest.raises(exc, match=text):
        MMUParams(**kw)


def test_components_check_arguments():
    with pytest.raises(TypeError, match="MMUParams"):
        MemoryMMU({"tlb_entries": 8})
    with pytest.raises(TypeError, match="MMUParams"):
        MemoryMMUWithDram(None)
    with pytest.raises(ValueError, match="DRAM size"):
        AxiDramModel(addr_width=32, data_width=64, size_bytes=1000)
    with pytest.raises(ValueError, match="latency"):
        AxiDramModel(addr_width=32, data_width=64, size_bytes=4096, latency=-1)
    with pytest.raises(TypeError, match="data width"):
        AXI4Signature(32, 48)


def test_axi_signature_names():
    sig = AXI4Signature(32, 64, 2)
    names = set(sig.members)
    for n in ("awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb", "wlast",
              "bresp", "bvalid", "bready", "araddr", "arlen", "rdata", "rlast", "rvalid", "rready"):
        assert n in names
    assert sig.members["awaddr"].flow.name == "Out" and sig.flip().members["awaddr"].flow.name == "In"


def test_mmu_ports():
    mmu = MemoryMMU(MMUParams(tlb_entries=8, tlb_ways=2, pid_width=2))
    assert {"net_rx", "net_tx", "axi", "csr", "irq"} <= set(mmu.signature.members)
    top = MemoryMMUWithDram(MMUParams(tlb_entries=8, tlb_ways=2, pid_width=2), dram_bytes=1 << 14, dram_latency=2)
    assert set(top.signature.members) == {"net_rx", "net_tx", "csr", "irq"}
    del mmu, top
    gc.collect()     # the never-elaborated warnings fire here, under this module's filter


def _model(**kw):
    return MMUModel(page_bytes=4096, pid_width=4, vaddr_width=48, paddr_width=32, data_width=64,
                    bucket_entries=4, dram_bytes=1 << 20, **kw)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_encoder_matches_independent_decoder(seed):
    """Random inserts/removes with heavy overflow: the model's decoder sees exactly firmware's shadow."""
    rng = random.Random(seed)
    table = HashedPageTable(0x2000, 3, 4, 6)          # 8 buckets of 4: overflow chains everywhere
    model = _model()
    model.set_page_table(base=0x2000, buckets_log2=3, max_probes=6)
    live = {}
    for _ in range(400):
        if live and rng.random() < 0.45:
            key = rng.choice(list(live))
            for addr, data in table.remove(*key):
                model.write_mem(addr, data)
            del live[key]
        else:
            key = (rng.randrange(16), rng.randrange(1 << 36))
            pfn, w = rng.randrange(1 << 20), rng.random() < 0.5
            try:
                writes = table.insert(*key, pfn, True, w)
            except PageTableFull:
                continue
            for addr, data in writes:
                model.write_mem(addr, data)
            live[key] = (pfn, True, w)
        for key, val in live.items():
            assert model.lookup(*key) == val
        probe = (rng.randrange(16), rng.randrange(1 << 36))
        if probe not in live:
            assert model.lookup(*probe) is None
    assert any(True for _ in live)


def test_table_full_and_hash():
    table = HashedPageTable(0, 0, 4, 1)               # one bucket of four entries
    for vpn in range(4):
        table.insert(1, vpn, vpn, True, True)
    with pytest.raises(PageTableFull):
        table.insert(1, 99, 0, True, True)
    table.remove(1, 2)
    table.insert(1, 99, 0, True, True)                # the tombstone is reused
    assert bucket_hash(0, 0x12345, 16) == (0x12345 ^ 0x1) & 0xFFFF
    assert bucket_hash(0, 0x12345, 24) == 0x1_2344          # bits 23..16: vpn bits 23..16 (0x01)
    assert bucket_hash(1, 0, 4) == 0x9E5 & 0xF


class ModelBus(Bus):
    """A synchronous bus: MMU configuration registers mirrored into the model, DRAM = model memory.

    Stands in for the harness's bus, to show the firmware runs with run_sync (never suspends)."""

    def __init__(self, model, info0, info1):
        self.model, self.regs = model, {MMU_REGS.addr("INFO0"): info0, MMU_REGS.addr("INFO1"): info1}
        self.log = []

    async def read_reg(self, block, addr):
        return self.regs.get(addr, 0)

    async def write_reg(self, block, addr, value):
        self.log.append((addr, value))
        self.regs[addr] = value
        a = MMU_REGS.addr
        if addr == a("PT_BASE_LO"):
            self.model.set_page_table(base=value)
        elif addr == a("PT_BUCKETS_LOG2"):
            self.model.set_page_table(buckets_log2=value)
        elif addr == a("PT_MAX_PROBES"):
            self.model.set_page_table(max_probes=value)
        elif addr == a("OWNER_SET"):
            self.model.set_owner(value & 0xFFFF, (value >> 16) & 0xFF if value >> 31 else None)

    async def read_mem(self, addr, length):
        return self.model.read_mem(addr, length)

    async def write_mem(self, addr, data):
        self.model.write_mem(addr, data)


def test_memory_monitor_sync_against_model():
    p = MMUParams(pid_width=4)
    model = _model()
    bus = ModelBus(model, p.page_bits | p.pid_width << 8 | p.vaddr_width << 16 | p.paddr_width << 24,
                   p.tlb_entries | p.tlb_ways << 16 | p.pt_bucket_entries << 24)
    mon = MemoryMonitor(bus, dram_bytes=1 << 20, pt_buckets_log2=6)
    run_sync(mon.init())
    run_sync(mon.create_process(3, 7))
    run_sync(mon.map(3, 0x10000, 3 * 4096))
    run_sync(mon.map(3, 0x40000, 4096, writable=False))
    assert model.access(7, 3, 3, 0x10008, 8, b"12345678").status == OK
    assert model.access(7, 2, 3, 0x10008, 8).data == b"12345678"
    assert model.access(8, 2, 3, 0x10008, 8).status == PROT_FAULT           # not the owner
    assert model.access(7, 3, 3, 0x40000, 8, bytes(8)).status == PROT_FAULT  # read-only
    assert model.access(7, 2, 3, 0x10003, 2).status == BAD_REQUEST
    assert model.access(7, 2, 3, 0x90000, 8, fault_served=False).status == UNMAPPED
    # unmap: entry gone and the TLB shot down for exactly that page
    run_sync(mon.unmap(3, 0x11000, 4096))
    assert model.access(7, 2, 3, 0x11000, 8).status == PAGE_FAULT
    inv = [v for a, v in bus.log if a == MMU_REGS.addr("TLB_INV")]
    assert inv[-1] == 3 and (MMU_REGS.addr("TLB_INV_VPN_LO"), 0x11) in bus.log
    with pytest.raises(MemoryMonitorError):
        run_sync(mon.map(3, 0x10000, 4096))                                # overlaps
    free = mon.frames.free_count
    run_sync(mon.destroy_process(3))
    assert mon.frames.free_count == free + 3
    assert model.access(7, 2, 3, 0x10008, 8).status == PROT_FAULT           # unbound pid


class _RecordingBus(ModelBus):
    """ModelBus without a DRAM copy (a table of many MiB): records the memory writes' sizes; reads are zero."""

    def __init__(self, *args):
        super().__init__(*args)
        self.mem_writes = []

    async def read_mem(self, addr, length):
        return bytes(length)

    async def write_mem(self, addr, data):
        self.mem_writes.append((addr, len(data)))


def test_large_page_table_zeroed_in_pieces_and_filled_past_16_bucket_bits():
    """A 1 GiB memory's table (2**18 buckets, 16 MiB) is zeroed as 1 MiB writes (each one memory-window FILL,
    within the bus's poll budget), and pages whose home buckets lie above 65,536 are mapped and found."""
    from firmware.system_firmware import default_pt_buckets_log2
    p = MMUParams(pid_width=4)
    log2 = default_pt_buckets_log2(1 << 30, p.bucket_bytes, p.page_bytes)
    assert log2 == 18 and default_pt_buckets_log2(1 << 20, p.bucket_bytes, p.page_bytes) == 10
    assert default_pt_buckets_log2(64 << 20, p.bucket_bytes, p.page_bytes) == 16     # the 1/16 rule up to here
    bus = _RecordingBus(_model(), p.page_bits | p.pid_width << 8 | p.vaddr_width << 16 | p.paddr_width << 24,
                        p.tlb_entries | p.tlb_ways << 16 | p.pt_bucket_entries << 24)
    mon = MemoryMonitor(bus, dram_bytes=1 << 30, pt_buckets_log2=log2)
    run_sync(mon.init())
    assert bus.mem_writes == [(off, 1 << 20) for off in range(0, 16 << 20, 1 << 20)]
    assert mon.frames.free_count == (1 << 18) - (16 << 20) // 4096
    run_sync(mon.create_process(1, 2))
    base_vpn = 1 << 16                    # 256 MiB: bit 16 of the vpn sets bit 16 of the home bucket
    run_sync(mon.map(1, base_vpn * 4096, 2000 * 4096))
    homes = [mon.table._where[(1, base_vpn + i)][0] for i in range(2000)]
    assert min(homes) >= 1 << 16 and len(set(homes)) == 2000, (min(homes), len(set(homes)))
