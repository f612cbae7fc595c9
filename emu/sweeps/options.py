"""The options of a sweep as one typed object (what ``disagg sweep`` parses, what experiments take)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DisaggError

__all__ = ["SweepOptions", "SWEEP_OVERRIDES", "config_and_timing"]

#: Overrides every sweep starts from (before ``--set``): a blocking CPU, one access at a time, which is what
#: the baselines assume (each access costs its think time plus its latency), so the slowdown compares like
#: with like.
SWEEP_OVERRIDES = ("cpu.max_outstanding=1",)


@dataclass(frozen=True)
class SweepOptions:
    """How to run a sweep, independent of what it sweeps.

    Parameters
    ----------
    config : Path, optional
        System configuration TOML the points modify (default: built-in).
    overrides : tuple of str
        ``section.key=value`` applied after :data:`SWEEP_OVERRIDES` and ``config``.
    local_access_cycles : int, optional
        Cost of a local-memory access (default: the measured mean ExCache hit latency).
    seed : int
        Workload seed.
    check : bool
        Check every access against the golden model.
    out : Path, optional
        Output folder (default: ``build/sweep/<name>``).
    cluster : str, optional
        Dask scheduler address; default: a local cluster.
    workers : int, optional
        Workers of the local cluster (default: one per core).
    resume : bool
        Skip the points already in the output folder.
    progress : bool
        Show the progress bar.
    """
    config: Path | None = None
    overrides: tuple = ()
    local_access_cycles: int | None = None
    seed: int = 0
    check: bool = True
    out: Path | None = None
    cluster: str | None = None
    workers: int | None = None
    resume: bool = False
    progress: bool = True

    def __post_init__(self):
        if self.local_access_cycles is not None and (isinstance(self.local_access_cycles, bool)
                                                     or not isinstance(self.local_access_cycles, int)
                                                     or self.local_access_cycles < 0):
            raise DisaggError(f"--local-access-cycles must be a non-negative integer, not {self.local_access_cycles!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise DisaggError(f"--workers must be a positive integer, not {self.workers!r}")

        if self.cluster is not None:
            from .engine import check_address
            check_address(self.cluster)
            if self.workers is not None:
                raise DisaggError("--workers applies to the local cluster; an existing cluster has its own workers")

    def engine_kwargs(self) -> dict:
        """The keyword arguments of :func:`emu.sweeps.run_sweep` these options set."""
        return {"cluster": self.cluster, "workers": self.workers, "resume": self.resume, "check": self.check,
                "progress": self.progress}


def config_and_timing(options: SweepOptions, extra_overrides=()):
    """The base SystemConfig (``config``, :data:`SWEEP_OVERRIDES`, ``extra_overrides``, ``overrides``) and the
    baselines' :class:`~emu.baselines.Timing` at its clock."""
    from ..baselines import Timing
    from ..config import load_config
    config = load_config(options.config, [*SWEEP_OVERRIDES, *extra_overrides, *options.overrides])
    kw = {"clock_hz": float(config.system.clock_mhz) * 1e6, "threads": config.cpu.threads}
    if options.local_access_cycles is not None:
        kw["local_access_cycles"] = options.local_access_cycles
    return config, Timing(**kw)
