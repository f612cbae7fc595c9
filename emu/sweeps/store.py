"""The results of a sweep on disk, one line per finished point, so an interrupted sweep can resume.

``points.jsonl`` in the output folder gets one JSON object per point as soon as the point finishes
(written and flushed at once): ``{"key", "point", "status": "ok" | "error", "stats" | "error", "worker",
"seconds"}``. A point's key is a digest of everything its result depends on (the full configuration, the
workload's bytes, whether it is checked, the run function), so ``--resume`` skips exactly the points
already done with the same inputs; a changed workload or configuration changes the keys and those points
run again. Points that ended in an error are run again on resume. A line cut short by an interruption is
ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import DisaggError

__all__ = ["ResultStore", "point_key", "workload_digest", "jsonable"]

FILE = "points.jsonl"


def workload_digest(workload) -> str:
    """SHA-256 of a workload array's dtype and bytes."""
    a = np.ascontiguousarray(workload)
    return hashlib.sha256(str(a.dtype).encode() + b"\0" + a.tobytes()).hexdigest()


def point_key(config_values: dict, workload_hash: str, check: bool, run_fn_name: str) -> str:
    text = json.dumps([config_values, workload_hash, bool(check), run_fn_name], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def jsonable(obj):
    """``obj`` with numpy scalars and arrays made plain Python (what JSON holds), tuples as lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


class ResultStore:
    """``points.jsonl`` of one output folder.

    Parameters
    ----------
    folder : path
    resume : bool
        Keep the points already in the file (:attr:`done`); otherwise the file is started afresh.
    """

    def __init__(self, folder, *, resume: bool):
        self.path = Path(folder) / FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DisaggError(f"cannot create {str(self.path.parent)!r}: {exc.strerror or exc}") from None
        self.done: dict[str, dict] = {}
        if resume and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue            # the last line of an interrupted write
                if isinstance(rec, dict) and rec.get("status") == "ok" and "key" in rec:
                    self.done[rec["key"]] = rec
        # Rewrite the file with only what is kept, so it never holds two results of one point.
        self._file = open(self.path, "w")
        for rec in self.done.values():
            self._write(rec)

    def _write(self, record):
        self._file.write(json.dumps(jsonable(record), sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def add(self, record: dict) -> None:
        """Append one finished point (flushed to disk before returning)."""
        self._write(record)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
