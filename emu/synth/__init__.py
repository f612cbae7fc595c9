"""FPGA flow: synthesis (Yosys), place-and-route (nextpnr) and area/timing reports of the blocks.

``disagg synth`` is the command; this package is its library:

* :mod:`.targets`: the FPGA parts (ECP5 LFE5U-85F, iCE40HX8K) and how their reports are read.
* :mod:`.tools`: the YoWASP tools from PyPI (where they are, their versions, their wasm cache).
* :mod:`.flow`: one design through Yosys and nextpnr, out of context, with a result cache.
* :mod:`.reports`: parsers of Yosys and nextpnr output (memory mapping, cells, utilisation, fmax).
* :mod:`.blocks`: the catalog's blocks and configuration files.
* :mod:`.table`: the printed table and the JSON list.
* :mod:`.scaling`: the scaling sweep (`disagg synth --sweep`), ways, sets and TLB entries one at a time.
"""

from .blocks import block_verilog, component_from_params, load_config, synth_blocks
from .flow import SynthResult, synthesize
from .targets import TARGETS, Target, get_target

__all__ = ["TARGETS", "Target", "get_target", "SynthResult", "synthesize", "synthesize_block",
           "synth_blocks", "block_verilog", "component_from_params", "load_config"]


def synthesize_block(name, target, component=None, **kwargs):
    """Synthesise catalog block ``name`` (default configuration, or ``component``) for ``target``.

    Keyword arguments go to :func:`synthesize` (``freq_mhz``, ``seed``, ``cache_dir``, ``use_cache``,
    ``timeout``).
    """
    return synthesize(block_verilog(name, component), name, target, block=name, **kwargs)
