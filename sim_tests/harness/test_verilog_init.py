"""Memory initialisers written as loops (emu/harness/verilog_init.py) give exactly the same model.

* Textually: on Amaranth's Verilog of memories with runs of equal words, distinct words, an escaped memory
  name and a memory too small to compact, :func:`expand_loops` of the compacted text gives back the original
  character for character, the runs became loops and nothing else changed.
* In Verilator: the original and the compacted design are simulated side by side in one Verilator build and
  every word of every memory, read through their read ports, equals its initial value in both.
"""

import random
import subprocess

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from emu.harness.verilog_init import MIN_RUN, compact_initialisers, expand_loops
from emu.toolchain import verilator_bin, verilator_env
from sim_tests.lib.runner import default_seed

#: (name, width, depth, init) of the memories of the test design. "table" is a Verilog keyword: Yosys writes
#: it as an escaped identifier.
def _memories(rng):
    return [
        ("zeros", 272, 64, [0] * 64),                                   # one run of 64 wide words
        ("table", 9, 40, [5] * 20 + [1, 2, 3] + [7] * 17),             # a run, single words, a run
        ("mixed", 16, 48, [rng.randrange(1 << 16) for _ in range(16)] + [0xABCD] * 32),
        ("small", 8, 8, [0] * 8),           # below MIN_RUN: kept as it is ("small" is a keyword too)
    ]


class _Design(wiring.Component):
    """Memories with asynchronous read ports: ``addr`` selects the word of every memory at once."""

    def __init__(self, mems):
        self.mems = mems
        super().__init__({"addr": In(7), **{f"rd_{n}": Out(w) for n, w, _, _ in mems}})

    def elaborate(self, platform):
        m = Module()
        for name, width, depth, init in self.mems:
            m.submodules[name] = mem = memory.Memory(shape=width, depth=depth, init=init)
            rd = mem.read_port(domain="comb")
            wr = mem.write_port()   # a write port (never enabled) so the memory is not a ROM
            m.d.comb += [rd.addr.eq(self.addr), getattr(self, f"rd_{name}").eq(rd.data), wr.en.eq(0)]
        m.d.sync += Signal().eq(1)   # a clock domain for the write port
        return m


def _verilog(rng, name):
    mems = _memories(rng)
    return verilog.convert(_Design(mems), name=name, emit_src=False), mems


def test_compaction_is_exact_text():
    original, mems = _verilog(random.Random(default_seed("verilog-init")), "top")
    compact = compact_initialisers(original)
    assert expand_loops(compact) == original
    # zeros (64), table (20 and 17), mixed (32): four loops; the small memory and the single words stay.
    assert compact.count("begin : disagg_init_") == 4
    assert "\\small [7] = 8'h00;" in compact and "\\table [21] = 9'h002;" in compact
    assert "for (i = 23; i <= 39; i = i + 1)" in compact
    assert len(compact.splitlines()) < len(original.splitlines()) - 100


def test_compaction_keeps_short_and_broken_runs():
    text = "\n".join(["module m;", "  reg [7:0] a [3:0];", "  initial begin",
                      *(f"    a[{k}] = 8'h00;" for k in range(MIN_RUN - 1)),    # one short of a run
                      *(f"    b[{k}] = 8'h01;" for k in range(0, 2 * MIN_RUN, 2)),  # indices not consecutive
                      "  end", *(f"  c[{k}] = 8'h00;" for k in range(MIN_RUN)),  # outside an initial block
                      "endmodule"])
    assert compact_initialisers(text) == text
    with pytest.raises(ValueError, match="min_run must be at least 2"):
        compact_initialisers(text, min_run=1)


def test_compacted_model_has_the_same_memories(tmp_path):
    seed = default_seed("verilog-init-sim")
    original, mems = _verilog(random.Random(seed), "orig")
    compact = compact_initialisers(_verilog(random.Random(seed), "comp")[0])
    assert "disagg_init_" in compact
    names = [n for n, *_ in mems]
    depth = max(d for _, _, d, _ in mems)
    ports = lambda side: ", ".join([".clk(1'b0)", ".rst(1'b0)", ".addr(addr)",  # noqa: E731
                                    *(f".rd_{n}({side}_{n})" for n in names)])
    shows = "\n".join(f"      if (addr < {d}) $display(\"W {n} %0d %h %h\", addr, orig_{n}, comp_{n});"
                      for n, _, d, _ in mems)
    tb = "\n".join([
        "module tb;", "  reg [6:0] addr = 0;", "  integer k;",
        *(f"  wire [{w - 1}:0] orig_{n}, comp_{n};" for n, w, _, _ in mems),
        f"  orig u_orig({ports('orig')});", f"  comp u_comp({ports('comp')});",
        "  initial begin",
        f"    for (k = 0; k < {depth}; k = k + 1) begin",
        "      addr = k[6:0];", "      #1;", shows, "    end", "    $finish;", "  end", "endmodule"])
    (tmp_path / "orig.v").write_text(original)
    (tmp_path / "comp.v").write_text(compact)
    (tmp_path / "tb.v").write_text(tb)
    build = subprocess.run([str(verilator_bin()), "--binary", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                            "--top-module", "tb", "-Mdir", "obj", "-O0", "tb.v", "orig.v", "comp.v"],
                           cwd=tmp_path, env=verilator_env(), capture_output=True, text=True)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    run = subprocess.run([str(tmp_path / "obj" / "Vtb")], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    seen = {}
    for line in run.stdout.splitlines():
        if line.startswith("W "):
            _, name, k, orig, comp = line.split()
            seen[name, int(k)] = (int(orig, 16), int(comp, 16))
    # Every word of every memory read back from both models, equal to each other and to its initial value.
    expected = {(n, k): (v, v) for n, _, _, init in mems for k, v in enumerate(init)}
    assert seen == expected, f"seed {seed}"
