"""Waveform debugging: read VCD and FST files, find valid/ready streams, check handshakes and invariants, render.

Modules, one job each: :mod:`.reader` (VCD via vcdvcd), :mod:`.fst` (FST via pywellen), :mod:`.files` (picks one), :mod:`.values` (x/z and hex), :mod:`.cycles`
(samples at clock edges, reset), :mod:`.streams` (stream discovery by naming convention),
:mod:`.handshake` (the valid/ready rules), :mod:`.invariants` (block-specific rules),
:mod:`.blocks` (the rules of our blocks, by name), :mod:`.check` (runs all of it), :mod:`.window`,
:mod:`.render_text` and :mod:`.render_svg` (``disagg waves show``). See ``docs/waves.md``.
"""

from .check import CheckReport, check_file, check_waveform
from .handshake import Violation
from .blocks import block_invariants, known_blocks, register_block
from .invariants import Invariant, MaxOutstanding, parse_invariant
from .files import load_waveform
from .reader import Waveform, load_vcd
from .render_svg import render_svg
from .render_text import render_text
from .streams import Stream, find_streams
from .window import select_window

__all__ = ["CheckReport", "check_file", "check_waveform", "Violation", "Invariant", "MaxOutstanding",
           "block_invariants", "known_blocks", "parse_invariant", "register_block", "Waveform", "load_vcd", "load_waveform", "render_svg",
           "render_text", "Stream", "find_streams", "select_window"]
