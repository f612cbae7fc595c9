"""Open a trace file for streaming, whatever its compression: plain, gzip, xz or zstd.

Real traces are hundreds of MB of text (valgrind lackey prints one line per instruction), so readers never
hold the text: they iterate over the lines (or read the rows) of the stream :func:`open_trace` returns and
keep only the workload array they build.

* The compression is recognised by the file's magic bytes, not its name; a name ending in ``.gz``, ``.xz`` or
  ``.zst`` whose content is not of that kind is refused (a misnamed or damaged file is better reported
  than read as text).
* Decompression is streamed: gzip and xz from the standard library, zstd with ``zstandard`` (multi-frame
  files, as ``zstd`` and ``pzstd`` write, are read to the end; a truncated frame is an error, not a silent
  short read).
* Any decompression error (corrupt data, a truncated file) becomes a :class:`TraceReadError` naming the file
  and the line (or row) being read: one line, and ``disagg`` exits with status 2.
* :class:`TraceStream` can show a progress bar (tqdm) over the compressed bytes consumed: at once for files
  of :data:`PROGRESS_MIN_BYTES` or more, after :data:`PROGRESS_DELAY_S` seconds for smaller ones (a small
  compressed file may hold a large text).
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import zlib
from pathlib import Path

from ..errors import DisaggError

__all__ = ["TraceReadError", "TraceStream", "open_trace", "detect_compression", "COMPRESSIONS",
           "PROGRESS_MIN_BYTES", "PROGRESS_DELAY_S", "DECOMPRESSION_ERRORS"]

#: Compression kinds: name -> (magic bytes, file suffix).
COMPRESSIONS = {
    "gzip": (b"\x1f\x8b", ".gz"),
    "xz": (b"\xfd7zXZ\x00", ".xz"),
    "zstd": (b"\x28\xb5\x2f\xfd", ".zst"),
}
_BY_SUFFIX = {suffix: kind for kind, (_, suffix) in COMPRESSIONS.items()}

#: Files at least this large show a progress bar at once while they are read (when a bar is asked for);
#: smaller ones after :data:`PROGRESS_DELAY_S` seconds of reading.
PROGRESS_MIN_BYTES = 16 << 20
PROGRESS_DELAY_S = 2.0

_CHUNK = 1 << 20


class TraceReadError(DisaggError):
    """A trace that cannot be read: missing, misnamed, corrupt or truncated (one line, names the file)."""


def _zstd_errors():
    import zstandard
    return (zstandard.ZstdError,)


#: Exceptions a decompressing stream raises on bad input (EOFError: a truncated gzip/xz/zstd stream).
DECOMPRESSION_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, *_zstd_errors())


class _ZstdRaw(io.RawIOBase):
    """A zstd decompressing raw stream that reads every frame and raises EOFError on a truncated one.

    (``zstandard``'s own ``stream_reader`` ends silently at a truncated frame.)
    """

    def __init__(self, raw):
        import zstandard
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._pending = b""
        self._in_frame = False   # input fed to the current frame and its end not seen yet

    def readable(self):
        return True

    def readinto(self, buf):
        while not self._pending:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended inside a frame (truncated file)")
                return 0
            while chunk:
                self._in_frame = True
                self._pending += self._obj.decompress(chunk)
                if self._obj.eof:
                    self._in_frame = False
                    chunk = self._obj.unused_data
                    self._obj = self._dctx.decompressobj()
                else:
                    chunk = b""
        n = min(len(buf), len(self._pending))
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def detect_compression(head: bytes):
    """The compression kind whose magic ``head`` starts with, or ``None`` for an uncompressed file."""
    for kind, (magic, _) in COMPRESSIONS.items():
        if head.startswith(magic):
            return kind
    return None


class TraceStream:
    """A binary, decompressed stream of a trace file, with an optional progress bar.

    Use as a context manager; iterate for lines (``bytes``) or call :meth:`read`. :attr:`name` is the file
    name for messages, :attr:`compression` the kind found (``None``: plain). :meth:`error` turns a
    decompression exception into a :class:`TraceReadError` naming the place.
    """

    def __init__(self, path, *, what="trace", progress=False):
        self.path = Path(path)
        self.name = str(path)
        try:
            self._raw = open(self.path, "rb")
        except OSError as exc:
            raise TraceReadError(f"cannot read {what} {self.name!r}: {exc.strerror or exc}") from None
        try:
            self.size = os.fstat(self._raw.fileno()).st_size
            head = self._raw.read(8)
            self._raw.seek(0)
        except OSError as exc:
            self._raw.close()
            raise TraceReadError(f"cannot read {what} {self.name!r}: {exc.strerror or exc}") from None
        self.compression = detect_compression(head)
        claimed = _BY_SUFFIX.get(self.path.suffix.lower())
        if claimed is not None and claimed != self.compression:
            self._raw.close()
            found = f"{self.compression} data" if self.compression else "not compressed"
            raise TraceReadError(f"{self.name}: named like a {claimed} file ({self.path.suffix}) but {found}")
        if self.compression == "gzip":
            self.stream = gzip.GzipFile(fileobj=self._raw, mode="rb")
        elif self.compression == "xz":
            self.stream = lzma.LZMAFile(self._raw, mode="rb")
        elif self.compression == "zstd":
            self.stream = io.BufferedReader(_ZstdRaw(self._raw), buffer_size=_CHUNK)
        else:
            self.stream = self._raw
        self._bar = None
        if progress:
            # A large file shows the bar at once; a smaller one only if reading it lasts more than two
            # seconds (a compressed trace of a few MB can hold hundreds of MB of text).
            from tqdm import tqdm
            self._bar = tqdm(total=self.size, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                             dynamic_ncols=True, desc=f"reading {self.path.name}",
                             delay=0 if self.size >= PROGRESS_MIN_BYTES else PROGRESS_DELAY_S)
        self._shown = 0

    def tick(self):
        """Advance the progress bar to the compressed bytes consumed so far (cheap; call every few MB)."""
        if self._bar is not None:
            pos = self._raw.tell()
            self._bar.update(pos - self._shown)
            self._shown = pos

    def error(self, exc, where):
        """A :class:`TraceReadError` for decompression exception ``exc`` at ``where`` (e.g. ``"line 12"``)."""
        kind = f"{self.compression} " if self.compression else ""
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, EOFError):
            detail = f"truncated {kind}file ({detail})"
        elif not self.compression:
            detail = f"read error ({detail})"
        else:
            detail = f"corrupt {kind}data ({detail})"
        return TraceReadError(f"{self.name}:{where}: {detail}")

    def read(self, n=-1):
        return self.stream.read(n)

    def readinto(self, buf):
        return self.stream.readinto(buf)

    def __iter__(self):
        return iter(self.stream)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        try:
            if self.stream is not self._raw:
                self.stream.close()
        except DECOMPRESSION_ERRORS:
            pass
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_trace(path, *, what="trace", progress=False) -> TraceStream:
    """Open ``path`` (plain, ``.gz``, ``.xz`` or ``.zst``) as a decompressed binary :class:`TraceStream`."""
    return TraceStream(path, what=what, progress=progress)
