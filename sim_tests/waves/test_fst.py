"""``disagg waves check|show`` on FST: a whole-system run recorded by ``disagg run --waves``, a broken block's
FST recorded by Verilator under cocotb, and damaged files."""

import pytest

from emu.cli import main
from emu.toolchain import fst_available
from sim_tests.lib.runner import SimRun

from .stream_reg import StreamRegister

# A small system (32 KiB DRAM, 256 B pages, 4 KiB ExCache): its model builds in well under a minute.
SMALL_SYSTEM = [f"--set={kv}" for kv in (
    "cache.line_bytes=64", "cache.sets=16", "cache.ways=4", "cache.line_store=onchip", "tlb.entries=16", "tlb.ways=2", "memory.page_bytes=256",
    "memory.dram_bytes=32768", "memory.dram_latency=4", "link.latency=8", "network.window=4",
    "network.timeout=1024", "system.pid_width=3")]

needs_fst = pytest.mark.skipif(not fst_available(), reason="Verilator's FST writer needs liblz4-dev (make setup)")


def waves(capsys, *args):
    code = main(["waves", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_fst(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.fst"
    assert main(["run", "--quiet", "--workload", "zipfian", "-p", "n=300", "-p", "footprint=4096", *SMALL_SYSTEM,
                 "--waves", str(path), "--window", "0:2500"]) == 0
    assert path.read_bytes()[:1] == b"\x00"                     # an FST header block, not a VCD
    return path


@needs_fst
def test_check_reads_the_fst_of_disagg_run(run_fst, capsys):
    code, out, err = waves(capsys, "check", run_fst)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1].startswith(f"{run_fst}: ") and lines[-1].endswith("no violations")
    assert "2501 cycles of TOP.clk" in lines[-1]
    beats = {line.split()[1]: int(line.split(": ")[-1].split()[0]) for line in lines if line.startswith("  stream ")}
    # The CPU port, the links' AXI-Stream ports and the DRAM's AXI channels (wherever the DRAM is), found once.
    assert beats["TOP.cpu_req"] > 0 and beats["TOP.cpu_req"] >= beats["TOP.cpu_resp"] > 0
    # The link's stream, wherever the harness top puts the system (TOP.top.system.link_req since the harness
    # top wraps SystemTop).
    link = [n for n in beats if n.endswith(".link_req.m_axis")]
    assert len(link) == 1 and beats[link[0]] > 0, beats
    # The DRAM's read channel (a top-level port with the compiled DRAM, inside the memory component with the RTL
    # one); the MMU's internal arbiter ports are AXI channels too, and a write-only manager reads nothing.
    dram_reads = [n for n in beats if n.endswith("dram__ar") and "(axi;" in out.split(n, 1)[1].split("\n", 1)[0]]
    assert dram_reads and all(beats[n] > 0 for n in dram_reads), beats
    arbiter_reads = [n for n in beats if ".memory.m" in n and n.endswith("__ar")]
    assert arbiter_reads and sum(beats[n] for n in arbiter_reads) == sum(beats[n] for n in dram_reads), beats
    assert len(beats) >= 15


@needs_fst
def test_show_reads_the_fst_of_disagg_run(run_fst, capsys, tmp_path):
    code, out, err = waves(capsys, "show", run_fst, "--signals", "TOP.clk,TOP.cpu_req__valid,TOP.cpu_req__ready",
                           "--from", "0", "--max-cycles", "8", "--svg", tmp_path / "w.svg")
    assert code == 0, err
    assert "cpu_req__valid" in out and "clk" in out
    assert (tmp_path / "w.svg").read_text().startswith("<?xml")


@needs_fst
def test_a_damaged_fst_is_one_error_line(run_fst, capsys, tmp_path):
    cut = tmp_path / "cut.fst"
    cut.write_bytes(run_fst.read_bytes()[:4000])
    code, out, err = waves(capsys, "check", cut)
    assert code == 2 and err.count("\n") == 1 and "is not a readable FST file" in err and "Traceback" not in err


@needs_fst
def test_check_finds_the_fault_in_a_broken_blocks_fst(capsys):
    """The stream register with its valid dropped under backpressure, recorded as FST by Verilator."""
    sim = SimRun(block="waves_stream_reg", component_factory=lambda cfg: StreamRegister(cfg["width"]),
                 config={"width": 8}, test_module="sim_tests.waves.cocotb_stream_reg",
                 gtkw_signals=["clk", "rst", "o__valid", "o__ready"])
    sim.run(testcase="retracted_valid_is_caught", seed=1, waves=True)
    dump = sim.run_dir("retracted_valid_is_caught", waves=True) / "dump.fst"
    assert dump.exists()
    code, out, err = waves(capsys, "check", dump, "--max-shown", "1")
    assert code == 1, err
    violations = [line for line in out.splitlines() if line.startswith("VIOLATION ")]
    assert len(violations) == 1 and "o__valid: valid-retracted" in violations[0], out
    assert "payload-changed" not in out
