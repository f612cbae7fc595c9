"""The ULX3S memory-node board top produces a complete Amaranth build plan (no tools run)."""

import pytest

from hw.boards import ulx3s
from hw.memory.mmu import MMUParams
from hw.network.netif import NetIfParams


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    top = ulx3s.ULX3SMemoryNode(mmu=MMUParams(tlb_entries=16, tlb_ways=2), netif=NetIfParams(node_id=1),
                                dram_bytes=16 * 1024)
    return ulx3s.build(str(tmp_path_factory.mktemp("ulx3s")), do_build=False, top=top)


def test_build_plan_has_the_flow_files(plan):
    name = ulx3s.BUILD_NAME
    assert {f"{name}.il", f"{name}.ys", f"{name}.lpf", f"build_{name}.sh"} <= set(plan.files)
    script = plan.files[f"build_{name}.sh"]
    assert "--85k" in script and "--package CABGA381" in script and "--speed 6" in script
    assert "synth_ecp5" in plan.files[f"{name}.ys"]


def test_constraints_have_the_board_clock_and_leds(plan):
    lpf = plan.files[f"{ulx3s.BUILD_NAME}.lpf"]
    assert 'LOCATE COMP "clk25_0__io" SITE "G2"' in lpf
    assert "FREQUENCY PORT" in lpf and "25000000" in lpf
    assert 'SITE "B2"' in lpf and 'SITE "C2"' in lpf    # LED 0 (irq) and LED 1 (frames)


def test_design_contains_the_memory_component(plan):
    modules = {line.split()[1] for line in plan.files[f"{ulx3s.BUILD_NAME}.il"].splitlines()
               if line.startswith("module ")}
    top = f"\\{ulx3s.BUILD_NAME}"
    for part in ("node.netif", "node.memory.mmu", "node.memory.mmu.tlb", "node.memory.dram"):
        assert f"{top}.{part}" in modules, part


def test_yowasp_tools_are_found():
    env = ulx3s.yowasp_env()
    for var in env:
        assert var in ("YOSYS", "NEXTPNR_ECP5", "ECPPACK")
        assert "yowasp" in env[var]


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="power of two, not 1000"):
        ulx3s.ULX3SMemoryNode(dram_bytes=1000)
    with pytest.raises(TypeError, match="MMUParams, not 3"):
        ulx3s.ULX3SMemoryNode(mmu=3)
