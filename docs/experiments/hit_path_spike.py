"""A measurement spike for issue 18: how fast an ExCache hit path can be on ECP5, and which rules get it there.

Not part of the product (nothing imports it): a stripped hit path of the default ExCache's size (64 sets, 4
ways, 64 B lines, 64-bit words, 48-bit addresses, 16-bit pids; tags and data in block RAM), built in steps,
each adding one design rule to the one before, so that nextpnr's fmax can be read step by step
(``docs/experiments/hit-path-spike.md``)::

    cpu_req --accept (credits)--> replay queue --issue--> A --> S0 (tag RAM) --> ST (captured) --> [SC] --> S1
                                                                                      hit: retire --> W --> data RAM
                                                                                      miss: flush, replay later
    answers: data RAM output --> [DQ] --> answer FIFO --> cpu_resp

Every stage moves every cycle: a miss in S1 clears the valid bits behind it and moves the issue pointer back
to its queue entry (stages never wait for the stage after them, so no clock enable of a wide register
depends on a later stage). Credits at ``cpu_req`` (accepted and not answered < ``D``) keep the answer FIFO
from overflowing. The miss path is a stand-in: it waits 8 cycles and installs the missed tag in the way a
counter chooses (no line data, no write-back, no replacement state), enough to keep the tag RAM's write port
and the flush in the netlist.

Steps (each includes the ones before it):

1. the base: the tag RAM address through the issue/bypass multiplexer, the replay queue in registers written
   on ``accept``, a one-cycle tag compare, the data RAM addressed from S1, all registers with reset;
2. block RAM inputs from registers (stage A before the tag RAM, W before the data RAM);
3. the queue's free slot takes the port's payload every cycle (its enable is the decode of ``wr`` alone);
4. the tag compare in two cycles (ST registers 8-bit chunk equalities, SC reduces them);
5. the replay queue in LUT RAM (one LUT level after its read address, not a multiplexer tree);
6. the data RAM's output straight into a register (DQ);
7. the data registers without reset (no LUT for the synchronous reset in front of them);
8. the tag RAM marked ``no_rw_check``: Yosys need not give a read of the set being written its old
   contents. Without the mark it keeps Verilog's read-old-data rule between the RAM's two ports with a
   bypass (the write delayed a cycle in registers, an address compare and a multiplexer between the RAM
   and ``cap``), so no register follows the RAM directly. Safe here because the tag RAM is written only
   while the pipeline is stopped, when the access that reads it is not valid;
9. the stand-in miss path by the rules too: the way it installs into and the tag RAM's write enable come
   from registers set a cycle ahead (not from a decode of its counter over a 216-bit register).

From step 7 on, the flow (``emu.synth.bram_outreg``) moves a register that directly follows a block RAM
into the RAM's output register; ``--outreg off|both`` measures without it.

Usage::

    python docs/experiments/hit_path_spike.py --step 7 > spike.v      # Verilog of step 7
    python docs/experiments/hit_path_spike.py --step 7 --check       # a short simulation (answers in order)
    PYTHONPATH=. python docs/experiments/hit_path_spike.py --synth 1 2 --steps 1-9   # disagg's ECP5 flow, 125 MHz
"""

import argparse
import sys

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.back import verilog
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

SETS, WAYS, WORDS, DW, VA, PIDW = 64, 4, 8, 64, 48, 16
OFF, IDX = 6, 6
TAGB = VA - OFF - IDX
D, QB = 8, 3        # credits: replay queue and answer FIFO entries

Req = data.StructLayout({"op": 1, "pid": PIDW, "vaddr": VA, "strb": DW // 8, "wdata": DW})
Entry = data.StructLayout({"tag": TAGB, "pid": PIDW, "valid": 1})
TagSet = data.ArrayLayout(Entry, WAYS)
STEPS = range(1, 10)


class HitPathSpike(wiring.Component):
    """The spike at ``step`` (1-9). Ports: the CPU's request and answer streams, ``miss`` (a flush)."""

    req_valid: In(1)
    req_ready: Out(1)
    req: In(Req)
    resp_valid: Out(1)
    resp_ready: In(1)
    resp_data: Out(DW)
    miss: Out(1)

    def __init__(self, step):
        if step not in STEPS:
            raise ValueError(f"step must be 1 to 9, not {step!r}")
        self.step = step
        super().__init__()

    def reg(self, shape, name):
        """A data register: without reset from step 7."""
        return Signal(shape, name=name, reset_less=self.step >= 7)

    def elaborate(self, platform):
        m, st = Module(), self.step
        # Step 8: a read during the write is never used (the writes happen while the pipeline is stopped).
        tag_attrs = {"no_rw_check": 1} if st >= 8 else {}
        m.submodules.tag_mem = tag_mem = Memory(shape=TagSet, depth=SETS, init=[], attrs=tag_attrs)
        m.submodules.data_mem = data_mem = Memory(shape=DW, depth=SETS * WAYS * WORDS, init=[])
        tag_rd, tag_wr = tag_mem.read_port(), tag_mem.write_port()
        d_rd, d_wr = data_mem.read_port(), data_mem.write_port(granularity=8)

        wr, issue = Signal(QB + 1), Signal(QB + 1)
        count = Signal(range(D + 1))          # accepted, not answered
        stopped, flush, accept, pop = Signal(), Signal(), Signal(), Signal()
        m.d.comb += [self.req_ready.eq((count != D) & ~stopped), accept.eq(self.req_valid & self.req_ready)]
        with m.If(accept):
            m.d.sync += wr.eq(wr + 1)

        # The replay queue: every accepted access until it retires.
        if st >= 5:
            m.submodules.rq_mem = rq_mem = Memory(shape=Req, depth=D, init=[])
            rq_w, rq_r = rq_mem.write_port(), rq_mem.read_port(domain="comb")
            m.d.comb += [rq_w.addr.eq(wr[:QB]), rq_w.data.eq(self.req), rq_w.en.eq(1), rq_r.addr.eq(issue[:QB])]
            rq_head = rq_r.data
        else:
            rq = Array(self.reg(Req, f"rq{i}") for i in range(D))
            with m.If(accept if st < 3 else 1):
                m.d.sync += rq[wr[:QB]].eq(self.req)
            rq_head = rq[issue[:QB]]

        # Issue: the port's payload when the queue has nothing left to replay, else the queue's entry.
        iss_valid, iss_req = Signal(), Signal(Req)
        if st >= 2:
            caught_up = Signal(init=1)
            m.d.sync += caught_up.eq(~flush & (Mux(iss_valid, issue + 1, issue) == Mux(accept, wr + 1, wr)))
        else:
            caught_up = issue == wr
        m.d.comb += [iss_req.eq(Mux(caught_up, self.req, rq_head)), iss_valid.eq(~stopped & (~caught_up | accept))]
        with m.If(iss_valid & ~flush):
            m.d.sync += issue.eq(issue + 1)

        # A (step 2): the tag RAM's address from a register. S0: the RAM's output. ST: captured.
        s0_v, st_v, s1_v = Signal(), Signal(), Signal()
        s0_r, st_r, s1_r = self.reg(Req, "s0_r"), self.reg(Req, "st_r"), self.reg(Req, "s1_r")
        s0_i, st_i, s1_i = Signal(QB + 1), Signal(QB + 1), Signal(QB + 1)
        if st >= 2:
            a_v, a_r, a_i = Signal(), self.reg(Req, "a_r"), Signal(QB + 1)
            m.d.sync += [a_r.eq(iss_req), a_i.eq(issue), a_v.eq(iss_valid & ~flush)]
        else:
            a_v, a_r, a_i = iss_valid, iss_req, issue
        cap = self.reg(TagSet, "cap")
        m.d.comb += [tag_rd.addr.eq(a_r.vaddr[OFF:OFF + IDX]), tag_rd.en.eq(1)]
        m.d.sync += [s0_r.eq(a_r), s0_i.eq(a_i), st_r.eq(s0_r), st_i.eq(s0_i), cap.eq(tag_rd.data),
                     s0_v.eq(a_v & ~flush), st_v.eq(s0_v & ~flush)]

        # Compare: one cycle (ST), or two (ST's chunk equalities, SC's reduction: step 4).
        key = Cat(st_r.vaddr[OFF + IDX:], st_r.pid)
        hits, s1_hit, s1_way = Signal(WAYS), Signal(), Signal(2)
        s1_cap = self.reg(TagSet, "s1_cap")
        if st >= 4:
            nch = (len(key) + 7) // 8
            eqs = [self.reg(nch + 1, f"eq{w}") for w in range(WAYS)]
            for w in range(WAYS):
                ek = Cat(cap[w].tag, cap[w].pid)
                m.d.sync += eqs[w].eq(Cat(*[ek[8 * c:8 * c + 8] == key[8 * c:8 * c + 8] for c in range(nch)],
                                          cap[w].valid))
                m.d.comb += hits[w].eq(eqs[w].all())
            sc_v, sc_r, sc_i, sc_cap = Signal(), self.reg(Req, "sc_r"), Signal(QB + 1), self.reg(TagSet, "sc_cap")
            m.d.sync += [sc_v.eq(st_v & ~flush), sc_r.eq(st_r), sc_i.eq(st_i), sc_cap.eq(cap)]
        else:
            for w in range(WAYS):
                m.d.comb += hits[w].eq(cap[w].valid & (Cat(cap[w].tag, cap[w].pid) == key))
            sc_v, sc_r, sc_i, sc_cap = st_v, st_r, st_i, cap
        m.d.sync += [s1_hit.eq(hits.any()), s1_way.eq(Mux(hits[3], 3, Mux(hits[2], 2, Mux(hits[1], 1, 0)))),
                     s1_r.eq(sc_r), s1_i.eq(sc_i), s1_cap.eq(sc_cap), s1_v.eq(sc_v & ~flush)]

        # S1: a hit retires (the data RAM's access), a miss flushes.
        retire = s1_v & s1_hit
        m.d.comb += [flush.eq(s1_v & ~s1_hit), self.miss.eq(flush)]
        addr = Cat(s1_r.vaddr[3:OFF], s1_way, s1_r.vaddr[OFF:OFF + IDX])
        w_en = Mux(retire & s1_r.op, s1_r.strb, 0)
        if st >= 2:
            w_addr, w_data, w_en_q = Signal(len(addr)), self.reg(DW, "w_data"), Signal(DW // 8)
            m.d.sync += [w_addr.eq(addr), w_data.eq(s1_r.wdata), w_en_q.eq(w_en)]
            addr, wdata, w_en = w_addr, w_data, w_en_q
        else:
            wdata = s1_r.wdata
        m.d.comb += [d_rd.addr.eq(addr), d_rd.en.eq(1), d_wr.addr.eq(addr), d_wr.data.eq(wdata), d_wr.en.eq(w_en)]

        # The stand-in miss path: 8 cycles, then the missed tag into a counter's way.
        vict, fill_t, f_set = Signal(2), Signal(4), Signal(IDX)
        f_ent, f_way, f_data = Signal(Entry), Signal(2), Signal(TagSet)
        with m.If(retire):
            m.d.sync += vict.eq(vict + 1)
        # Its registers take S1's access every cycle until a miss stops the pipeline (an enable from a
        # register, not from the flush: the flush's fan-out to 216 bits of set was the stand-in's own path).
        with m.If(~stopped):
            m.d.sync += [f_set.eq(s1_r.vaddr[OFF:OFF + IDX]), f_ent.tag.eq(s1_r.vaddr[OFF + IDX:]),
                         f_ent.pid.eq(s1_r.pid), f_ent.valid.eq(1), f_way.eq(vict), f_data.eq(s1_cap)]
        with m.If(flush):
            m.d.sync += [stopped.eq(1), issue.eq(s1_i), fill_t.eq(8)]
        with m.Elif(stopped):
            m.d.sync += fill_t.eq(fill_t - 1)
            if st < 9:
                with m.If(fill_t == 4):
                    m.d.sync += f_data[f_way].eq(f_ent)
            with m.If(fill_t == 1):
                m.d.sync += stopped.eq(0)
        if st >= 9:
            # Step 9: a one-hot way and the write enable registered a cycle ahead (same cycles as below).
            ins, t_wen = Signal(WAYS), Signal()
            m.d.sync += [ins.eq(0), t_wen.eq(0)]
            with m.If(stopped & (fill_t == 5)):
                m.d.sync += ins.eq(1 << f_way)
            with m.If(stopped & (fill_t == 2)):
                m.d.sync += t_wen.eq(1)
            for w in range(WAYS):
                with m.If(ins[w]):
                    m.d.sync += f_data[w].eq(f_ent)
            t_en = t_wen
        else:
            t_en = stopped & (fill_t == 1)
        m.d.comb += [tag_wr.addr.eq(f_set), tag_wr.en.eq(t_en), tag_wr.data.eq(f_data)]

        # Answers: the data RAM's word (0 for a write) into the FIFO, DW-wide, in retire order.
        ret = [Signal(name=f"ret{k}") for k in range(3)]
        ret_w = [Signal(name=f"ret_w{k}") for k in range(3)]
        m.d.sync += [ret[0].eq(retire), ret_w[0].eq(s1_r.op)]
        lag = 1 if st >= 2 else 0                        # W: the RAM reads a cycle later
        if lag:
            m.d.sync += [ret[1].eq(ret[0]), ret_w[1].eq(ret_w[0])]
        word = d_rd.data
        if st >= 6:
            dq = self.reg(DW, "dq")
            m.d.sync += [dq.eq(d_rd.data), ret[lag + 1].eq(ret[lag]), ret_w[lag + 1].eq(ret_w[lag])]
            word, lag = dq, lag + 1
        aq = Array(self.reg(DW, f"aq{i}") for i in range(D))
        aw, ar = Signal(QB + 1), Signal(QB + 1)
        with m.If(ret[lag] if st < 3 else 1):
            m.d.sync += aq[aw[:QB]].eq(Mux(ret_w[lag], 0, word))
        with m.If(ret[lag]):
            m.d.sync += aw.eq(aw + 1)
        m.d.comb += [self.resp_valid.eq(aw != ar), self.resp_data.eq(aq[ar[:QB]]),
                     pop.eq(self.resp_valid & self.resp_ready)]
        with m.If(pop):
            m.d.sync += ar.eq(ar + 1)
        m.d.sync += count.eq(count + accept - pop)
        return m


def check(step, n=200):
    """Simulate ``n`` accesses to five lines of five sets (no line is evicted: the stand-in fill brings no data)
    with a stalling CPU: every access is answered once, in
    order (a write answers 0, a read its line's last written word or 0), misses flush and replay."""
    import random

    from amaranth.sim import Simulator

    dut, rng = HitPathSpike(step), random.Random(1)
    addrs = [rng.choice([0x1000, 0x1040, 0x2080, 0x30c8, 0x4100]) for _ in range(n)]   # one line per set
    ops = [rng.random() < 0.3 for _ in range(n)]
    expect, mem = [], {}
    for i, (a, w) in enumerate(zip(addrs, ops)):
        expect.append(0 if w else mem.get(a, 0))
        if w:
            mem[a] = i + 1
    got, misses = [], []

    async def cpu(ctx):
        for i, (a, w) in enumerate(zip(addrs, ops)):
            ctx.set(dut.req.vaddr, a)
            ctx.set(dut.req.pid, 7)
            ctx.set(dut.req.op, int(w))
            ctx.set(dut.req.strb, 0xFF)
            ctx.set(dut.req.wdata, i + 1)
            ctx.set(dut.req_valid, 1)
            await ctx.tick().until(dut.req_ready == 1)
        ctx.set(dut.req_valid, 0)

    async def answers(ctx):
        while len(got) < n:
            ctx.set(dut.resp_ready, rng.random() < 0.7)
            _, _, valid, ready, word, miss = await ctx.tick().sample(dut.resp_valid, dut.resp_ready,
                                                                     dut.resp_data, dut.miss)
            if valid and ready:
                got.append(word)
            misses.append(miss)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(cpu)
    sim.add_testbench(answers)
    sim.run_until(1e-8 * 50 * n)
    if got != expect:
        first = next(i for i, (g, e) in enumerate(zip(got + [None] * n, expect)) if g != e)
        raise SystemExit(f"step {step}: answer {first} is {got[first] if first < len(got) else None}, "
                         f"expected {expect[first]} ({len(got)} of {n} answered)")
    print(f"step {step}: {n} answers in order, {sum(misses)} misses flushed and replayed")


def synth(steps, seeds, outreg_modes=(True,)):
    """Each step through disagg's ECP5 flow (``emu.synth.flow``, the LFE5U-85F-6 at 125 MHz): one line each,
    with and/or without the flow's block RAM output registers (``outreg_modes``)."""
    from emu.synth.flow import synthesize

    for step in steps:
        text = verilog.convert(HitPathSpike(step), name="spike")
        for outreg in outreg_modes:
            for seed in seeds:
                r = synthesize(text, "spike", "ecp5", block=f"spike_step{step}", freq_mhz=125, seed=seed,
                               bram_output_registers=outreg)
                _report(step, seed, r, outreg)


def _report(step, seed, r, outreg):
    cp = r.critical_path or {}
    print(f"step {step} seed {seed} outreg {'on' if outreg else 'off'} ({r.outreg_ffs} FFs moved): "
          f"{r.luts} LUTs, {r.ffs} FFs, {r.brams} DP16KD, {r.lutram} DPR16X4, "
          f"{r.fmax_mhz} MHz; {cp.get('start')} -> {cp.get('end')}, {cp.get('logic_levels')} levels, "
          f"{cp.get('delay_ns')} ns ({cp.get('routing_ns')} routing)", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step", type=int, choices=list(STEPS), default=7)
    ap.add_argument("--check", action="store_true", help="simulate instead of writing Verilog")
    ap.add_argument("--synth", type=int, nargs="+", metavar="SEED", help="place and route with these seeds")
    ap.add_argument("--steps", default="7", help="steps for --synth: 'a-b' or a comma list")
    ap.add_argument("--outreg", choices=("on", "off", "both"), default="on",
                    help="--synth with the flow's block RAM output registers, without, or both (default on)")
    args = ap.parse_args(argv)
    if args.synth:
        a, _, b = args.steps.partition("-")
        try:
            steps = range(int(a), int(b) + 1) if b else [int(x) for x in args.steps.split(",")]
        except ValueError:
            ap.error(f"--steps must be 'a-b' or a comma list of 1-9, not {args.steps!r}")
        if not steps or not set(steps) <= set(STEPS):
            ap.error(f"--steps must be within 1-9, not {args.steps!r}")
        modes = {"on": (True,), "off": (False,), "both": (False, True)}[args.outreg]
        synth(steps, args.synth, modes)
    elif args.check:
        check(args.step)
    else:
        sys.stdout.write(verilog.convert(HitPathSpike(args.step), name="spike"))


if __name__ == "__main__":
    main()
