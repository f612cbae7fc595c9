"""The CSR address map of the components and of the system: where each block's register window sits.

Each block's registers (its own ``RegisterMap``) sit at ``base + register address`` of its component's CSR
space; the system CSR space places the two components' spaces and the probe's window side by side.
"""

__all__ = ["COMPONENT_CSR_WINDOW_BITS", "COMPONENT_CSR_ADDR_WIDTH", "PROCESSOR_CSR_BASES", "MEMORY_CSR_BASES",
           "SYSTEM_CSR_BASES", "SYSTEM_CSR_ADDR_WIDTH", "PROC_BASE", "MEM_BASE"]

#: Every block's CSR window inside a component is ``2**12`` words; a component's CSR space is two windows.
COMPONENT_CSR_WINDOW_BITS = 12
#: Word-address bases of the blocks in a processor component's CSR space.
PROCESSOR_CSR_BASES = {"excache": 0x0000, "netif": 0x1000}
#: Word-address bases of the blocks in a memory component's CSR space.
MEMORY_CSR_BASES = {"mmu": 0x0000, "netif": 0x1000}
#: Width of a component's CSR word address (two windows).
COMPONENT_CSR_ADDR_WIDTH = COMPONENT_CSR_WINDOW_BITS + 1


#: Word-address base of each block in the system CSR space. Each block's registers (its own
#: ``RegisterMap``) sit at ``base + register address``.
SYSTEM_CSR_BASES = {"excache": 0x0000, "proc_netif": 0x1000, "mmu": 0x2000, "mem_netif": 0x3000, "probe": 0x4000}
#: Width of the system CSR word address (covers the probe window at 0x4000).
SYSTEM_CSR_ADDR_WIDTH = 15

PROC_BASE, MEM_BASE = 0x0000, 0x2000
assert SYSTEM_CSR_BASES["excache"] == PROC_BASE + PROCESSOR_CSR_BASES["excache"]
assert SYSTEM_CSR_BASES["proc_netif"] == PROC_BASE + PROCESSOR_CSR_BASES["netif"]
assert SYSTEM_CSR_BASES["mmu"] == MEM_BASE + MEMORY_CSR_BASES["mmu"]
assert SYSTEM_CSR_BASES["mem_netif"] == MEM_BASE + MEMORY_CSR_BASES["netif"]
