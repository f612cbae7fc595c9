"""Test bench of the whole system under cocotb: CPU port drivers, irq-driven firmware, golden model.

The bench itself (drivers, firmware on the CSR port with its irq server, model check of every access) is
:class:`emu.cosim.system_bench.SystemBench`, which ``disagg bench`` uses too; this module adds the
system tests' memory-image check and random traffic, and reads the test's configuration and seed.
"""

from __future__ import annotations

import json
import os

import numpy as np

from emu.cosim.system_bench import SystemBench as _SystemBench
from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE

__all__ = ["SystemBench", "config", "seed"]


def config():
    """The configuration (``{"system": SystemParams.as_dict()}``) merged with the test knobs."""
    cfg = json.loads(os.environ["DISAGG_CONFIG"])
    cfg.update(json.loads(os.environ.get("DISAGG_SYSTEM_TEST", "{}")))
    return cfg


def seed():
    return int(os.environ["DISAGG_SEED"])


class SystemBench(_SystemBench):
    """:class:`emu.cosim.system_bench.SystemBench` with the system tests' memory check and random traffic."""

    # ------------------------------------------------------------------ memory contents
    async def memory_image(self):
        """Flush the ExCache, then read every resident page of every running process through the MMU's
        memory window; compare with the model. Returns ``{pid: {page vaddr: hex}}``."""
        image = {}
        async with self.fw_lock:
            await self.fw.flush_all()
            page = self.params.mmu.page_bytes
            for pid in self.model.running():
                pages = sorted(vpn * page for vpn in self.fw.memory.spaces[pid].pages)
                image[pid] = {}
                for va in pages:
                    got = await self.fw.read_process_memory(pid, va, page)
                    want = self.model.read_bytes(pid, va, page)
                    if got != want:
                        diff = next(i for i in range(page) if got[i] != want[i])
                        raise AssertionError(f"pid {pid} page {va:#x}: memory byte {diff} is {got[diff]:#x}, "
                                             f"model says {want[diff]:#x}")
                    image[pid][f"{va:#x}"] = got.hex()
                touched = set(self.model.touched_pages(pid))
                missing = touched - set(pages)
                if missing:
                    raise AssertionError(f"pid {pid}: pages written but not resident: {sorted(missing)}")
        return image

    # ------------------------------------------------------------------ workloads
    def random_accesses(self, n, regions_of, *, fault_prob=0.04, foreign_prob=0.02, hot_lines=12, hot_prob=0.7):
        """``n`` random accesses by the running processes: mostly in a hot set of lines per process, some
        anywhere in the regions, ``fault_prob`` outside every region, ``foreign_prob`` by a pid that is
        not running."""
        rng = self.rng
        w = np.zeros(n, dtype=WORKLOAD_DTYPE)
        pids = sorted(regions_of)
        line = self.params.excache.line_bytes
        hot = {}
        for pid in pids:
            hot[pid] = []
            for _ in range(hot_lines):
                r = rng.choice(regions_of[pid])
                hot[pid].append(r[0] + rng.randrange(r[1] // line) * line)
        max_pid = self.params.max_pid
        for i in range(n):
            pid = rng.choice(pids)
            size = rng.choice((1, 2, 4, 8))
            roll = rng.random()
            if roll < foreign_prob:
                others = [p for p in range(1, max_pid + 1) if p not in regions_of]
                pid = rng.choice(others) if others else pid
                r = rng.choice(regions_of[pids[0]])
                vaddr = r[0] + rng.randrange(r[1])
            elif roll < foreign_prob + fault_prob:
                top = max(r[0] + r[1] for r in regions_of[pid])
                vaddr = top + rng.randrange(1 << 16)
            elif rng.random() < hot_prob:
                vaddr = rng.choice(hot[pid]) + rng.randrange(line)
            else:
                r = rng.choice(regions_of[pid])
                vaddr = r[0] + rng.randrange(r[1])
            vaddr -= vaddr % size
            w[i] = (pid, OP_WRITE if rng.random() < 0.5 else OP_READ, vaddr, size,
                    rng.getrandbits(8 * size), 0)
        return w
