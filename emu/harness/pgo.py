"""Profile-guided optimisation of a system model: the training run (issue 12).

:func:`emu.harness.build.build_model` given a ``train`` callable compiles the model twice: first
instrumented (``-fprofile-generate``), then, after ``train(library)`` has run that library, with the
profile it wrote (``-fprofile-use``). :func:`system_trainer` is the training of a system top: a short
run of the built-in ``default`` workload (sized to the configuration's DRAM) through the real firmware,
in a child process (the profile is written when that process exits). The model's results do not depend
on the profile; only the compiler's code layout and inlining do (docs/harness.md, "Speed").

    python -m emu.harness.pgo CONFIG.toml LIBRARY     (what the child runs; ports.json beside CONFIG.toml)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["system_trainer", "TRAIN_ACCESSES", "TRAIN_SEED"]

#: Accesses of the training run (with the footprint below: a few hundred thousand cycles with the boot).
TRAIN_ACCESSES = 2000
#: Seed of the training workload (not a seed of any measurement).
TRAIN_SEED = 12345
_ROOT = Path(__file__).resolve().parents[2]


def system_trainer(config, ports):
    """The training run of ``config``'s system model (port description ``ports``): a callable ``train(library)``.

    It raises :class:`RuntimeError` with the child's last lines if the run fails; the build then falls back
    to the model without a profile.
    """
    toml = config.toml()
    ports_json = json.dumps(ports.to_json())

    def train(library: Path):
        with tempfile.TemporaryDirectory(prefix="disagg-pgo-") as tmp:
            path = Path(tmp) / "config.toml"
            path.write_text(toml)
            (Path(tmp) / "ports.json").write_text(ports_json)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]))
            proc = subprocess.run([sys.executable, "-m", "emu.harness.pgo", str(path), str(library)],
                                  cwd=_ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError("the training run failed: " + " | ".join(tail))
    return train


def _training_workload(config):
    from .. import workloads
    dram = config.params.dram_bytes
    # The default workload (a hot set and a scan), shrunk so that it fits any configuration's DRAM and
    # the training stays short (every scanned page is a fault and, with 4 KiB lines, a 4 KiB move).
    footprint = max(4096, min(1 << 20, dram // 4) // 4096 * 4096)
    hot = max(64, min(256 << 10, dram // 8) // 64 * 64)
    return workloads.generate(workloads.DEFAULT, seed=TRAIN_SEED, n=TRAIN_ACCESSES, footprint=footprint, hot=hot)


def _child(config_path: str, library: str) -> int:
    from ..config import load_config
    from ..system import runner as runner_module
    from . import codegen
    from .build import BuiltModel
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
        sys.exit("usage: python -m emu.harness.pgo CONFIG.toml LIBRARY")
    sys.exit(_child(sys.argv[1], sys.argv[2]))
