"""Move the flip-flops after an ECP5 block RAM's read port into the RAM's own output register.

An ECP5 block RAM (DP16KD) has an optional output register on each port (``REGMODE_A``/``REGMODE_B`` =
``"OUTREG"``). Without it the read data leaves the RAM's read latch with a clock-to-out of 5.83 ns on
the -6 grade (nextpnr's timing database for ``NOREG``), most of an 8 ns cycle before any logic. With it
the latch feeds the output register on the next clock edge, the clock-to-out is 0.96 ns, and the fabric
flip-flop that would have held the data is gone. Vendor synthesis for ECP5
moves a register that follows a block RAM into it; Yosys 0.70's ``synth_ecp5`` does not (its block RAM
library maps no output register), so a design that registers its RAM output pays ``NOREG``'s
clock-to-out plus a route into the fabric. This pass does the move on Yosys' mapped netlist::

    Yosys --write_json--> netlist.json --absorb_output_registers--> netlist.json --> nextpnr

A read port is converted only when the move cannot change what the design computes:

- the port is in ``NOREG`` mode and its ``RST`` is tied to 0 (``RST`` clears the output register);
- every data output of the port that is used drives exactly one input, the ``DI`` of a ``TRELLIS_FF``
  and nothing else (no other cell, no module port);
- each of those flip-flops is clocked by the port's clock on the same edge (neither clock inverted);
- each has no set or reset (``LSR`` tied to 0) and starts at 0 (``REGSET = "RESET"``), as the output
  register does, and no ``GSR``/``SGSR`` cell can reset it later;
- all of them have the same clock enable, or none: it becomes the port's output clock enable ``OCE``.

Then ``REGMODE`` becomes ``OUTREG``, ``OCE`` takes the flip-flops' clock enable, each data output drives
the net its flip-flop's ``Q`` drove, and the flip-flops are deleted. The read latency is unchanged: the
latch loads on the read clock edge (with the port's ``CE``), the output register on the next one (with
``OCE``), exactly as the fabric flip-flop did.

In the 36-bit pseudo-dual-port mode (``DATA_WIDTH_A = 36``) port A writes and port B reads through
both ``DOA`` and ``DOB``; nextpnr times all of those outputs in the ``CLKB`` domain and gives a
``PDPW16KD``'s single ``REGMODE`` to both ports, so the pass converts the two halves together, checks the
flip-flops against ``CLKB`` and drives both ``OCEA`` and ``OCEB``.

Only ``write_json``'s format is read: ``modules -> cells -> {type, parameters, port_directions,
connections}``, where a connection is a list of net numbers or the constants ``"0"``/``"1"``/``"x"``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AbsorbedPort", "absorb_output_registers", "absorb_output_registers_in_file"]

#: Output pins of one DP16KD port.
DATA_OUTPUTS = 18

#: Cells that can reset every flip-flop whose GSR parameter is enabled.
GLOBAL_RESET_CELLS = ("GSR", "SGSR")


@dataclass(frozen=True)
class AbsorbedPort:
    """One block RAM read port whose output flip-flops were moved into its output register.

    Attributes
    ----------
    ram : str
        The DP16KD cell's name in the netlist (Yosys names it after the memory, e.g. ``data_mem.0.0``).
    port : str
        ``"A"`` or ``"B"``; ``"B"`` for a 36-bit pseudo-dual-port RAM, whose read port is B.
    flip_flops : int
        How many fabric flip-flops were removed (the data outputs in use).
    clock_enable : str
        ``"1"`` if the flip-flops loaded every cycle, otherwise ``"net <n>"``.
    """
    ram: str
    port: str
    flip_flops: int
    clock_enable: str


def _param_int(value) -> int:
    """A Yosys JSON parameter as an integer (written as a binary string, or as a number)."""
    if isinstance(value, int):
        return value
    return int(str(value).strip(), 2)


def _param_str(value) -> str:
    # write_json marks a string that looks like a bit pattern with a trailing space ("1 ").
    return str(value).strip()


class _Netlist:
    """Drivers and loads of every net bit of one module."""

    def __init__(self, module: dict):
        self.cells = module["cells"]
        self.loads = defaultdict(list)   # net bit -> [(cell, port)]
        for name, cell in self.cells.items():
            for port, bits in cell["connections"].items():
                if cell["port_directions"].get(port) != "output":
                    for bit in bits:
                        self.loads[bit].append((name, port))
        self.port_bits = {bit for port in module.get("ports", {}).values() for bit in port["bits"]}
        self.global_reset = any(c["type"] in GLOBAL_RESET_CELLS for c in self.cells.values())

    def single(self, cell: dict, port: str):
        """The one net bit (or constant) on a one-bit port, ``None`` if it is not connected."""
        bits = cell["connections"].get(port)
        return bits[0] if bits else None


def _is_pdp(ram: dict) -> bool:
    """A 36-bit pseudo-dual-port RAM (nextpnr's test: port A 36 bits wide)."""
    return _param_int(ram["parameters"].get("DATA_WIDTH_A", 18)) == 36


def _read_outputs(ram: dict, port: str) -> list[str]:
    if port == "B" and _is_pdp(ram):
        return [f"DOA{i}" for i in range(DATA_OUTPUTS)] + [f"DOB{i}" for i in range(DATA_OUTPUTS)]
    return [f"DO{port}{i}" for i in range(DATA_OUTPUTS)]


def _output_flip_flops(net: _Netlist, ram_name: str, port: str):
    """The (pin, flip-flop name) pairs of a convertible port and their clock enable, or ``None``."""
    ram = net.cells[ram_name]
    params = ram["parameters"]
    pdp = _is_pdp(ram)
    if pdp and port == "A":
        return None  # the write port of a pseudo-dual-port RAM has no outputs of its own
    regmodes = ("REGMODE_A", "REGMODE_B") if pdp else (f"REGMODE_{port}",)
    if any(_param_str(params.get(r, "NOREG")) != "NOREG" for r in regmodes):
        return None
    resets = ("RSTA", "RSTB") if pdp else (f"RST{port}",)
    if any(net.single(ram, r) not in (None, "0") for r in resets):
        return None
    if _param_str(params.get(f"CLK{port}MUX", f"CLK{port}")) != f"CLK{port}":
        return None
    clock = net.single(ram, f"CLK{port}")
    if clock in (None, "0", "1", "x"):
        return None
    pairs, enables = [], set()
    for pin in _read_outputs(ram, port):
        bit = net.single(ram, pin)
        if bit is None or isinstance(bit, str):
            continue
        loads = net.loads.get(bit, [])
        if not loads and bit not in net.port_bits:
            continue  # an unused output
        if len(loads) != 1 or bit in net.port_bits:
            return None
        ff_name, ff_port = loads[0]
        ff = net.cells[ff_name]
        if ff["type"] != "TRELLIS_FF" or ff_port != "DI":
            return None
        ff_params = ff["parameters"]
        if net.single(ff, "CLK") != clock or _param_str(ff_params.get("CLKMUX", "CLK")) != "CLK":
            return None
        if net.single(ff, "LSR") not in (None, "0") or _param_str(ff_params.get("REGSET", "RESET")) != "RESET":
            return None
        if net.global_reset and _param_str(ff_params.get("GSR", "ENABLED")) != "DISABLED":
            return None
        cemux = _param_str(ff_params.get("CEMUX", "CE"))
        if cemux == "1":
            enables.add("1")
        elif cemux == "CE":
            enable = net.single(ff, "CE")
            enables.add("1" if enable in (None, "1") else enable)
        else:
            return None  # an inverted or constant-0 enable: not worth the cases
        pairs.append((pin, ff_name))
    if not pairs or len(enables) != 1:
        return None
    return pairs, enables.pop()


def absorb_output_registers(netlist: dict, top: str) -> list[AbsorbedPort]:
    """Convert, in place, every DP16KD read port of module ``top`` whose output flip-flops can move into it.

    Parameters
    ----------
    netlist : dict
        Yosys' ``write_json`` netlist, as loaded by :func:`json.load`; modified in place.
    top : str
        The module to work on (the design's top, flattened by ``synth_ecp5``).

    Returns
    -------
    list of AbsorbedPort
        The ports converted, in netlist order; empty if none could be.
    """
    if not isinstance(netlist, dict) or top not in netlist.get("modules", {}):
        raise ValueError(f"the netlist has no module {top!r}")
    module = netlist["modules"][top]
    net = _Netlist(module)
    converted = []
    for ram_name in [n for n, c in module["cells"].items() if c["type"] == "DP16KD"]:
        for port in "AB":
            found = _output_flip_flops(net, ram_name, port)
            if found is None:
                continue
            pairs, enable = found
            ram = module["cells"][ram_name]
            pdp = port == "B" and _is_pdp(ram)
            for pin, ff_name in pairs:
                ram["connections"][pin] = list(module["cells"][ff_name]["connections"]["Q"])
                del module["cells"][ff_name]
            for side in ("A", "B") if pdp else (port,):
                ram["parameters"][f"REGMODE_{side}"] = "OUTREG"
                ram["connections"][f"OCE{side}"] = [enable]
            converted.append(AbsorbedPort(ram=ram_name, port=port, flip_flops=len(pairs),
                                          clock_enable="1" if enable == "1" else f"net {enable}"))
    return converted


def absorb_output_registers_in_file(path: Path, top: str) -> list[AbsorbedPort]:
    """:func:`absorb_output_registers` on a netlist file; the file is rewritten only if a port was converted,
    so a design without such a port reaches nextpnr byte for byte as Yosys wrote it."""
    path = Path(path)
    netlist = json.loads(path.read_text())
    converted = absorb_output_registers(netlist, top)
    if converted:
        path.write_text(json.dumps(netlist))
    return converted
