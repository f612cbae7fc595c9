"""Import valgrind lackey memory traces (``valgrind --tool=lackey --trace-mem=yes PROGRAM``).

Lackey prints one line per event::

    I  0401ab70,3      instruction fetch (address, length)
     L 1fff000668,8    data load
     S 1fff000670,8    data store
     M 04035328,8      data modify (read-modify-write): a load then a store of the same bytes

plus ``==PID==`` banner lines, which are skipped (as are blank lines). Any other line is an error that
names the file and line number.

Conversion to :data:`emu.workload_format.WORKLOAD_DTYPE`:

* Instruction fetches are not memory accesses of the ExCache's data port; the number of ``I`` lines since
  the previous data access, times ``cpi`` (cycles per instruction), becomes that access's ``think`` time.
* Each data access is split into naturally aligned pieces of 8, 4, 2 or 1 bytes (lackey reports SIMD
  accesses of 16 or 32 bytes and unaligned ones); pieces after the first have zero think time.
* ``M`` becomes a read followed by a write of the same piece.
* Lackey does not record values, so writes carry pseudo-random data drawn from ``seed`` (what a
  write-back moves is then recognisable, and runs stay reproducible).
"""

import numpy as np

from ..errors import DisaggError
from ..workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE, validate
from .source import DECOMPRESSION_ERRORS, open_trace

__all__ = ["load_lackey", "split_aligned", "LackeyParser"]

#: Accesses gathered in Python lists before they are packed into numpy columns (bounds the lists' memory).
_CHUNK = 1 << 16


def split_aligned(addr, size):
    """Split ``size`` bytes at ``addr`` into naturally aligned pieces of 8/4/2/1 bytes, lowest first."""
    pieces = []
    while size > 0:
        for p in (8, 4, 2, 1):
            if p <= size and addr % p == 0:
                break
        pieces.append((addr, p))
        addr += p
        size -= p
    return pieces


def load_lackey(path, *, pid=1, cpi=1.0, seed=0, max_accesses=None, vaddr_width=48, progress=False):
    """Read a lackey ``--trace-mem=yes`` log into a workload array.

    Parameters
    ----------
    path : str or Path
        The log (``--log-file=`` output or captured stderr), plain or compressed (gzip, xz, zstd: see
        :mod:`emu.traces.source`); it is streamed, never held in memory.
    pid : int
        Process id given to every access (lackey traces one process).
    cpi : float
        Cycles per instruction used to turn instruction counts into think time.
    seed : int
        Seed of the pseudo-random values written by stores.
    max_accesses : int, optional
        Stop after this many accesses (after splitting).
    vaddr_width : int
        Addresses must fit in this many bits.
    progress : bool
        Show a progress bar while a large file is read.
    """
    _check_options(pid, cpi, max_accesses)
    parser = LackeyParser(str(path), pid=pid, cpi=cpi, seed=seed, max_accesses=max_accesses,
                          vaddr_width=vaddr_width)
    with open_trace(path, what="lackey trace", progress=progress) as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if not parser.feed(line, lineno):
                    break
                if not lineno & 0x3FFFF:
                    f.tick()
        except DECOMPRESSION_ERRORS as exc:
            raise f.error(exc, lineno + 1) from None
    return parser.finish()


class LackeyParser:
    """Incremental lackey parser: :meth:`feed` one line at a time, :meth:`finish` for the workload array.

    Used by :func:`load_lackey` on files and by :mod:`emu.program` on a running valgrind's output. The
    accesses are packed into numpy columns every ``_CHUNK`` accesses, so memory grows with the workload
    array (14 bytes per access until :meth:`finish` builds the 24-byte rows), never with the text.
    Parameters as for :func:`load_lackey`; ``name`` is used in error messages (``name:line: ...``).
    """

    def __init__(self, name, *, pid=1, cpi=1.0, seed=0, max_accesses=None, vaddr_width=48):
        _check_options(pid, cpi, max_accesses)
        self.name, self.pid, self.cpi, self.seed, self.vaddr_width = name, pid, cpi, seed, vaddr_width
        self.limit = max_accesses if max_accesses is not None else -1
        self.addr_limit = 1 << vaddr_width
        self.instrs = 0
        self.count = 0              # accesses in packed chunks
        self.instructions = 0       # instruction fetches seen (all of them)
        self._chunks = []
        self._ops, self._addrs, self._sizes, self._thinks = [], [], [], []

    def feed(self, line, lineno):
        """Parse one line (``bytes`` or ``str``); return False once ``max_accesses`` is reached."""
        if isinstance(line, str):
            line = line.encode("ascii", "replace")
        if line.startswith(b"I  "):
            self.instrs += 1
            self.instructions += 1
            return True
        kind = line[1:2] if line[:1] == b" " and line[2:3] == b" " else b""
        if kind not in (b"L", b"S", b"M"):
            if line.startswith(b"==") or not line.strip():
                return True
            raise DisaggError(f"{self.name}:{lineno}: not a lackey trace line: {_show(line)!r}")
        a, comma, s = line[3:].strip().partition(b",")
        try:
            addr = int(a, 16)
            size = int(s)
        except ValueError:
            raise DisaggError(f"{self.name}:{lineno}: bad address or size: {_show(line)!r}") from None
        if not comma or size < 1 or addr < 0 or addr + size > self.addr_limit:
            raise DisaggError(f"{self.name}:{lineno}: bad address or size: {_show(line)!r}")
        think = min(int(round(self.instrs * self.cpi)), 0xFFFF_FFFF)
        self.instrs = 0
        ops, addrs, sizes, thinks = self._ops, self._addrs, self._sizes, self._thinks
        for k, (pa, ps) in enumerate(split_aligned(addr, size) if size != 8 or addr & 7 else ((addr, 8),)):
            t = think if k == 0 else 0
            if kind == b"M":
                ops += (OP_READ, OP_WRITE)
                addrs += (pa, pa)
                sizes += (ps, ps)
                thinks += (t, 0)
            else:
                ops.append(OP_READ if kind == b"L" else OP_WRITE)
                addrs.append(pa)
                sizes.append(ps)
                thinks.append(t)
        if len(ops) >= _CHUNK:
            self._pack()
        return not 0 <= self.limit <= self.count + len(ops)

    def _pack(self):
        if self._ops:
            self._chunks.append((np.array(self._ops, dtype=np.uint8), np.array(self._addrs, dtype=np.uint64),
                                 np.array(self._sizes, dtype=np.uint8), np.array(self._thinks, dtype=np.uint32)))
            self.count += len(self._ops)
            self._ops, self._addrs, self._sizes, self._thinks = [], [], [], []

    @property
    def accesses(self):
        """Accesses parsed so far (after splitting)."""
        return self.count + len(self._ops)

    def finish(self):
        """The validated workload array of every access fed (at most ``max_accesses``)."""
        self._pack()
        n = self.count if self.limit < 0 else min(self.count, self.limit)
        w = np.zeros(n, dtype=WORKLOAD_DTYPE)
        w["pid"] = self.pid
        pos = 0
        while self._chunks and pos < n:
            ops, addrs, sizes, thinks = self._chunks.pop(0)
            k = min(len(ops), n - pos)
            w["op"][pos:pos + k] = ops[:k]
            w["vaddr"][pos:pos + k] = addrs[:k]
            w["size"][pos:pos + k] = sizes[:k]
            w["think"][pos:pos + k] = thinks[:k]
            pos += k
        self._chunks = []
        values = np.random.default_rng(self.seed).integers(0, 2**64, size=n, dtype=np.uint64)
        # values &= the low size*8 bits, computed in place (no n-sized temporaries beyond one column)
        shift = w["size"].astype(np.uint64)
        shift *= np.uint64(8)
        np.subtract(np.uint64(64), shift, out=shift)
        np.right_shift(np.uint64(0xFFFF_FFFF_FFFF_FFFF), shift, out=shift)
        values &= shift
        del shift
        values[w["op"] != OP_WRITE] = 0
        w["data"] = values
        return validate(w, what=self.name, vaddr_width=self.vaddr_width)


def _show(line):
    return line.decode("ascii", "replace").strip()[:60]


def _check_options(pid, cpi, max_accesses):
    if isinstance(pid, bool) or not isinstance(pid, int) or not 1 <= pid <= 0xFFFF:
        raise DisaggError(f"lackey import: pid must be an int in 1..65535, not {pid!r}")
    if isinstance(cpi, bool) or not isinstance(cpi, (int, float)) or not 0 <= cpi <= 1e6:
        raise DisaggError(f"lackey import: cpi must be a number in 0..1e6, not {cpi!r}")
    if max_accesses is not None and (isinstance(max_accesses, bool) or not isinstance(max_accesses, int)
                                     or max_accesses < 1):
        raise DisaggError(f"lackey import: max_accesses must be a positive int, not {max_accesses!r}")
