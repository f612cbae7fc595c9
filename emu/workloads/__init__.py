"""Workload generators and their registry.

A workload is a numpy array of :data:`emu.workload_format.WORKLOAD_DTYPE` (one row per CPU access to the
ExCache). Generators are registered here by name with documented, validated parameters::

    from emu.workloads import generate, list_workloads
    w = generate("zipfian", seed=1, n=10_000, footprint=1 << 20)

``generate`` raises :class:`emu.errors.DisaggError` (one line) for an unknown name, an unknown parameter
or a bad value. Every generator is deterministic under ``seed``. ``disagg run --workload NAME`` and
``disagg sweep`` look names up here; ``parse_params`` turns ``key=value`` command-line strings into
typed parameters.

The ``default`` workload is sized for the default system (1 GiB of memory-component DRAM, a 64 MiB ExCache
in 4 KiB lines): its scan overflows the ExCache. The other generators' defaults touch a few times the small
on-chip ExCache (``configs/small.toml``, 16 KiB) and well under the DRAM.
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import DisaggError
from ..workload_format import validate
from ._rows import DEFAULT_BASE

__all__ = ["Param", "Workload", "WORKLOADS", "generate", "list_workloads", "describe", "parse_params", "DEFAULT"]

#: Name of the workload used when none is given.
DEFAULT = "default"


@dataclass(frozen=True)
class Param:
    """One generator parameter.

    Parameters
    ----------
    default : int, float or bool
        Value used when the caller does not give one; its type is the parameter's type (an int is
        accepted for a float parameter).
    doc : str
        One line: what it means, with units.
    lo, hi : number, optional
        Inclusive bounds.
    choices : tuple, optional
        The only allowed values.
    """

    default: object
    doc: str
    lo: object = None
    hi: object = None
    choices: tuple = None

    @property
    def kind(self):
        return type(self.default)

    def check(self, workload, name, value):
        """Return ``value`` converted to the parameter's type, or raise :class:`DisaggError`."""
        where = f"workload {workload!r}: parameter {name}"
        if self.kind is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise DisaggError(f"{where} must be a bool, not {value!r}")
            return bool(value)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise DisaggError(f"{where} must be {'an int' if self.kind is int else 'a number'}, not {value!r}")
        if self.kind is int:
            if isinstance(value, (float, np.floating)) and not float(value).is_integer():
                raise DisaggError(f"{where} must be an int, not {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not np.isfinite(value):
                raise DisaggError(f"{where} must be finite, not {value!r}")
        if self.choices is not None and value not in self.choices:
            raise DisaggError(f"{where} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.lo is not None and value < self.lo:
            raise DisaggError(f"{where} must be >= {self.lo}, not {value!r}")
        if self.hi is not None and value > self.hi:
            raise DisaggError(f"{where} must be <= {self.hi}, not {value!r}")
        return value


@dataclass(frozen=True)
class Workload:
    """A registered generator: ``func(rng, **params) -> ndarray`` plus its parameters.

    ``constraints`` are ``(predicate(params) -> bool, message)`` pairs checked across parameters after each
    one has passed its own check (e.g. a footprint that must hold a whole number of objects).
    """

    name: str
    func: object
    doc: str
    params: dict
    constraints: tuple = field(default=())


# Parameters most generators share.
def _n(default=100_000):
    return Param(default, "number of accesses", lo=1, hi=1 << 31)


def _footprint(default=256 * 1024):
    return Param(default, "bytes of memory touched (multiple of 8)", lo=8, hi=1 << 40)


_COMMON = {
    "base": Param(DEFAULT_BASE, "virtual address of the first byte (multiple of 4096)", lo=0, hi=(1 << 48) - 1),
    "size": Param(8, "bytes per access: 1, 2, 4 or 8; 0 mixes all four (each aligned)", choices=(0, 1, 2, 4, 8)),
    "write_frac": Param(0.2, "fraction of accesses that are writes", lo=0.0, hi=1.0),
    "think": Param(4.0, "mean CPU cycles between accesses (geometric distribution)", lo=0.0, hi=1e6),
    "pid": Param(1, "process id (0 is reserved)", lo=1, hi=0xFFFF),
}

_FOOT8 = (lambda p: p["footprint"] % 8 == 0, "footprint must be a multiple of 8")
_BASE4K = (lambda p: p["base"] % 4096 == 0, "base must be a multiple of 4096")
_FITS = (lambda p: p["base"] + p["footprint"] <= 1 << 48, "base + footprint must fit in 48 bits")


def _build():
    from . import mix, structured, synthetic
    common = (_FOOT8, _BASE4K, _FITS)
    entries = [
        Workload("default", mix.default, mix.default.__doc__.splitlines()[0], {
            "n": _n(200_000), "think": _COMMON["think"],
            "footprint": Param(72 << 20, "bytes pid 2 scans, one access per 4 KiB page (multiple of 4096)",
                               lo=4096, hi=1 << 40),
            "hot": Param(2 << 20, "bytes of pid 1's hot set (multiple of 64)", lo=64, hi=1 << 40)},
                 ((lambda p: p["footprint"] % 4096 == 0, "footprint must be a multiple of 4096"),
                  (lambda p: p["hot"] % 64 == 0, "hot must be a multiple of 64"),
                  (lambda p: p["n"] >= 2, "n must be at least 2"),
                  (lambda p: DEFAULT_BASE + max(p["footprint"], p["hot"]) <= 1 << 48,
                   "the footprint must fit in 48 bits"))),
        Workload("sequential", synthetic.sequential, synthetic.sequential.__doc__.splitlines()[0],
                 {"n": _n(), "footprint": _footprint(), **_COMMON}, common),
        Workload("strided", synthetic.strided, synthetic.strided.__doc__.splitlines()[0],
                 {"n": _n(), "footprint": _footprint(),
                  "stride": Param(4096, "bytes between consecutive accesses (multiple of 8)", lo=8, hi=1 << 30),
                  **_COMMON},
                 common + ((lambda p: p["stride"] % 8 == 0, "stride must be a multiple of 8"),)),
        Workload("uniform", synthetic.uniform, synthetic.uniform.__doc__.splitlines()[0],
                 {"n": _n(), "footprint": _footprint(), **_COMMON}, common),
        Workload("zipfian", synthetic.zipfian, synthetic.zipfian.__doc__.splitlines()[0],
                 {"n": _n(), "footprint": _footprint(),
                  "object_size": Param(64, "bytes per object (power of two, >= 8)", lo=8, hi=1 << 20),
                  "alpha": Param(0.99, "Zipf exponent: larger is more skewed (0 = uniform)", lo=0.0, hi=10.0),
                  **_COMMON},
                 common + ((lambda p: p["object_size"] & (p["object_size"] - 1) == 0,
                            "object_size must be a power of two"),
                           (lambda p: p["footprint"] % p["object_size"] == 0,
                            "footprint must be a multiple of object_size"))),
        Workload("mix", mix.mix, mix.mix.__doc__.splitlines()[0],
                 {"processes": Param(4, "number of processes (pids 1..processes)", lo=1, hi=1024),
                  "n": _n(), "footprint": Param(64 * 1024, "bytes per process (multiple of 64)", lo=64, hi=1 << 40),
                  "base": _COMMON["base"],
                  "quantum": Param(100, "accesses a process issues before the next one runs", lo=1, hi=1 << 31),
                  "write_frac": _COMMON["write_frac"], "think": _COMMON["think"], "size": _COMMON["size"]},
                 ((lambda p: p["footprint"] % 64 == 0, "footprint must be a multiple of 64"), _BASE4K, _FITS,
                  (lambda p: p["n"] >= p["processes"], "n must be at least processes"))),
        Workload("pointer_chase", structured.pointer_chase, structured.pointer_chase.__doc__.splitlines()[0],
                 {"nodes": Param(4096, "list nodes", lo=1, hi=1 << 32),
                  "node_size": Param(64, "bytes per node (power of two, >= 16)", lo=16, hi=1 << 20),
                  "n": Param(100_000, "hops (each one read of a next pointer)", lo=1, hi=1 << 31),
                  "payload": Param(1, "payload words read after each next pointer", lo=0, hi=1 << 16),
                  "write_frac": Param(0.1, "fraction of hops that also write the node's last word", lo=0.0, hi=1.0),
                  "init": Param(True, "write every next pointer before chasing"),
                  "base": _COMMON["base"], "think": _COMMON["think"], "pid": _COMMON["pid"]},
                 (_BASE4K,
                  (lambda p: p["node_size"] & (p["node_size"] - 1) == 0, "node_size must be a power of two"),
                  (lambda p: 8 * (p["payload"] + 2) <= p["node_size"],
                   "node_size must hold the next pointer, payload words and the written word"),
                  (lambda p: p["base"] + p["nodes"] * p["node_size"] <= 1 << 48, "the list must fit in 48 bits"))),
        Workload("pagerank", structured.pagerank, structured.pagerank.__doc__.splitlines()[0],
                 {"vertices": Param(4096, "graph vertices", lo=2, hi=1 << 31),
                  "avg_degree": Param(8, "edges per vertex", lo=1, hi=1 << 16),
                  "alpha": Param(0.8, "Zipf exponent of vertex popularity (in/out degrees)", lo=0.0, hi=10.0),
                  "iterations": Param(2, "PageRank iterations", lo=1, hi=1000),
                  "damping": Param(0.85, "PageRank damping factor", lo=0.0, hi=1.0),
                  "init": Param(True, "write the CSR arrays and initial ranks first"),
                  "base": _COMMON["base"], "think": _COMMON["think"], "pid": _COMMON["pid"]},
                 (_BASE4K,
                  (lambda p: p["vertices"] * p["avg_degree"] < 1 << 32, "vertices * avg_degree must be < 2**32"),
                  (lambda p: p["base"] + 40 * p["vertices"] * (p["avg_degree"] + 1) <= 1 << 48,
                   "the graph must fit in 48 bits"))),
        Workload("mltrain", structured.mltrain, structured.mltrain.__doc__.splitlines()[0],
                 {"layers": Param(8, "network layers", lo=1, hi=4096),
                  "layer_bytes": Param(8 * 1024, "bytes of weights per layer (multiple of 32)", lo=32, hi=1 << 36),
                  "steps": Param(2, "training steps", lo=1, hi=10_000),
                  "think": Param(8.0, "mean CPU cycles between accesses (compute per word)", lo=0.0, hi=1e6),
                  "base": _COMMON["base"], "pid": _COMMON["pid"]},
                 (_BASE4K, (lambda p: p["layer_bytes"] % 32 == 0, "layer_bytes must be a multiple of 32"),
                  (lambda p: p["base"] + 3 * p["layers"] * (p["layer_bytes"] + 4096) <= 1 << 48,
                   "the network must fit in 48 bits"))),
    ]
    return {w.name: w for w in entries}


#: name -> :class:`Workload`, in the order ``list_workloads`` gives.
WORKLOADS = _build()


def list_workloads():
    """Names of the registered workloads."""
    return list(WORKLOADS)


def _lookup(name):
    if not isinstance(name, str) or name not in WORKLOADS:
        raise DisaggError(f"unknown workload {name!r}; known workloads: {', '.join(WORKLOADS)}")
    return WORKLOADS[name]


def resolve_params(name, **params):
    """All parameters of workload ``name``: defaults overridden by ``params``, each checked."""
    wl = _lookup(name)
    unknown = [k for k in params if k not in wl.params]
    if unknown:
        raise DisaggError(f"workload {name!r} has no parameter {unknown[0]!r}; "
                          f"its parameters: {', '.join(wl.params) or '(none)'}")
    values = {k: p.check(name, k, params.get(k, p.default)) for k, p in wl.params.items()}
    for predicate, message in wl.constraints:
        if not predicate(values):
            raise DisaggError(f"workload {name!r}: {message}")
    return values


def generate(name, *, seed=0, **params):
    """Generate workload ``name`` with ``params`` (others at their defaults), deterministic under ``seed``.

    Returns
    -------
    numpy.ndarray
        A validated array of :data:`emu.workload_format.WORKLOAD_DTYPE`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DisaggError(f"workload seed must be a non-negative int, not {seed!r}")
    wl = _lookup(name)
    values = resolve_params(name, **params)
    w = wl.func(np.random.default_rng(int(seed)), **values)
    return validate(w, what=f"workload {name!r}")


def parse_params(name, items):
    """Turn ``["key=value", ...]`` (command-line strings) into typed parameters of workload ``name``.

    Integers accept ``0x``/``0b`` prefixes, underscores and the suffixes K, M, G (powers of 1024);
    bools accept true/false/1/0/yes/no.
    """
    wl = _lookup(name)
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DisaggError(f"workload parameter must look like key=value, not {item!r}")
        if key not in wl.params:
            raise DisaggError(f"workload {name!r} has no parameter {key!r}; "
                              f"its parameters: {', '.join(wl.params) or '(none)'}")
        out[key] = _parse_value(name, key, wl.params[key].kind, text.strip())
    return out


_SUFFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _parse_value(workload, key, kind, text):
    try:
        if kind is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            scale = 1
            if text[-1:].upper() in _SUFFIX:
                scale, text = _SUFFIX[text[-1].upper()], text[:-1]
            return int(text, 0) * scale
        return float(text)
    except ValueError:
        raise DisaggError(f"workload {workload!r}: parameter {key} must be {kind.__name__}, not {text!r}") from None


def describe(name):
    """A multi-line human description of workload ``name`` and its parameters (for ``--help`` texts)."""
    wl = _lookup(name)
    lines = [f"{wl.name}: {wl.doc}"]
    for k, p in wl.params.items():
        lines.append(f"  {k}={p.default!r}: {p.doc}")
    return "\n".join(lines)
