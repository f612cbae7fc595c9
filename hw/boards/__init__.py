"""Board tops: the components placed on real FPGA boards from amaranth-boards (see ``docs/fpga.md``)."""
