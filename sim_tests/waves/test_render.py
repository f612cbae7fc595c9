"""Text and SVG renderings of a known window."""

import xml.etree.ElementTree as ET

import pytest

from emu.errors import DisaggError
from emu.waves import load_vcd, render_svg, render_text, select_window

from .examples import table_vcd

TABLE = {
    "rst":        "1100000",
    "s__valid":   "0011100",
    "s__ready":   "0000110",
    "s__payload": [0, 0, 0x1a, 0x1a, "x", 0x2b, 0x2b],
    "fault":      "0zx1000",
}

EXPECTED = """\
w.vcd: 5 cycles of top.clk from 20 ns to 60 ns; values sampled at each rising edge
time (ns)   20   30   40   50   60
s__valid    _____/--------------\\____
s__ready    _______________/---------
s__payload  |000 |01a  01a |xxx |02b
rst         -----\\___________________
fault       zzzzzxxxxx-----\\_________
"""


@pytest.fixture
def wave(tmp_path):
    return load_vcd(table_vcd(tmp_path / "w.vcd", TABLE, widths={"s__payload": 12}))


def test_text_rendering_of_known_window(wave):
    win = select_window(wave, "s__*,rst,fault", start=wave.parse_time("20ns"), end=wave.parse_time("60ns"))
    assert render_text(win) == EXPECTED


def test_window_bounds_and_cut(wave):
    win = select_window(wave, "s__valid", max_cycles=3)
    assert len(win.times) == 3 and win.total_cycles == 7 and win.first_cycle == 0
    assert "(first 3 of 7)" in win.header()
    assert win.rows[0][2] == ["0", "0", "1"]
    # Time given in file units (ps) is the same as with a unit.
    a = select_window(wave, "rst", start=30000, end=50000)
    b = select_window(wave, "rst", start=wave.parse_time("30 ns"), end=wave.parse_time("0.05us"))
    assert a.times == b.times == [30000, 40000, 50000]


def test_selection_errors(wave):
    with pytest.raises(DisaggError, match="no signal matches 'nothing\\*'"):
        select_window(wave, "nothing*")
    with pytest.raises(DisaggError, match="bad signal pattern"):
        select_window(wave, " , ")
    with pytest.raises(DisaggError, match="starts after it ends"):
        select_window(wave, "rst", start=50000, end=20000)
    with pytest.raises(DisaggError, match="no rising edge of top.clk between 1000 ns and 2000 ns"):
        select_window(wave, "rst", start=wave.parse_time("1us"), end=wave.parse_time("2us"))
    with pytest.raises(DisaggError, match="no clock named 'clock'"):
        select_window(wave, "rst", clock="clock")
    with pytest.raises(DisaggError, match="bad time"):
        wave.parse_time("12 parsecs")


def test_svg_is_well_formed_with_one_row_per_signal(wave):
    win = select_window(wave, "s__*,rst,fault", start=wave.parse_time("20ns"), end=wave.parse_time("60ns"))
    root = ET.fromstring(render_svg(win).encode())
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    rows = root.findall("svg:g[@class='signal']", ns)
    assert [g.get("data-name") for g in rows] == ["top.s__valid", "top.s__ready", "top.s__payload", "top.rst",
                                                  "top.fault"]
    payload = rows[2]
    assert [t.text for t in payload.findall("svg:text", ns)] == ["s__payload", "000", "01a", "xxx", "02b"]
    assert len(payload.findall("svg:polygon[@class='unknown']", ns)) == 1
    assert len(rows[4].findall("svg:line[@class='hiz']", ns)) == 1
    assert len(root.findall("svg:g[@class='grid-lines']/svg:line", ns)) == 5
