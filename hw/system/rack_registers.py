"""Register maps of the rack's own blocks, apart from the RTL so firmware can import them alone.

* :func:`router_register_map`: the region router of a rack processor component
  (``hw/system/region_router.py``): its region table, written by the processor monitor, and its counters.
* :func:`switch_register_map`: the rack switch's statistics (``hw/system/rack.py``): the crossbar's
  counters, per port the crossbar's and the port link's counters, and a cycle counter.
"""

from hw.lib.csr import Action, Counter, Field, R, RW, Register, RegisterMap
from hw.network.registers import LINK_COUNTERS, SWITCH_COUNTERS, SWITCH_PORT_COUNTERS

#: The crossbar counters of the fault plan (``hw.network.switch.SWITCH_FAULT_COUNTERS``, kept here so firmware
#: need not import the RTL).
SWITCH_FAULT_COUNTERS = ("dropped_dead",)
#: Offset of ``p<i>_kill_at`` in a port's words (after its counters).
SWITCH_KILL_OFFSET = 0xF

__all__ = ["ROUTER_COUNTERS", "router_register_map", "switch_register_map", "SWITCH_PORT_STRIDE",
           "SWITCH_PORT_BASE", "switch_port_counters"]

#: Event counters of the region router, ``(name, description)``.
ROUTER_COUNTERS = (
    ("routed", "request headers whose (pid, region) matched a table entry (destination rewritten)"),
    ("unrouted", "request headers that matched no entry (sent to the ExCache's mem_node)"),
    ("replicated", "writes of replicated regions also sent to the entry's secondary node"),
    ("replica_acks", "responses of secondaries to those writes, absorbed (the ExCache sees the primary's)"),
    ("replica_faults", "absorbed secondary responses whose status was not OK"),
    ("replayed", "outstanding requests re-sent, after a failover, to their region's new home"),
    ("failed", "outstanding requests answered NODE_DEAD by the router: their home failed, no replica"),
    ("replica_lost", "secondary writes never answered because the secondary failed (not absorbed)"),
    ("probes", "requests sent again to the same node after probe_after cycles without a response"),
    ("stale", "responses that matched no outstanding request (the answer to a probed request's first copy), "
              "dropped"),
)

#: Word addresses of the router's counters, in ROUTER_COUNTERS order.
ROUTER_COUNTER_ADDRS = (0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x1C, 0x1D)


def router_register_map():
    """The region router's CSR map (word addresses).

    An entry is written in two steps: the ``entry_*`` staging registers, then ``commit`` with the entry
    index and the valid bit, which writes all fields of that entry in one cycle (a header never sees a
    half-written entry). ``view_*`` read back the entry selected by ``view_index``.
    """
    return RegisterMap("router", [
        Register("info", 0x00, "r", "Configuration of this instance", (
            ("entries", 0, 8, "region table entries"),
            ("region_log2", 8, 6, "log2 of the region size in bytes"),
            ("node_id_width", 14, 4, "bits of a node id"),
            ("vaddr_width", 18, 7, "virtual address bits"),
            ("replication", 25, 1, "1: replication hardware present (entry_replica is used)"),
        ), kind=R()),
        Register("entry_pid", 0x01, "rw", "Staging: pid of the entry to commit", kind=RW(16)),
        Register("entry_region", 0x02, "rw", "Staging: region number (vaddr >> region_log2) of the entry to commit, "
                 "bits 31..0", kind=RW(32)),
        Register("entry_region_hi", 0x0C, "rw", "Staging: region number, bits 63..32", kind=RW(32)),
        Register("entry_node", 0x03, "rw", "Staging: home memory node of the entry to commit", kind=RW(8)),
        Register("commit", 0x04, "w", "Write the staged pid, region and node into one entry", (
            Field("valid", 0, 1, "1: the entry routes; 0: the entry is invalidated", Action()),
            Field("index", 8, 8, "entry index (an index >= entries is ignored)", Action()),
        )),
        Register("view_index", 0x05, "rw", "Entry shown by the view_* registers", kind=RW(8)),
        Register("view_info", 0x06, "r", "Selected entry: valid [0], node [15:8], pid [31:16]", kind=R()),
        Register("view_region", 0x07, "r", "Selected entry: region number, bits 31..0", kind=R()),
        Register("view_region_hi", 0x0D, "r", "Selected entry: region number, bits 63..32", kind=R()),
        Register("entry_replica", 0x0E, "rw", "Staging: secondary node of the entry to commit", (
            Field("node", 0, 8, "secondary memory node: writes go to the primary and to it", RW(8)),
            Field("valid", 8, 1, "1: the region is replicated (replication factor 2)", RW(1)),
        )),
        Register("view_replica", 0x0F, "r", "Selected entry: secondary node [7:0], replicated [8]", kind=R()),
        *(Register(name, ROUTER_COUNTER_ADDRS[i], "r", doc + " (32 bits, wraps)", kind=Counter())
          for i, (name, doc) in enumerate(ROUTER_COUNTERS)),
        Register("fail_node", 0x16, "w", "Failover: mark a memory node failed (after the table is rewritten): "
                 "outstanding requests to it are re-sent to their region's new home, or answered NODE_DEAD if "
                 "that is failed too; absorbed-response slots of it are dropped", (
                     Field("node", 0, 8, "node id of the failed component", Action()),
                 )),
        Register("default_node", 0x1B, "rw", "Failover: where a re-sent request that matches no entry goes (the "
                 "ExCache's mem_node, which firmware keeps on a live memory component)", kind=RW(8)),
        Register("probe_after", 0x1E, "rw", "Failure detection: cycles a request may wait for its response before "
                 "the router sends it again to the same node (0: never). The network interface detects a dead "
                 "peer only while a frame to it is unacknowledged; a request it acknowledged whose response "
                 "the failure swallowed is probed this way", kind=RW(24)),
        Register("fail_clear", 0x17, "w", "Any write clears every failed mark (a repaired rack)", kind=Action()),
        Register("failed_nodes", 0x18, "r", "Failed marks of nodes 31..0", kind=R()),
        Register("failed_nodes_hi", 0x19, "r", "Failed marks of nodes 63..32", kind=R()),
        Register("replay_info", 0x1A, "r", "Replay log: slots [7:0] (0: no failover hardware), slots in use "
                 "[15:8]", kind=R()),
        Register("counters_clear", 0x0A, "w", "Any write zeroes the counters", kind=Action()),
        Register("invalidate_all", 0x0B, "w", "Any write invalidates every entry", kind=Action()),
    ])


#: First word of the per-port counters in the switch statistics window, and words per port.
SWITCH_PORT_BASE = 0x10
SWITCH_PORT_STRIDE = 0x10


def switch_port_counters():
    """Per-port counter names in register order: the crossbar's, then the port link's (``link_<name>``)."""
    return tuple(SWITCH_PORT_COUNTERS) + tuple(f"link_{name}" for name in LINK_COUNTERS)


def switch_register_map(n_ports):
    """The rack switch's statistics window for ``n_ports`` ports (word addresses).

    ``cycles`` (64 bits) counts clock cycles since reset, so utilisations are counts / cycles. Port ``i``'s
    counter ``c`` is ``p<i>_<c>`` at ``SWITCH_PORT_BASE + i * SWITCH_PORT_STRIDE + k``.

    The fault plan: ``p<i>_kill_at`` (read-write) kills the endpoint of port ``i`` at that cycle (0: never;
    once dead a port stays dead until reset). The failover record: ``failed_at``, the cycle the first port
    died, and ``detected_at``, the first cycle after it that a processor component's network interface raised
    its interrupt (a peer declared dead); both 0 until then, both re-armed by ``record_clear``.
    """
    regs = [Register(name, i, "r", f"crossbar: {name.replace('_', ' ')} (32 bits, wraps)", kind=R())
            for i, name in enumerate(SWITCH_COUNTERS + SWITCH_FAULT_COUNTERS)]
    regs.append(Register("cycles", 0x04, "r", "clock cycles since reset", kind=Counter(64, registered=False)))
    regs.append(Register("failed_at", 0x06, "r", "failover record: cycle the first port died (0: none)", kind=R()))
    regs.append(Register("detected_at", 0x07, "r", "failover record: first cycle after failed_at that a processor "
                         "network interface declared a peer dead (0: not yet)", kind=R()))
    regs.append(Register("record_clear", 0x08, "w", "Any write re-arms failed_at and detected_at", kind=Action()))
    names = switch_port_counters()
    assert len(names) <= SWITCH_KILL_OFFSET
    for i in range(n_ports):
        for k, name in enumerate(names):
            regs.append(Register(f"p{i}_{name}", SWITCH_PORT_BASE + i * SWITCH_PORT_STRIDE + k, "r",
                                 f"port {i}: {name.replace('_', ' ')} (32 bits, wraps)", kind=R()))
        regs.append(Register(f"p{i}_kill_at", SWITCH_PORT_BASE + i * SWITCH_PORT_STRIDE + SWITCH_KILL_OFFSET, "rw",
                             f"fault plan: cycle at which port {i}'s endpoint dies (0: never)", kind=RW(32)))
    return RegisterMap("rack_switch", regs)
