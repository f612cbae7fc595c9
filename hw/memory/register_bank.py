"""The MMU's register bank: the storage and strobes behind :data:`hw.memory.registers.MMU_REGS`."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.memory.params import MMUParams
from hw.memory.ports import FaultSignature, OwnerSetSignature, WindowRegsSignature
from hw.memory.registers import COUNTERS, MMU_REGS
from hw.memory.tlb import INV_ALL
from hw.protocol import NODE_ID_WIDTH, PID_WIDTH

__all__ = ["MMURegisterBank"]


class MMURegisterBank(wiring.Component):
    """Decodes the firmware's CSR bus into the MMU's configuration, commands and status.

    Parameters
    ----------
    params : MMUParams
        Geometry shown in INFO0/INFO1; reset values of PT_BUCKETS_LOG2 and PT_MAX_PROBES.

    Ports
    -----
    csr : In(CSRBusSignature(MMU_REGS.addr_width))
    pt_base : Out(64), pt_buckets_log2 : Out(5), pt_max_probes : Out(8), node_id : Out(8)
        Configuration registers (the values firmware wrote, PT_BUCKETS_LOG2 saturated at MAX_BUCKETS_LOG2).
    owner_set : Out(OwnerSetSignature())
        OWNER_SET writes; ``owner_sel`` (Out(16)) is OWNER_SEL, ``owner_get_valid``/``owner_get_node`` (In)
        the binding it selects.
    inv, inv_mode, inv_pid, inv_vpn : Out
        TLB invalidation, in the cycle TLB_INV is written (pid out of range: only mode 2 acts).
    fault : In(FaultSignature())
        The fault queue head (FAULT_STATUS, FAULT_VADDR) and FAULT_RESOLVE writes.
    window : Out(WindowRegsSignature())
        The memory window's registers.
    events : In(Signature({name: Out(1)}))
        One pulse per counted event (``hw.memory.registers.COUNTERS``).
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MMURegisterBank needs MMUParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "csr": In(CSRBusSignature(MMU_REGS.addr_width)),
            "pt_base": Out(64), "pt_buckets_log2": Out(5), "pt_max_probes": Out(8), "node_id": Out(NODE_ID_WIDTH),
            "owner_set": Out(OwnerSetSignature()),
            "owner_sel": Out(PID_WIDTH), "owner_get_valid": In(1), "owner_get_node": In(NODE_ID_WIDTH),
            "inv": Out(1), "inv_mode": Out(2), "inv_pid": Out(p.pid_width), "inv_vpn": Out(p.vpn_width),
            "fault": In(FaultSignature()),
            "window": Out(WindowRegsSignature()),
            "events": In(wiring.Signature({name: Out(1) for name in COUNTERS.values()})),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.decoder = dec = CSRDecoder(MMU_REGS, resets={"PT_BUCKETS_LOG2": p.pt_buckets_log2,
                                                                  "PT_MAX_PROBES": p.pt_max_probes})
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        r = dec.regs
        m.d.comb += [
            r["INFO0"].r_data.eq(Cat(Const(p.page_bits, 8), Const(p.pid_width, 8), Const(p.vaddr_width, 8),
                                     Const(p.paddr_width, 8))),
            r["INFO1"].r_data.eq(Cat(Const(p.tlb_entries, 16), Const(p.tlb_ways, 8), Const(p.pt_bucket_entries, 8))),
            self.pt_base.eq(r["PT_BASE"].data), self.pt_buckets_log2.eq(r["PT_BUCKETS_LOG2"].data),
            self.pt_max_probes.eq(r["PT_MAX_PROBES"].data), self.node_id.eq(r["NODE_ID"].data),
        ]

        # Owner table access.
        own = r["OWNER_SET"]
        m.d.comb += [
            self.owner_set.stb.eq(own.w_stb), self.owner_set.pid.eq(own.w_data[:16]),
            self.owner_set.node.eq(own.w_data[16:24]), self.owner_set.valid.eq(own.w_data[31]),
            # OWNER_SEL's next value (this cycle's write, else the stored one): the owner table's firmware
            # lookup is registered, so a read of OWNER_GET in the cycle after an OWNER_SEL write sees it.
            self.owner_sel.eq(Mux(r["OWNER_SEL"].w_stb, dec.bus.w_data[:PID_WIDTH], r["OWNER_SEL"].data)),
            r["OWNER_GET"].r_data.eq(Cat(self.owner_get_node, Const(0, 23), self.owner_get_valid)),
        ]

        # TLB invalidation, effective in the write cycle.
        inv = r["TLB_INV"]
        pid_in_range = (inv.w_data[:16] >> p.pid_width) == 0
        m.d.comb += [
            self.inv.eq(inv.w_stb & (pid_in_range | (inv.w_data[16:18] == INV_ALL))),
            self.inv_mode.eq(inv.w_data[16:18]), self.inv_pid.eq(inv.w_data[:p.pid_width]),
            self.inv_vpn.eq(r["TLB_INV_VPN"].data[:p.vpn_width]),
        ]

        # Fault queue head.
        f = self.fault
        # The head's fields read 0 while no fault is pending (a free fault-queue slot follows the translator's
        # request in every cycle, hw.memory.fault_queue).
        vaddr_shown = Signal(64)
        status_shown = Signal(32)
        with m.If(f.pending):
            m.d.comb += [vaddr_shown.eq(f.vaddr), status_shown.eq(Cat(f.pending, f.write, Const(0, 2), f.kind, f.src, f.pid))]
        m.d.comb += [
            r["FAULT_STATUS"].r_data.eq(status_shown),
            r["FAULT_VADDR"].r_data.eq(vaddr_shown),
            f.resolve.eq(r["FAULT_RESOLVE"].w_stb), f.resolve_cmd.eq(r["FAULT_RESOLVE"].w_data),
        ]

        # Memory window.
        w = self.window
        m.d.comb += [
            w.addr.eq(r["MEM_ADDR"].data), w.wdata.eq(r["MEM_WDATA"].data), w.len.eq(r["MEM_LEN"].data),
            r["MEM_ADDR"].load.eq(w.addr_load), r["MEM_ADDR"].load_value.eq(w.addr_next),
            r["MEM_LEN"].load.eq(w.len_load), r["MEM_LEN"].load_value.eq(w.len_next),
            w.cmd_stb.eq(r["MEM_CTRL"].w_stb), w.cmd.eq(r["MEM_CTRL"].w_data),
            r["MEM_CTRL"].r_data.eq(Cat(w.busy, w.error)), r["MEM_RDATA"].r_data.eq(w.rdata),
        ]

        # Counters.
        for reg, event in COUNTERS.items():
            m.d.comb += r[reg].inc.eq(getattr(self.events, event))
        return m
