"""``MemoryMonitor.populate``: pages of a lazy region mapped ahead of use (``disagg bench``'s raw leg needs it)."""

import pytest

from emu.models.mmu import OK, UNMAPPED
from firmware.bus import run_sync
from firmware.memory_monitor import MemoryMonitor, MemoryMonitorError
from hw.memory.mmu import MMUParams

from .test_mmu_python import ModelBus, _model


def test_populate_maps_lazy_pages_once():
    p = MMUParams(pid_width=4)
    model = _model()
    bus = ModelBus(model, p.page_bits | p.pid_width << 8 | p.vaddr_width << 16 | p.paddr_width << 24,
                   p.tlb_entries | p.tlb_ways << 16 | p.pt_bucket_entries << 24)
    mon = MemoryMonitor(bus, dram_bytes=1 << 20, pt_buckets_log2=6)
    run_sync(mon.init())
    run_sync(mon.create_process(3, 7))
    run_sync(mon.map(3, 0x10000, 4 * 4096, lazy=True))
    assert model.access(7, 2, 3, 0x11000, 8, fault_served=False).status == UNMAPPED
    free = mon.frames.free_count
    assert run_sync(mon.populate(3, 0x11000, 2 * 4096)) == 2
    assert mon.frames.free_count == free - 2
    assert model.access(7, 3, 3, 0x11008, 8, b"abcdefgh", fault_served=False).status == OK
    assert model.access(7, 2, 3, 0x12000, 8, fault_served=False).status == OK
    assert model.access(7, 2, 3, 0x13000, 8, fault_served=False).status == UNMAPPED   # outside what was populated
    assert run_sync(mon.populate(3, 0x10000, 4 * 4096)) == 2       # the two already resident are kept
    assert model.access(7, 2, 3, 0x11008, 8).data == b"abcdefgh"
    with pytest.raises(MemoryMonitorError, match="page 0x14000 is in no region"):
        run_sync(mon.populate(3, 0x13000, 2 * 4096))
    with pytest.raises(MemoryMonitorError, match="page aligned"):
        run_sync(mon.populate(3, 0x10001, 4096))
