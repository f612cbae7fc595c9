"""The handshake checker and invariants on small recorded examples, broken and correct."""

import pytest

from emu.errors import DisaggError
from emu.waves import (MaxOutstanding, block_invariants, check_file, find_streams, load_vcd, parse_invariant,
                       register_block)

from .examples import PERIOD_PS, simulate_register, table_vcd
from .stream_reg import FAULT_MUTATE, FAULT_RETRACT


def rules(report):
    return [(v.rule, v.signal, v.cycle) for v in report.violations]


# --- recorded with amaranth.sim: the stream register, correct and with injected faults -------------------

def test_correct_register_passes(tmp_path):
    run = simulate_register(tmp_path / "ok.vcd")
    assert run["received"] == run["sent"][: len(run["received"])] and len(run["received"]) > 10
    report = check_file(tmp_path / "ok.vcd")
    assert report.ok, report.lines()
    assert {(s.short, s.convention) for s in report.streams} == {("i", "amaranth"), ("o", "amaranth")}
    # Backpressure did happen on the output, so the rules were exercised.
    o = next(s for s in report.streams if s.short == "o")
    v, r = report.cycles.sample(o.valid), report.cycles.sample(o.ready)
    assert any(a == "1" and b == "0" for a, b in zip(v, r))


def test_valid_dropped_early_is_caught(tmp_path):
    run = simulate_register(tmp_path / "drop.vcd", fault=FAULT_RETRACT, fault_from=10)
    assert run["received"] != run["sent"][: len(run["received"])]  # beats were really lost
    report = check_file(tmp_path / "drop.vcd")
    assert {r for r, _, _ in rules(report)} == {"valid-retracted"}
    assert all(sig == "bench.top.o__valid" and cyc > 10 for _, sig, cyc in rules(report))
    line = report.violations[0].format(report.cycles)
    assert line.startswith(f"{report.violations[0].time * 1e-6:g} ns (cycle {report.violations[0].cycle}) "
                           "bench.top.o__valid: valid-retracted: valid went 1 -> 0 while ready was 0")


def test_payload_changed_under_backpressure_is_caught(tmp_path):
    simulate_register(tmp_path / "mut.vcd", fault=FAULT_MUTATE, fault_from=10)
    report = check_file(tmp_path / "mut.vcd")
    assert {r for r, _, _ in rules(report)} == {"payload-changed"}
    v = report.violations[0]
    assert v.signal == "bench.top.o__payload"
    old, new = report.cycles.sample(report.cycles.wave.find("bench.top.o__payload"))[v.cycle - 1: v.cycle + 1]
    assert f"0x{int(old, 2):02x} -> 0x{int(new, 2):02x} while valid=1 and ready=0" in v.detail


# --- hand-written cycle tables (4-state values, other naming conventions) -----------------------------------

def test_x_on_valid_after_reset_is_caught_but_not_during_reset(tmp_path):
    path = table_vcd(tmp_path / "x.vcd", {
        "rst":        "1100000",
        "s__valid":   "xx0x001",
        "s__ready":   "z1111z1",
        "s__payload": [0, 0, 0, 0, 0, 0, 5],
    })
    report = check_file(path)
    assert rules(report) == [("x-valid", "top.s__valid", 3), ("x-ready", "top.s__ready", 5)]
    assert "valid is x out of reset" in report.violations[0].detail
    assert report.violations[0].time == 4 * PERIOD_PS  # edge of cycle 3


def test_x_run_is_reported_once(tmp_path):
    path = table_vcd(tmp_path / "x.vcd", {"s__valid": "0xxx0", "s__ready": "11111", "s__payload": [0] * 5})
    report = check_file(path, reset="")
    assert rules(report) == [("x-valid", "top.s__valid", 1)]


def test_correct_table_with_backpressure_passes(tmp_path):
    path = table_vcd(tmp_path / "ok.vcd", {
        "rst":        "1000000000",
        "s__valid":   "0111101110",
        "s__ready":   "0001100011",
        "s__payload": [9, 1, 1, 1, 2, 7, 3, 3, 3, 3],
    })
    report = check_file(path)
    assert report.ok, report.lines()


def test_violation_in_reset_is_ignored_and_reset_restarts(tmp_path):
    path = table_vcd(tmp_path / "r.vcd", {
        "rst":        "0011000",
        "s__valid":   "1100011",
        "s__ready":   "0000001",
        "s__payload": [1, 1, 1, 1, 1, 2, 2],
    })
    report = check_file(path)
    # Cycle 2 drops valid under backpressure, but reset is asserted there: not a violation.
    assert report.ok, report.lines()


def test_active_low_reset_is_detected(tmp_path):
    path = table_vcd(tmp_path / "n.vcd", {
        "aresetn":       "0011",
        "m_axis_tvalid": "1x10",
        "m_axis_tready": "0000",
        "m_axis_tdata":  [1, 2, 3, 3],
    })
    report = check_file(path)
    assert report.cycles.reset.leaf == "aresetn" and report.cycles.reset_active_low
    assert rules(report) == [("valid-retracted", "top.m_axis_tvalid", 3)]


def test_axi_stream_naming(tmp_path):
    path = table_vcd(tmp_path / "axis.vcd", {
        "s_axis_tvalid": "1110",
        "s_axis_tready": "0010",
        "s_axis_tdata":  [1, 1, 2, 0],
        "s_axis_tlast":  "0000",
    })
    report = check_file(path, reset="")
    (s,) = report.streams
    assert (s.name, s.convention, [t.leaf for t in s.payload]) == \
        ("top.s_axis", "axis", ["s_axis_tdata", "s_axis_tlast"])
    assert rules(report) == [("payload-changed", "top.s_axis_tdata", 2)]


def test_axi4_channel_naming(tmp_path):
    table = {}
    for ch, payload in (("aw", "addr"), ("w", "data"), ("b", "resp"), ("ar", "addr"), ("r", "data")):
        table[f"m_axi_{ch}valid"] = "0110"
        table[f"m_axi_{ch}ready"] = "0010"
        table[f"m_axi_{ch}{payload}"] = [0, 4, 4, 0]
    table["m_axi_arvalid"] = "0100"  # the read address is withdrawn before it is taken
    path = table_vcd(tmp_path / "axi.vcd", table)
    report = check_file(path, reset="")
    assert sorted(s.short for s in report.streams) == ["m_axi_ar", "m_axi_aw", "m_axi_b", "m_axi_r", "m_axi_w"]
    assert all(s.convention == "axi" and len(s.payload) == 1 for s in report.streams)
    assert rules(report) == [("valid-retracted", "top.m_axi_arvalid", 2)]


def test_aliases_are_checked_once(tmp_path):
    # Verilator dumps each port both in TOP and in the top module, with one identifier code.
    text = ("$timescale 1ps $end\n$scope module TOP $end\n$var wire 1 ! clk $end\n$var wire 1 \" s__valid $end\n"
            "$var wire 1 # s__ready $end\n$scope module dut $end\n$var wire 1 ! clk $end\n"
            "$var wire 1 \" s__valid $end\n$var wire 1 # s__ready $end\n$upscope $end\n$upscope $end\n"
            "$enddefinitions $end\n#0\n0!\n1\"\n0#\n#10\n1!\n0\"\n#20\n0!\n#30\n1!\n")
    path = tmp_path / "alias.vcd"
    path.write_text(text)
    report = check_file(path, reset="")
    assert [s.name for s in report.streams] == ["TOP.s"]
    assert rules(report) == [("valid-retracted", "TOP.s__valid", 1)]


def test_verilator_rootio_copies_are_checked_once(tmp_path):
    # Verilator 5.048's VCD: the top ports in "$rootio" and again in the top module, with other codes.
    text = ("$timescale 1ps $end\n$scope module $rootio $end\n$var wire 1 ! clk $end\n"
            "$var wire 1 \" s__valid $end\n$var wire 1 # s__ready $end\n$upscope $end\n"
            "$scope module dut $end\n$var wire 1 $ clk $end\n$var wire 1 % s__valid $end\n"
            "$var wire 1 & s__ready $end\n$upscope $end\n$enddefinitions $end\n"
            "#0\n0!\n1\"\n0#\n0$\n1%\n0&\n#10\n1!\n0\"\n1$\n0%\n#20\n0!\n0$\n#30\n1!\n1$\n")
    path = tmp_path / "rootio.vcd"
    path.write_text(text)
    report = check_file(path, reset="")
    assert [s.name for s in report.streams] == ["dut.s"]
    assert rules(report) == [("valid-retracted", "dut.s__valid", 1)]


def test_bus_with_bit_range_in_name(tmp_path):
    text = ("$timescale 1 ns $end\n$scope module t $end\n$var wire 1 ! clk $end\n$var wire 1 \" a__valid $end\n"
            "$var wire 1 # a__ready $end\n$var wire 12 $ a__payload [11:0] $end\n$upscope $end\n"
            "$enddefinitions $end\n#0\n0!\n1\"\n0#\nb101 $\n#5\n1!\nb1x01 $\n#10\n0!\n#15\n1!\n")
    path = tmp_path / "range.vcd"
    path.write_text(text)
    report = check_file(path, reset="")
    assert rules(report) == [("payload-changed", "t.a__payload", 1)]
    assert "0x005 -> 0x00x" in report.violations[0].detail


# --- invariants ------------------------------------------------------------------------------------------

def _req_resp(tmp_path, req, resp):
    n = len(req)
    return table_vcd(tmp_path / "rr.vcd", {
        "rst": "1" + "0" * (n - 1),
        "cpu_req__valid": req, "cpu_req__ready": "1" * n, "cpu_req__payload": [0] * n,
        "cpu_resp__valid": resp, "cpu_resp__ready": "1" * n, "cpu_resp__payload": [0] * n,
    })


def test_outstanding_within_limit_passes(tmp_path):
    path = _req_resp(tmp_path, "0111000100", "0001110100")
    report = check_file(path, invariants=[MaxOutstanding("cpu_req", "cpu_resp", 3)])
    assert report.ok, report.lines()


def test_too_many_outstanding_is_caught(tmp_path):
    path = _req_resp(tmp_path, "0111100000", "0000011110")
    report = check_file(path, invariants=[MaxOutstanding("cpu_req", "cpu_resp", 3)])
    assert rules(report) == [("too-many-outstanding", "top.cpu_req", 4)]
    assert "4 cpu_req beats outstanding (limit 3)" in report.violations[0].detail


def test_response_without_request_is_caught(tmp_path):
    path = _req_resp(tmp_path, "0100000000", "0011000000")
    report = check_file(path, invariants=[MaxOutstanding("cpu_req", "cpu_resp")])
    assert rules(report) == [("response-without-request", "top.cpu_resp", 3)]
    assert "2 cpu_resp beats after only 1 cpu_req beats" in report.violations[0].detail


def test_request_answered_in_the_same_cycle_is_not_outstanding(tmp_path):
    path = _req_resp(tmp_path, "0111", "0111")
    assert check_file(path, invariants=[MaxOutstanding("cpu_req", "cpu_resp", 1)]).ok


def test_invariant_on_missing_streams_is_an_error(tmp_path):
    path = _req_resp(tmp_path, "0100", "0010")
    with pytest.raises(DisaggError, match="no streams 'net_tx__hdr' and 'net_rx__hdr'"):
        check_file(path, invariants=[MaxOutstanding("net_tx__hdr", "net_rx__hdr")])


def test_invariant_specs_and_validation():
    inv = parse_invariant("outstanding:cpu_req:cpu_resp:4")
    assert (inv.request, inv.response, inv.limit) == ("cpu_req", "cpu_resp", 4)
    assert parse_invariant("outstanding:a:b").limit is None
    for bad in ("outstanding:a", "outstanding:a:b:0", "outstanding:a:b:x", "count:a:b", "outstanding::b"):
        with pytest.raises(DisaggError, match="bad invariant"):
            parse_invariant(bad)
    with pytest.raises(ValueError, match="not 0"):
        MaxOutstanding("a", "b", 0)
    with pytest.raises(TypeError, match="not 3"):
        MaxOutstanding(3, "b")


def test_block_registry(tmp_path):
    register_block("waves_test_block", lambda p: [MaxOutstanding("cpu_req", "cpu_resp", p.get("depth", 1))])
    (inv,) = block_invariants("waves_test_block", {"depth": 2})
    assert inv.limit == 2
    path = _req_resp(tmp_path, "0110000", "0000110")
    assert check_file(path, invariants=block_invariants("waves_test_block", {"depth": 2})).ok
    assert not check_file(path, invariants=block_invariants("waves_test_block")).ok
    with pytest.raises(DisaggError, match="no invariants registered for block 'nope'"):
        block_invariants("nope")
    with pytest.raises(TypeError):
        register_block("", lambda p: [])


def test_no_streams_is_an_error(tmp_path):
    path = table_vcd(tmp_path / "plain.vcd", {"a": "0101"})
    with pytest.raises(DisaggError, match="no valid/ready streams"):
        check_file(path)


def test_streams_found_in_amaranth_field_dump(tmp_path):
    # amaranth.sim also dumps struct fields as escaped names with dots: they stay leaf names.
    simulate_register(tmp_path / "ok.vcd", cycles=4)
    wave = load_vcd(tmp_path / "ok.vcd")
    assert {s.name for s in find_streams(wave)} == {"bench.top.i", "bench.top.o"}


def test_excache_invariants_are_registered():
    from hw.processor.excache_controller import HIT_LATENCY
    invs = block_invariants("excache")
    assert [(i.request, i.response, i.limit) for i in invs] == [
        ("cpu_req", "cpu_resp", HIT_LATENCY), ("net_tx__hdr", "net_rx__hdr", 2)]
    assert block_invariants("excache", {"cpu_outstanding": 5})[0].limit == 5
