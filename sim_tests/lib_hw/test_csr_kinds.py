"""hw.lib.csr register kinds: storage, strobes, write-1-to-clear, coherent 64-bit counters (amaranth.sim)."""

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from hw.lib.csr import Action, Counter, CSRDecoder, Field, R, RW, Register, RegisterMap, W1C

REGS = RegisterMap("kinds", [
    Register("ID", 0x00, "r", "constant", kind=R()),
    Register("LIMITED", 0x01, "rw", "saturates at 16", kind=RW(5, reset=3, limit=16)),
    Register("BASE", 0x02, "rw", "64-bit storage", kind=RW(64)),
    Register("EVENTS", 0x04, "rw", "event bits", kind=W1C(4)),
    Register("CMD", 0x05, "rw", "command, reads status", kind=Action(8, read_width=2)),
    Register("CYCLES", 0x06, "r", "64-bit cycle counter", kind=Counter(64, registered=False)),
    Register("HITS", 0x08, "rw", "settable counter", kind=Counter(32, writable=True)),
    Register("MIXED", 0x09, "rw", "fields with kinds", fields=(
        Field("busy", 0, 1, "status", R()), Field("done", 1, 1, "sticky", W1C()),
        Field("node", 8, 8, "node id", RW(reset=7)))),
    Register("GO", 0x0a, "w", "strobe", kind=Action()),
])


class Bus:
    def __init__(self, ctx, bus):
        self.ctx, self.bus = ctx, bus

    async def read(self, addr):
        self.ctx.set(self.bus.addr, addr)
        self.ctx.set(self.bus.r_stb, 1)
        await self.ctx.tick()
        self.ctx.set(self.bus.r_stb, 0)
        return self.ctx.get(self.bus.r_data)

    async def write(self, addr, value):
        self.ctx.set(self.bus.addr, addr)
        self.ctx.set(self.bus.w_data, value)
        self.ctx.set(self.bus.w_stb, 1)
        await self.ctx.tick()
        self.ctx.set(self.bus.w_stb, 0)


def run(dec, body):
    m = Module()
    m.submodules.dec = dec
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def bench(ctx):
        await body(ctx, Bus(ctx, dec.bus), dec.regs)
    sim.add_testbench(bench)
    sim.run()


def test_read_only_read_write_and_saturation():
    dec = CSRDecoder(REGS, resets={"LIMITED": 9})
    got = {}

    async def body(ctx, bus, regs):
        ctx.set(regs["ID"].r_data, 0xD15A66)
        got["id"] = await bus.read(REGS.addr("ID"))
        got["limited_reset"] = await bus.read(REGS.addr("LIMITED"))
        await bus.write(REGS.addr("LIMITED"), 40)
        got["limited_sat"] = ctx.get(regs["LIMITED"].data)
        await bus.write(REGS.addr("LIMITED"), 12)
        got["limited"] = await bus.read(REGS.addr("LIMITED"))
        await bus.write(REGS.addr("BASE_HI"), 0xAABBCCDD)
        await bus.write(REGS.addr("BASE_LO"), 0x11223344)
        got["base"] = ctx.get(regs["BASE"].data)
        ctx.set(regs["BASE"].load, 1)            # the block's update wins over a firmware write
        ctx.set(regs["BASE"].load_value, 0x5)
        await bus.write(REGS.addr("BASE_LO"), 0x99)
        ctx.set(regs["BASE"].load, 0)
        got["base_loaded"] = ctx.get(regs["BASE"].data)
        got["base_hi_read"] = await bus.read(REGS.addr("BASE_HI"))
        await bus.write(REGS.addr("ID"), 1)      # read-only: ignored
        got["id_after"] = await bus.read(REGS.addr("ID"))
        got["unmapped"] = await bus.read(0x1f)

    run(dec, body)
    assert got == {"id": 0xD15A66, "limited_reset": 9, "limited_sat": 16, "limited": 12,
                   "base": 0xAABBCCDD_11223344, "base_loaded": 5, "base_hi_read": 0, "id_after": 0xD15A66,
                   "unmapped": 0}


def test_write_one_to_clear_keeps_simultaneous_events():
    dec = CSRDecoder(REGS)
    got = {}

    async def body(ctx, bus, regs):
        ev = regs["EVENTS"]
        ctx.set(ev.set, 0b0101)
        await ctx.tick()
        ctx.set(ev.set, 0)
        got["set"] = await bus.read(REGS.addr("EVENTS"))
        await bus.write(REGS.addr("EVENTS"), 0b0001)
        got["cleared"] = await bus.read(REGS.addr("EVENTS"))
        ctx.set(ev.set, 0b0100)                  # set and clear in the same cycle: stays set
        await bus.write(REGS.addr("EVENTS"), 0b0100)
        ctx.set(ev.set, 0)
        got["raced"] = await bus.read(REGS.addr("EVENTS"))

    run(dec, body)
    assert got == {"set": 0b0101, "cleared": 0b0100, "raced": 0b0100}


def test_action_strobes_in_the_write_cycle_and_reads_status():
    dec = CSRDecoder(REGS)
    seen = []

    async def body(ctx, bus, regs):
        ctx.set(regs["CMD"].r_data, 0b10)
        ctx.set(bus.bus.addr, REGS.addr("CMD"))
        ctx.set(bus.bus.w_data, 0x1234)
        ctx.set(bus.bus.w_stb, 1)
        seen.append((ctx.get(regs["CMD"].w_stb), ctx.get(regs["CMD"].w_data)))
        await ctx.tick()
        ctx.set(bus.bus.w_stb, 0)
        seen.append((ctx.get(regs["CMD"].w_stb), ctx.get(regs["CMD"].w_data)))
        seen.append(await bus.read(REGS.addr("CMD")))

    run(dec, body)
    assert seen == [(1, 0x34), (0, 0x34), 0b10]


def test_counters_count_set_and_read_64_bits_coherently():
    dec = CSRDecoder(REGS)
    got = {}

    async def body(ctx, bus, regs):
        ctx.set(regs["CYCLES"].inc, 1)
        ctx.set(regs["HITS"].inc, 1)
        for _ in range(5):
            await ctx.tick()
        ctx.set(regs["HITS"].inc, 0)
        # HITS registers its increment (the default): the last event is not in a read in the next cycle,
        # it is one cycle later. CYCLES (registered=False) counts every cycle exactly.
        got["hits_next_cycle"] = await bus.read(REGS.addr("HITS"))
        got["hits"] = await bus.read(REGS.addr("HITS"))
        ctx.set(regs["HITS"].inc, 1)
        await bus.write(REGS.addr("HITS"), 100)   # the write wins over inc in the same cycle
        ctx.set(regs["HITS"].inc, 0)
        got["hits_set"] = ctx.get(regs["HITS"].value)
        await ctx.tick()
        got["hits_after"] = ctx.get(regs["HITS"].value)   # the increment of the write's cycle was dropped
        # 9 cycles counted so far (5 + two HITS reads, the write and a tick). 64-bit read: the HI word is
        # the one latched by the LO read, however long firmware waits.
        lo = await bus.read(REGS.addr("CYCLES_LO"))
        for _ in range(3):
            await ctx.tick()
        hi = await bus.read(REGS.addr("CYCLES_HI"))
        got["cycles"] = (hi << 32) | lo
        ctx.set(regs["CYCLES"].clear, 1)
        await ctx.tick()
        ctx.set(regs["CYCLES"].clear, 0)
        ctx.set(regs["CYCLES"].inc, 0)
        got["cleared"] = ctx.get(regs["CYCLES"].value)

    run(dec, body)
    assert got == {"hits_next_cycle": 4, "hits": 5, "hits_set": 100, "hits_after": 100, "cycles": 9,
                   "cleared": 0}


def test_counter_upper_word_is_latched_by_the_low_read():
    regs = RegisterMap("c", [Register("C", 0, "rw", "counter", kind=Counter(64, writable=True))])
    dec = CSRDecoder(regs)
    got = {}

    async def body(ctx, bus, r):
        await bus.write(regs.addr("C_LO"), 0xFFFFFFFE)
        await bus.write(regs.addr("C_HI"), 0x7)
        ctx.set(r["C"].inc, 1)                    # crosses the 32-bit boundary between the two reads
        lo = await bus.read(regs.addr("C_LO"))
        await ctx.tick()
        await ctx.tick()
        hi = await bus.read(regs.addr("C_HI"))
        got["read"] = (hi << 32) | lo
        got["live"] = ctx.get(r["C"].value)

    run(dec, body)
    assert got["read"] == 0x7_FFFFFFFE
    assert got["live"] == 0x8_00000001   # four cycles of inc, the last one still in the inc register


def test_fields_with_kinds():
    dec = CSRDecoder(REGS)
    got = {}

    async def body(ctx, bus, regs):
        mixed = regs["MIXED"]
        ctx.set(mixed.busy.r_data, 1)
        ctx.set(mixed.done.set, 1)
        await ctx.tick()
        ctx.set(mixed.done.set, 0)
        got["reset"] = await bus.read(REGS.addr("MIXED"))
        await bus.write(REGS.addr("MIXED"), (0x42 << 8) | 0b10)     # clear done, node = 0x42
        got["after"] = await bus.read(REGS.addr("MIXED"))
        got["node"] = ctx.get(mixed.node.data)

    run(dec, body)
    assert got == {"reset": (7 << 8) | 0b11, "after": (0x42 << 8) | 0b01, "node": 0x42}


def test_map_lists_wide_registers_as_words():
    assert REGS.addr("BASE_LO") == 2 and REGS.addr("BASE_HI") == 3 and REGS.addr("BASE") == 2
    assert REGS.addr_width == 4
    text = REGS.markdown()
    assert "| 0x02 | `BASE_LO` | rw | 64-bit storage, bits 31..0 |" in text
    assert "| 0x03 | `BASE_HI` | rw | 64-bit storage, bits 63..32 |" in text
    assert "`MIXED.done` [1]" in text


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Register("X", 0, "rw", "", kind=R()), ValueError, "access must be 'r'"),
    (lambda: Register("X", 0, "r", "", kind="ro"), TypeError, "kind must be"),
    (lambda: Register("X", 0, "rw", "", fields=(Field("a", 0, 1, "", RW()), ("b", 1, 1, ""))),
     ValueError, "every field"),
    (lambda: Register("X", 0, "rw", "", fields=(Field("a", 0, 4, "", RW()), Field("b", 2, 2, "", RW()))),
     ValueError, "overlaps"),
    (lambda: Field("a", 30, 4, ""), ValueError, "width"),
    (lambda: Field("a", 0, 4, "", RW(8)), ValueError, "8 bits wide"),
    (lambda: RW(64, limit=3), ValueError, "limit"),
    (lambda: Counter(48), ValueError, "32 or 64"),
    (lambda: Counter(32, registered=1), TypeError, "registered must be a bool, not 1"),
    (lambda: RW(True), TypeError, "integer"),
    (lambda: RegisterMap("m", [Register("A", 0, "rw", "", kind=RW(64)), Register("B", 1, "r", "")]),
     ValueError, "share address 1"),
    (lambda: CSRDecoder(REGS, resets={"ID": 1}), ValueError, "not an RW"),
    (lambda: CSRDecoder(REGS, resets={"LIMITED": 64}), ValueError, "LIMITED"),
])
@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_declarations_are_checked(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
