"""Golden model of a rack: what every CPU access of every processor component must return.

It extends :class:`emu.models.system.SystemModel` (which knows nothing of caches, messages or page
tables) to P processor components: each process runs on one processor component, and

* an access by a process on the component it runs on is answered as by ``SystemModel`` (its regions,
  zero-filled memory, the last value it wrote), wherever its regions live in the rack;
* an access from any other processor component with that pid is answered ``PROT_FAULT``: every memory
  component binds a pid to the one processor node that owns it (a forged pid never reaches data);
* the model does not know the placement of regions on memory components (that is the firmware's
  choice): it checks the data, and tests check the placement against where pages were faulted in.

Independent of the firmware and of the RTL: processes are registered by the test, with the node the
firmware reports.
"""

from __future__ import annotations

from emu.models.system import ModelError, SystemModel

__all__ = ["RackModel"]


class RackModel:
    """Expected results of the CPU accesses of a rack.

    Parameters
    ----------
    processor_nodes : sequence of int
    page_size, vaddr_width : as for :class:`SystemModel`.
    """

    def __init__(self, processor_nodes, page_size=4096, vaddr_width=48):
        self.nodes = tuple(processor_nodes)
        self._models = {n: SystemModel(page_size=page_size, vaddr_width=vaddr_width) for n in self.nodes}
        self._node_of: dict[int, int] = {}

    def create_process(self, pid, node, regions):
        """Process ``pid`` starts on processor ``node`` with ``regions``."""
        if node not in self._models:
            raise ModelError(f"node {node!r} is not a processor node ({self.nodes})")
        if pid in self._node_of:
            raise ModelError(f"pid {pid} is already running on node {self._node_of[pid]}")
        self._models[node].create_process(pid, regions)
        self._node_of[pid] = node

    def exit_process(self, pid):
        node = self._node_of.pop(pid)
        self._models[node].exit_process(pid)

    def node_of(self, pid):
        return self._node_of[pid]

    def running(self):
        return sorted(self._node_of)

    def run(self, node, workload):
        """Expected ``(status, read data)`` arrays of ``workload`` issued by processor ``node``."""
        return self._models[node].run(workload)

    def read_bytes(self, pid, vaddr, length):
        return self._models[self._node_of[pid]].read_bytes(pid, vaddr, length)

    def touched_pages(self, pid):
        return self._models[self._node_of[pid]].touched_pages(pid)
