"""disagg's compact binary trace format (``.dtrace``): a workload array with provenance, saved and replayed.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic  b"DISAGGTR"
    8       4     version (u32) = 1
    12      4     row_size (u32) = 24, bytes per access
    16      8     count (u64), number of accesses
    24      4     meta_len (u32), bytes of the metadata JSON
    28      4     crc32 (u32) of the metadata JSON followed by the payload (zlib.crc32)
    32      meta_len   metadata: UTF-8 JSON object (workload name, parameters, seed, source, ...)
    32+meta_len  count*24  payload: packed rows, fields in WORKLOAD_DTYPE order
                 pid u16, op u8, vaddr u64, size u8, data u64, think u32

The payload is read with one ``numpy.frombuffer`` (no per-row Python). Loading checks the magic, version,
row size, length and CRC, and validates the rows; any failure is a :class:`DisaggError` naming the file.
"""

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DisaggError
from ..workload import WORKLOAD_DTYPE, validate

__all__ = ["MAGIC", "VERSION", "FILE_DTYPE", "save", "load", "load_meta", "is_dtrace"]

MAGIC = b"DISAGGTR"
VERSION = 1
_HEADER = struct.Struct("<8sIIQII")
#: On-disk row layout: WORKLOAD_DTYPE packed, little-endian.
FILE_DTYPE = np.dtype([(name, WORKLOAD_DTYPE.fields[name][0].newbyteorder("<")) for name in WORKLOAD_DTYPE.names])
assert FILE_DTYPE.itemsize == 24


def save(path, workload, meta=None):
    """Write ``workload`` (validated) and a JSON-serialisable ``meta`` dict to ``path``; returns the Path."""
    path = Path(path)
    validate(workload, what=f"trace for {str(path)!r}")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise DisaggError(f"trace metadata must be a dict, not {type(meta).__name__}")
    try:
        meta_bytes = json.dumps(meta, sort_keys=True).encode()
    except (TypeError, ValueError) as exc:
        raise DisaggError(f"trace metadata is not JSON-serialisable: {exc}") from None
    payload = workload.astype(FILE_DTYPE).tobytes()
    crc = zlib.crc32(payload, zlib.crc32(meta_bytes))
    header = _HEADER.pack(MAGIC, VERSION, FILE_DTYPE.itemsize, len(workload), len(meta_bytes), crc)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(header + meta_bytes)
            f.write(payload)
    except OSError as exc:
        raise DisaggError(f"cannot write trace {str(path)!r}: {exc.strerror or exc}") from None
    return path


def is_dtrace(path):
    """True if ``path`` starts with the dtrace magic."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _read(path):
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise DisaggError(f"cannot read trace {str(path)!r}: {exc.strerror or exc}") from None
    name = str(path)
    if len(blob) < _HEADER.size or blob[:8] != MAGIC:
        raise DisaggError(f"{name}: not a disagg trace (bad magic)")
    magic, version, row_size, count, meta_len, crc = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise DisaggError(f"{name}: trace format version {version} is not supported (this disagg reads {VERSION})")
    if row_size != FILE_DTYPE.itemsize:
        raise DisaggError(f"{name}: row size {row_size} does not match {FILE_DTYPE.itemsize}")
    expected = _HEADER.size + meta_len + count * row_size
    if len(blob) != expected:
        raise DisaggError(f"{name}: file is {len(blob)} bytes, header says {expected} (truncated or padded)")
    body = memoryview(blob)[_HEADER.size:]
    if zlib.crc32(body) != crc:
        raise DisaggError(f"{name}: CRC mismatch (corrupted file)")
    try:
        meta = json.loads(bytes(body[:meta_len]).decode())
    except (UnicodeDecodeError, ValueError):
        raise DisaggError(f"{name}: metadata is not valid JSON") from None
    return name, meta, body[meta_len:]


def load(path):
    """Read a ``.dtrace`` file into a (validated) array of :data:`WORKLOAD_DTYPE`."""
    name, _, payload = _read(path)
    w = np.frombuffer(payload, dtype=FILE_DTYPE).astype(WORKLOAD_DTYPE)
    return validate(w, what=name)


def load_meta(path):
    """The metadata dict stored in a ``.dtrace`` file."""
    return _read(path)[1]
