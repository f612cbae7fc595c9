"""Golden model of the ExCache (``hw/processor/excache.py``), access by access. It does not import the RTL.

The model mirrors the RTL's observable behaviour exactly, so a test can compare every response and
the four performance counters:

* lines are tagged by (pid, tag); a lookup hits only a valid line of the same pid;
* write-back, write-allocate, byte strobes; writes answer ``rdata = 0``;
* victim: the lowest-numbered invalid way, else the policy's choice (see ``hw/processor/replacement.py`` for the
  encodings: LRU ages, FIFO pointer advanced by a fill into the pointed way, tree PLRU, 16-bit LFSR
  ``0xB400``/``0xACE1`` advanced once per miss, victim ``(lfsr * ways) >> 16``);
* a miss writes the victim back if valid and dirty (LINE_WRITE), then reads the line (LINE_READ). A
  refused write-back answers the access with its status and changes nothing; a refused read answers
  with its status, the victim stays (clean, if it was written back) and nothing is filled;
* the missing access, once filled, is replayed as a hit (LRU/PLRU updated as for any hit);
* counters: hits, misses (per miss event), evictions (valid lines replaced by a fill), writebacks
  (acknowledged write-backs, by misses and by flushes);
* maintenance: ``invalidate_pid`` drops lines without writing back; ``flush_pid``/``flush_all`` write
  dirty lines back in (set, way) order and leave them valid and clean.

With ``mshrs`` > 1 (the non-blocking controller, ``docs/excache.md``) the RTL answers in request order and
makes every replacement decision in request order, so the same access-by-access model holds, with the
victim evicted when the miss is decided rather than when its line arrives:

* the chosen way is touched (LRU/PLRU), the FIFO pointer steps past it, at the miss, whatever follows;
* a valid clean victim is evicted at once (counted); a dirty one once its write-back is acknowledged
  (counted, with the write-back); a refused write-back keeps the victim valid and dirty and answers the
  access with its status;
* a refused read leaves the way invalid (the victim is gone, written back first if it was dirty).

An access to a line whose fetch is under way waits for it in the RTL and counts as a hit (or, if the
fetch is refused, as a miss answered with the refusal): the model's next access to that line hits (or
misses again on the same refusal). One difference is left: with the ``random`` policy a refused line's
repeated misses step the model's LFSR once each, the RTL's once per fetch, so comparisons of ``random``
with refused reads compare answers and memory, not the victims that follow.

Status values are those of ``hw.protocol.Status`` (mirrored as integers).
"""

from __future__ import annotations

import struct

__all__ = ["STATUS_OK", "STATUS_PAGE_FAULT", "STATUS_PROT_FAULT", "STATUS_BAD_REQUEST", "OP_READ", "OP_WRITE",
           "POLICIES", "LFSR_MASK", "LFSR_SEED", "BackingMemory", "ExCacheModel", "initial_line"]

STATUS_OK = 0
STATUS_PAGE_FAULT = 1
STATUS_PROT_FAULT = 2
STATUS_BAD_REQUEST = 3
OP_READ = 0
OP_WRITE = 1
POLICIES = ("lru", "fifo", "random", "plru")
LFSR_MASK = 0xB400
LFSR_SEED = 0xACE1


def initial_line(pid, line_vaddr, line_bytes):
    """Content of a never-written line: 64-bit little-endian words ``(pid << 48) ^ addr ^ 0x5DEECE66D``."""
    base = (pid << 48) ^ 0x5DEECE66D
    words = [(base ^ (line_vaddr + 8 * i)) & 0xFFFF_FFFF_FFFF_FFFF for i in range(line_bytes // 8)]
    return bytearray(struct.pack(f"<{len(words)}Q", *words))


class BackingMemory:
    """The memory side as the cache sees it: whole lines by (pid, line vaddr), with refusals.

    Parameters
    ----------
    line_bytes : int
    read_faults, write_faults : dict
        ``{(pid, line_vaddr): status}`` for lines whose LINE_READ / LINE_WRITE is refused.
    """

    def __init__(self, line_bytes, read_faults=None, write_faults=None):
        self.line_bytes = line_bytes
        self.lines = {}
        self.read_faults = dict(read_faults or {})
        self.write_faults = dict(write_faults or {})
        self.reads = 0
        self.writes = 0

    def read_line(self, pid, line_vaddr):
        """``(status, bytes)``; bytes is None unless status is OK."""
        self.reads += 1
        status = self.read_faults.get((pid, line_vaddr), STATUS_OK)
        if status != STATUS_OK:
            return status, None
        line = self.lines.get((pid, line_vaddr))
        return STATUS_OK, bytes(line if line is not None else initial_line(pid, line_vaddr, self.line_bytes))

    def write_line(self, pid, line_vaddr, data):
        """Status of the write; the line is stored only if OK."""
        self.writes += 1
        status = self.write_faults.get((pid, line_vaddr), STATUS_OK)
        if status == STATUS_OK:
            self.lines[(pid, line_vaddr)] = bytearray(data)
        return status

    def peek(self, pid, line_vaddr):
        line = self.lines.get((pid, line_vaddr))
        return bytes(line if line is not None else initial_line(pid, line_vaddr, self.line_bytes))


class _Line:
    __slots__ = ("valid", "dirty", "pid", "tag", "data")

    def __init__(self):
        self.valid = False
        self.dirty = False
        self.pid = 0
        self.tag = 0
        self.data = None


class ExCacheModel:
    """Functional model of one ExCache.

    Parameters
    ----------
    line_bytes, sets, ways, data_width, vaddr_width, pid_width, policy
        As ``hw.processor.excache.ExCacheParams``.
    memory : BackingMemory
    chooser : callable, optional
        Software miss path: ``chooser(event) -> way or None`` with ``event`` a dict (``pid``, ``vaddr``,
        ``set``, ``way`` = suggested victim, ``write``, ``victim_valid``, ``victim_dirty``); None fails the access with
        ``fail_status``. Default: take the suggested way (hardware miss path).
    fail_status : int
        Status answered when ``chooser`` returns None.
    mshrs : int
        As ``ExCacheParams.mshrs``: more than 1 evicts victims at the miss (see the module docstring).
    """

    def __init__(self, *, line_bytes, sets, ways, data_width=64, vaddr_width=48, pid_width=16, policy="lru",
                 memory=None, chooser=None, fail_status=STATUS_PAGE_FAULT, mshrs=1):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        self.line_bytes, self.sets, self.ways = line_bytes, sets, ways
        self.word_bytes = data_width // 8
        self.vaddr_mask = (1 << vaddr_width) - 1
        self.offset_bits = line_bytes.bit_length() - 1
        self.index_bits = sets.bit_length() - 1
        self.policy = policy
        self.memory = memory if memory is not None else BackingMemory(line_bytes)
        self.chooser = chooser
        self.fail_status = fail_status
        self.early_evict = mshrs > 1
        self.lines = [[_Line() for _ in range(ways)] for _ in range(sets)]
        self.age_bits = max(1, (ways - 1).bit_length())
        if policy == "lru":
            self.repl = [list(range(ways)) for _ in range(sets)]     # ages
        elif policy == "fifo":
            self.repl = [0] * sets                                   # pointer
        elif policy == "plru":
            self.repl = [[0] * max(1, ways) for _ in range(sets)]    # node bits, index n-1
        else:
            self.repl = None
        self.lfsr = LFSR_SEED
        self.hits = self.misses = self.evictions = self.writebacks = 0

    # geometry -------------------------------------------------------------------------------
    def split(self, vaddr):
        line_vaddr = vaddr & ~(self.line_bytes - 1) & self.vaddr_mask
        set_ = (vaddr >> self.offset_bits) & (self.sets - 1)
        tag = (vaddr & self.vaddr_mask) >> (self.offset_bits + self.index_bits)
        return set_, tag, line_vaddr

    def line_vaddr_of(self, set_, tag):
        return ((tag << self.index_bits) | set_) << self.offset_bits

    def counters(self):
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "writebacks": self.writebacks}

    # replacement ----------------------------------------------------------------------------
    def _touch(self, set_, way):
        if self.ways == 1:
            return
        if self.policy == "lru":
            ages = self.repl[set_]
            aw = ages[way]
            for i in range(self.ways):
                if i == way:
                    ages[i] = 0
                elif ages[i] < aw:
                    ages[i] += 1
        elif self.policy == "plru":
            bits = self.repl[set_]
            n = way + self.ways
            while n > 1:
                bits[(n >> 1) - 1] = 1 if n % 2 == 0 else 0
                n >>= 1

    def _policy_victim(self, set_):
        if self.ways == 1:
            return 0
        if self.policy == "lru":
            return self.repl[set_].index(self.ways - 1)
        if self.policy == "fifo":
            return self.repl[set_]
        if self.policy == "plru":
            bits, n = self.repl[set_], 1
            while n < self.ways:
                n = 2 * n + bits[n - 1]
            return n - self.ways
        return (self.lfsr * self.ways) >> 16

    def suggested_victim(self, set_):
        for w, line in enumerate(self.lines[set_]):
            if not line.valid:
                return w
        return self._policy_victim(set_)

    # accesses -------------------------------------------------------------------------------
    def access(self, op, pid, vaddr, strb=0, wdata=0):
        """One CPU access; returns ``(rdata, status, hit)``."""
        set_, tag, line_vaddr = self.split(vaddr)
        ways = self.lines[set_]
        for w, line in enumerate(ways):
            if line.valid and line.pid == pid and line.tag == tag:
                self.hits += 1
                return self._do(op, set_, w, vaddr, strb, wdata) + (True,)
        # miss
        self.misses += 1
        suggested = self.suggested_victim(set_)
        if self.policy == "random":
            self.lfsr = (self.lfsr >> 1) ^ LFSR_MASK if self.lfsr & 1 else self.lfsr >> 1
        way = suggested
        if self.chooser is not None:
            way = self.chooser({"pid": pid, "vaddr": vaddr & self.vaddr_mask, "set": set_, "way": suggested,
                                "write": op == OP_WRITE, "victim_valid": ways[suggested].valid,
                                "victim_dirty": ways[suggested].dirty})
            if way is None:
                return 0, self.fail_status, False
        victim = ways[way]
        if self.early_evict:
            return self._miss_early(op, set_, way, pid, tag, line_vaddr, vaddr, strb, wdata)
        if victim.valid and victim.dirty:
            status = self.memory.write_line(victim.pid, self.line_vaddr_of(set_, victim.tag), victim.data)
            if status != STATUS_OK:
                return 0, status, False
            victim.dirty = False
            self.writebacks += 1
        status, data = self.memory.read_line(pid, line_vaddr)
        if status != STATUS_OK:
            return 0, status, False
        if victim.valid:
            self.evictions += 1
        victim.valid, victim.dirty, victim.pid, victim.tag = True, False, pid, tag
        victim.data = bytearray(data)
        if self.policy == "fifo" and self.ways > 1 and way == self.repl[set_]:
            self.repl[set_] = (way + 1) % self.ways
        return self._do(op, set_, way, vaddr, strb, wdata) + (False,)

    def _miss_early(self, op, set_, way, pid, tag, line_vaddr, vaddr, strb, wdata):
        """A miss of the non-blocking controller: the victim leaves when the miss is decided."""
        victim = self.lines[set_][way]
        self._touch(set_, way)
        if self.policy == "fifo" and self.ways > 1 and way == self.repl[set_]:
            self.repl[set_] = (way + 1) % self.ways
        if victim.valid and victim.dirty:
            status = self.memory.write_line(victim.pid, self.line_vaddr_of(set_, victim.tag), victim.data)
            if status != STATUS_OK:
                return 0, status, False
            victim.dirty = False
            self.writebacks += 1
        if victim.valid:
            self.evictions += 1
        victim.valid = False
        status, data = self.memory.read_line(pid, line_vaddr)
        if status != STATUS_OK:
            return 0, status, False
        victim.valid, victim.dirty, victim.pid, victim.tag = True, False, pid, tag
        victim.data = bytearray(data)
        return self._do(op, set_, way, vaddr, strb, wdata) + (False,)

    def _do(self, op, set_, way, vaddr, strb, wdata):
        line = self.lines[set_][way]
        wb = self.word_bytes
        off = (vaddr & (self.line_bytes - 1)) & ~(wb - 1)
        self._touch(set_, way)
        if op == OP_READ:
            return int.from_bytes(line.data[off:off + wb], "little"), STATUS_OK
        if strb:
            full = (1 << wb) - 1
            if strb == full:
                line.data[off:off + wb] = wdata.to_bytes(wb, "little")
            else:
                for i in range(wb):
                    if strb >> i & 1:
                        line.data[off + i] = (wdata >> (8 * i)) & 0xFF
        line.dirty = True
        return 0, STATUS_OK

    # maintenance ----------------------------------------------------------------------------
    def invalidate_pid(self, pid):
        for ways in self.lines:
            for line in ways:
                if line.valid and line.pid == pid:
                    line.valid = line.dirty = False

    def _flush(self, match):
        for set_, ways in enumerate(self.lines):
            for line in ways:
                if line.valid and line.dirty and match(line):
                    status = self.memory.write_line(line.pid, self.line_vaddr_of(set_, line.tag), line.data)
                    if status == STATUS_OK:
                        line.dirty = False
                        self.writebacks += 1

    def flush_pid(self, pid):
        self._flush(lambda line: line.pid == pid)

    def flush_all(self):
        self._flush(lambda line: True)

    def clear_counters(self):
        self.hits = self.misses = self.evictions = self.writebacks = 0
