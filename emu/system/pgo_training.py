"""The training run of a profile-guided system model build, in its own process (issue 12).

:func:`emu.harness.pgo.system_trainer` runs ``python -m emu.system.pgo_training CONFIG.toml LIBRARY``: a short
run of the built-in ``default`` workload through the real firmware on the instrumented ``LIBRARY``, whose
profile is written when this process exits. ``ports.json`` lies beside ``CONFIG.toml``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import workloads
from ..config import load_config
from ..harness import codegen
from ..harness.build import BuiltModel
from ..harness.pgo import TRAIN_ACCESSES, TRAIN_SEED
from . import runner as runner_module


def _training_workload(config):
    dram = config.params.dram_bytes
    # The default workload (a hot set and a scan), shrunk so that it fits any configuration's DRAM and
    # the training stays short (every scanned page is a fault and, with 4 KiB lines, a 4 KiB move).
    footprint = max(4096, min(1 << 20, dram // 4) // 4096 * 4096)
    hot = max(64, min(256 << 10, dram // 8) // 64 * 64)
    return workloads.generate(workloads.DEFAULT, seed=TRAIN_SEED, n=TRAIN_ACCESSES, footprint=footprint, hot=hot)


def _child(config_path: str, library: str) -> int:
    config = load_config(Path(config_path))
    ports = codegen.SystemPorts.from_json(json.loads((Path(config_path).parent / "ports.json").read_text()))

    def instrumented(config, *, trace=None, log=None):     # the runner's model: the instrumented library
        return BuiltModel(Path(library), ports, "pgo-training", True, 0.0, None)
    runner_module.build_system = instrumented
    runner = runner_module.SystemRunner(config)
    try:
        runner.run(_training_workload(config))
    finally:
        runner.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m emu.system.pgo_training CONFIG.toml LIBRARY")
    sys.exit(_child(sys.argv[1], sys.argv[2]))
