"""Profile-guided optimisation of a system model: the training run (issue 12).

:func:`emu.harness.build.build_model` given a ``train`` callable compiles the model twice: first
instrumented (``-fprofile-generate``), then, after ``train(library)`` has run that library, with the
profile it wrote (``-fprofile-use``). :func:`system_trainer` is the training of a system top: a short
run of the built-in ``default`` workload (sized to the configuration's DRAM) through the real firmware,
in a child process (the profile is written when that process exits). The model's results do not depend
on the profile; only the compiler's code layout and inlining do (docs/harness.md, "Speed").

    python -m emu.system.pgo_training CONFIG.toml LIBRARY     (what the child runs; ports.json beside CONFIG.toml)

The child lives in :mod:`emu.system.pgo_training`: it drives the system runner, which builds its model
through :mod:`emu.system.model_cache`, which asks this module for the trainer (kept apart, no import circle).
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
            proc = subprocess.run([sys.executable, "-m", "emu.system.pgo_training", str(path), str(library)],
                                  cwd=_ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError("the training run failed: " + " | ".join(tail))
    return train
