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

Reading is vectorised: the text is parsed in blocks of about :data:`_BLOCK` bytes of whole lines with numpy
(line boundaries, the kind of each line, hex addresses and sizes, splitting and ``M`` expansion as array
operations). A block with any line outside the plain forms lackey prints (``I  ``, `` L|S|M hex,dec``, a
``==`` banner, an empty line) is parsed line by line instead (:meth:`LackeyParser.feed`), so unusual input
and errors are read exactly as before, with the same messages and line numbers; the workload is the same
array either way (``sim_tests/workloads/test_traces.py`` compares the two readers).
"""

from collections import deque

import numpy as np

from ..errors import DisaggError
from ..workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE, validate
from .source import DECOMPRESSION_ERRORS, open_trace

__all__ = ["load_lackey", "split_aligned", "LackeyParser"]

#: Accesses gathered in Python lists before they are packed into numpy columns (bounds the lists' memory).
_CHUNK = 1 << 16
#: Bytes of text parsed at once by the vectorised reader (its temporaries are a few times this).
_BLOCK = 1 << 19
#: Bytes asked of the decompressing stream per read (a read that fails loses at most this much text, so an
#: error names a line close to where the damage is).
_READ = 1 << 16

# Byte -> hex digit value (255: not a hex digit), byte -> decimal digit value (255: not a digit).
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_DEC = np.full(256, 255, dtype=np.uint8)
_DEC[48:58] = np.arange(10, dtype=np.uint8)
#: Hex digits of an address the vectorised reader takes (60 bits); longer ones go the line-by-line way.
_MAX_HEX = 15
#: Decimal digits of a size the vectorised reader takes.
_MAX_DEC = 6


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
        try:
            while True:
                piece = f.read(_READ)
                if not piece or not parser.feed_bytes(piece):
                    break
                f.tick()
        except DECOMPRESSION_ERRORS as exc:
            # The lines read before the damage are parsed first: a bad line there is the error to report.
            parser.flush_lines()
            raise f.error(exc, parser.lines + 1) from None
    return parser.finish()


class LackeyParser:
    """Incremental lackey parser: :meth:`feed_bytes` text as it comes (or :meth:`feed` one line at a time),
    :meth:`finish` for the workload array.

    Used by :func:`load_lackey` on files and by :mod:`emu.program` on a running valgrind's output. Text fed
    with :meth:`feed_bytes` is parsed in blocks of whole lines, vectorised (see the module docstring); the
    accesses are kept as packed numpy columns (14 bytes per access until :meth:`finish` builds the 24-byte
    rows), so memory grows with the workload array, never with the text. The two ways of feeding may be
    mixed only at line boundaries (:meth:`flush_lines` first). Parameters as for :func:`load_lackey`;
    ``name`` is used in error messages (``name:line: ...``).
    """

    def __init__(self, name, *, pid=1, cpi=1.0, seed=0, max_accesses=None, vaddr_width=48):
        _check_options(pid, cpi, max_accesses)
        self.name, self.pid, self.cpi, self.seed, self.vaddr_width = name, pid, cpi, seed, vaddr_width
        self.limit = max_accesses if max_accesses is not None else -1
        self.addr_limit = 1 << vaddr_width
        self.instrs = 0
        self.count = 0              # accesses in packed chunks
        self.instructions = 0       # instruction fetches seen (all of them)
        self.lines = 0              # lines parsed by feed_bytes (the next one is line lines + 1)
        self.stopped = False        # max_accesses reached
        self._chunks = deque()
        self._ops, self._addrs, self._sizes, self._thinks = [], [], [], []
        self._pending, self._pending_len = [], 0

    # ------------------------------------------------------------------ text in blocks (vectorised)
    def feed_bytes(self, data):
        """Parse text ``data`` (any piece of the log; lines may span calls); False once ``max_accesses`` is
        reached (the rest is not read)."""
        if self.stopped:
            return False
        if data:
            self._pending.append(bytes(data))
            self._pending_len += len(data)
        if self._pending_len >= _BLOCK:
            self.flush_lines()
        return not self.stopped

    def flush_lines(self, final=False):
        """Parse every whole line fed so far (and, with ``final``, a last line without a newline)."""
        if self.stopped or not self._pending:
            return
        data = b"".join(self._pending)
        cut = len(data) if final else data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        self._pending, self._pending_len = ([rest], len(rest)) if rest else ([], 0)
        if block:
            self._feed_block(block)

    def _feed_block(self, block):
        """Parse ``block``: whole lines (the last may lack its newline), numbered from ``self.lines + 1``."""
        first = self.lines + 1
        self.lines += block.count(b"\n") + (not block.endswith(b"\n"))
        if self.limit >= 0 and self.count + len(self._ops) >= self.limit:
            self.stopped = True
            return
        parsed = self._parse_block(block)
        if parsed is None:      # a line outside the plain forms: line by line, exact messages
            lines = block.split(b"\n")
            if block.endswith(b"\n"):
                lines.pop()
            for k, line in enumerate(lines):
                if not self.feed(line, first + k):
                    self.stopped = True
                    return
            return
        self._pack()
        ops, addrs, sizes, thinks, instrs_at, n_instr, carry = parsed
        take = len(ops)
        if self.limit >= 0 and self.count + take >= self.limit:
            # Stop after the line whose accesses reach the limit, as the line reader does.
            take = self.limit - self.count
            line_of = instrs_at[take - 1] if take else 0
            self.instructions += int(line_of)
            self.stopped = True
        else:
            self.instructions += n_instr
            self.instrs = carry
        if take:
            self._chunks.append((ops[:take], addrs[:take], sizes[:take], thinks[:take]))
            self.count += take

    def _parse_block(self, block):
        """Vectorised parse of ``block``: (ops, addrs, sizes, thinks, I-lines before each access's line,
        I-lines in the block, I-lines after its last data line), or None if a line needs the line reader."""
        b = np.frombuffer(block, dtype=np.uint8)
        nb = len(b)
        ends = np.flatnonzero(b == 10)
        if not block.endswith(b"\n"):
            ends = np.append(ends, nb)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        bp = np.zeros(nb + 4, dtype=np.uint8)     # padded: the first three bytes of a short last line
        bp[:nb] = b
        # A CR before the newline is whitespace to the line reader (it strips lines) and here.
        has_cr = (ends > starts) & (bp[ends - 1] == 13)
        ends = ends - has_cr
        length = ends - starts
        c0, c1, c2 = bp[starts], bp[starts + 1], bp[starts + 2]
        long3 = length >= 3
        is_i = long3 & (c0 == 73) & (c1 == 32) & (c2 == 32)                   # "I  "
        is_d = long3 & (c0 == 32) & (c2 == 32) & ((c1 == 76) | (c1 == 83) | (c1 == 77))   # " L ", " S ", " M "
        plain = is_i | is_d | ((length >= 2) & (c0 == 61) & (c1 == 61)) | (length == 0)   # "==" banner, empty
        if not plain.all():
            return None
        data_lines = np.flatnonzero(is_d)
        nd = len(data_lines)
        n_instr = int(np.count_nonzero(is_i))
        if nd == 0:
            return (np.empty(0, np.uint8), np.empty(0, np.uint64), np.empty(0, np.uint8), np.empty(0, np.uint32),
                    np.empty(0, np.int64), n_instr, self.instrs + n_instr)
        ds, de, kind = starts[data_lines] + 3, ends[data_lines], c1[data_lines]
        # The first comma after the address: probed at each possible digit count (two or three counts
        # occur in a real trace, so few rows are left after the first probes).
        comma = np.zeros(nd, dtype=np.int64)
        left = np.arange(nd)
        for k in range(1, _MAX_HEX + 1):
            at = ds[left] + k
            found = bp[np.minimum(at, nb)] == 44
            comma[left[found]] = at[found]
            left = left[~found]
            if not left.size:
                break
        if left.size:
            return None
        hexlen, declen = comma - ds, de - comma - 1
        if ((declen < 1) | (declen > _MAX_DEC)).any():
            return None
        addr = _digits(bp, ds, hexlen, _HEX, 16)
        size = _digits(bp, comma + 1, declen, _DEC, 10)
        if addr is None or size is None:
            return None
        size = size.astype(np.int64)
        if (size < 1).any() or (addr + size.astype(np.uint64)
                                > np.uint64(min(self.addr_limit, (1 << 64) - 1))).any():
            return None
        # Think time: instruction fetches since the previous data access (carried across blocks).
        cum_i = np.cumsum(is_i, dtype=np.int64)
        before = cum_i[data_lines]
        instrs = np.diff(before, prepend=0)
        instrs[0] += self.instrs
        carry = int(cum_i[-1] - before[-1])
        think = np.minimum(np.rint(instrs * float(self.cpi)), 0xFFFF_FFFF).astype(np.uint32)
        is_m = kind == 77
        op_ls = (kind == 83).astype(np.uint8)            # OP_WRITE for S, OP_READ for L (and M's first)
        aligned = ((size == 8) | (size == 4) | (size == 2) | (size == 1)) & (addr % size.astype(np.uint64) == 0)
        if aligned.all() and not is_m.any():
            # One access per line: almost every block of a real trace.
            return op_ls, addr, size.astype(np.uint8), think, before, n_instr, carry
        # Pieces: one per aligned line; wide or unaligned lines are split into naturally aligned pieces of
        # 8/4/2/1 bytes, lowest first (split_aligned), computed for those lines only, one column per piece.
        pieces = np.ones(nd, dtype=np.int64)
        wide = np.flatnonzero(~aligned)
        if wide.size:
            cols_a, cols_s = [], []
            a, left = addr[wide], size[wide]
            while True:
                active = left > 0
                if not active.any():
                    break
                p = np.where((left >= 8) & (a % np.uint64(8) == 0), 8,
                             np.where((left >= 4) & (a % np.uint64(4) == 0), 4,
                                      np.where((left >= 2) & (a % np.uint64(2) == 0), 2, 1)))
                p = np.where(active, p, 0)
                cols_a.append(a.copy())
                cols_s.append(p)
                a = a + p.astype(np.uint64)
                left = left - p
            wide_s = np.stack(cols_s, axis=1)                  # (wide lines, pieces); 0 = no piece
            pieces[wide] = np.count_nonzero(wide_s, axis=1)
        piece_line = np.repeat(np.arange(nd), pieces)
        piece_first = np.cumsum(pieces) - pieces            # index of each line's first piece
        piece_a, piece_s = addr[piece_line], size[piece_line]
        if wide.size:
            valid = wide_s > 0                              # pieces are a prefix of each row
            at = (piece_first[wide][:, None] + np.arange(wide_s.shape[1]))[valid]
            piece_a[at] = np.stack(cols_a, axis=1)[valid]
            piece_s[at] = wide_s[valid]
        # Accesses: one per piece, two for a piece of an M line (a read, then a write of the same bytes).
        piece_m = is_m[piece_line]
        reps = 1 + piece_m
        acc_piece = np.repeat(np.arange(len(piece_line)), reps)
        acc_first = np.cumsum(reps) - reps                  # index of each piece's first access
        ops = op_ls[piece_line][acc_piece]
        ops[acc_first[piece_m] + 1] = OP_WRITE
        addrs = piece_a[acc_piece]
        sizes = piece_s[acc_piece].astype(np.uint8)
        thinks = np.zeros(len(acc_piece), dtype=np.uint32)
        thinks[acc_first[piece_first]] = think
        # I-lines of the block before each access's line (for the count when max_accesses stops reading).
        instrs_at = before[piece_line[acc_piece]]
        return ops, addrs, sizes, thinks, instrs_at, n_instr, carry

    # ------------------------------------------------------------------ one line at a time
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
        self.flush_lines(final=True)
        self._pack()
        n = self.count if self.limit < 0 else min(self.count, self.limit)
        w = np.zeros(n, dtype=WORKLOAD_DTYPE)
        w["pid"] = self.pid
        pos = 0
        while self._chunks and pos < n:
            ops, addrs, sizes, thinks = self._chunks.popleft()
            k = min(len(ops), n - pos)
            w["op"][pos:pos + k] = ops[:k]
            w["vaddr"][pos:pos + k] = addrs[:k]
            w["size"][pos:pos + k] = sizes[:k]
            w["think"][pos:pos + k] = thinks[:k]
            pos += k
        self._chunks.clear()
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


def _digits(bp, first, count, table, base):
    """The numbers written with ``count[i]`` digits of ``base`` from byte ``first[i]`` of ``bp`` (uint64), or
    None if one of those bytes is not a digit. Lines are grouped by digit count: one 2-D gather per group."""
    out = np.empty(len(first), dtype=np.uint64)
    lo, hi = int(count.min()), int(count.max())
    for k in range(lo, hi + 1):
        rows = (count == k) if lo != hi else slice(None)
        d = table[bp[first[rows][:, None] + np.arange(k)]]
        if d.size and d.max() == 255:
            return None
        value = d[:, 0].astype(np.uint64)
        for j in range(1, k):
            value *= np.uint64(base)
            value += d[:, j]
        out[rows] = value
    return out


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
