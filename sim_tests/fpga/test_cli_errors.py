"""``disagg synth`` rejects bad input with one error line before any tool runs."""

import json
import subprocess
import sys

import pytest

from emu.cli import main
from emu.synth.table import format_table, write_json
from emu.synth.flow import SynthResult
from hw.catalog import BLOCKS


@pytest.fixture(autouse=True)
def catalog(monkeypatch):
    monkeypatch.setitem(BLOCKS, "excache", ("hw.processor.excache", "default_top"))


def _error(capsys, *argv):
    code = main(["synth", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("disagg: error: ")
    assert "Traceback" not in err
    return lines[-1]


def test_unknown_block(capsys):
    assert "unknown block 'nope'" in _error(capsys, "--block", "nope")


def test_bad_target_is_one_line():
    result = subprocess.run([sys.executable, "-m", "emu.cli", "synth", "--target", "xc7"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid choice: 'xc7'" in result.stderr


def test_missing_config_file(capsys, tmp_path):
    assert "cannot read configuration file" in _error(capsys, "--config", str(tmp_path / "none.json"))


def test_config_not_json(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{ways: 2")
    assert "is not valid JSON" in _error(capsys, "--config", str(path))


def test_config_names_unknown_block(capsys, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"cpu": {}}))
    assert "unknown block 'cpu'" in _error(capsys, "--config", str(path))


def test_config_bad_parameter_value(capsys, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"excache": {"sets": 3}}))
    assert "bad configuration for excache: sets must be a power of two" in _error(capsys, "--config", str(path))


def test_config_unknown_parameter(capsys, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"excache": {"colour": "red"}}))
    assert "bad configuration for excache" in _error(capsys, "--config", str(path))


def test_config_must_be_objects(capsys, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([1, 2]))
    assert "must hold a JSON object" in _error(capsys, "--config", str(path))
    path.write_text(json.dumps({"excache": 4}))
    assert "must be a JSON object" in _error(capsys, "--config", str(path))


def test_bad_frequency(capsys):
    assert "--freq must be a positive frequency" in _error(capsys, "--freq", "-5")


def test_bad_timeout(capsys):
    assert "--timeout must be a positive number of seconds, not 0.0" in _error(capsys, "--timeout", "0")


def _result(**kw):
    base = dict(block="mmu", target="ice40", device="iCE40HX8K-CT256", luts=9000, ffs=4000, brams=40,
                lutram=0, fmax_mhz=None, fits=False, note="does not fit: ICESTORM_LC 9000/7680")
    base.update(kw)
    return SynthResult(**base)


def test_table_shows_a_design_that_does_not_fit(tmp_path):
    ok = _result(block="excache", target="ecp5", device="LFE5U-85F-6BG381", luts=1977, ffs=698, brams=2,
                 lutram=14, fmax_mhz=94.7, fits=True, note="", freq_constraint_mhz=100.0)
    text = format_table([ok, _result()])
    lines = text.splitlines()
    assert lines[0].split() == ["block", "target", "LUTs", "FFs", "BRAMs", "LUT-RAM", "fmax", "MHz", "note"]
    assert lines[2].split()[:7] == ["excache", "ecp5", "1977", "698", "2", "14", "94.7"]
    assert "below the 100 MHz constraint" in lines[2]
    assert lines[3].split()[:7] == ["mmu", "ice40", "9000", "4000", "40", "0", "-"]
    assert lines[3].endswith("does not fit: ICESTORM_LC 9000/7680")
    out = tmp_path / "r.json"
    write_json([ok, _result()], out)
    rows = json.loads(out.read_text())
    assert [r["block"] for r in rows] == ["excache", "mmu"]
    assert {"block", "target", "luts", "ffs", "brams", "fmax_mhz", "lutram", "fits"} <= set(rows[0])


def test_small_needs_a_target_that_has_a_small_configuration(capsys):
    assert "--small has configurations for ice40 only; add --target ice40" in _error(capsys, "--small")


def test_small_and_config_exclude_each_other(capsys, tmp_path):
    config = tmp_path / "c.json"
    config.write_text("{}")
    assert "--small and --config both" in _error(capsys, "--small", "--target", "ice40", "--config", str(config))


def test_seed_out_of_range(capsys):
    assert "--seed must be an integer from 0 to 2147483647, not -1" in _error(capsys, "--seed", "-1")
    assert "not 2147483648" in _error(capsys, "--seed", "2147483648")


def test_seed_given_twice(capsys):
    assert "--seed 3 is given more than once" in _error(capsys, "--seed", "3", "1", "3")


def test_several_seeds_only_for_block_runs(capsys):
    assert "give one --seed with --sweep" in _error(capsys, "--sweep", "--seed", "1", "2")
    assert "give one --seed with --library" in _error(capsys, "--library", "--seed", "1", "2")
    assert "--seed is for the blocks' place and route" in _error(capsys, "--board", "--seed", "2")


def test_no_bram_outreg_is_for_block_runs(capsys):
    assert "--no-bram-outreg is for the blocks' place and route" in _error(capsys, "--board", "--no-bram-outreg")


def _placed(seed, fmax, **kw):
    base = dict(block="mmu", target="ecp5", device="LFE5U-85F-6BG381", luts=8845, ffs=3792, brams=0, lutram=247,
                fmax_mhz=fmax, fits=True, note="", freq_constraint_mhz=125.0, seed=seed)
    return _result(**{**base, **kw})


def test_several_seeds_get_a_seed_column_and_a_summary():
    from emu.synth.table import format_markdown, format_seed_summary
    rows = [_placed(1, 66.3), _placed(2, 79.0), _placed(3, 70.5)]
    lines = format_table(rows).splitlines()
    assert lines[0].split()[:4] == ["block", "target", "seed", "LUTs"]
    assert [line.split()[2] for line in lines[2:]] == ["1", "2", "3"]
    assert [line.split()[7] for line in lines[2:]] == ["66.3", "79.0", "70.5"]
    assert format_markdown(rows).splitlines()[0].startswith("| block | target | seed | LUTs |")
    assert format_seed_summary(rows).splitlines() == [
        "fmax over seeds:", "  mmu/ecp5: fmax min 66.3, median 70.5, max 79.0 MHz over seeds 1, 2, 3"]
    # Two seeds: the median is their mean; a row without fmax (did not finish) is counted apart.
    late = _placed(4, None, finished=False, luts=None)
    assert format_seed_summary([rows[0], rows[1], late]).splitlines()[1] == (
        "  mmu/ecp5: fmax min 66.3, median 72.7, max 79.0 MHz over seeds 1, 2, 4 "
        "(1 without fmax: did not fit or did not finish)")


def test_one_seed_keeps_the_plain_table():
    from emu.synth.table import format_seed_summary
    rows = [_placed(1, 66.3), _placed(1, 94.7, block="excache")]
    assert format_table(rows).splitlines()[0].split()[:3] == ["block", "target", "LUTs"]
    assert format_seed_summary(rows) == ""


def test_moved_flip_flops_and_bypassed_rams_are_listed_once_per_block():
    from emu.synth.table import format_memories, format_output_registers
    ram = {"name": "tags", "depth": 64, "width": 216, "bits": 13824, "mapped_to": "bram", "cell": "$__PDPW16KD_",
           "read_ports": 1, "write_ports": 1, "async_read_ports": 0, "reason": "", "read_during_write": "new"}
    rows = [_placed(1, 90.0, outreg_ffs=64, outreg_ports=8, memories=[ram]),
            _placed(2, 95.0, outreg_ffs=64, outreg_ports=8, memories=[ram])]
    assert format_output_registers(rows).splitlines() == [
        "block RAM output registers (not counted in FFs):",
        "  mmu/ecp5: 64 flip-flops into the output registers of 8 read ports"]
    assert format_output_registers([_placed(1, 90.0)]) == ""
    assert format_memories(rows).splitlines() == [
        "block RAM with a read-during-write bypass:",
        "  mmu/ecp5: tags: a read during a write of the same address returns the new data, through a bypass "
        "after the RAM (see --memories)"]
    assert format_memories([_placed(1, 90.0, memories=[{**ram, "read_during_write": "undefined"}])]) == ""
