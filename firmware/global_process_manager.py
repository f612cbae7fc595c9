"""The global process manager (GPM): which processor component runs a new process, and rack-wide pids.

In LegoOS the GPM is the cluster-wide service above the processor monitors: it places each new process
(and the vNodes processes belong to) on a processor component, balancing load. Here:

* pids are unique in the whole rack (1 .. ``max_pid``), handed out round-robin so a pid is reused as late
  as possible; a memory component binds each pid to the one processor node that owns it, so two
  processor components never share a pid;
* a process goes to a processor component by ``policy``: ``"least-loaded"`` (fewest running processes,
  ties to the lower node id) or ``"round-robin"`` (the next component in turn);
* a **vNode** (the unit a user sees) is a named group of processes; its processes may run on several
  processor components, and a component may host several vNodes. A vNode's processes can be pinned to
  one component (``pin=node``).

Pure Python bookkeeping: the GPM touches no hardware.
"""

from __future__ import annotations

from firmware.pids import next_free_pid

__all__ = ["PROCESS_POLICIES", "ProcessPlacementError", "GlobalProcessManager"]

#: Placement policies of processes on processor components.
PROCESS_POLICIES = ("least-loaded", "round-robin")


class ProcessPlacementError(RuntimeError):
    """No pid is free, or a placement request is invalid."""


class GlobalProcessManager:
    """Places processes on processor components and allocates rack-wide pids.

    Parameters
    ----------
    processor_nodes : sequence of int
        Node ids of the processor components.
    max_pid : int
        Largest pid (pid 0 is reserved).
    policy : str
        One of :data:`PROCESS_POLICIES`.
    """

    def __init__(self, processor_nodes, max_pid, policy="least-loaded"):
        nodes = tuple(processor_nodes)
        if not nodes or len(set(nodes)) != len(nodes):
            raise ValueError(f"the GPM needs distinct processor node ids, not {nodes!r}")
        if not isinstance(max_pid, int) or max_pid < 1:
            raise ValueError(f"max_pid must be a positive integer, not {max_pid!r}")
        if policy not in PROCESS_POLICIES:
            raise ValueError(f"process placement policy must be one of {', '.join(PROCESS_POLICIES)}, "
                             f"not {policy!r}")
        self.nodes, self.max_pid, self.policy = nodes, max_pid, policy
        self.processes: dict[int, tuple[int, str | None]] = {}     # pid -> (processor node, vnode)
        self.vnodes: dict[str, set[int]] = {}
        self._last_pid = 0
        self._next = 0

    def load(self, node):
        """Processes running on processor node ``node``."""
        return sum(1 for n, _ in self.processes.values() if n == node)

    def _alloc_pid(self):
        pid = next_free_pid(self.processes, self._last_pid, self.max_pid)
        if pid is None:
            raise ProcessPlacementError(f"no free pid: all {self.max_pid} pids of the rack are running")
        self._last_pid = pid
        return pid

    def _choose(self, pin):
        if pin is not None:
            if pin not in self.nodes:
                raise ProcessPlacementError(f"node {pin!r} is not a processor component (nodes {self.nodes})")
            return pin
        if self.policy == "round-robin":
            node = self.nodes[self._next % len(self.nodes)]
            self._next += 1
            return node
        return min(self.nodes, key=lambda n: (self.load(n), n))

    def place(self, vnode=None, pin=None):
        """A new pid and the processor node it runs on: ``(pid, node)``. Nothing is committed until
        :meth:`commit` (so a process the memory side cannot hold leaves no trace)."""
        pid = self._alloc_pid()
        return pid, self._choose(pin)

    def commit(self, pid, node, vnode=None):
        """Record process ``pid`` as running on ``node`` (in ``vnode``, if given)."""
        if pid in self.processes:
            raise ProcessPlacementError(f"pid {pid} is already running")
        self.processes[pid] = (node, vnode)
        if vnode is not None:
            self.vnodes.setdefault(vnode, set()).add(pid)

    def release(self, pid):
        """Forget process ``pid`` (at exit); return its processor node."""
        if pid not in self.processes:
            raise ProcessPlacementError(f"pid {pid!r} is not running")
        node, vnode = self.processes.pop(pid)
        if vnode is not None:
            self.vnodes[vnode].discard(pid)
            if not self.vnodes[vnode]:
                del self.vnodes[vnode]
        return node

    def node_of(self, pid):
        return self.processes[pid][0]

    def vnode_nodes(self, vnode):
        """Processor nodes a vNode spans."""
        return sorted({self.processes[p][0] for p in self.vnodes.get(vnode, ())})
