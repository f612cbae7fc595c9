"""What ``disagg synth`` synthesises for each block: the memory component with its DRAM as an AXI port."""

from amaranth.lib.wiring import Out

from emu.synth.blocks import SYNTH_DEFAULTS, component_from_params, synth_blocks
from hw.lib.axi import AXI4Signature


def test_memory_component_is_synthesised_with_an_axi_dram_port():
    top = SYNTH_DEFAULTS["memory_component"]()
    top._MustUse__used = True
    assert top.external_dram
    # The MMU's AXI4 manager port is the component's: no simulation DRAM model inside.
    assert isinstance(top.signature.members["dram"].signature, AXI4Signature)
    assert top.signature.members["dram"].flow == Out
    assert top.memory is top.mmu


def test_memory_component_configuration_defaults_to_the_axi_dram_port():
    top = component_from_params("memory_component", {"netif": {"window": 8}})
    top._MustUse__used = True
    assert top.external_dram and "dram" in top.signature.members
    internal = component_from_params("memory_component", {"external_dram": False, "dram_bytes": 1 << 12})
    internal._MustUse__used = True
    assert not internal.external_dram and "dram" not in internal.signature.members


def test_synth_defaults_are_catalog_blocks():
    assert set(SYNTH_DEFAULTS) <= set(synth_blocks())
