"""A rack in the fast harness: the compiled ``RackTop`` (:mod:`emu.harness.rack_model`), the rack firmware on its
CSR bus, and the rack golden model (``emu.models.rack.RackModel``) checking every access.

:class:`FastRackBench` is the compiled counterpart of the cocotb :class:`emu.cosim.rack_bench.RackBench`, with
the same calls (``start``, ``create``, ``exit``, ``run``) as plain functions: the firmware's bus completes every
register access at once, so its coroutines run with :func:`firmware.bus.run_sync`. The CPU ports, the CSR bus
and the interrupt service keep the cocotb bench's timing (``emu/harness/rack_driver.cpp``), so the same run
gives the same cycles and counters on both (``sim_tests/rack/test_fast_rack.py``).
"""

from __future__ import annotations

import time

import numpy as np

from firmware.bus import run_sync
from firmware.system_firmware import RackFirmware

from ..errors import DisaggError
from ..harness.layouts import RunStatus
from ..harness.model import new_results
from ..models.rack import RackModel
from ..system.firmware_bus import HarnessBus
from ..workload_format import OP_WRITE

__all__ = ["FastRackBench", "RackCheckError", "RackHang"]

#: Cycles the compiled loop runs before returning to Python (hang checks, progress).
_BATCH_CYCLES = 1 << 18


class RackCheckError(DisaggError):
    """An access of the rack differs from the rack golden model."""


class RackHang(DisaggError):
    """A processor component got no response for the hang limit with accesses in flight."""


class FastRackBench:
    """One compiled RackTop with its firmware and golden model.

    Parameters
    ----------
    params : hw.system.rack_params.RackParams
    built : emu.harness.rack_build.BuiltRack, optional
        The compiled rack (default: built or reused from ``params``).
    think : bool
        Honour the workloads' think times (False: back to back, as the cocotb bench).
    max_outstanding : int
        Accesses each CPU model keeps in flight (0: as many as its port takes, as the cocotb bench).
    hang_cycles : int
        Cycles without a response after which a run is declared hung.
    fw_options
        Keyword arguments of :class:`firmware.system_firmware.RackFirmware` (policies, ``on_oom``,
        ``pt_buckets_log2``).
    """

    def __init__(self, params, *, built=None, think=False, max_outstanding=0, hang_cycles=200_000, log=None,
                 **fw_options):
        from ..harness.rack_build import build_rack
        from ..harness.rack_model import RackModel as CompiledRack
        self.params = p = params
        self.hang_cycles = hang_cycles
        t0 = time.monotonic()
        self.built = built or build_rack(params, log=log)
        self.build_seconds = time.monotonic() - t0
        self.rack = CompiledRack(self.built, dram=(p.dram_bytes, p.dram_latency), max_outstanding=max_outstanding,
                                 hang_cycles=hang_cycles, think=think)
        self.bus = HarnessBus(self.rack, p.csr_bases())
        self.fw = RackFirmware(self.bus, p, **fw_options)
        self.model = RackModel(p.processor_nodes, page_size=p.mmu.page_bytes, vaddr_width=p.excache.vaddr_width)
        self.word_bytes = p.excache.data_width // 8
        self.irq_events = 0
        self.checked = 0
        self.unchecked = 0        # accesses of failed processes after their first fail_status answer
        self.firmware_seconds = 0.0
        self.last_results = None

    def close(self):
        self.rack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fw_call(self, coro):
        """Run a firmware coroutine to completion (its register accesses step the rack)."""
        t0 = time.monotonic()
        try:
            return run_sync(coro)
        finally:
            self.firmware_seconds += time.monotonic() - t0

    # ------------------------------------------------------------------ bring-up and processes
    def start(self):
        """Reset (three cycles, then one cycle out of reset, as the cocotb bench) and boot the firmware."""
        self.rack.reset(3)
        self.rack.step(1)
        self.fw_call(self.fw.boot())

    def create(self, regions, **kw):
        """Create a process (:meth:`RackFirmware.create_process`); the model learns it. Returns the pid (None:
        suspended)."""
        pid = self.fw_call(self.fw.create_process(regions, **kw))
        if pid is not None:
            self.model.create_process(pid, self.fw.gpm.node_of(pid), regions)
        return pid

    def exit(self, pid):
        """End ``pid``; returns the pids started from the suspended queue (the caller :meth:`adopt` s them)."""
        started = self.fw_call(self.fw.exit_process(pid))
        self.model.exit_process(pid)
        return started

    def adopt(self, pid, regions):
        """The model learns a process the firmware started on its own (from the suspended queue)."""
        self.model.create_process(pid, self.fw.gpm.node_of(pid), regions)

    def service(self):
        """Serve the interrupt lines that are high (the cocotb bench's irq server)."""
        ip, im, inet = self.rack.irqs()
        if ip or im or inet:
            self.irq_events += self.fw_call(self.fw.service_irqs(ip, im, inet))

    # ------------------------------------------------------------------ running
    def run(self, workloads, *, may_fail=None, fail_status=None):
        """Issue ``workloads[i]`` on processor component ``i`` (all at once), serve interrupts until every access
        completed, compare each with the golden model (raises :class:`RackCheckError` on the first mismatch).
        ``may_fail(node, workload) -> bool array``: accesses of processes that may fail (a region lost with a failed
        memory component): from a process's first ``fail_status`` answer on, its accesses are not checked (and not
        counted in :attr:`checked`). Returns the cycles the run took, or with ``may_fail`` the number
        of accesses answered ``fail_status``."""
        p, rack = self.params, self.rack
        nodes = p.processor_nodes
        workloads = [np.ascontiguousarray(w) for w in workloads] + \
            [np.zeros(0, dtype=workloads[0].dtype)] * (p.processors - len(workloads))
        expected = [self.model.run(nodes[i], w) for i, w in enumerate(workloads)]
        results = [new_results(len(w)) for w in workloads]
        # The cocotb bench's sources offer a queued request from the edge after it was queued.
        rack.step(1)
        start = rack.cycle - 1
        for i, w in enumerate(workloads):
            rack.set_workload(i, w, results[i])
        while True:
            status = rack.run(_BATCH_CYCLES)
            if status == RunStatus.DONE:
                break
            if status == RunStatus.IRQ:
                self.service()
            elif status == RunStatus.HANG:
                got = [rack.position(i) for i in range(p.processors)]
                raise RackHang(f"the rack stopped answering at cycle {rack.cycle}: issued {got} of "
                               f"{[len(w) for w in workloads]} accesses, no response for {self.hang_cycles} cycles")
        cycles = rack.cycle - start
        #: Cycles, results and accesses answered ``fail_status`` (excused by ``may_fail``) of the last run.
        self.last_cycles, self.last_results, self.last_failed = cycles, results, 0
        failed = 0
        for i, w in enumerate(workloads):
            exp_status, exp_data = expected[i]
            r = results[i]
            got_data = np.where(w["op"] == OP_WRITE, 0, r["rdata"])
            bad = (r["status"] != exp_status) | (got_data != exp_data)
            unchecked = 0
            if may_fail is not None:
                # A process that may fail is not checked from its first ``fail_status`` answer on: the access
                # that failed did not happen in the rack (the model applied it), so its later answers may differ.
                hurt = np.asarray(may_fail(nodes[i], w), dtype=bool)
                dead = hurt & (r["status"] == fail_status)
                excused = np.zeros(len(w), dtype=bool)
                for pid in np.unique(w["pid"][dead]).tolist():
                    mine = w["pid"] == pid
                    first = int(np.flatnonzero(mine & dead)[0])
                    excused[first:] |= mine[first:]
                failed += int((excused & dead).sum())
                unchecked = int(excused.sum())
                self.unchecked += unchecked
                bad &= ~excused
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                row = w[k]
                size = int(row["size"])
                raise RackCheckError(
                    f"processor {i} access {k}: pid {int(row['pid'])} {'write' if row['op'] else 'read'} {size} B "
                    f"at {int(row['vaddr']):#x}: got status {int(r['status'][k])} data {int(got_data[k]):#x}, the "
                    f"rack golden model says status {int(exp_status[k])} data {int(exp_data[k]):#x}")
            self.checked += len(w) - unchecked
        self.last_failed = failed
        return cycles if may_fail is None else failed
