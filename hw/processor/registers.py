"""The ExCache's CSR register map (word addresses), apart from the RTL so firmware can import it alone.

The decoder of :class:`hw.processor.excache.ExCacheTop`, the processor monitor firmware and the table in
``docs/excache.md`` are all generated from :func:`register_map`. Every register has a kind
(:mod:`hw.lib.csr`), so the decoder implements its storage: the event counters are :class:`Counter`\\ s,
``status.done`` is write-1-to-clear, ``mem_node`` is read-write storage, the command registers are
:class:`Action` strobes and the rest are read-only views of the block's state.
"""

from hw.lib.csr import Action, Counter, Field, R, RW, Register, RegisterMap, W1C
from hw.processor.excache_params import POLICIES

__all__ = ["POLICY_CODE", "COUNTERS", "register_map"]

#: Policy codes in the ``info`` register.
POLICY_CODE = {name: i for i, name in enumerate(POLICIES)}

#: The event counters (registers of kind Counter), each with what it counts; ``counters_clear`` zeroes them.
COUNTERS = (
    ("hits",       "Accesses that hit (32 bits, wraps)"),
    ("misses",     "Accesses that missed (32 bits, wraps)"),
    ("evictions",  "Valid lines replaced by a fill (32 bits, wraps)"),
    ("writebacks", "Dirty lines written back and acknowledged (32 bits, wraps)"),
)


def register_map():
    """The ExCache's CSR map (word addresses)."""
    return RegisterMap("excache", [
        Register("info", 0x00, "r", "Configuration of this instance", (
            ("ways", 0, 8, "associativity"),
            ("log2_sets", 8, 5, "log2 of the number of sets"),
            ("log2_line", 13, 4, "log2 of the line size in bytes"),
            ("policy", 17, 2, "0 lru, 1 fifo, 2 random, 3 plru"),
            ("software", 19, 1, "1: software-managed miss path"),
            ("log2_word", 20, 4, "log2 of the data width in bytes"),
        ), kind=R()),
        Register("maint_cmd", 0x01, "w", "Start a maintenance command (ignored while status.busy)", (
            Field("op", 0, 2, "1 invalidate lines of pid, 2 flush (write back) dirty lines of pid, 3 flush all",
                  Action()),
            Field("pid", 16, 16, "process id (op 1 and 2)", Action()),
        )),
        Register("status", 0x02, "rw", "Status; write 1 to `done` to clear it", (
            Field("busy", 0, 1, "a maintenance command waits for the pipeline to drain or runs", R()),
            Field("done", 1, 1, "sticky: a maintenance command completed (write 1 to clear)", W1C()),
            Field("miss_pending", 2, 1, "software mode: a miss event waits for a `miss_cmd` write", R()),
            Field("software", 3, 1, "1: software-managed miss path", R()),
        )),
        *(Register(name, 0x04 + i, "r", doc, kind=Counter()) for i, (name, doc) in enumerate(COUNTERS)),
        Register("counters_clear", 0x08, "w", "Any write zeroes hits, misses, evictions and writebacks",
                 kind=Action()),
        Register("mem_node", 0x09, "rw", "`dst` node id of LINE_READ/LINE_WRITE requests [7:0] (reset 0)",
                 kind=RW(8)),
        Register("ev_info", 0x10, "r", "Last miss event: kind and victim state", (
            ("kind", 0, 1, "0 miss, 1 flush"),
            ("write", 1, 1, "the missing access is a write"),
            ("victim_valid", 2, 1, "suggested victim way holds a valid line"),
            ("victim_dirty", 3, 1, "suggested victim way holds a dirty line"),
            ("way", 8, 8, "suggested victim way"),
            ("pid", 16, 16, "pid of the missing access"),
        ), kind=R()),
        Register("ev_vaddr_lo", 0x11, "r", "Last miss event: vaddr of the access, bits 31..0", kind=R()),
        Register("ev_vaddr_hi", 0x12, "r", "Last miss event: vaddr of the access, bits 63..32", kind=R()),
        Register("ev_set", 0x13, "r", "Last miss event: set index", kind=R()),
        Register("ev_victim_pid", 0x14, "r", "Last miss event: pid of the suggested victim line", kind=R()),
        Register("ev_victim_lo", 0x15, "r", "Last miss event: line vaddr of the suggested victim, bits 31..0",
                 kind=R()),
        Register("ev_victim_hi", 0x16, "r", "Last miss event: line vaddr of the suggested victim, bits 63..32",
                 kind=R()),
        Register("miss_cmd", 0x18, "w", "Software mode: serve the pending miss event", (
            Field("action", 0, 1, "0 fill into `way` (writing its line back first if dirty), 1 fail the access",
                  Action()),
            Field("way", 8, 8, "way to fill (a value >= ways is ignored: the event stays pending)", Action()),
            Field("status", 16, 3, "status answered on fail (hw.protocol.Status, should not be 0)", Action()),
        )),
    ])
