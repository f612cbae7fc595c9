"""The ExCache: a virtually-indexed, virtually-tagged, PID-tagged write-back cache (processor side).

:class:`ExCacheTop` is what a system instantiates: the controller (:mod:`hw.processor.excache_controller`), the
miss handler (:mod:`hw.processor.miss_handler`) and a CSR decoder for maintenance, counters and the
software-managed miss path (register map: :mod:`hw.processor.registers`). The spec is ``docs/excache.md``.
"""

from amaranth import Cat, Const, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature, CSRDecoder
from hw.processor.excache_controller import HIT_LATENCY, ExCacheController
from hw.processor.excache_layouts import CpuOp, CpuReq, CpuResp, MaintOp
from hw.processor.excache_params import ExCacheParams
from hw.processor.line_store_axi import local_signature
from hw.processor.miss_handler import FwAction, MissHandler
from hw.processor.nb_controller import NonBlockingController
from hw.processor.registers import COUNTERS, POLICY_CODE, register_map
from hw.protocol import MessagePort

__all__ = ["ExCacheParams", "ExCacheTop", "ExCacheController", "MissHandler", "CpuOp", "CpuReq", "CpuResp",
           "MaintOp", "FwAction", "HIT_LATENCY", "MISS_PATHS", "default_params", "default_top"]

MISS_PATHS = ("hardware", "software")

class ExCacheTop(wiring.Component):
    """The ExCache as a system instantiates it.

    Parameters
    ----------
    params : ExCacheParams
    miss_path : str
        ``"hardware"``: misses are served by the miss handler with the controller's suggested victim.
        ``"software"``: each miss waits in CSR registers for firmware to choose the way (or fail it);
        ``irq`` is high while one waits.

    Attributes
    ----------
    cpu_req : In(stream of CpuReq)
        CPU accesses (read/write one data word).
    cpu_resp : Out(stream of CpuResp)
        Answers in request order: read data and status.
    net_tx : Out(MessagePort)
        LINE_READ / LINE_WRITE requests toward the memory component.
    net_rx : In(MessagePort)
        Their responses; with ``params.rx_cut_through`` a verdict port (``MessagePort(w, verdict=True)``: the
        network interface's ``rx`` with ``NetIfParams.rx_cut_through``).
    csr : In(CSRBusSignature)
        Registers of :func:`hw.processor.registers.register_map`.
    irq : Out(1)
        High while ``status.done`` is set, or (software mode) while a miss event waits for firmware.
    lmem : Out(AXI4Signature(params.local_addr_width, data_width, 1))
        Only with ``params.line_store == "axi"``: the processor-local memory holding the line data
        (:mod:`hw.processor.line_store_axi`).
    """

    def __init__(self, params, miss_path="hardware"):
        if not isinstance(params, ExCacheParams) or miss_path not in MISS_PATHS:
            self._MustUse__silence = True   # a rejected component is not an unused one
        if not isinstance(params, ExCacheParams):
            raise TypeError(f"params must be an ExCacheParams, not {params!r}")
        if miss_path not in MISS_PATHS:
            raise ValueError(f"miss_path must be 'hardware' or 'software', not {miss_path!r}")
        self.params = params
        self.miss_path = miss_path
        self.regmap = register_map()
        ports = {
            "cpu_req":  In(stream.Signature(CpuReq(params))),
            "cpu_resp": Out(stream.Signature(CpuResp(params))),
            "net_tx":   Out(MessagePort(params.data_width)),
            "net_rx":   In(MessagePort(params.data_width, verdict=params.rx_cut_through)),
            "csr":      In(CSRBusSignature(self.regmap.addr_width)),
            "irq":      Out(1),
        }
        if params.line_store == "axi":
            ports["lmem"] = Out(local_signature(params))
        super().__init__(ports)

    def elaborate(self, platform):
        p = self.params
        software = self.miss_path == "software"
        m = Module()
        if p.mshrs > 1:
            # The non-blocking controller (hw/processor/nb_controller.py) has its own network side: it is the
            # controller and the miss handler in one.
            m.submodules.ctrl = ctrl = handler = NonBlockingController(p, software=software)
            m.submodules.csr_dec = dec = CSRDecoder(self.regmap)
            r = dec.regs
            wiring.connect(m, wiring.flipped(self.cpu_req), ctrl.cpu_req)
            wiring.connect(m, ctrl.cpu_resp, wiring.flipped(self.cpu_resp))
            wiring.connect(m, ctrl.net_tx, wiring.flipped(self.net_tx))
            wiring.connect(m, wiring.flipped(self.net_rx), ctrl.net_rx)
            wiring.connect(m, wiring.flipped(self.csr), dec.bus)
            if p.line_store == "axi":
                wiring.connect(m, ctrl.lmem, wiring.flipped(self.lmem))
        else:
            m.submodules.ctrl = ctrl = ExCacheController(p)
            m.submodules.handler = handler = MissHandler(p, software=software)
            m.submodules.csr_dec = dec = CSRDecoder(self.regmap)
            r = dec.regs

            wiring.connect(m, wiring.flipped(self.cpu_req), ctrl.cpu_req)
            wiring.connect(m, ctrl.cpu_resp, wiring.flipped(self.cpu_resp))
            wiring.connect(m, handler.net_tx, wiring.flipped(self.net_tx))
            wiring.connect(m, wiring.flipped(self.net_rx), handler.net_rx)
            wiring.connect(m, wiring.flipped(self.csr), dec.bus)
            if p.line_store == "axi":
                wiring.connect(m, ctrl.lmem, wiring.flipped(self.lmem))
            wiring.connect(m, ctrl.miss_event, handler.miss_event)
            wiring.connect(m, handler.miss_cmd, ctrl.miss_cmd)
            wiring.connect(m, ctrl.wb_data, handler.wb_data)
            wiring.connect(m, handler.fill_data, ctrl.fill_data)
            m.d.comb += [handler.query.eq(ctrl.query), ctrl.query_way.eq(handler.query_way)]

        # Commands, storage and counters: the register kinds implement them (hw.processor.registers).
        maint, fw = r["maint_cmd"], r["miss_cmd"]
        status = r["status"]
        m.d.comb += [
            ctrl.maint_start.eq(maint.op.w_stb),
            ctrl.maint_op.eq(maint.op.w_data),
            ctrl.maint_pid.eq(maint.pid.w_data[:p.pid_width]),
            status.done.set.eq(ctrl.maint_done),
            handler.mem_node.eq(r["mem_node"].data),
            handler.fw_stb.eq(fw.action.w_stb),
            handler.fw_action.eq(fw.action.w_data),
            handler.fw_way.eq(fw.way.w_data),
            handler.fw_status.eq(fw.status.w_data),
            self.irq.eq(status.done.data | handler.pending),
        ]
        for name, _ in COUNTERS:
            m.d.comb += [r[name].inc.eq(getattr(ctrl.count, name)), r[name].clear.eq(r["counters_clear"].w_stb)]

        # Read-only views of the configuration and of the last miss event.
        ev = handler.event
        victim_vaddr = Cat(ev.set[:p.index_bits] if p.index_bits else ev.set[:0], ev.victim_tag)
        victim_vaddr = (victim_vaddr << p.offset_bits)[:64]
        m.d.comb += [
            r["info"].r_data.eq(Cat(Const(p.ways & 0xFF, 8), Const(p.index_bits, 5), Const(p.offset_bits, 4),
                                    Const(POLICY_CODE[p.policy], 2), Const(int(software), 1),
                                    Const(p.byte_bits, 4))),
            status.busy.r_data.eq(ctrl.maint_busy),
            status.miss_pending.r_data.eq(handler.pending),
            status.software.r_data.eq(int(software)),
            r["ev_info"].r_data.eq(Cat(ev.kind, ev.write, ev.victim_valid, ev.victim_dirty, Const(0, 4),
                                       ev.way, Const(0, 8 - p.way_bits), ev.pid)),
            r["ev_vaddr_lo"].r_data.eq(ev.vaddr[:32]),
            r["ev_vaddr_hi"].r_data.eq(ev.vaddr[32:]),
            r["ev_set"].r_data.eq(ev.set[:p.index_bits] if p.index_bits else 0),
            r["ev_victim_pid"].r_data.eq(ev.victim_pid),
            r["ev_victim_lo"].r_data.eq(victim_vaddr[:32]),
            r["ev_victim_hi"].r_data.eq(victim_vaddr[32:64]),
        ]
        return m


def default_params():
    """The default configuration: 4-way, 64 sets, 64 B lines, 64-bit data, LRU (16 KiB)."""
    return ExCacheParams(line_bytes=64, sets=64, ways=4, data_width=64, vaddr_width=48, pid_width=16,
                         policy="lru")


def default_top():
    """:class:`ExCacheTop` of the default configuration with the hardware miss path (``rtl/excache.v``)."""
    return ExCacheTop(default_params(), miss_path="hardware")
