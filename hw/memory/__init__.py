"""The memory component's side of the split: the MMU (TLB, page-table walker) and the DRAM model."""
