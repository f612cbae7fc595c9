"""Open a waveform file with the reader its content needs: FST (pywellen) or VCD (vcdvcd)."""

from __future__ import annotations

from pathlib import Path

from ..errors import DisaggError
from .fst import load_fst
from .reader import Waveform, load_vcd

__all__ = ["is_fst", "load_waveform"]


def is_fst(path) -> bool:
    """Whether ``path`` holds an FST file (its first block is a header block, type 0) or is named ``.fst``."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x00" or Path(path).suffix == ".fst"


def load_waveform(path) -> Waveform:
    """Read a VCD or an FST file (told apart by content); one-line :class:`DisaggError` on anything else."""
    path = Path(path)
    if not path.exists():
        raise DisaggError(f"no such file: {path}")
    if path.is_dir():
        raise DisaggError(f"{path} is a folder, not a waveform file")
    return load_fst(path) if is_fst(path) else load_vcd(path)
