"""Generate the Verilog of the default configurations into ``rtl/``, reproducibly."""

from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from hw.catalog import BLOCKS, default_component

__all__ = ["generate", "generate_all", "RTL_DIR"]

RTL_DIR = Path(__file__).resolve().parent.parent / "rtl"


def generate(name):
    """Verilog text of block ``name`` (default configuration).

    ``emit_src=False`` keeps absolute source paths out of the output, so the text is the same on every
    machine and in every checkout.
    """
    component = default_component(name)
    return amaranth_verilog.convert(component, name=name, emit_src=False)


def generate_all(out_dir=RTL_DIR, names=None):
    """Write ``<out_dir>/<name>.v`` for each block; return the list of paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (names or sorted(BLOCKS)):
        path = out_dir / f"{name}.v"
        path.write_text(generate(name))
        written.append(path)
    return written
