"""rtl/ holds exactly what `disagg verilog` generates, and it is lint-clean."""

import pytest

from hw.catalog import BLOCKS
from emu.rtl_generation import RTL_DIR, generate
from emu.verilog_lint import lint


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_rtl_is_up_to_date(block):
    path = RTL_DIR / f"{block}.v"
    assert path.exists(), f"{path} missing: run 'disagg verilog'"
    assert path.read_text() == generate(block), f"{path} is stale: run 'disagg verilog' and commit rtl/"


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_rtl_lint_clean(block):
    ok, output = lint(RTL_DIR / f"{block}.v")
    assert ok, output


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_rtl_has_no_absolute_paths(block):
    text = (RTL_DIR / f"{block}.v").read_text()
    assert "/work/" not in text and "/home/" not in text and "site-packages" not in text


def test_every_rtl_file_is_a_catalogued_block():
    stray = sorted(p.stem for p in RTL_DIR.glob("*.v") if p.stem not in BLOCKS)
    assert not stray, f"rtl/ has files no block generates: {stray}"
