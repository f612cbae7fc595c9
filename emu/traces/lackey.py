"""Import valgrind lackey memory traces (``valgrind --tool=lackey --trace-mem=yes PROGRAM``).

Lackey prints one line per event::

    I  0401ab70,3      instruction fetch (address, length)
     L 1fff000668,8    data load
     S 1fff000670,8    data store
     M 04035328,8      data modify (read-modify-write): a load then a store of the same bytes

plus ``==PID==`` banner lines, which are skipped (as are blank lines). Any other line is an error that
names the file and line number.

Conversion to :data:`emu.workload.WORKLOAD_DTYPE`:

* Instruction fetches are not memory accesses of the ExCache's data port; the number of ``I`` lines since
  the previous data access, times ``cpi`` (cycles per instruction), becomes that access's ``think`` time.
* Each data access is split into naturally aligned pieces of 8, 4, 2 or 1 bytes (lackey reports SIMD
  accesses of 16 or 32 bytes and unaligned ones); pieces after the first have zero think time.
* ``M`` becomes a read followed by a write of the same piece.
* Lackey does not record values, so writes carry pseudo-random data drawn from ``seed`` (what a
  write-back moves is then recognisable, and runs stay reproducible).
"""

import gzip
from pathlib import Path

import numpy as np

from ..errors import DisaggError
from ..workload import OP_READ, OP_WRITE, WORKLOAD_DTYPE, validate

__all__ = ["load_lackey", "split_aligned"]


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


def _open(path):
    path = Path(path)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="ascii", errors="replace")
        return open(path, "r", encoding="ascii", errors="replace")
    except OSError as exc:
        raise DisaggError(f"cannot read lackey trace {str(path)!r}: {exc.strerror or exc}") from None


def load_lackey(path, *, pid=1, cpi=1.0, seed=0, max_accesses=None, vaddr_width=48):
    """Read a lackey ``--trace-mem=yes`` log into a workload array.

    Parameters
    ----------
    path : str or Path
        The log (``--log-file=`` output or captured stderr); ``.gz`` files are decompressed.
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
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or not 1 <= pid <= 0xFFFF:
        raise DisaggError(f"lackey import: pid must be an int in 1..65535, not {pid!r}")
    if isinstance(cpi, bool) or not isinstance(cpi, (int, float)) or not 0 <= cpi <= 1e6:
        raise DisaggError(f"lackey import: cpi must be a number in 0..1e6, not {cpi!r}")
    if max_accesses is not None and (isinstance(max_accesses, bool) or not isinstance(max_accesses, int)
                                     or max_accesses < 1):
        raise DisaggError(f"lackey import: max_accesses must be a positive int, not {max_accesses!r}")
    ops, addrs, sizes, thinks = [], [], [], []
    limit = max_accesses if max_accesses is not None else -1
    addr_limit = 1 << vaddr_width
    instrs = 0
    name = str(path)
    with _open(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.startswith("I  "):
                instrs += 1
                continue
            kind = line[1:2] if line[:1] == " " and line[2:3] == " " else ""
            if kind not in ("L", "S", "M"):
                if line.startswith("==") or not line.strip():
                    continue
                raise DisaggError(f"{name}:{lineno}: not a lackey trace line: {line.strip()[:60]!r}")
            a, comma, s = line[3:].strip().partition(",")
            try:
                addr = int(a, 16)
                size = int(s)
            except ValueError:
                raise DisaggError(f"{name}:{lineno}: bad address or size: {line.strip()[:60]!r}") from None
            if not comma or size < 1 or addr < 0 or addr + size > addr_limit:
                raise DisaggError(f"{name}:{lineno}: bad address or size: {line.strip()[:60]!r}")
            think = min(int(round(instrs * cpi)), 0xFFFF_FFFF)
            instrs = 0
            for k, (pa, ps) in enumerate(split_aligned(addr, size) if size != 8 or addr & 7 else ((addr, 8),)):
                t = think if k == 0 else 0
                if kind == "M":
                    ops += (OP_READ, OP_WRITE)
                    addrs += (pa, pa)
                    sizes += (ps, ps)
                    thinks += (t, 0)
                else:
                    ops.append(OP_READ if kind == "L" else OP_WRITE)
                    addrs.append(pa)
                    sizes.append(ps)
                    thinks.append(t)
            if 0 <= limit <= len(ops):
                break
    n = len(ops) if limit < 0 else min(len(ops), limit)
    w = np.zeros(n, dtype=WORKLOAD_DTYPE)
    w["pid"] = pid
    w["op"] = ops[:n]
    w["vaddr"] = np.array(addrs[:n], dtype=np.uint64)
    w["size"] = sizes[:n]
    w["think"] = thinks[:n]
    bits = w["size"].astype(np.uint64) * np.uint64(8)
    mask = np.uint64(0xFFFF_FFFF_FFFF_FFFF) >> (np.uint64(64) - bits)
    values = np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64)
    w["data"] = np.where(w["op"] == OP_WRITE, values & mask, 0)
    return validate(w, what=name, vaddr_width=vaddr_width)
