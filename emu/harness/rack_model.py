"""ctypes binding of a compiled rack (``rack_driver.cpp`` + the Verilated ``RackTop``).

One :class:`RackModel` is one running rack: P CPU models, M compiled DRAMs and the rack's CSR bus. Each call
crosses into C++ once; :meth:`RackModel.run` simulates until every processor component's workload is done, an
interrupt line is high, or a batch of cycles has passed.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..errors import DisaggError
from ..workload_format import WORKLOAD_DTYPE
from .layouts import RESULT_DTYPE, RunStatus

__all__ = ["RackModel", "CPU_STAT_NAMES", "RunStatus"]

#: The driver's counters of one processor component's CPU model (``CpuStats`` in rack_driver.cpp).
CPU_STAT_NAMES = ("issued", "completed", "reads", "writes", "latency_sum", "req_stall_cycles", "think_cycles",
                  "busy_cycles", "max_outstanding", "unexpected_responses")
_GLOBAL_STAT_NAMES = ("cycles", "csr_reads", "csr_writes", "irq_returns")


def _load(path):
    lib = ctypes.CDLL(str(path))
    vp, u64, u32, i32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int
    lib.r_create.restype = vp
    lib.r_destroy.argtypes = [vp]
    lib.r_processors.restype = i32
    lib.r_memories.restype = i32
    lib.r_configure.argtypes = [vp, u64, u64, i32]
    lib.r_dram_config.argtypes = [vp, u64, u32]
    lib.r_dram_stats.argtypes = [vp, i32, vp]
    lib.r_reset.argtypes = [vp, u32]
    lib.r_step.argtypes = [vp, u64]
    lib.r_csr_read.argtypes = [vp, u32]
    lib.r_csr_read.restype = u32
    lib.r_csr_poll.argtypes = [vp, u32, u32, u32, u32, ctypes.POINTER(u32)]
    lib.r_csr_poll.restype = u32
    lib.r_csr_write.argtypes = [vp, u32, u32]
    lib.r_irqs.argtypes = [vp, vp]
    lib.r_cycle.argtypes = [vp]
    lib.r_cycle.restype = u64
    lib.r_set_workload.argtypes = [vp, i32, vp, u64, vp]
    lib.r_set_workload.restype = i32
    lib.r_position.argtypes = [vp, i32]
    lib.r_position.restype = u64
    lib.r_stats_words.restype = i32
    lib.r_stats.argtypes = [vp, vp]
    lib.r_run.argtypes = [vp, u64]
    lib.r_run.restype = i32
    return lib


class RackModel:
    """A running instance of a compiled rack.

    Parameters
    ----------
    built : emu.harness.rack_build.BuiltRack
    dram : (int, int)
        Size in bytes and latency of every memory component's compiled DRAM.
    max_outstanding : int
        Accesses each CPU model keeps in flight at most (0: as many as its port takes, as the cocotb bench).
    hang_cycles : int
        Cycles without a response, with accesses of a processor component in flight, after which :meth:`run`
        reports a hang.
    think : bool
        Honour the workload's think times (False: back to back, as the cocotb bench).
    """

    def __init__(self, built, *, dram, max_outstanding=0, hang_cycles=200_000, think=True):
        self.built = built
        self.ports = built.ports
        self._lib = _load(built.library)
        self._h = self._lib.r_create()
        if not self._h:
            raise DisaggError("could not create the rack model")
        self.processors, self.memories = self._lib.r_processors(), self._lib.r_memories()
        self._lib.r_configure(self._h, int(max_outstanding), int(hang_cycles), 1 if think else 0)
        size, latency = (int(x) for x in dram)
        self._lib.r_dram_config(self._h, size, latency)
        self._stats = np.zeros(self._lib.r_stats_words(), dtype=np.uint64)
        self._irqs = np.zeros(3, dtype=np.uint64)
        self._keep = [None] * self.processors     # workload and results arrays the C++ points into

    def close(self):
        if getattr(self, "_h", None):
            self._lib.r_destroy(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    # -- clock and CSR ---------------------------------------------------------------------------------
    def reset(self, cycles: int = 3):
        self._lib.r_reset(self._h, cycles)

    def step(self, cycles: int = 1):
        self._lib.r_step(self._h, cycles)

    def csr_read(self, addr: int) -> int:
        return int(self._lib.r_csr_read(self._h, addr))

    has_csr_poll = True

    def csr_poll(self, addr, mask, value, max_polls):
        polls = ctypes.c_uint32(0)
        v = self._lib.r_csr_poll(self._h, addr, mask & 0xFFFFFFFF, value & 0xFFFFFFFF,
                                 min(max(int(max_polls), 0), 0xFFFFFFFF), ctypes.byref(polls))
        return int(v), int(polls.value)

    def csr_write(self, addr: int, value: int):
        self._lib.r_csr_write(self._h, addr, value & 0xFFFFFFFF)

    @property
    def cycle(self) -> int:
        return int(self._lib.r_cycle(self._h))

    def irqs(self):
        """``(irq_proc, irq_mem, irq_net)`` bit masks after the last rising edge."""
        self._lib.r_irqs(self._h, self._irqs.ctypes.data)
        return tuple(int(v) for v in self._irqs)

    # -- workloads --------------------------------------------------------------------------------------
    def set_workload(self, i: int, workload: np.ndarray, results: np.ndarray):
        """Processor component ``i`` issues every access of ``workload`` in order; results land in ``results``."""
        if workload.dtype != WORKLOAD_DTYPE or not workload.flags.c_contiguous:
            raise DisaggError("workload must be a contiguous array of WORKLOAD_DTYPE")
        if results.dtype != RESULT_DTYPE or len(results) < len(workload) or not results.flags.c_contiguous:
            raise DisaggError("results must be a contiguous RESULT_DTYPE array as long as the workload")
        status = self._lib.r_set_workload(self._h, int(i), workload.ctypes.data, len(workload), results.ctypes.data)
        if status == -2:
            raise ValueError(f"processor component {i} out of range 0..{self.processors - 1}")
        if status < 0:
            raise DisaggError(f"processor component {i}: a new workload while accesses are in flight")
        self._keep[i] = (workload, results)

    def position(self, i: int) -> int:
        return int(self._lib.r_position(self._h, int(i)))

    def run(self, max_cycles=2**62) -> int:
        """Simulate; returns a :class:`RunStatus` code (DONE, IRQ, BATCH or HANG)."""
        return int(self._lib.r_run(self._h, int(max_cycles)))

    # -- counters -----------------------------------------------------------------------------------------
    def stats(self) -> dict:
        """``{"cycles", "csr_reads", "csr_writes", "irq_returns", "cpus": [{CPU_STAT_NAMES...}, ...]}``."""
        self._lib.r_stats(self._h, self._stats.ctypes.data)
        s = [int(v) for v in self._stats]
        out = dict(zip(_GLOBAL_STAT_NAMES, s[:4]))
        n = len(CPU_STAT_NAMES)
        out["cpus"] = [dict(zip(CPU_STAT_NAMES, s[4 + n * i: 4 + n * (i + 1)])) for i in range(self.processors)]
        return out

    def dram_stats(self, j: int) -> dict:
        out = np.zeros(6, dtype=np.uint64)
        self._lib.r_dram_stats(self._h, int(j), out.ctypes.data)
        return dict(zip(("read_bursts", "write_bursts", "read_beats", "write_beats", "pages", "bytes"),
                        (int(v) for v in out)))
