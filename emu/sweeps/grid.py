"""The points of a sweep: axes over any setting of the configuration schema, and their cross product.

An :class:`Axis` is one setting of :data:`emu.config.SCHEMA` (``section.key``) and the values it takes,
parsed from ``--vary section.key=V1,V2,...``. ``cache.size`` is a shorthand axis: the ExCache's capacity
in bytes, turned into ``cache.sets = size / (ways * line_bytes)`` after the point's other settings are
applied. :func:`grid` is the cross product of the axes, the first axis varying slowest.

Bad input where it enters (an unknown setting, a value of the wrong type, the same value twice) is a
one-line :class:`~emu.errors.DisaggError`. A point that is well formed but impossible (a size that is not
a power-of-two number of sets, a geometry the RTL refuses) is not: it is reported as that point's error by
:func:`point_config`, and the other points run.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass

from ..errors import DisaggError

__all__ = ["SIZE", "Axis", "Point", "parse_axis", "parse_value", "grid", "point_config", "human_size"]

#: The shorthand axis: ExCache capacity in bytes (sets follow from ways and line size).
SIZE = "cache.size"

_SCALES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def human_size(n: int) -> str:
    """``4096`` -> ``"4K"`` (exact multiples only)."""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def _schema_type(key: str):
    from ..config import SCHEMA
    if key == SIZE:
        return int
    section, dot, name = key.partition(".")
    if not dot or "." in name:
        raise DisaggError(f"--vary {key!r}: the setting must be section.key (e.g. cache.ways)")
    if section not in SCHEMA:
        raise DisaggError(f"--vary {key}: unknown section [{section}] (known: {', '.join(SCHEMA)}, "
                          f"and the shorthand {SIZE})")
    if name not in SCHEMA[section]:
        raise DisaggError(f"--vary {key}: unknown setting (known in [{section}]: {', '.join(SCHEMA[section])}"
                          + (f"; and the shorthand {SIZE}" if section == "cache" else "") + ")")
    return SCHEMA[section][name][0]


def parse_value(key: str, text: str):
    """One value of setting ``key`` from text: TOML syntax, bare words as strings, K/M/G on integers."""
    typ = _schema_type(key)
    raw = str(text).strip()
    if typ is int and raw[-1:].upper() in _SCALES and raw[:-1].strip().lstrip("-").isdigit():
        return int(raw[:-1]) * _SCALES[raw[-1].upper()]
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, typ):
        kind = {int: "an integer", float: "a number", str: "a string"}[typ]
        raise DisaggError(f"--vary {key}: {raw!r} is not {kind}")
    if key == SIZE and value < 1:
        raise DisaggError(f"--vary {key}: sizes must be positive, not {value!r}")
    return value


@dataclass(frozen=True)
class Axis:
    """One swept setting.

    Parameters
    ----------
    key : str
        ``section.key`` of :data:`emu.config.SCHEMA`, or :data:`SIZE`.
    values : tuple
        Its values, already typed (see :func:`parse_value`), none twice.
    """
    key: str
    values: tuple

    def __post_init__(self):
        if not self.values:
            raise DisaggError(f"--vary {self.key}: needs at least one value")
        if len(set(self.values)) != len(self.values):
            raise DisaggError(f"--vary {self.key}: the sweep lists the same point twice")


def parse_axis(text: str) -> Axis:
    """``"link.latency=16,64,256"`` -> ``Axis("link.latency", (16, 64, 256))``."""
    key, eq, values = str(text).partition("=")
    key = key.strip()
    if not eq or not key:
        raise DisaggError(f"--vary {text!r} must look like section.key=V1,V2,... (e.g. cache.ways=2,4,8)")
    items = [v for v in values.split(",")]
    if not values.strip() or any(not v.strip() for v in items):
        raise DisaggError(f"--vary {key}: expected a comma-separated list of values, not {values!r}")
    return Axis(key, tuple(parse_value(key, v) for v in items))


@dataclass(frozen=True)
class Point:
    """One point of a grid: ``(key, value)`` pairs in axis order."""
    values: tuple

    def get(self, key, default=None):
        return dict(self.values).get(key, default)

    def label(self) -> str:
        return " ".join(f"{k}={human_size(v) if k == SIZE else v}" for k, v in self.values) or "base"


def grid(axes) -> list[Point]:
    """The cross product of ``axes`` (first axis slowest); one point (the base) when there are none."""
    axes = list(axes)
    keys = [a.key for a in axes]
    for k in keys:
        if keys.count(k) > 1:
            raise DisaggError(f"--vary {k}: the setting is swept twice (merge the lists)")
    return [Point(tuple(zip(keys, combo))) for combo in itertools.product(*(a.values for a in axes))]


def point_config(base, point: Point):
    """The :class:`~emu.config.SystemConfig` of ``point``: ``base`` with the point's settings.

    Raises :class:`~emu.errors.DisaggError` (one line) if the point is impossible.
    """
    assignments = [f"{k}={_toml(v)}" for k, v in point.values if k != SIZE]
    config = base.with_overrides(assignments) if assignments else base
    size = point.get(SIZE)
    if size is not None:
        ways, line = config.cache.ways, config.cache.line_bytes
        sets = size // (ways * line)
        if sets < 1 or sets * ways * line != size or sets & (sets - 1):
            raise DisaggError(f"ExCache size {size} is not a power-of-two number of sets of "
                              f"{ways} ways x {line} B lines")
        config = config.with_overrides([f"cache.sets={sets}"])
    return config


def _toml(value):
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
