"""Sweeps: one workload over a grid of configurations, run on Dask, with baselines, tables and plots.

Modules, one job each:

* :mod:`.grid`: axes over any setting of the configuration schema (``--vary``), the ``cache.size``
  shorthand, the cross product, each point's configuration.
* :mod:`.engine`: the Dask engine (local cluster or ``--cluster`` scheduler), one task per point.
* :mod:`.store`: ``points.jsonl``, written as each point finishes; ``--resume``.
* :mod:`.rows`: one row per point with the slowdown against the local and swap baselines.
* :mod:`.report`: CSV, JSON, the faceted plot and the printed table.
* :mod:`.options`: :class:`SweepOptions`, the typed options experiments take.
* :mod:`.runner`: :func:`run_sweep`, all of it together.

See ``docs/sweeps.md``.
"""

from .grid import SIZE, Axis, Point, grid, parse_axis, point_config
from .options import SWEEP_OVERRIDES, SweepOptions, config_and_timing
from .report import plot, print_table, write_outputs
from .rows import cycles_of, flat_stats, measured_hit_cycles
from .runner import SweepResult, run_sweep

__all__ = ["SIZE", "Axis", "Point", "grid", "parse_axis", "point_config", "SWEEP_OVERRIDES", "SweepOptions",
           "config_and_timing", "plot", "print_table", "write_outputs", "cycles_of", "flat_stats",
           "measured_hit_cycles", "SweepResult", "run_sweep"]
