"""The rack tests' configuration and seed; the bench itself is the product's
:class:`emu.cosim.rack_bench.RackBench` (``disagg run --topology`` drives racks with it too)."""

from __future__ import annotations

import json
import os

from emu.cosim.rack_bench import RackBench

__all__ = ["RackBench", "config", "seed"]


def config():
    """The configuration (``{"rack": RackParams.as_dict()}``) merged with the test knobs."""
    cfg = json.loads(os.environ["DISAGG_CONFIG"])
    cfg.update(json.loads(os.environ.get("DISAGG_RACK_TEST", "{}")))
    return cfg


def seed():
    return int(os.environ["DISAGG_SEED"])
