"""GTKWave save files (``.gtkw``) for recorded waveforms, shared by the tests and the harness."""

from pathlib import Path

__all__ = ["write_gtkw"]


def write_gtkw(dump: Path, out: Path, signals: list[str], toplevel: str):
    """Write a GTKWave save file opening ``dump`` and showing ``signals`` (names relative to ``toplevel``).

    Verilator names the root scope ``TOP``; the top module instance sits under it.
    """
    from vcd.gtkw import GTKWSave
    with open(out, "w") as f:
        gtkw = GTKWSave(f)
        gtkw.dumpfile(str(dump))
        gtkw.zoom_markers(-20.0)
        for name in signals:
            gtkw.trace(f"TOP.{toplevel}.{name}")
