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
The file may be compressed (gzip, xz, zstd; :mod:`emu.traces.source`) and is streamed into the array.
"""

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DisaggError
from ..workload_format import WORKLOAD_DTYPE, validate
from .source import DECOMPRESSION_ERRORS, open_trace

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
    """True if ``path`` (plain or compressed) starts with the dtrace magic."""
    try:
        with open_trace(path) as f:
            return f.read(len(MAGIC)) == MAGIC
    except (DisaggError, *DECOMPRESSION_ERRORS):
        return False


_ROWS_PER_READ = 1 << 16


def _read(path, *, rows=True, progress=False):
    """(name, meta, rows array or None), streamed: memory holds the rows, never a copy of the file."""
    with open_trace(path, progress=progress) as f:
        name = str(path)
        where = "header"
        try:
            head = f.read(_HEADER.size)
            if len(head) < _HEADER.size or head[:8] != MAGIC:
                raise DisaggError(f"{name}: not a disagg trace (bad magic)")
            magic, version, row_size, count, meta_len, crc = _HEADER.unpack(head)
            if version != VERSION:
                raise DisaggError(f"{name}: trace format version {version} is not supported "
                                  f"(this disagg reads {VERSION})")
            if row_size != FILE_DTYPE.itemsize:
                raise DisaggError(f"{name}: row size {row_size} does not match {FILE_DTYPE.itemsize}")
            expected = _HEADER.size + meta_len + count * row_size
            if f.compression is None and f.size != expected:
                raise DisaggError(f"{name}: file is {f.size} bytes, header says {expected} (truncated or padded)")
            where = "metadata"
            meta_bytes = f.read(meta_len)
            got = _HEADER.size + len(meta_bytes)
            running = zlib.crc32(meta_bytes)
            if not rows:
                data = None
            else:
                try:
                    data = np.empty(count, dtype=FILE_DTYPE)
                except (MemoryError, ValueError):
                    raise DisaggError(f"{name}: header says {count} rows, more than this machine can hold") from None
                buf = memoryview(data.view(np.uint8).reshape(-1))
                step = _ROWS_PER_READ * row_size
                for off in range(0, len(buf), step):
                    where = f"row {off // row_size}"
                    part = buf[off:off + step]
                    k = f.readinto(part)
                    while k and k < len(part):     # decompressors may return short reads
                        more = f.readinto(part[k:])
                        if not more:
                            break
                        k += more
                    got += k
                    running = zlib.crc32(part[:k], running)
                    f.tick()
                    if k < len(part):
                        break
                where = "end"
                while True:
                    extra = f.read(1 << 20)
                    if not extra:
                        break
                    got += len(extra)
                if got != expected:
                    what = "file is" if f.compression is None else f"decompressed {f.compression} data is"
                    raise DisaggError(f"{name}: {what} {got} bytes, header says {expected} (truncated or padded)")
                if running != crc:
                    raise DisaggError(f"{name}: CRC mismatch (corrupted file)")
        except DECOMPRESSION_ERRORS as exc:
            raise f.error(exc, where) from None
    try:
        meta = json.loads(meta_bytes.decode())
    except (UnicodeDecodeError, ValueError):
        raise DisaggError(f"{name}: metadata is not valid JSON") from None
    return name, meta, data


def load(path, *, progress=False):
    """Read a ``.dtrace`` file (plain, ``.gz``, ``.xz`` or ``.zst``) into a validated :data:`WORKLOAD_DTYPE` array."""
    name, _, rows = _read(path, progress=progress)
    w = rows if rows.dtype == WORKLOAD_DTYPE else rows.astype(WORKLOAD_DTYPE)
    return validate(w, what=name)


def load_meta(path):
    """The metadata dict stored in a ``.dtrace`` file (the rows are not read)."""
    return _read(path, rows=False)[1]
