"""``disagg synth --board``: full build of the ULX3S memory-node top (``hw/boards/ulx3s.py``) to a bitstream."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DisaggError
from .reports import parse_nextpnr_utilisation

__all__ = ["build_board", "BOARD_BUILD_DIR"]

BOARD_BUILD_DIR = Path(__file__).resolve().parents[2] / "build" / "board" / "ulx3s"

_FMAX = re.compile(r"Max frequency for clock '([^']+)': ([0-9.]+) MHz")


def build_board(progress=print, build_dir: Path = BOARD_BUILD_DIR) -> int:
    """Run the board build with the YoWASP tools; print utilisation and fmax from nextpnr's log."""
    from hw.boards import ulx3s
    progress(f"board: building the ULX3S 85F memory node in {build_dir} (several minutes) ...")
    try:
        ulx3s.build(str(build_dir), do_build=True)
    except Exception as exc:  # the build runs a shell script; any failure is reported with its log
        raise DisaggError(f"board build failed: {exc} (logs in {build_dir})") from None
    log_path = Path(build_dir) / f"{ulx3s.BUILD_NAME}.tim"
    log = log_path.read_text()
    util = parse_nextpnr_utilisation(log)
    fmax = _FMAX.findall(log)
    print(f"bitstream: {Path(build_dir) / (ulx3s.BUILD_NAME + '.bit')}")
    for name in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "TRELLIS_IO"):
        if name in util:
            used, avail = util[name]
            print(f"  {name:12s} {used:6d} / {avail}")
    if fmax:
        clock, mhz = fmax[-1]
        print(f"  fmax of {clock}: {float(mhz):.1f} MHz (board clock 25 MHz)")
    return 0
