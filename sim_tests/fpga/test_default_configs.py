"""Full default configurations through the FPGA flow (minutes each on one core): ``pytest -m slow``.

Figures are reported, not asserted (see docs/fpga.md); what is asserted is that each block fits the
LFE5U-85F, that the report parses, and that the ExCache's data memory is in block RAM.
"""

import pytest

from emu.synth import synth_blocks, synthesize_block

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("block", synth_blocks())
def test_default_config_on_ecp5(block):
    result = synthesize_block(block, "ecp5")
    print(f"{block}: {result.luts} LUTs, {result.ffs} FFs, {result.brams} DP16KD, {result.lutram} DPR16X4, "
          f"{result.fmax_mhz} MHz")
    assert result.fits, result.note
    assert result.luts > 0 and result.ffs > 0 and result.fmax_mhz > 0
    if block == "excache":
        [data] = [m for m in result.memories if m["name"].endswith("data_mem")]
        assert data["mapped_to"] == "bram", data


def test_ice40_fit_check_fits_with_an_fmax():
    # The small-FPGA fit check (disagg synth --target ice40 --small): a 4 KiB ExCache on the iCE40HX8K.
    from emu.synth.blocks import SMALL_CONFIGS, component_from_params
    [(block, params)] = SMALL_CONFIGS["ice40"].items()
    result = synthesize_block(block, "ice40", component_from_params(block, params))
    assert result.fits, result.note
    assert 0 < result.luts <= result.luts_available and result.brams <= result.brams_available
    assert result.fmax_mhz > 0
