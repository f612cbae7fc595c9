"""Parsers of the FPGA flow on report snippets captured from real Yosys 0.70 / nextpnr 0.11 runs."""

import json
from pathlib import Path

import pytest

from emu.synth.reports import (cell_signal, classify_memories, clock_fmax, not_fit_reason, parse_critical_path,
                               parse_memory_dump, parse_memory_mapping, parse_nextpnr_report,
                               parse_nextpnr_utilisation, parse_stat_json)
from emu.synth.targets import TARGETS, get_target

DATA = Path(__file__).parent / "data"

# memory_libmap / memory_map lines from the Yosys log of a direct-mapped 16-set ExCache on ECP5.
LIBMAP_LOG = r"""
using FF mapping for memory excache.$flatten\ctrl.$auto$proc_rom.cc:155:do_switch$1300
mapping memory excache.ctrl.tag_mem via $__TRELLIS_DPR16X4_
using FF mapping for memory excache.$flatten\handler.$auto$proc_rom.cc:155:do_switch$1296
using FF mapping for memory excache.$flatten\handler.$auto$proc_rom.cc:155:do_switch$1292
mapping memory excache.ctrl.data_mem via $__PDPW16KD_
Mapping memory $flatten\ctrl.$auto$proc_rom.cc:155:do_switch$1300 in module \excache:
"""


def test_memory_dump_inventory():
    mems = parse_memory_dump((DATA / "yosys_memories.il").read_text())
    data = mems["ctrl.data_mem"]
    assert (data.width, data.depth, data.read_ports, data.write_ports, data.async_read_ports) == (64, 128, 1, 1, 0)
    assert data.bits == 8192
    tag = mems["ctrl.tag_mem"]
    assert tag.depth == 16 and tag.async_read_ports == 0
    # The captured ExCache read its data old and its tags new during a write of the same address.
    assert (data.read_during_write, tag.read_during_write) == ("old", "new")
    roms = [m for name, m in mems.items() if "proc_rom" in name]
    assert len(roms) == 3 and all(m.write_ports == 0 and m.async_read_ports == 1 for m in roms)


def test_memory_mapping_from_log():
    mapping = parse_memory_mapping(LIBMAP_LOG, "excache")
    assert mapping["ctrl.data_mem"] == "$__PDPW16KD_"
    assert mapping["ctrl.tag_mem"] == "$__TRELLIS_DPR16X4_"
    assert mapping["$flatten\\ctrl.$auto$proc_rom.cc:155:do_switch$1300"] == "flip-flops"


def test_classify_memories_gives_reasons():
    mems = parse_memory_dump((DATA / "yosys_memories.il").read_text())
    result = {m.name: m for m in classify_memories(mems, parse_memory_mapping(LIBMAP_LOG, "excache"), TARGETS["ecp5"])}
    assert result["ctrl.data_mem"].mapped_to == "bram"
    # Block RAM memories say why too (issue 18: the inventory explains every memory).
    assert result["ctrl.data_mem"].reason.startswith("1 registered read + 1 write port, 8192 bits: fits the block "
                                                     "RAM's synchronous ports (0.4 x 18 Kbit of data)")
    assert result["ctrl.tag_mem"].mapped_to == "lutram"
    assert "small (896 bits)" in result["ctrl.tag_mem"].reason
    rom = result["$flatten\\ctrl.$auto$proc_rom.cc:155:do_switch$1300"]
    assert rom.mapped_to == "ff" and "read-only" in rom.reason


def test_async_read_port_is_named_as_the_reason():
    dump = """
  cell $mem_v2 \\netif.ring
    parameter \\MEMID "\\\\netif.ring"
    parameter \\WIDTH 65
    parameter \\SIZE 512
    parameter \\RD_PORTS 1
    parameter \\RD_CLK_ENABLE 1'0
    parameter \\WR_PORTS 1
  end
"""
    mems = parse_memory_dump(dump)
    assert mems["netif.ring"].async_read_ports == 1
    [ring] = classify_memories(mems, {"netif.ring": "$__TRELLIS_DPR16X4_"}, TARGETS["ecp5"])
    assert ring.mapped_to == "lutram" and "asynchronous" in ring.reason


def test_stat_json_cell_counts():
    cells = parse_stat_json((DATA / "yosys_stat.json").read_text())
    assert cells["TRELLIS_FF"] > 0 and cells["LUT4"] > 0
    assert set(cells) >= {"DP16KD", "TRELLIS_DPR16X4"}


def test_nextpnr_report_and_clock_name():
    util, fmax = parse_nextpnr_report(json.loads((DATA / "nextpnr_ecp5_report.json").read_text()))
    assert util["TRELLIS_COMB"] == (1977, 83640)
    assert util["DP16KD"] == (2, 208)
    # nextpnr renames the clock net after the buffers it inserts.
    assert clock_fmax(fmax) == pytest.approx(94.66, abs=0.01)
    assert clock_fmax({"clk$SB_IO_IN_$glb_clk": 109.6}) == 109.6
    assert clock_fmax({"clkdiv$x": 50.0}) is None
    assert clock_fmax({}) is None


def test_not_fit_from_utilisation_log():
    log = (DATA / "nextpnr_ice40_notfit.log").read_text()
    util = parse_nextpnr_utilisation(log)
    assert util["ICESTORM_RAM"] == (128, 32) and util["ICESTORM_LC"] == (2954, 7680)
    assert not_fit_reason(log) == "does not fit: ICESTORM_RAM 128/32"
    assert not_fit_reason("ERROR: something unrelated\n") is None


def test_unknown_target():
    with pytest.raises(ValueError, match="unknown target 'xc7'"):
        get_target("xc7")
    with pytest.raises(TypeError, match="not 5"):
        get_target(5)


def test_critical_path_of_the_default_excache():
    # nextpnr 0.11 --report of the default ExCache at 125 MHz: a clk path and an <async> one (from rst).
    report = json.loads((DATA / "nextpnr_ecp5_excache_report.json").read_text())
    path = parse_critical_path(report)
    assert path["start"] == "ctrl.tags.tag_mem.0.4" and path["start_kind"] == "block RAM"
    assert path["start_cell"] == "ctrl.tags.tag_mem.0.4.DOA15"
    assert path["end"] == "ctrl.tags.tag_mem.0.0" and path["end_cell"].endswith(".DIA10")
    assert path["logic_levels"] == 11 and path["carry_steps"] == 0
    assert path["delay_ns"] == pytest.approx(path["logic_ns"] + path["routing_ns"], abs=0.002)
    # 39.8 MHz achieved: the path is the clock period nextpnr reports, 25.2 ns.
    assert path["delay_ns"] == pytest.approx(1000 / clock_fmax(parse_nextpnr_report(report)[1]), rel=0.01)
    assert path["through"][0] == "ctrl.tags.tag_mem.0.4" and path["through"][-1] == "ctrl.tags.tag_mem.0.0"
    assert "cpu_resp__ready" in path["through"]


def test_critical_path_counts_carry_steps_apart_from_logic_levels():
    # A registered 32x32 multiply plus add: flip-flop -> MULT18X18D -> carry chains -> LUT -> flip-flop.
    path = parse_critical_path(json.loads((DATA / "nextpnr_ecp5_multiplier_report.json").read_text()))
    assert (path["start"], path["start_kind"], path["start_net"]) == ("ra", "flip-flop", "ra[12]")
    assert (path["end"], path["end_kind"], path["end_cell"]) == ("q", "flip-flop", "q_TRELLIS_FF_Q_10.DI")
    assert path["logic_levels"] == 4 and path["carry_steps"] == 11


def test_no_critical_path():
    assert parse_critical_path({"critical_paths": []}) is None
    assert parse_critical_path({}) is None
    # Only a path from an asynchronous input: not a clk-to-clk path.
    assert parse_critical_path({"critical_paths": [{"from": "<async>", "to": "posedge clk", "path": []}]}) is None
    assert cell_signal("ctrl.state_TRELLIS_FF_Q_3") == "ctrl.state"
    assert cell_signal("cpu_resp__ready_LUT4_D_Z[3]") == "cpu_resp__ready"
    # nextpnr packs LUT RAM into cells named <memory>.<bank>$DPRAM_COMB<n>.
    from emu.synth.reports import _cell_kind
    assert cell_signal("memory.tlb.tags.1.38$DPRAM_COMB3") == "memory.tlb.tags.1.38"
    assert _cell_kind("memory.tlb.tags.1.38$DPRAM_COMB3", "WRE") == "LUT RAM"
    assert cell_signal("owners.table.1.34_DO_1_LUT4_B_Z") == "owners.table.1.34"


def _result(fmax, path):
    from emu.synth.flow import SynthResult
    return SynthResult(block="excache", target="ecp5", device="LFE5U-85F-6BG381", luts=1, ffs=1, brams=0, lutram=0,
                       fmax_mhz=fmax, fits=True, freq_constraint_mhz=125.0, critical_path=path)


def test_critical_path_printed_for_blocks_below_the_constraint():
    from emu.synth.table import format_critical_paths, format_table
    path = parse_critical_path(json.loads((DATA / "nextpnr_ecp5_excache_report.json").read_text()))
    slow, fast = _result(39.8, path), _result(130.0, path)
    text = format_critical_paths([slow, fast])
    assert text.count("excache/ecp5:") == 1
    assert "25.2 ns (8.4 logic + 16.8 routing), 11 logic levels" in text
    assert "from ctrl.tags.tag_mem.0.4 (block RAM, ctrl.tags.tag_mem.0.4.DOA15)" in text
    assert "to   ctrl.tags.tag_mem.0.0 (block RAM, ctrl.tags.tag_mem.0.0.DIA10)" in text
    assert format_critical_paths([fast]) == ""
    assert format_critical_paths([fast], all_paths=True).count("excache/ecp5:") == 1
    assert "below the 125 MHz constraint" in format_table([slow])


def _mem_dump(transparent="1'0", collision_x="1'0", rd_addr="\\ra", wr_addr="\\wa", wr_ports=1):
    return f"""
  cell $mem_v2 \\\\m
    parameter \\\\MEMID "\\\\\\\\m"
    parameter \\\\WIDTH 16
    parameter \\\\SIZE 1024
    parameter \\\\RD_PORTS 1
    parameter \\\\RD_CLK_ENABLE 1'1
    parameter \\\\RD_TRANSPARENCY_MASK {transparent}
    parameter \\\\RD_COLLISION_X_MASK {collision_x}
    parameter \\\\WR_PORTS {wr_ports}
    connect \\\\RD_ADDR {rd_addr}
    connect \\\\WR_ADDR {wr_addr}
  end
"""


@pytest.mark.parametrize("dump, rule", [
    (_mem_dump(), "old"),                                       # an Amaranth read port
    (_mem_dump(transparent="1'1"), "new"),                      # transparent_for=(write port,)
    (_mem_dump(collision_x="1'1"), "undefined"),                # (* no_rw_check *)
    (_mem_dump(rd_addr="\\a", wr_addr="\\a"), ""),              # one RAM port reads and writes
    (_mem_dump(transparent="2'01", collision_x="2'00", wr_ports=2, wr_addr="{ \\w1 \\w0 }"), "mixed"),
    (_mem_dump(transparent="2'01", collision_x="2'10", wr_ports=2, wr_addr="{ \\w1 \\w0 }"), "new"),
], ids=["old", "new", "no_rw_check", "same-port", "mixed", "new-where-defined"])
def test_read_during_write_rule_from_the_dump(dump, rule):
    [mem] = parse_memory_dump(dump).values()
    assert mem.read_during_write == rule


def test_a_block_ram_with_a_bypass_says_so():
    [mem] = parse_memory_dump(_mem_dump()).values()
    [mem] = classify_memories({"m": mem}, {"m": "$__DP16KD_"}, TARGETS["ecp5"])
    assert "Yosys adds a bypass after it" in mem.reason and "the old data" in mem.reason
    [marked] = parse_memory_dump(_mem_dump(collision_x="1'1")).values()
    [marked] = classify_memories({"m": marked}, {"m": "$__DP16KD_"}, TARGETS["ecp5"])
    assert "no bypass" in marked.reason
