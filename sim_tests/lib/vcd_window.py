"""Record a short VCD window of chosen DUT signals from a cocotb test, and check it.

Verilator's ``--trace`` dumps every signal of the whole run and slows the model several-fold, so the
default test runs do not trace. Instead a test records only the streams it wants checked, for a
bounded number of cycles, from Python::

    window = VcdWindow(dut, "excache.window.vcd", streams=["cpu_req", "cpu_resp"], end=2000)
    window.start()
    ...                       # drive the randomized traffic
    window.check(invariants=[MaxOutstanding("cpu_req", "cpu_resp")])   # AssertionError on violations

The window samples the signals at every rising clock edge in cycles ``[start, end)``, counted from the
first edge after :meth:`VcdWindow.start`, and writes them with pyvcd. Values are read at the edge (what
the flip-flops sample) and written at the previous edge's time, so the file reads like a simulator's
dump: a signal's value just before each rising edge is the value sampled there. The same
:mod:`emu.waves` checker as ``disagg waves check`` then runs on the file. A window named
``*.window.vcd`` in the test's run folder is also gathered into ``build/failures/<test>/`` when the
test fails.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

__all__ = ["VcdWindow", "check_vcd", "stream_signal_names"]


def stream_signal_names(dut, name: str) -> list[str]:
    """``valid``, ``ready`` and ``payload`` signal names of Amaranth stream ``name`` on ``dut``
    (those that exist: an always-ready stream has no ``__ready``)."""
    names = [f"{name}__{part}" for part in ("valid", "ready", "payload") if hasattr(dut, f"{name}__{part}")]
    if not names or not names[0].endswith("__valid"):
        raise ValueError(f"DUT has no stream {name!r} (no {name}__valid)")
    return names


def _bits(handle) -> str:
    return str(handle.value).lower().replace("u", "x").replace("w", "x").replace("-", "x") \
        .replace("l", "0").replace("h", "1")


class VcdWindow:
    """Samples DUT signals at each rising clock edge in cycles ``[start, end)`` and writes a VCD.

    Parameters
    ----------
    dut : cocotb handle
        The top-level DUT.
    path : str or Path
        VCD file to write. A relative path is relative to the simulation's working folder (the test's
        ``run/`` folder under ``build/sim/...``).
    streams : list of str
        Amaranth stream names (``cpu_req`` for ``cpu_req__valid/__ready/__payload``).
    signals : list of str
        Further signal names on ``dut``.
    clock : str
        The clock signal's name.
    reset : str or None
        The reset signal's name, recorded so the checker skips cycles in reset; ``None`` for none.
        Recorded only if the DUT has it.
    start, end : int
        Cycle window, counted from the first rising edge after :meth:`start`; ``end`` is exclusive.
    """

    def __init__(self, dut, path, *, streams=(), signals=(), clock="clk", reset="rst", start=0, end=2000):
        if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end <= start:
            raise ValueError(f"window cycles must satisfy 0 <= start < end, not start={start!r}, end={end!r}")
        if isinstance(streams, str) or isinstance(signals, str):
            raise TypeError(f"streams and signals must be lists of names, not {streams!r} / {signals!r}")
        self.dut = dut
        self.path = Path(path)
        self.clock_name = clock
        if not hasattr(dut, clock):
            raise ValueError(f"DUT has no clock {clock!r}")
        self.clk = getattr(dut, clock)
        names = []
        if reset is not None and hasattr(dut, reset):
            names.append(reset)
        for s in streams:
            names += stream_signal_names(dut, s)
        for s in signals:
            if not hasattr(dut, s):
                raise ValueError(f"DUT has no signal {s!r}")
            names.append(s)
        self.names = list(dict.fromkeys(names))
        if not self.names:
            raise ValueError("a VCD window needs at least one stream or signal")
        self.reset = reset
        self.handles = [getattr(dut, n) for n in self.names]
        self.start_cycle, self.end_cycle = start, end
        self.samples: list = []  # (time of the edge before, time of the edge, values) per recorded cycle
        self._task = None
        self._written = False

    def start(self):
        """Start recording in the background; returns the cocotb task."""
        if self._task is None:
            self._task = cocotb.start_soon(self._record())
        return self._task

    async def _record(self):
        await RisingEdge(self.clk)
        prev = int(get_sim_time("ps"))
        for cycle in range(self.end_cycle):
            await RisingEdge(self.clk)
            edge = int(get_sim_time("ps"))
            if cycle >= self.start_cycle:
                self.samples.append((prev, edge, [_bits(h) for h in self.handles]))
            prev = edge
        self.write()

    @property
    def done(self) -> bool:
        """Whether all ``end - start`` cycles were recorded."""
        return len(self.samples) >= self.end_cycle - self.start_cycle

    def write(self) -> Path:
        """Write the cycles recorded so far (called by itself at the end of the window)."""
        from vcd import VCDWriter
        if not self.samples:
            raise AssertionError(f"VCD window {self.path}: no cycle recorded (was start() called and did "
                                 f"the clock run?)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scope = self.dut._name
        with open(self.path, "w") as f, VCDWriter(f, timescale="1 ps", date="", comment="disagg VCD window") as w:
            clk = w.register_var(scope, self.clock_name, "wire", size=1, init=0)
            widths = [len(v) for v in self.samples[0][2]]
            vars_ = [w.register_var(scope, n, "wire", size=wd) for n, wd in zip(self.names, widths)]
            for prev, edge, values in self.samples:
                # Values sampled at `edge` were set up after the edge before it: write them there.
                for var, width, value in zip(vars_, widths, values):
                    w.change(var, prev, value if width > 1 else value[:1])
                w.change(clk, prev + (edge - prev) // 2, 0)
                w.change(clk, edge, 1)
        self._written = True
        return self.path

    def check(self, *, invariants=(), block=None, block_params=None):
        """Write the window (if not yet) and check it; AssertionError listing violations if any.

        Returns the :class:`emu.waves.CheckReport`.
        """
        if not self._written:
            self.write()
        return check_vcd(self.path, clock=self.clock_name, reset=self.reset if self.reset in self.names else "",
                         invariants=invariants, block=block, block_params=block_params)


def check_vcd(path, *, clock="clk", reset=None, invariants=(), block=None, block_params=None, limit=20):
    """Run the ``disagg waves check`` rules on a VCD file; raise AssertionError listing the violations.

    Parameters
    ----------
    path : str or Path
    clock, reset : str
        As for ``disagg waves check`` (``reset=None`` finds a conventional reset name, ``""`` means none).
    invariants : list of emu.waves.Invariant
    block : str, optional
        Also apply the invariants registered for this block, built with ``block_params``.
    limit : int
        Violations quoted in the AssertionError per rule.

    Returns
    -------
    emu.waves.CheckReport
    """
    from emu.errors import DisaggError
    from emu.waves import block_invariants, check_file
    invariants = list(invariants)
    try:
        if block is not None:
            invariants += block_invariants(block, block_params)
        report = check_file(path, clock=clock, reset=reset, invariants=invariants)
    except DisaggError as exc:
        raise AssertionError(f"VCD check of {path} could not run: {exc}") from None
    if not report.ok:
        raise AssertionError("protocol violations in recorded waves:\n" + "\n".join(report.lines(limit=limit)))
    return report
