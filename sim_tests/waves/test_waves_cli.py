"""``disagg waves check`` and ``disagg waves show``: output, exit codes, one-line errors."""

import subprocess
import sys

import pytest

from emu.cli import main

from .examples import simulate_register, table_vcd
from .stream_reg import FAULT_RETRACT
from .test_render import EXPECTED, TABLE


def run(capsys, *args):
    code = main(["waves", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, out, err, text):
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("disagg: error: ") and text in err, err
    assert "Traceback" not in err


@pytest.fixture
def table(tmp_path):
    return table_vcd(tmp_path / "w.vcd", TABLE, widths={"s__payload": 12})


def test_check_clean_file_exits_0(tmp_path, capsys):
    simulate_register(tmp_path / "ok.vcd")
    code, out, _ = run(capsys, "check", tmp_path / "ok.vcd")
    assert code == 0
    assert out.splitlines()[-1].endswith("2 streams, 40 cycles of bench.top.clk (40 out of reset; "
                                         "reset bench.top.rst): no violations")
    assert "VIOLATION" not in out


def test_check_broken_file_exits_1_with_time_signal_values(tmp_path, capsys):
    simulate_register(tmp_path / "bad.vcd", fault=FAULT_RETRACT, fault_from=10)
    code, out, _ = run(capsys, "check", tmp_path / "bad.vcd", "--max-shown", "2")
    assert code == 1
    lines = out.splitlines()
    violations = [line for line in lines if line.startswith("VIOLATION ")]
    assert len(violations) == 2
    assert violations[0] == ("VIOLATION 115 ns (cycle 11) bench.top.o__valid: valid-retracted: valid went 1 -> 0 "
                             "while ready was 0 (beat not taken; stream bench.top.o)")
    assert "  ... 4 more valid-retracted violations not shown" in lines
    assert lines[-1].endswith("6 violations (6 valid-retracted)")


def test_check_with_invariant_spec(tmp_path, capsys):
    path = table_vcd(tmp_path / "rr.vcd", {
        "rst": "1000000", "cpu_req__valid": "0111100", "cpu_req__ready": "1111111",
        "cpu_resp__valid": "0000011", "cpu_resp__ready": "1111111",
    })
    code, out, _ = run(capsys, "check", path, "--invariant", "outstanding:cpu_req:cpu_resp:3")
    assert code == 1
    assert "  invariant outstanding(cpu_req->cpu_resp, max 3): cpu_resp beats never exceed cpu_req beats; " \
           "at most 3 outstanding" in out
    assert "too-many-outstanding: 4 cpu_req beats outstanding (limit 3)" in out
    code, out, _ = run(capsys, "check", path, "--invariant", "outstanding:cpu_req:cpu_resp:4")
    assert code == 0


def test_show_prints_the_text_rendering_and_writes_svg(table, tmp_path, capsys):
    svg = tmp_path / "out" / "w.svg"
    code, out, _ = run(capsys, "show", table, "--signals", "s__*,rst,fault", "--from", "20ns", "--to", "60000",
                       "--svg", svg)
    assert code == 0
    assert out == EXPECTED + f"wrote {svg}\n"
    assert svg.read_text().startswith("<?xml")


@pytest.mark.parametrize("args, message", [
    (["check", "{missing}"], "no such file: "),
    (["show", "{missing}", "--signals", "x"], "no such file: "),
    (["check", "{text}"], "is not a VCD file (no $var/$enddefinitions header)"),
    (["check", "{binary}"], "is not a readable FST file"),
    (["check", "{folder}"], "is a folder, not a waveform file"),
    (["show", "{table}", "--signals", "nope*"], "no signal matches 'nope*'"),
    (["show", "{table}", "--signals", ","], "bad signal pattern ','"),
    (["show", "{table}", "--signals", "rst", "--from", "60ns", "--to", "20ns"], "the window starts after it ends"),
    (["show", "{table}", "--signals", "rst", "--from", "soon"], "bad time 'soon'"),
    (["show", "{table}", "--signals", "rst", "--max-cycles", "0"], "the cycle limit must be a positive integer"),
    (["check", "{table}", "--clock", "ck"], "no clock named 'ck'"),
    (["check", "{table}", "--reset", "s__payload"], "reset top.s__payload is 12 bits wide, not 1"),
    (["check", "{table}", "--invariant", "outstanding:a"], "bad invariant 'outstanding:a'"),
    (["check", "{table}", "--invariant", "outstanding:a:b"], "invariant outstanding(a->b): no streams 'a' and 'b'"),
    (["check", "{table}", "--block", "nosuchblock"], "no invariants registered for block 'nosuchblock'"),
    (["check", "{table}", "--max-shown", "0"], "--max-shown must be at least 1"),
])
def test_bad_input_is_one_error_line(table, tmp_path, capsys, args, message):
    (tmp_path / "notes.vcd").write_text("hello\n")
    (tmp_path / "dump.fst").write_bytes(b"\x00\x01\x02FST")
    files = {"missing": tmp_path / "nope.vcd", "text": tmp_path / "notes.vcd", "binary": tmp_path / "dump.fst",
             "folder": tmp_path, "table": table}
    code, out, err = run(capsys, *[a.format(**files) for a in args])
    assert_one_error_line(code, out, err, message)


def test_bad_flag_and_missing_action_exit_2():
    for args in (["waves"], ["waves", "show", "x.vcd"], ["waves", "check", "x.vcd", "--bogus"]):
        r = subprocess.run([sys.executable, "-m", "emu.cli", *args], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
