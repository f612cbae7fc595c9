"""The numpy records the compiled driver reads and writes, shared by Python and C++.

The C++ structs are generated from these dtypes (:func:`emu.harness.codegen.c_struct`), so the two sides
cannot drift apart.

``RESULT_DTYPE`` (one row per access of the workload)

========  ====  ===============================================================
rdata     u8    data returned, already shifted down from its byte lane (reads)
status    u1    response status (``Status`` encoding of the system; 0 is OK)
done      u1    1 once the response arrived
t_issue   u8    cycle the request was accepted on ``cpu_req``
t_done    u8    cycle the response was taken from ``cpu_resp``
missed    u1    1 if the access saw a miss-stage strobe while it was the oldest in flight (a miss)
========  ====  ===============================================================

``STATS_DTYPE`` (one record per model, cumulative since reset; see ``docs/harness.md``)
"""

import numpy as np

__all__ = ["RESULT_DTYPE", "STATS_DTYPE", "MAX_PROBES", "RunStatus"]

#: Most probe strobes the driver keeps statistics for.
MAX_PROBES = 64

RESULT_DTYPE = np.dtype([
    ("rdata", np.uint64),
    ("status", np.uint8),
    ("done", np.uint8),
    ("t_issue", np.uint64),
    ("t_done", np.uint64),
    ("missed", np.uint8),     # 1 if the access was timed as a miss (a miss-stage strobe while it was oldest)
])

STATS_DTYPE = np.dtype([
    ("cycles", np.uint64),            # clock cycles simulated since reset
    ("issued", np.uint64),            # requests accepted on cpu_req
    ("completed", np.uint64),         # responses taken from cpu_resp
    ("reads", np.uint64),             # read requests accepted
    ("writes", np.uint64),            # write requests accepted
    ("req_stall_cycles", np.uint64),  # cycles cpu_req was valid but not ready (the cache stalled the CPU)
    ("think_cycles", np.uint64),      # cycles the CPU spent thinking (workload think field)
    ("busy_cycles", np.uint64),       # cycles with at least one access outstanding
    ("latency_sum", np.uint64),       # sum over completed accesses of t_done - t_issue
    ("max_outstanding", np.uint64),   # most accesses in flight at once
    ("irq_proc_events", np.uint64),   # returns to Python for irq_proc
    ("irq_mem_events", np.uint64),    # returns to Python for irq_mem
    ("csr_reads", np.uint64),         # CSR accesses made by firmware / statistics
    ("csr_writes", np.uint64),
    ("chain_orphans", np.uint64),     # chain strobes with no open message at the previous boundary
    ("unexpected_responses", np.uint64),  # cpu_resp beats with no access in flight (a design bug)
    ("idle_checks", np.uint64),       # idle-skip attempts: thinking cycles evaluated and compared
    ("idle_skips", np.uint64),        # of which the state was a fixed point: the rest of the think time skipped
    ("idle_skipped_cycles", np.uint64),  # cycles advanced without evaluating the model (in think_cycles too)
    ("idle_masked_bytes", np.uint64),  # bytes of the model's state that follow the free-running registers
    ("hit_count", np.uint64),         # completed accesses that saw no chain strobe while oldest in flight
    ("hit_latency_sum", np.uint64),   # their t_done - t_issue, summed
    ("miss_count", np.uint64),        # completed accesses that saw at least one chain strobe (misses)
    ("miss_latency_sum", np.uint64),  # their t_done - t_issue, summed (= sum of miss_stage_sum)
    # Miss cycles by bin: 0 before the first chain strobe, k+1 after chain boundary k, CHAIN_N+1 while
    # firmware ran (cycles stepped by CSR accesses outside run()).
    ("miss_stage_sum", np.uint64, (MAX_PROBES + 2,)),
    ("probe_count", np.uint64, (MAX_PROBES,)),  # times each probe strobe fired
    ("stage_sum", np.uint64, (MAX_PROBES,)),    # per message: cycles from the previous chain boundary to this one
    ("stage_n", np.uint64, (MAX_PROBES,)),      # boundaries paired for stage_sum
])


class RunStatus:
    """Why the compiled ``run`` returned to Python."""
    DONE = 0   #: every access up to ``n`` completed
    IRQ = 1    #: irq_proc or irq_mem rose (or stayed high): firmware must run
    BATCH = 2  #: ``max_cycles`` simulated: a batch boundary (progress bar, checks)
    HANG = 3   #: no response for the hang limit with accesses outstanding
    NAMES = {0: "done", 1: "irq", 2: "batch", 3: "hang"}
