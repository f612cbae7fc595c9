"""Shared pieces of the MMU sub-component tests: a simulator runner, CSR-free DRAM behind the arbiter."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from hw.memory.axi_arbiter import AXIArbiter
from hw.memory.dram import AxiDramModel
from hw.memory.params import MMUParams

#: Small geometry shared by the tests: 16-bit DRAM addresses, 8 pids, 4 entries per bucket.
PARAMS = MMUParams(tlb_entries=8, tlb_ways=2, pid_width=3, paddr_width=16, pt_buckets_log2=2, pt_max_probes=2)


def with_dram(dut, *ports, params=PARAMS, latency=1, read_slots=AxiDramModel.DEFAULT_READ_SLOTS):
    """A module holding ``dut`` and an AxiDramModel reached through an AXIArbiter from ``ports`` (names of
    BurstSignature ports of ``dut``). Returns (module, dram memory)."""
    m = Module()
    m.submodules.dut = dut
    arb = AXIArbiter(len(ports), addr_width=params.paddr_width, data_width=params.data_width)
    dram = AxiDramModel(addr_width=params.paddr_width, data_width=params.data_width, size_bytes=1 << 16,
                        latency=latency, read_slots=read_slots)
    m.submodules.arb, m.submodules.dram = arb, dram
    for i, name in enumerate(ports):
        wiring.connect(m, getattr(dut, name), getattr(arb, f"m{i}"))
    wiring.connect(m, arb.axi, dram.axi)
    return m, dram


def run(top, bench, processes=()):
    """Run ``bench(ctx)`` on ``top`` with one clock (if it has a ``sync`` domain) and background
    testbenches ``processes`` (responders), until the bench returns."""
    sim = Simulator(top)
    try:
        sim.add_clock(1e-8)
    except NameError:        # a purely combinational DUT has no clock domain
        pass
    for proc in processes:
        sim.add_testbench(proc, background=True)
    sim.add_testbench(bench)
    sim.run()


class ReadResponder:
    """A behavioural AXI read subordinate on a BurstSignature port: ``arready`` always, data from ``words``
    (word address -> value) one beat per cycle from the cycle after the AR handshake, ``gap`` idle cycles
    first. ``bursts`` records (address, beats) of every burst. Run :meth:`process` as a background bench."""

    def __init__(self, port, words, beat_bytes, gap=0):
        self.port, self.words, self.beat_bytes, self.gap = port, words, beat_bytes, gap
        self.bursts = []

    async def process(self, ctx):
        port = self.port
        ctx.set(port.arready, 1)
        while True:
            if not ctx.get(port.arvalid):
                await ctx.tick()
                continue
            addr, beats = ctx.get(port.araddr), ctx.get(port.arlen) + 1
            self.bursts.append((addr, beats))
            await ctx.tick()                         # the AR handshake
            ctx.set(port.arready, 0)
            for _ in range(self.gap):
                await ctx.tick()
            for i in range(beats):
                ctx.set(port.rvalid, 1)
                ctx.set(port.rlast, i == beats - 1)
                ctx.set(port.rdata, self.words.get(addr // self.beat_bytes + i, 0))
                while True:
                    taken = ctx.get(port.rready)     # sampled before the edge
                    await ctx.tick()
                    if taken:
                        break
            ctx.set(port.rvalid, 0)
            ctx.set(port.arready, 1)
