"""Memory-side MMU of the memory component: TLB, hashed page-table walker, DRAM port, CSRs.

Requests arrive as messages (``hw.protocol``) on ``net_rx``; each is checked (well-formed, pid in
range, pid owned by the source node), translated (TLB, else a walk of the hashed page table in DRAM),
permission-checked and carried out on the AXI4 DRAM port; the answer leaves on ``net_tx``. Unmapped
accesses wait for the memory monitor (fault register queue + ``irq``), which either installs a mapping
and replays the request or refuses it (``PAGE_FAULT``). See ``docs/mmu.md`` and ``docs/page-table.md``.

Requests are served one at a time, in arrival order: a request waiting for the memory monitor holds
the ones behind it (LegoOS's memory component serialises faults per request stream in the same way).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.lib.axi import AXI4Signature, BURST_INCR
from hw.lib.csr import CSRBusSignature, CSRDecoder, Register, RegisterMap
from hw.protocol import MessagePort, MsgKind, Status, NODE_ID_WIDTH
from hw.memory.params import MAX_BUCKETS_LOG2, PTE_BYTES, MMUParams
from hw.memory.tlb import TLB, INV_ALL

__all__ = ["MMUParams", "MemoryMMU", "MMU_REGS", "PTE_BYTES", "HASH_PID_MULT", "default_top",
           "FAULT_REPLAY", "FAULT_REFUSE", "MEM_OP_READ", "MEM_OP_WRITE", "MEM_OP_FILL"]

#: Multiplier that spreads pids over the buckets (hash in docs/page-table.md).
HASH_PID_MULT = 0x9E5
#: FAULT_RESOLVE commands.
FAULT_REPLAY = 1
FAULT_REFUSE = 2
#: MEM_CTRL commands.
MEM_OP_READ = 1
MEM_OP_WRITE = 2
MEM_OP_FILL = 3


MMU_REGS = RegisterMap("mmu", [
    Register("INFO0", 0x00, "r", "geometry (read-only)",
             (("page_bits", 0, 8, "log2 page bytes"), ("pid_width", 8, 8, "pid bits"),
              ("vaddr_width", 16, 8, "virtual address bits"), ("paddr_width", 24, 8, "physical address bits"))),
    Register("INFO1", 0x01, "r", "geometry (read-only)",
             (("tlb_entries", 0, 16, "TLB entries"), ("tlb_ways", 16, 8, "TLB ways"),
              ("bucket_entries", 24, 8, "page-table entries per bucket"))),
    Register("PT_BASE_LO", 0x02, "rw", "page-table base byte address, bits 31..0 (bucket aligned)"),
    Register("PT_BASE_HI", 0x03, "rw", "page-table base byte address, bits 63..32"),
    Register("PT_BUCKETS_LOG2", 0x04, "rw", "log2 of the number of buckets (0..16)"),
    Register("PT_MAX_PROBES", 0x05, "rw", "buckets read at most per walk (>= 1; 0 acts as 1)"),
    Register("OWNER_SET", 0x06, "w", "bind pid to owner node",
             (("pid", 0, 16, "pid"), ("node", 16, 8, "owner node id"), ("valid", 31, 1, "1 bind, 0 unbind"))),
    Register("OWNER_SEL", 0x07, "rw", "pid whose binding OWNER_GET shows"),
    Register("OWNER_GET", 0x08, "r", "binding of OWNER_SEL",
             (("node", 0, 8, "owner node id"), ("valid", 31, 1, "bound"))),
    Register("TLB_INV_VPN_LO", 0x09, "rw", "vpn for TLB_INV one-entry invalidation, bits 31..0"),
    Register("TLB_INV_VPN_HI", 0x0a, "rw", "vpn bits 63..32"),
    Register("TLB_INV", 0x0b, "w", "invalidate TLB entries (takes effect in the write cycle)",
             (("pid", 0, 16, "pid"), ("mode", 16, 2, "0 = (pid, TLB_INV_VPN), 1 = all of pid, 2 = all"))),
    Register("FAULT_STATUS", 0x0c, "r", "head of the fault queue (irq = pending)",
             (("pending", 0, 1, "a fault waits"), ("write", 1, 1, "faulting access writes"),
              ("kind", 4, 4, "MsgKind of the request"), ("src", 8, 8, "source node"),
              ("pid", 16, 16, "pid"))),
    Register("FAULT_VADDR_LO", 0x0d, "r", "faulting virtual address, bits 31..0"),
    Register("FAULT_VADDR_HI", 0x0e, "r", "faulting virtual address, bits 63..32"),
    Register("FAULT_RESOLVE", 0x0f, "w", "pop the fault: 1 = replay (mapping installed), 2 = refuse (PAGE_FAULT)"),
    Register("MEM_ADDR_LO", 0x10, "rw", "memory window byte address, bits 31..0 (advances by 8 per READ/WRITE)"),
    Register("MEM_ADDR_HI", 0x11, "rw", "memory window byte address, bits 63..32"),
    Register("MEM_WDATA_LO", 0x12, "rw", "memory window write data / fill pattern, bits 31..0"),
    Register("MEM_WDATA_HI", 0x13, "rw", "memory window write data / fill pattern, bits 63..32"),
    Register("MEM_LEN", 0x14, "rw", "FILL length in bytes (multiple of the beat size)"),
    Register("MEM_CTRL", 0x15, "rw", "write: 1 = READ 8 bytes, 2 = WRITE 8 bytes, 3 = FILL; read: status",
             (("busy", 0, 1, "operation in progress"), ("error", 1, 1, "last command misaligned, not done"))),
    Register("MEM_RDATA_LO", 0x16, "r", "data of the last READ, bits 31..0"),
    Register("MEM_RDATA_HI", 0x17, "r", "data of the last READ, bits 63..32"),
    Register("CNT_TLB_HIT", 0x18, "rw", "requests translated by the TLB (write sets)"),
    Register("CNT_TLB_MISS", 0x19, "rw", "TLB misses (write sets)"),
    Register("CNT_WALKS", 0x1a, "rw", "page-table walks started, replays included (write sets)"),
    Register("CNT_FAULTS", 0x1b, "rw", "page-fault events raised to firmware (write sets)"),
    Register("CNT_BUCKET_READS", 0x1c, "rw", "bucket bursts read by the walker (write sets)"),
    Register("CNT_REQUESTS", 0x1d, "rw", "requests answered (write sets)"),
    Register("CNT_PROT_FAULTS", 0x1e, "rw", "requests answered PROT_FAULT (write sets)"),
    Register("NODE_ID", 0x1f, "rw", "this memory component's node id, put in the src of responses "
             "(the network interface stamps its own)"),
])


class MemoryMMU(wiring.Component):
    """The memory component's MMU top.

    Parameters
    ----------
    params : MMUParams

    Ports
    -----
    net_rx : In(MessagePort(data_width))
        Requests (LINE_READ, LINE_WRITE + data beats, WORD_READ, WORD_WRITE + one beat). ``hdr.src``
        is the source node stamped by the network interface, the only identity trusted.
    net_tx : Out(MessagePort(data_width))
        Responses: kind = response kind, ``dst`` = request ``src``, ``tag``/``pid``/``vaddr`` echoed,
        ``status``; ``length`` = bytes of data that follow (0 when none).
    axi : Out(AXI4Signature(paddr_width, data_width, axi_id_width))
        DRAM port (INCR bursts, one transaction at a time).
    csr : In(CSRBusSignature(MMU_REGS.addr_width))
        Firmware registers, see ``MMU_REGS`` and docs/mmu.md.
    irq : Out(1)
        High while the fault queue is non-empty.
    """

    def __init__(self, params):
        if not isinstance(params, MMUParams):
            raise TypeError(f"MemoryMMU needs MMUParams, not {params!r}")
        self.params = params
        super().__init__({
            "net_rx": In(MessagePort(params.data_width)),
            "net_tx": Out(MessagePort(params.data_width)),
            "axi": Out(AXI4Signature(params.paddr_width, params.data_width, params.axi_id_width)),
            "csr": In(CSRBusSignature(MMU_REGS.addr_width)),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        dw, bb = p.data_width, p.beat_bytes
        lane_bits = bb.bit_length() - 1
        size_code = lane_bits  # AXI size: log2(bytes per beat)
        pb = p.page_bits

        m.submodules.dec = dec = CSRDecoder(MMU_REGS)
        wiring.connect(m, wiring.flipped(self.csr), dec.bus)
        regs = dec.regs

        m.submodules.tlb = tlb = TLB(p.tlb_entries, p.tlb_ways, p.pid_width, p.vpn_width, p.pfn_width)

        # ---------------------------------------------------------------- configuration registers
        pt_base = Signal(64)
        pt_log2 = Signal(5, init=p.pt_buckets_log2)
        pt_probes = Signal(8, init=p.pt_max_probes)
        owner_sel = Signal(16)
        inv_vpn = Signal(64)
        # Owner table: {valid, node} per pid, one write port (OWNER_SET) and two asynchronous read
        # ports (the request check, OWNER_GET).
        m.submodules.owners = owners = memory.Memory(shape=NODE_ID_WIDTH + 1, depth=p.num_pids, init=[])
        own_w = owners.write_port()
        own_chk = owners.read_port(domain="comb")
        own_get = owners.read_port(domain="comb")

        def rw32(name, sig, lo):
            port = regs[name]
            m.d.comb += port.r_data.eq(sig[lo:lo + 32])
            with m.If(port.w_stb):
                m.d.sync += sig[lo:lo + 32].eq(port.w_data)

        node_id = Signal(NODE_ID_WIDTH)
        m.d.comb += regs["NODE_ID"].r_data.eq(node_id)
        with m.If(regs["NODE_ID"].w_stb):
            m.d.sync += node_id.eq(regs["NODE_ID"].w_data[:NODE_ID_WIDTH])
        rw32("PT_BASE_LO", pt_base, 0)
        rw32("PT_BASE_HI", pt_base, 32)
        rw32("TLB_INV_VPN_LO", inv_vpn, 0)
        rw32("TLB_INV_VPN_HI", inv_vpn, 32)
        m.d.comb += regs["PT_BUCKETS_LOG2"].r_data.eq(pt_log2)
        with m.If(regs["PT_BUCKETS_LOG2"].w_stb):
            m.d.sync += pt_log2.eq(Mux(regs["PT_BUCKETS_LOG2"].w_data > MAX_BUCKETS_LOG2, MAX_BUCKETS_LOG2,
                                       regs["PT_BUCKETS_LOG2"].w_data[:5]))
        m.d.comb += regs["PT_MAX_PROBES"].r_data.eq(pt_probes)
        with m.If(regs["PT_MAX_PROBES"].w_stb):
            m.d.sync += pt_probes.eq(regs["PT_MAX_PROBES"].w_data[:8])
        m.d.comb += [
            regs["INFO0"].r_data.eq(Cat(Const(pb, 8), Const(p.pid_width, 8), Const(p.vaddr_width, 8),
                                        Const(p.paddr_width, 8))),
            regs["INFO1"].r_data.eq(Cat(Const(p.tlb_entries, 16), Const(p.tlb_ways, 8),
                                        Const(p.pt_bucket_entries, 8))),
        ]
        m.d.comb += regs["OWNER_SEL"].r_data.eq(owner_sel)
        with m.If(regs["OWNER_SEL"].w_stb):
            m.d.sync += owner_sel.eq(regs["OWNER_SEL"].w_data[:16])
        sel_in_range = (owner_sel >> p.pid_width) == 0
        m.d.comb += own_get.addr.eq(owner_sel[:p.pid_width])
        m.d.comb += regs["OWNER_GET"].r_data.eq(Mux(
            sel_in_range, Cat(own_get.data[:NODE_ID_WIDTH], Const(0, 23), own_get.data[NODE_ID_WIDTH]), 0))
        ow = regs["OWNER_SET"]
        m.d.comb += [own_w.addr.eq(ow.w_data[:p.pid_width]),
                     own_w.data.eq(Cat(ow.w_data[16:24], ow.w_data[31])),
                     own_w.en.eq(ow.w_stb & ((ow.w_data[:16] >> p.pid_width) == 0))]

        # TLB invalidation from firmware, effective in the write cycle.
        inv = regs["TLB_INV"]
        inv_now = Signal()
        m.d.comb += [
            inv_now.eq(inv.w_stb & ((inv.w_data[:16] >> p.pid_width) == 0) | (inv.w_stb & (inv.w_data[16:18] == INV_ALL))),
            tlb.inv.eq(inv_now),
            tlb.inv_mode.eq(inv.w_data[16:18]),
            tlb.inv_pid.eq(inv.w_data[:p.pid_width]),
            tlb.inv_vpn.eq(inv_vpn[:p.vpn_width]),
        ]

        # ---------------------------------------------------------------- counters
        counters = {}
        for name in ("CNT_TLB_HIT", "CNT_TLB_MISS", "CNT_WALKS", "CNT_FAULTS", "CNT_BUCKET_READS",
                     "CNT_REQUESTS", "CNT_PROT_FAULTS"):
            c = Signal(32, name=name.lower())
            counters[name] = c
            m.d.comb += regs[name].r_data.eq(c)
        bump = {name: Signal(name=f"bump_{name.lower()}") for name in counters}
        for name, c in counters.items():
            with m.If(regs[name].w_stb):
                m.d.sync += c.eq(regs[name].w_data)
            with m.Elif(bump[name]):
                m.d.sync += c.eq(c + 1)

        # ---------------------------------------------------------------- request registers
        rx, tx, axi = self.net_rx, self.net_tx, self.axi
        r_kind = Signal(4)
        r_status_in = Signal(3)
        r_src = Signal(NODE_ID_WIDTH)
        r_tag = Signal(8)
        r_pid = Signal(16)
        r_vaddr = Signal(64)
        r_len = Signal(16)
        r_vpn = r_vaddr[pb:p.vaddr_width]
        r_off = r_vaddr[:pb]
        r_lane = r_vaddr[:lane_bits]
        is_line_read = r_kind == MsgKind.LINE_READ.value
        is_line_write = r_kind == MsgKind.LINE_WRITE.value
        is_word_read = r_kind == MsgKind.WORD_READ.value
        is_word_write = r_kind == MsgKind.WORD_WRITE.value
        is_write = is_line_write | is_word_write
        is_line = is_line_read | is_line_write
        # Whether the request header announced data beats (drained if the request is not carried out).
        has_data = is_write | (((r_kind == MsgKind.LINE_READ_RESP.value) | (r_kind == MsgKind.WORD_READ_RESP.value))
                               & (r_status_in == Status.OK.value))

        # Well-formedness (BAD_REQUEST otherwise).
        line_ok = ((r_len != 0) & (r_len[:lane_bits] == 0) & (r_lane == 0) & (r_len <= p.max_line_bytes))
        word_ok = (((r_len == 1) | (r_len == 2) | (r_len == 4) | (r_len == 8))
                   & ((r_vaddr[:4] & (r_len[:4] - 1)) == 0))
        in_page = (r_off + r_len) <= p.page_bytes
        in_vspace = (r_vaddr >> p.vaddr_width) == 0
        well_formed = Signal()
        m.d.comb += well_formed.eq(Mux(is_line, line_ok, (is_word_read | is_word_write) & word_ok) & in_page & in_vspace)
        pid_in_range = (r_pid >> p.pid_width) == 0
        owned = Signal()
        m.d.comb += own_chk.addr.eq(r_pid[:p.pid_width])
        m.d.comb += owned.eq(pid_in_range & own_chk.data[NODE_ID_WIDTH]
                             & (own_chk.data[:NODE_ID_WIDTH] == r_src))

        m.d.comb += [tlb.lk_pid.eq(r_pid[:p.pid_width]), tlb.lk_vpn.eq(r_vpn)]

        # Translation result.
        t_pfn = Signal(p.pfn_width)
        t_r = Signal()
        t_w = Signal()
        paddr = Signal(p.paddr_width)
        m.d.comb += paddr.eq(Cat(r_off, t_pfn))
        status = Signal(3)
        beats = Signal(9)          # beats of the data transfer
        beat_cnt = Signal(9)
        n_line_beats = (r_len >> lane_bits)[:9]

        # ---------------------------------------------------------------- walker state
        bucket_beats = p.bucket_bytes // bb
        bucket = Signal(p.bucket_bytes * 8)
        b_idx = Signal(MAX_BUCKETS_LOG2)
        probes = Signal(8)
        poisoned = Signal()
        pid16 = Signal(16)
        m.d.comb += pid16.eq(r_pid)
        vpn48 = Signal(48)
        m.d.comb += vpn48.eq(r_vpn)
        hash_val = Signal(16)
        m.d.comb += hash_val.eq(vpn48[0:16] ^ vpn48[16:32] ^ vpn48[32:48] ^ (pid16 * HASH_PID_MULT)[:16])
        mask = Signal(16)
        m.d.comb += mask.eq((Const(1, 17) << pt_log2) - 1)
        bucket_addr = Signal(64)
        m.d.comb += bucket_addr.eq(pt_base + (b_idx << (p.bucket_bytes.bit_length() - 1)))
        # Evaluate the bucket.
        e_match = Signal(p.pt_bucket_entries)
        e_empty = Signal(p.pt_bucket_entries)
        e_pfn = Signal(p.pfn_width)
        e_r = Signal()
        e_w = Signal()
        for k in range(p.pt_bucket_entries):
            w0 = bucket[k * 128:k * 128 + 64]
            w1 = bucket[k * 128 + 64:k * 128 + 128]
            vpn_ext = Signal(40, name=f"e{k}_vpn")
            m.d.comb += vpn_ext.eq(r_vpn)
            m.d.comb += [
                e_match[k].eq(w0[0] & (w0[8:24] == r_pid) & (w0[24:64] == vpn_ext)),
                e_empty[k].eq(~w0[0] & ~w0[1]),
            ]
        for k in reversed(range(p.pt_bucket_entries)):
            w1 = bucket[k * 128 + 64:k * 128 + 128]
            with m.If(e_match[k]):
                m.d.comb += [e_pfn.eq(w1[8:8 + p.pfn_width]), e_r.eq(w1[0]), e_w.eq(w1[1])]

        # ---------------------------------------------------------------- fault queue (depth 1: requests are serial)
        f_pending = Signal()
        m.d.comb += self.irq.eq(f_pending)
        m.d.comb += [
            regs["FAULT_STATUS"].r_data.eq(Cat(f_pending, is_write, Const(0, 2), r_kind, r_src, r_pid)),
            regs["FAULT_VADDR_LO"].r_data.eq(Mux(f_pending, r_vaddr[:32], 0)),
            regs["FAULT_VADDR_HI"].r_data.eq(Mux(f_pending, r_vaddr[32:], 0)),
        ]
        resolve = regs["FAULT_RESOLVE"]

        # ---------------------------------------------------------------- memory window
        mem_addr = Signal(64)
        mem_wdata = Signal(64)
        mem_len = Signal(32)
        mem_rdata = Signal(64)
        mem_busy = Signal()
        mem_err = Signal()
        mem_op = Signal(2)
        rw32("MEM_ADDR_LO", mem_addr, 0)
        rw32("MEM_ADDR_HI", mem_addr, 32)
        rw32("MEM_WDATA_LO", mem_wdata, 0)
        rw32("MEM_WDATA_HI", mem_wdata, 32)
        rw32("MEM_LEN", mem_len, 0)
        m.d.comb += [regs["MEM_RDATA_LO"].r_data.eq(mem_rdata[:32]), regs["MEM_RDATA_HI"].r_data.eq(mem_rdata[32:]),
                     regs["MEM_CTRL"].r_data.eq(Cat(mem_busy, mem_err))]
        ctrl = regs["MEM_CTRL"]
        with m.If(ctrl.w_stb & ~mem_busy):
            cmd = ctrl.w_data[:2]
            aligned8 = mem_addr[:3] == 0
            fill_ok = (mem_addr[:lane_bits] == 0) & (mem_len[:lane_bits] == 0)
            ok = Mux(cmd == MEM_OP_FILL, fill_ok, aligned8)
            with m.If((cmd != 0) & ok):
                m.d.sync += [mem_busy.eq(1), mem_op.eq(cmd), mem_err.eq(0)]
            with m.Elif(cmd != 0):
                m.d.sync += mem_err.eq(1)
        mem_lane = mem_addr[3:lane_bits] if lane_bits > 3 else Const(0, 1)
        chunk = Signal(9)
        to_4k = Signal(13)
        m.d.comb += to_4k.eq((Const(4096, 13) - mem_addr[:12]) >> lane_bits)
        left_beats = Signal(32)
        m.d.comb += left_beats.eq(mem_len >> lane_bits)
        m.d.comb += chunk.eq(Mux(left_beats < to_4k, Mux(left_beats < 256, left_beats, 256),
                                 Mux(to_4k < 256, to_4k, 256)))
        fill_data = Signal(dw)
        m.d.comb += fill_data.eq(Cat(*([mem_wdata] * (dw // 64))))
        in_fault = Signal()   # the memory operation interrupted FAULT_WAIT and returns there

        # ---------------------------------------------------------------- AXI defaults
        m.d.comb += [
            axi.awburst.eq(BURST_INCR), axi.arburst.eq(BURST_INCR),
            axi.awsize.eq(size_code), axi.arsize.eq(size_code),
            axi.awcache.eq(0b0011), axi.arcache.eq(0b0011),
            axi.awprot.eq(0), axi.arprot.eq(0), axi.awlock.eq(0), axi.arlock.eq(0),
            axi.awid.eq(0), axi.arid.eq(0),
        ]
        m.d.comb += [
            tx.hdr.payload.src.eq(node_id),
            tx.hdr.payload.dst.eq(r_src),
            tx.hdr.payload.tag.eq(r_tag),
            tx.hdr.payload.pid.eq(r_pid),
            tx.hdr.payload.vaddr.eq(r_vaddr),
            tx.hdr.payload.kind.eq(Cat(r_kind[:2], Const(1, 2))),  # the response kind
            tx.hdr.payload.status.eq(status),
        ]

        word_mask = Signal(8)
        m.d.comb += word_mask.eq(Mux(r_len == 8, 0xFF, Mux(r_len == 4, 0x0F, Mux(r_len == 2, 0x03, 0x01))))
        wl = Signal(dw)
        m.d.comb += wl.eq(Cat(*[Mux(word_mask[i], 0xFF, 0) for i in range(8)]))

        with m.FSM(name="mmu_fsm"):
            with m.State("IDLE"):
                with m.If(mem_busy):
                    m.d.sync += in_fault.eq(0)
                    m.next = "MEM_START"
                with m.Else():
                    m.d.comb += rx.hdr.ready.eq(1)
                    with m.If(rx.hdr.valid):
                        h = rx.hdr.payload
                        m.d.sync += [r_kind.eq(h.kind), r_status_in.eq(h.status), r_src.eq(h.src),
                                     r_tag.eq(h.tag), r_pid.eq(h.pid), r_vaddr.eq(h.vaddr), r_len.eq(h.length)]
                        m.next = "LOOKUP"

            with m.State("LOOKUP"):
                # TLB hit latency: this one cycle (lookup and permission check), then ISSUE.
                with m.If(~well_formed):
                    m.d.sync += status.eq(Status.BAD_REQUEST.value)
                    m.next = "REJECT"
                with m.Elif(~owned):
                    m.d.sync += status.eq(Status.PROT_FAULT.value)
                    m.next = "REJECT"
                with m.Elif(tlb.lk_hit):
                    m.d.comb += bump["CNT_TLB_HIT"].eq(1)
                    m.d.sync += [t_pfn.eq(tlb.lk_pfn), t_r.eq(tlb.lk_r), t_w.eq(tlb.lk_w)]
                    with m.If(Mux(is_write, tlb.lk_w, tlb.lk_r)):
                        m.next = "ISSUE"
                    with m.Else():
                        m.d.sync += status.eq(Status.PROT_FAULT.value)
                        m.next = "REJECT"
                with m.Else():
                    m.d.comb += bump["CNT_TLB_MISS"].eq(1)
                    m.next = "WALK_START"

            with m.State("WALK_START"):
                m.d.comb += bump["CNT_WALKS"].eq(1)
                m.d.sync += [b_idx.eq(hash_val & mask), probes.eq(0), poisoned.eq(0)]
                m.next = "WALK_AR"

            with m.State("WALK_AR"):
                m.d.comb += [axi.arvalid.eq(1), axi.araddr.eq(bucket_addr), axi.arlen.eq(bucket_beats - 1)]
                with m.If(axi.arready):
                    m.d.comb += bump["CNT_BUCKET_READS"].eq(1)
                    m.d.sync += [probes.eq(probes + 1), beat_cnt.eq(0)]
                    m.next = "WALK_R"

            with m.State("WALK_R"):
                m.d.comb += axi.rready.eq(1)
                with m.If(axi.rvalid):
                    m.d.sync += beat_cnt.eq(beat_cnt + 1)
                    if bucket_beats > 1:
                        m.d.sync += bucket.eq(Cat(bucket[dw:], axi.rdata))
                    else:
                        m.d.sync += bucket.eq(axi.rdata)
                    with m.If(beat_cnt == bucket_beats - 1):
                        m.next = "WALK_EVAL"

            with m.State("WALK_EVAL"):
                with m.If(e_match.any()):
                    # Fill unless an invalidation raced with the walk (the PTE read may be stale).
                    m.d.comb += [tlb.fill.eq(~poisoned & ~inv_now), tlb.fill_pid.eq(r_pid[:p.pid_width]),
                                 tlb.fill_vpn.eq(r_vpn), tlb.fill_pfn.eq(e_pfn), tlb.fill_r.eq(e_r),
                                 tlb.fill_w.eq(e_w)]
                    m.d.sync += [t_pfn.eq(e_pfn), t_r.eq(e_r), t_w.eq(e_w)]
                    with m.If(Mux(is_write, e_w, e_r)):
                        m.next = "ISSUE"
                    with m.Else():
                        m.d.sync += status.eq(Status.PROT_FAULT.value)
                        m.next = "REJECT"
                with m.Elif(~e_empty.any() & (probes < pt_probes)):
                    m.d.sync += b_idx.eq((b_idx + 1) & mask)
                    m.next = "WALK_AR"
                with m.Else():
                    m.d.comb += bump["CNT_FAULTS"].eq(1)
                    m.d.sync += f_pending.eq(1)
                    m.next = "FAULT_WAIT"

            with m.State("FAULT_WAIT"):
                with m.If(resolve.w_stb & (resolve.w_data[:2] == FAULT_REPLAY)):
                    m.d.sync += f_pending.eq(0)
                    m.next = "WALK_START"
                with m.Elif(resolve.w_stb & (resolve.w_data[:2] == FAULT_REFUSE)):
                    m.d.sync += [f_pending.eq(0), status.eq(Status.PAGE_FAULT.value)]
                    m.next = "REJECT"
                with m.Elif(mem_busy):
                    m.d.sync += in_fault.eq(1)
                    m.next = "MEM_START"

            with m.State("ISSUE"):
                m.d.sync += [beat_cnt.eq(0), beats.eq(Mux(is_line, n_line_beats, 1))]
                with m.If(is_write):
                    m.d.comb += [axi.awvalid.eq(1), axi.awaddr.eq(paddr & ~(bb - 1)),
                                 axi.awlen.eq(Mux(is_line, n_line_beats - 1, 0))]
                    with m.If(axi.awready):
                        m.next = "WRITE_W"
                with m.Else():
                    m.d.comb += [axi.arvalid.eq(1), axi.araddr.eq(paddr & ~(bb - 1)),
                                 axi.arlen.eq(Mux(is_line, n_line_beats - 1, 0))]
                    with m.If(axi.arready):
                        m.d.sync += status.eq(Status.OK.value)
                        m.next = "READ_HDR"

            with m.State("WRITE_W"):
                last = beat_cnt == beats - 1
                m.d.comb += [axi.wvalid.eq(rx.data.valid), rx.data.ready.eq(axi.wready), axi.wlast.eq(last)]
                with m.If(is_line):
                    m.d.comb += [axi.wdata.eq(rx.data.payload.data), axi.wstrb.eq((1 << bb) - 1)]
                with m.Else():
                    m.d.comb += [axi.wdata.eq((rx.data.payload.data & wl) << (r_lane * 8)),
                                 axi.wstrb.eq(word_mask << r_lane)]
                with m.If(rx.data.valid & axi.wready):
                    m.d.sync += beat_cnt.eq(beat_cnt + 1)
                    with m.If(last):
                        m.next = "WRITE_B"

            with m.State("WRITE_B"):
                m.d.comb += axi.bready.eq(1)
                with m.If(axi.bvalid):
                    m.d.sync += status.eq(Status.OK.value)
                    m.next = "RESP"

            with m.State("READ_HDR"):
                m.d.comb += [tx.hdr.valid.eq(1), tx.hdr.payload.length.eq(r_len)]
                with m.If(tx.hdr.ready):
                    m.d.comb += bump["CNT_REQUESTS"].eq(1)
                    m.next = "READ_DATA"

            with m.State("READ_DATA"):
                last = beat_cnt == beats - 1
                m.d.comb += [tx.data.valid.eq(axi.rvalid), axi.rready.eq(tx.data.ready),
                             tx.data.payload.last.eq(last)]
                with m.If(is_line):
                    m.d.comb += tx.data.payload.data.eq(axi.rdata)
                with m.Else():
                    m.d.comb += tx.data.payload.data.eq((axi.rdata >> (r_lane * 8)) & wl)
                with m.If(axi.rvalid & tx.data.ready):
                    m.d.sync += beat_cnt.eq(beat_cnt + 1)
                    with m.If(last):
                        m.next = "IDLE"

            with m.State("REJECT"):
                with m.If(status == Status.PROT_FAULT.value):
                    m.d.comb += bump["CNT_PROT_FAULTS"].eq(1)
                with m.If(has_data):
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "RESP"

            with m.State("DRAIN"):
                m.d.comb += rx.data.ready.eq(1)
                with m.If(rx.data.valid & rx.data.payload.last):
                    m.next = "RESP"

            with m.State("RESP"):
                m.d.comb += [tx.hdr.valid.eq(1), tx.hdr.payload.length.eq(0)]
                with m.If(tx.hdr.ready):
                    m.d.comb += bump["CNT_REQUESTS"].eq(1)
                    m.next = "IDLE"

            # ---- firmware memory window (entered from IDLE or FAULT_WAIT, returns there)
            with m.State("MEM_START"):
                with m.If(mem_op == MEM_OP_READ):
                    m.next = "MEM_AR"
                with m.Elif((mem_op == MEM_OP_FILL) & (left_beats == 0)):
                    m.next = "MEM_DONE"
                with m.Else():
                    m.next = "MEM_AW"

            with m.State("MEM_AR"):
                m.d.comb += [axi.arvalid.eq(1), axi.araddr.eq(mem_addr & ~(bb - 1)), axi.arlen.eq(0)]
                with m.If(axi.arready):
                    m.next = "MEM_R"

            with m.State("MEM_R"):
                m.d.comb += axi.rready.eq(1)
                with m.If(axi.rvalid):
                    m.d.sync += [mem_rdata.eq((axi.rdata >> (mem_lane * 64))[:64]), mem_addr.eq(mem_addr + 8)]
                    m.next = "MEM_DONE"

            with m.State("MEM_AW"):
                m.d.comb += [axi.awvalid.eq(1), axi.awaddr.eq(mem_addr & ~(bb - 1)),
                             axi.awlen.eq(Mux(mem_op == MEM_OP_FILL, chunk - 1, 0))]
                with m.If(axi.awready):
                    m.d.sync += [beat_cnt.eq(0), beats.eq(Mux(mem_op == MEM_OP_FILL, chunk, 1))]
                    m.next = "MEM_W"

            with m.State("MEM_W"):
                last = beat_cnt == beats - 1
                m.d.comb += [axi.wvalid.eq(1), axi.wlast.eq(last)]
                with m.If(mem_op == MEM_OP_FILL):
                    m.d.comb += [axi.wdata.eq(fill_data), axi.wstrb.eq((1 << bb) - 1)]
                with m.Else():
                    m.d.comb += [axi.wdata.eq(mem_wdata << (mem_lane * 64)),
                                 axi.wstrb.eq(Const(0xFF, bb) << (mem_lane * 8))]
                with m.If(axi.wready):
                    m.d.sync += beat_cnt.eq(beat_cnt + 1)
                    with m.If(last):
                        m.next = "MEM_B"

            with m.State("MEM_B"):
                m.d.comb += axi.bready.eq(1)
                with m.If(axi.bvalid):
                    with m.If(mem_op == MEM_OP_FILL):
                        m.d.sync += [mem_addr.eq(mem_addr + (beats << lane_bits)),
                                     mem_len.eq(mem_len - (beats << lane_bits))]
                        with m.If(mem_len == (beats << lane_bits)):
                            m.next = "MEM_DONE"
                        with m.Else():
                            m.next = "MEM_AW"
                    with m.Else():
                        m.d.sync += mem_addr.eq(mem_addr + 8)
                        m.next = "MEM_DONE"

            with m.State("MEM_DONE"):
                m.d.sync += mem_busy.eq(0)
                with m.If(in_fault):
                    m.next = "FAULT_WAIT"
                with m.Else():
                    m.next = "IDLE"

        # An invalidation during a walk poisons its TLB fill (the bucket may predate the unmap).
        with m.If(inv_now):
            m.d.sync += poisoned.eq(1)
        return m


def default_top():
    """The MMU in its default configuration (block ``mmu`` of ``hw/catalog.py``)."""
    return MemoryMMU(MMUParams())
