"""ctypes binding of a compiled harness library (``driver.cpp`` + the Verilated top).

One :class:`HarnessModel` is one instance of the system. Each call crosses into C++ once:
``run`` simulates until all accesses are done, an interrupt line rises, or a batch of cycles has passed.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from ..errors import DisaggError
from ..workload_format import WORKLOAD_DTYPE
from .layouts import RESULT_DTYPE, STATS_DTYPE

__all__ = ["HarnessModel", "new_results"]


def new_results(n: int) -> np.ndarray:
    """A zeroed results array for a workload of ``n`` accesses."""
    return np.zeros(n, dtype=RESULT_DTYPE)


def _load(path: Path):
    lib = ctypes.CDLL(str(path))
    vp, u64, u32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32
    lib.h_create.argtypes = [ctypes.c_char_p, u64, u64]
    lib.h_create.restype = vp
    lib.h_destroy.argtypes = [vp]
    lib.h_traced.restype = ctypes.c_int
    lib.h_configure.argtypes = [vp, u64, u64]
    lib.h_set_idle_skip.argtypes = [vp, ctypes.c_int]
    lib.h_threads.argtypes = [vp, u64, vp]
    lib.h_threads.restype = ctypes.c_int
    lib.h_idle_skip_supported.restype = ctypes.c_int
    lib.h_dram_present.restype = ctypes.c_int
    lib.h_dram_config.argtypes = [vp, u64, u32, u32]
    lib.h_dram_stats.argtypes = [vp, vp]
    if hasattr(lib, "h_dram_fill"):         # models built before it have no fill engine
        lib.h_dram_fill.argtypes = [vp, u64, u64, u64, u32]
        lib.h_dram_fill.restype = u64
    lib.h_lmem_present.restype = ctypes.c_int
    lib.h_lmem_config.argtypes = [vp, u32]
    lib.h_lmem_stats.argtypes = [vp, vp]
    lib.h_reset.argtypes = [vp, u32]
    lib.h_step.argtypes = [vp, u64]
    lib.h_csr_read.argtypes = [vp, u32]
    lib.h_csr_read.restype = u32
    lib.h_csr_write.argtypes = [vp, u32, u32]
    if hasattr(lib, "h_csr_poll"):          # models built before it have no compiled poll loop
        lib.h_csr_poll.argtypes = [vp, u32, u32, u32, u32, ctypes.POINTER(u32)]
        lib.h_csr_poll.restype = u32
    lib.h_irqs.argtypes = [vp]
    lib.h_irqs.restype = u32
    lib.h_position.argtypes = [vp]
    lib.h_position.restype = u64
    lib.h_cycle.argtypes = [vp]
    lib.h_cycle.restype = u64
    lib.h_stats.argtypes = [vp, vp]
    lib.h_run.argtypes = [vp, vp, u64, u64, u64, vp, vp]
    lib.h_run.restype = ctypes.c_int
    return lib


class HarnessModel:
    """A running instance of a compiled system top.

    Parameters
    ----------
    built : emu.harness.build.BuiltModel
        The compiled library and its port description.
    waves : str or Path, optional
        Waveform file to write (needs a model built with ``trace``).
    window : (int, int), optional
        First and last cycle to record (default: everything).
    max_outstanding : int
        Accesses the CPU model keeps in flight at most (1 = a blocking CPU).
    hang_cycles : int
        Cycles without a response, with accesses outstanding, after which ``run`` reports a hang.
    dram : (int, int) or (int, int, int), optional
        Size in bytes, latency and (optionally; default 4, ``AxiDramModel.DEFAULT_READ_SLOTS``) read slots of
        the compiled DRAM (required when the model has one).
    idle_skip : bool
        Advance idle cycles without evaluating the model (exact; ``docs/system.md``, "Idle-cycle
        skipping"). Never active with waveforms.
    local_latency : int, optional
        First-beat latency of the ExCache's compiled local memory (needed when the model has one:
        ``line_store="axi"``; see ``emu/harness/local_memory.h``).
    """

    def __init__(self, built, *, waves=None, window=None, max_outstanding=4, hang_cycles=2_000_000, dram=None,
                 idle_skip=True, local_latency=None):
        self.built = built
        self.ports = built.ports
        self._lib = _load(built.library)
        if waves is not None and not self._lib.h_traced():
            raise DisaggError("waveforms need a model built with tracing (build_model(..., trace='fst'))")
        start, end = window if window is not None else (0, 2**64 - 1)
        path = str(waves).encode() if waves is not None else b""
        self._h = self._lib.h_create(path, start, end)
        if not self._h:
            raise DisaggError("could not create the harness model")
        self._lib.h_configure(self._h, int(max_outstanding), int(hang_cycles))
        self._lib.h_set_idle_skip(self._h, 1 if idle_skip else 0)
        if self.has_compiled_dram:
            if dram is None:
                raise DisaggError("this model serves its DRAM in C++: give dram=(size_bytes, latency)")
            # (size, latency) or (size, latency, read_slots); the compiled DRAM's default slots otherwise.
            size, latency, *slots = (int(x) for x in dram)
            if not slots:
                from hw.memory.dram import AxiDramModel
                slots = [AxiDramModel.DEFAULT_READ_SLOTS]
            self._lib.h_dram_config(self._h, size, latency, slots[0])
        if self.has_local_memory:
            if local_latency is None:
                raise DisaggError("this model serves the ExCache's local memory in C++: give local_latency")
            self._lib.h_lmem_config(self._h, int(local_latency))
        self._stats = np.zeros(1, dtype=STATS_DTYPE)

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self):
        """Free the model (closes the waveform file)."""
        if getattr(self, "_h", None):
            self._lib.h_destroy(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    # -- clock and CSR ------------------------------------------------------------------------------

    def reset(self, cycles: int = 4):
        """Hold reset for ``cycles`` clock cycles."""
        self._lib.h_reset(self._h, cycles)

    def step(self, cycles: int = 1):
        """Advance the clock (the CPU model keeps issuing if a run is in progress)."""
        self._lib.h_step(self._h, cycles)

    def csr_read(self, addr: int) -> int:
        """Read the 32-bit register at word address ``addr`` (two clock cycles)."""
        return int(self._lib.h_csr_read(self._h, addr))

    @property
    def has_csr_poll(self) -> bool:
        """The library runs :meth:`csr_poll` in compiled code."""
        return hasattr(self._lib, "h_csr_poll")

    def csr_poll(self, addr: int, mask: int, value: int, max_polls: int):
        """:meth:`csr_read` of ``addr`` repeated while ``reg & mask == value``, at most ``max_polls`` times, in
        compiled code; returns ``(last value, reads)`` (firmware.bus.Bus.wait_while)."""
        polls = ctypes.c_uint32(0)
        v = self._lib.h_csr_poll(self._h, addr, mask & 0xFFFFFFFF, value & 0xFFFFFFFF,
                                 min(max(int(max_polls), 0), 0xFFFFFFFF), ctypes.byref(polls))
        return int(v), int(polls.value)

    def csr_write(self, addr: int, value: int):
        """Write the 32-bit register at word address ``addr`` (one clock cycle)."""
        self._lib.h_csr_write(self._h, addr, value & 0xFFFFFFFF)

    @property
    def cycle(self) -> int:
        return int(self._lib.h_cycle(self._h))

    @property
    def irq_proc(self) -> bool:
        return bool(self._lib.h_irqs(self._h) & 1)

    @property
    def irq_mem(self) -> bool:
        return bool(self._lib.h_irqs(self._h) & 2)

    @property
    def idle_skip_supported(self) -> bool:
        """Whether this model can skip idle cycles (found its free-running registers; no waveforms)."""
        return bool(self._lib.h_idle_skip_supported())

    def set_idle_skip(self, on: bool):
        """Switch idle-cycle skipping on or off (takes effect at the next cycle)."""
        self._lib.h_set_idle_skip(self._h, 1 if on else 0)

    @property
    def has_compiled_dram(self) -> bool:
        """Whether the DRAM is served by the compiled memory (``axi_memory.h``), not by RTL in the model."""
        return bool(self._lib.h_dram_present())

    @property
    def has_local_memory(self) -> bool:
        """Whether the ExCache's line data is in the compiled local memory (``local_memory.h``)."""
        return bool(self._lib.h_lmem_present())

    def local_memory_stats(self) -> dict:
        """Counters of the compiled local memory (bursts, beats, pages and bytes allocated); empty without one."""
        if not self.has_local_memory:
            return {}
        out = np.zeros(6, dtype=np.uint64)
        self._lib.h_lmem_stats(self._h, out.ctypes.data)
        return dict(zip(("read_bursts", "write_bursts", "read_beats", "write_beats", "pages", "bytes"),
                        (int(v) for v in out)))

    def dram_stats(self) -> dict:
        """Counters of the compiled DRAM (bursts, beats, pages and bytes allocated); empty without one."""
        if not self.has_compiled_dram:
            return {}
        out = np.zeros(8, dtype=np.uint64)
        self._lib.h_dram_stats(self._h, out.ctypes.data)
        names = ("read_bursts", "write_bursts", "read_beats", "write_beats", "pages", "bytes")
        if self.has_dram_fill:
            names += ("fills", "fill_bytes")
        return dict(zip(names, (int(v) for v in out)))

    @property
    def has_dram_fill(self) -> bool:
        """Whether the compiled DRAM has the fill engine (:meth:`dram_fill`)."""
        return self.has_compiled_dram and hasattr(self._lib, "h_dram_fill")

    def dram_fill(self, addr: int, length: int, value: int, bytes_per_cycle: int) -> int:
        """Fill ``[addr, addr + length)`` of the compiled DRAM with the 8-byte ``value`` by its fill engine at
        ``bytes_per_cycle``, the clock running until it is done; returns the cycles that took
        (``emu/harness/axi_memory.h``, ``AxiMemory::fill``)."""
        if not self.has_dram_fill:
            raise DisaggError("this model has no compiled DRAM with a fill engine")
        cycles = self._lib.h_dram_fill(self._h, addr, length, value & 0xFFFF_FFFF_FFFF_FFFF, bytes_per_cycle)
        if cycles == 0xFFFF_FFFF_FFFF_FFFF:
            raise DisaggError(f"DRAM fill of {length} bytes at {addr:#x} refused (8-byte alignment, "
                              f"{bytes_per_cycle} bytes per cycle)")
        return int(cycles)

    def stats(self) -> np.void:
        """The driver's cumulative counters (a record of ``STATS_DTYPE``)."""
        self._lib.h_stats(self._h, self._stats.ctypes.data)
        return self._stats[0].copy()

    # -- running workloads --------------------------------------------------------------------------

    def set_threads(self, bounds=None):
        """Hardware threads of the next workload: thread ``k`` issues rows ``bounds[k]..bounds[k+1]`` in order
        (``bounds`` from 0 to the workload's length, non-decreasing); ``None``: one thread. Such a workload
        is run from its start to its end (``run(..., n=len, start=position)``)."""
        if bounds is None:
            arr = np.zeros(1, dtype=np.uint64)
            count = 0
        else:
            arr = np.ascontiguousarray(bounds, dtype=np.uint64)
            count = len(arr) - 1
            if count < 1:
                raise ValueError("thread bounds need at least two entries")
        status = self._lib.h_threads(self._h, count, arr.ctypes.data)
        if status == -1:
            raise DisaggError("threads cannot change while accesses are in flight")
        if status < 0:
            raise ValueError(f"thread bounds must rise from 0, not {arr.tolist()}")

    def run(self, workload: np.ndarray, results: np.ndarray, *, n=None, start=0, max_cycles=2**63) -> int:
        """Feed accesses ``start..n`` of ``workload``; return a :class:`RunStatus` code.

        ``workload`` and ``results`` must stay alive and unmoved until the accesses issued from them
        completed (the C++ keeps pointers between calls). Call again with the same arrays and
        ``start`` = :attr:`position` to continue after an IRQ or a batch boundary.
        """
        if workload.dtype != WORKLOAD_DTYPE or not workload.flags.c_contiguous:
            raise DisaggError("workload must be a contiguous array of WORKLOAD_DTYPE")
        if results.dtype != RESULT_DTYPE or len(results) < len(workload) or not results.flags.c_contiguous:
            raise DisaggError("results must be a contiguous RESULT_DTYPE array as long as the workload")
        n = len(workload) if n is None else int(n)
        if not 0 <= start <= n <= len(workload):
            raise ValueError(f"run range {start}..{n} outside the workload of {len(workload)} accesses")
        status = self._lib.h_run(self._h, workload.ctypes.data, n, start, max_cycles, results.ctypes.data,
                                 self._stats.ctypes.data)
        if status == -2:
            raise ValueError("a workload of several threads is run whole: n = its length, start = position")
        if status < 0:
            raise DisaggError("a new workload was started while accesses of the previous one were in flight")
        return status

    @property
    def position(self) -> int:
        """Index of the next access the CPU model will issue from the current workload."""
        return int(self._lib.h_position(self._h))
