"""Generic building blocks shared by every part of the system: the CSR bus and register maps, the CSR
multiplexer, AXI4 and AXI-Stream signatures."""
