"""Small helpers for the Amaranth-simulator tests of the ExCache's blocks."""

from amaranth import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from hw.processor.array_ports import (DataReadSignature, DataWriteSignature, TagReadSignature, TagWriteSignature,
                                      merge_requests)
from hw.processor.excache_params import ExCacheParams
from hw.processor.line_data import LineData
from hw.processor.tag_store import TagStore

__all__ = ["PARAMS", "simulate", "entry", "ArrayHarness", "load_line", "read_tags"]

#: 4 sets of 4 ways, 64 B lines of eight 64-bit words (tag bits 40).
PARAMS = ExCacheParams(line_bytes=64, sets=4, ways=4, data_width=64, policy="lru")


def simulate(dut, bench, *, clock=True):
    """Run testbench ``bench(ctx)`` on ``dut`` (with a clock unless ``clock`` is false)."""
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def entry(tag=0, pid=0, valid=0, dirty=0):
    """A TagEntry value."""
    return {"tag": tag, "pid": pid, "valid": valid, "dirty": dirty}


class ArrayHarness(Elaboratable):
    """A block wired to a real TagStore and LineData, plus test ports to preload the arrays.

    Whichever of ``tag_rd``, ``tag_wr``, ``data_rd``, ``data_wr``, ``ways``, ``rdata``/``rvalid`` the block has
    are connected. ``load_tag``, ``load_data``, ``read_tag`` and ``read_data`` are request ports driven by
    the testbench, taking precedence over the block's, and ``tag_load`` the tag store's load (ORed with the
    block's); ``tags`` and ``data`` are the arrays.
    """

    def __init__(self, params, block):
        self.params, self.block = params, block
        self.tags = TagStore(params)
        self.data = LineData(params)
        self.load_tag = TagWriteSignature(params).create(path=("load_tag",))
        self.load_data = DataWriteSignature(params).create(path=("load_data",))
        self.read_tag = TagReadSignature(params).create(path=("read_tag",))
        self.read_data = DataReadSignature(params).create(path=("read_data",))
        self.tag_load = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.block, m.submodules.tags, m.submodules.data = self.block, self.tags, self.data
        members = self.block.signature.members
        merge_requests(m, self.tags.rd, [self.read_tag] + ([self.block.tag_rd] if "tag_rd" in members else []))
        merge_requests(m, self.tags.wr, [self.load_tag] + ([self.block.tag_wr] if "tag_wr" in members else []))
        merge_requests(m, self.data.rd, [self.read_data] + ([self.block.data_rd] if "data_rd" in members else []))
        merge_requests(m, self.data.wr, [self.load_data] + ([self.block.data_wr] if "data_wr" in members else []))
        block_load = self.block.tag_load if "tag_load" in members else 0
        m.d.comb += self.tags.load.eq(self.tag_load | block_load)
        if "ways_load" in members:
            m.d.comb += self.tags.load_ways.eq(self.block.ways_load)
        if "repl_load" in members:
            m.d.comb += self.tags.load_repl.eq(self.block.repl_load)
        if "tag_capture" in members:
            m.d.comb += [self.tags.capture.eq(self.block.tag_capture), self.block.cap_ways.eq(self.tags.cap_ways)]
        if "ways" in members:
            m.d.comb += self.block.ways.eq(self.tags.ways)
        if "rdata" in members:
            m.d.comb += self.block.rdata.eq(self.data.rdata)
        if "rvalid" in members:
            m.d.comb += [self.block.rvalid.eq(self.data.rvalid), self.data.rready.eq(self.block.rready)]
        return m


async def load_line(ctx, harness, set_, way, tag, pid, words, dirty=0):
    """Write a whole line (tag entry and data words) through the harness's load ports."""
    p = harness.params
    ctx.set(harness.load_tag.set, set_)
    ctx.set(harness.load_tag.en, 1 << way)
    ctx.set(harness.load_tag.data, [entry(tag=tag, pid=pid, valid=1, dirty=dirty)] * p.ways)
    for i, word in enumerate(words):
        ctx.set(harness.load_data.set, set_)
        ctx.set(harness.load_data.way, way)
        ctx.set(harness.load_data.word, i)
        ctx.set(harness.load_data.data, word)
        ctx.set(harness.load_data.en, -1)
        await ctx.tick()
        ctx.set(harness.load_tag.en, 0)
    ctx.set(harness.load_data.en, 0)


async def read_tags(ctx, harness, set_):
    """Read the tags of ``set_`` through the harness's ports: read, then load (they show after the load)."""
    ctx.set(harness.read_tag.set, set_)
    ctx.set(harness.read_tag.en, 1)
    await ctx.tick()
    ctx.set(harness.read_tag.en, 0)
    ctx.set(harness.tag_load, 1)
    await ctx.tick()
    ctx.set(harness.tag_load, 0)
