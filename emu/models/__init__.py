"""Golden models of the blocks and of the whole system (independent of the RTL)."""
