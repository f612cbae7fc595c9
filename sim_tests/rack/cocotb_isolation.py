"""cocotb test of isolation across a rack: the memory side's six isolation attacks (``sim_tests/mmu``,
``isolation``) repeated from a second processor component, the *rogue* (``RackTop(rogue=1)``: the test bench
speaks the wire protocol on that component's switch port, so it can put anything in a frame).

The victim (processor component 0) runs processes A and B; the rogue (node 1) owns process R. Each attack is
sent twice: with the rogue's own source node, it reaches the memory component's MMU, which answers PROT_FAULT
because the pid is not owned by node 1 (counted in CNT_PROT_FAULTS); with the victim's node forged as the
source, the switch drops it (counted in dropped_spoofed). Then the victim's data is checked unchanged through
its own CPU port, and the rogue's own process still works (the attacks are refused, not the rogue).
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge

import firmware.protocol_codec as codec
from emu.workload_format import OP_READ, OP_WRITE, WORKLOAD_DTYPE
from hw.protocol import MsgKind, Status
from hw.system.rack_registers import switch_register_map
from sim_tests.lib.streams import axis_sink, axis_source
from sim_tests.rack.bench import RackBench, config, seed

import numpy as np


class Rogue:
    """The wire protocol by hand on the rogue port: MSG frames with the next sequence number per peer, a
    standalone ACK for every message received, responses collected by tag."""

    def __init__(self, dut, node, rng):
        self.dut, self.node = dut, node
        self.src = axis_source(dut, "rogue_tx", dut.clk, rng=random.Random(rng.random()))
        self.seq, self.expect = {}, {}
        self.responses = {}
        self._beats = []
        self._sink = axis_sink(dut, "rogue_rx", dut.clk, rng=random.Random(rng.random()), callback=self._on_beat)

    def _frame(self, f):
        for tdata, tkeep, tlast in codec.to_beats(codec.encode(f)):
            self.src.send_nowait((tdata, tkeep, tlast))

    def _on_beat(self, beat):
        self._beats.append(beat)
        if beat[2]:
            f = codec.decode(codec.from_beats(self._beats))
            self._beats = []
            if f.type == codec.TYPE_MSG and f.seq == self.expect.get(f.src, 0):
                self.expect[f.src] = f.seq + 1 & 0xFFFF
                self.responses[f.tag] = f
                self._frame(codec.Frame(dst=f.src, src=self.node, type=codec.TYPE_ACK, ack=self.expect[f.src]))

    def send(self, dst, kind, pid, vaddr, length, data=b"", tag=0, forge=None):
        """One request; ``forge``: the source node written in the frame instead of the rogue's own. A forged
        frame does not consume a sequence number (the switch drops it; the memory never sees it)."""
        seq = self.seq.get(dst, 0)
        f = codec.Frame(dst=dst, src=self.node if forge is None else forge, kind=kind.value, seq=seq, tag=tag,
                        pid=pid, length=length, vaddr=vaddr, payload=data, ack=self.expect.get(dst, 0))
        if forge is None:
            self.seq[dst] = seq + 1 & 0xFFFF
        self._frame(f)

    async def answer(self, tag, cycles=4000):
        for _ in range(cycles):
            if tag in self.responses:
                return self.responses.pop(tag)
            await RisingEdge(self.dut.clk)
        raise AssertionError(f"rogue: no answer to tag {tag} after {cycles} cycles")


@cocotb.test()
async def rack_isolation(dut):
    cfg = config()
    bench = RackBench(dut, cfg, seed(), pt_buckets_log2=cfg["pt_buckets_log2"])
    await bench.start()
    fw, params = bench.fw, bench.params
    page = params.mmu.page_bytes
    victim, rogue_node = params.processor_nodes[0], params.processor_nodes[1]
    V = 16 * page
    layout_a = [(V, 4 * page), (V + 8 * page, page, False)]          # the second region is read-only
    pid_a = await bench.create(layout_a, pin=victim)
    pid_b = await bench.create([(V, 4 * page)], pin=victim)
    pid_r = await bench.create([(V, 4 * page)], pin=rogue_node)
    # The victim writes its pages (same vaddr in A and B), flushed to memory.
    w = np.zeros(4, dtype=WORKLOAD_DTYPE)
    w[0] = (pid_a, OP_WRITE, V, 8, 0x4141414141414141, 0)
    w[1] = (pid_b, OP_WRITE, V, 8, 0x4242424242424242, 0)
    w[2] = (pid_a, OP_WRITE, V + page, 8, 0x6161616161616161, 0)
    w[3] = (pid_a, OP_READ, V + 8 * page, 8, 0, 0)
    await bench.run([w, np.zeros(0, dtype=WORKLOAD_DTYPE)])
    async with bench.fw_lock:
        await fw.flush_all()
    home = {pid: {p.number: p.node for p in fw.placements_of(pid)} for pid in (pid_a, pid_b, pid_r)}

    def home_of(pid, vaddr):
        return home[pid].get(vaddr // params.region_bytes, params.memory_nodes[0])

    async def prot_faults():
        total = 0
        async with bench.fw_lock:
            for m in fw.memories.values():      # (an await inside a generator expression would make it async)
                total += (await m.counters())["CNT_PROT_FAULTS"]
        return total

    async def spoofed():
        async with bench.fw_lock:
            return await bench.bus.read_reg("switch", switch_register_map(params.n_nodes).addr("dropped_spoofed"))

    rogue = Rogue(dut, rogue_node, bench.rng)
    exited = await bench.create([(V + 32 * page, page)], pin=victim)
    await bench.exit(exited)                                           # its pid is unbound now
    attacks = [
        # 1. Same vaddr, another processor component's pid (A's and B's data).
        ("same vaddr, pid A", MsgKind.WORD_READ, pid_a, V, 8, b""),
        ("same vaddr, pid B", MsgKind.LINE_READ, pid_b, V, 64, b""),
        # 2. Write to A's read-only page.
        ("read-only page", MsgKind.WORD_WRITE, pid_a, V + 8 * page, 8, b"XXXXXXXX"),
        ("read-only page, line", MsgKind.LINE_WRITE, pid_a, V + 8 * page, 64, bytes(range(64))),
        # 3. A pid whose process has exited.
        ("exited pid", MsgKind.WORD_WRITE, exited, V + 32 * page, 8, b"ZZZZZZZZ"),
        # 4. A never-mapped address of A.
        ("never mapped", MsgKind.LINE_WRITE, pid_a, 0x1234_5000, 64, bytes(64)),
        # 5. A pid out of range.
        ("pid out of range", MsgKind.WORD_READ, params.max_pid + 1, V, 8, b""),
        ("pid 0xFFFF", MsgKind.WORD_WRITE, 0xFFFF, V, 8, b"QQQQQQQQ"),
        # 6. A pid owned by another processor component, overwriting A's data.
        ("pid of node 0, write", MsgKind.WORD_WRITE, pid_a, V, 8, b"MMMMMMMM"),
        ("pid of node 0, line write", MsgKind.LINE_WRITE, pid_a, V + page, 64, b"N" * 64),
    ]
    faults0, spoofed0 = await prot_faults(), await spoofed()
    for tag, (what, kind, pid, vaddr, length, data) in enumerate(attacks):
        dst = home_of(pid, vaddr) if pid in home else params.memory_nodes[0]
        rogue.send(dst, kind, pid, vaddr, length, data, tag=tag)
        r = await rogue.answer(tag)
        assert r.status == Status.PROT_FAULT.value and not r.payload, (what, r)
        # The same request with the victim's node forged as the source: dropped at the switch.
        rogue.send(dst, kind, pid, vaddr, length, data, tag=0x80 | tag, forge=victim)
    for _ in range(200):
        await RisingEdge(dut.clk)
    assert 0x80 not in {t & 0x80 for t in rogue.responses}, rogue.responses
    assert await prot_faults() - faults0 == len(attacks)
    assert await spoofed() - spoofed0 == len(attacks)
    # The victim's data is intact, read through its own (invalidated) ExCache from memory.
    async with bench.fw_lock:
        for monitor in (fw.processors[victim],):
            from hw.processor.excache_layouts import MaintOp
            await monitor.maintenance(MaintOp.INVALIDATE_PID, pid_a)
            await monitor.maintenance(MaintOp.INVALIDATE_PID, pid_b)
    check = np.zeros(4, dtype=WORKLOAD_DTYPE)
    check[0] = (pid_a, OP_READ, V, 8, 0, 0)
    check[1] = (pid_b, OP_READ, V, 8, 0, 0)
    check[2] = (pid_a, OP_READ, V + page, 8, 0, 0)
    check[3] = (pid_a, OP_READ, V + 8 * page, 8, 0, 0)
    await bench.run([check, np.zeros(0, dtype=WORKLOAD_DTYPE)])
    # The rogue's own process is served normally.
    rogue.send(home_of(pid_r, V), MsgKind.WORD_WRITE, pid_r, V, 8, b"rrrrrrrr", tag=0x40)
    assert (await rogue.answer(0x40)).status == Status.OK.value
    rogue.send(home_of(pid_r, V), MsgKind.WORD_READ, pid_r, V, 8, tag=0x41)
    r = await rogue.answer(0x41)
    assert r.status == Status.OK.value and r.payload[:8] == b"rrrrrrrr", r
    dut._log.info("isolation: %d attacks refused (PROT_FAULT), %d forged frames dropped", len(attacks), len(attacks))
