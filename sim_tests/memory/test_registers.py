"""hw.memory.registers: the word addresses firmware relies on (the doc table: sim_tests/test_register_docs.py)."""

from hw.memory.registers import COUNTERS, MMU_REGS


def test_firmware_addresses_are_stable():
    # Firmware and the golden model's test benches address these words; the split kept every address.
    expect = {"INFO0": 0x00, "PT_BASE_LO": 0x02, "PT_BASE_HI": 0x03, "PT_BUCKETS_LOG2": 0x04, "OWNER_SET": 0x06,
              "TLB_INV_VPN_LO": 0x09, "TLB_INV": 0x0b, "FAULT_STATUS": 0x0c, "FAULT_VADDR_HI": 0x0e,
              "FAULT_RESOLVE": 0x0f, "MEM_ADDR_LO": 0x10, "MEM_CTRL": 0x15, "MEM_RDATA_HI": 0x17,
              "CNT_TLB_HIT": 0x18, "CNT_PROT_FAULTS": 0x1e, "NODE_ID": 0x1f}
    assert {name: MMU_REGS.addr(name) for name in expect} == expect
    assert MMU_REGS.addr_width == 5 and len(MMU_REGS.words()) == 32 and len(COUNTERS) == 7
