"""Random messages, the component-side drivers and the delivery scoreboard of the netif tests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from cocotb.triggers import FallingEdge, RisingEdge

from hw.protocol import MsgHeader, DataBeat, carries_data, is_response
from sim_tests.lib.streams import StreamSink, StreamSource

REPORTS = Path(__file__).resolve().parents[2] / "build" / "reports"


@dataclass
class Msg:
    kind: int
    status: int
    dst: int
    tag: int
    pid: int
    vaddr: int
    length: int
    payload: bytes

    @property
    def has_data(self):
        return carries_data(self.kind, self.status)


def random_msg(rng: random.Random, dst: int, max_payload: int, full_lines=False) -> Msg:
    if full_lines:
        kind, status, length = 1, 0, max_payload
    else:
        kind = rng.randrange(8)
        status = rng.choice((0, 0, 0, 1, 2, 3)) if is_response(kind) else 0
        word = kind in (2, 3, 6, 7)
        length = rng.randint(1, 8) if word else rng.choice((0, rng.randint(1, max_payload), max_payload))
    payload = rng.randbytes(length) if carries_data(kind, status) else b""
    return Msg(kind, status, dst, rng.randrange(256), rng.randrange(1 << 16), rng.getrandbits(64), length, payload)


class MsgDriver:
    """Sends messages into a ``<prefix>_tx`` message port (idle insertion on both streams).

    Bytes of the last beat beyond ``length`` are random, so the interface's zero padding is checked.
    """

    def __init__(self, dut, prefix, clk, data_width, rng, idle_prob=0.0):
        self.beat_bytes = data_width // 8
        self.rng = rng
        self.hdr = StreamSource(dut, f"{prefix}__hdr", clk, MsgHeader(), idle_prob=idle_prob, rng=rng)
        self.data = StreamSource(dut, f"{prefix}__data", clk, DataBeat(data_width), idle_prob=idle_prob, rng=rng)

    def send(self, msg: Msg):
        self.hdr.send_nowait({"kind": msg.kind, "status": msg.status, "src": self.rng.randrange(256),
                              "dst": msg.dst, "tag": msg.tag, "pid": msg.pid, "vaddr": msg.vaddr,
                              "length": msg.length})
        if msg.has_data:
            n = -(-msg.length // self.beat_bytes)
            raw = msg.payload + self.rng.randbytes(n * self.beat_bytes - msg.length)
            for i in range(n):
                chunk = raw[i * self.beat_bytes:(i + 1) * self.beat_bytes]
                self.data.send_nowait({"data": int.from_bytes(chunk, "little"), "last": int(i == n - 1)})


class Scoreboard:
    """Checks that the messages from ``src`` arrive exactly once, in order and intact at a ``<prefix>_rx`` port.

    ``expect`` holds the messages not yet received, in sending order. Any mismatch raises at once.
    """

    def __init__(self, dut, prefix, clk, data_width, rng, node_id, backpressure_prob=0.0):
        self.beat_bytes = data_width // 8
        self.node_id = node_id
        self.expect = {}        # src -> list of Msg
        self.next = {}          # src -> index of next expected
        self.hdrs = []
        self.beats = []
        self.received = 0
        self.hdr = StreamSink(dut, f"{prefix}__hdr", clk, MsgHeader(), backpressure_prob=backpressure_prob,
                               rng=rng, callback=self._on_hdr)
        self.data = StreamSink(dut, f"{prefix}__data", clk, DataBeat(data_width),
                                backpressure_prob=backpressure_prob, rng=rng, callback=self._on_beat)

    def expect_from(self, src, msg):
        self.expect.setdefault(src, []).append(msg)
        self.next.setdefault(src, 0)

    def _on_hdr(self, h):
        self.hdrs.append(h)
        self._match()

    def _on_beat(self, b):
        self.beats.append(b)
        self._match()

    def _match(self):
        while self.hdrs:
            h = self.hdrs[0]
            n = -(-h["length"] // self.beat_bytes) if carries_data(h["kind"], h["status"]) else 0
            if len(self.beats) < n:
                return
            self.hdrs.pop(0)
            beats, self.beats = self.beats[:n], self.beats[n:]
            src = h["src"]
            assert src in self.expect, f"message from unexpected source {src}: {h}"
            i = self.next[src]
            assert i < len(self.expect[src]), f"extra message from {src} (duplicate?): {h}"
            want = self.expect[src][i]
            got = dict(kind=h["kind"], status=h["status"], dst=h["dst"], tag=h["tag"], pid=h["pid"],
                       vaddr=h["vaddr"], length=h["length"])
            exp = dict(kind=want.kind, status=want.status, dst=self.node_id, tag=want.tag, pid=want.pid,
                       vaddr=want.vaddr, length=want.length)
            assert got == exp, f"message {i} from node {src}: got {got}, expected {exp}"
            raw = b"".join(b["data"].to_bytes(self.beat_bytes, "little") for b in beats)
            assert [b["last"] for b in beats] == [0] * (n - 1) + [1] * (n > 0), f"message {i}: bad last flags"
            assert raw[:want.length] == want.payload, f"message {i} from node {src}: payload differs"
            if want.has_data:
                assert raw[want.length:] == bytes(len(raw) - want.length), f"message {i}: pad bytes not zero"
            self.expect[src][i] = None       # free memory; it is delivered
            self.next[src] = i + 1
            self.received += 1

    def done(self):
        return all(self.next[s] == len(self.expect[s]) for s in self.expect) and not self.hdrs and not self.beats


async def csr_read(dut, prefix, clk, addr):
    """Read one register of the CSR bus ``<prefix>`` (see hw/lib/csr.py for the timing); the value is read
    at a falling edge, so it is right on Verilator too."""
    await RisingEdge(clk)
    getattr(dut, f"{prefix}__addr").value = addr
    getattr(dut, f"{prefix}__r_stb").value = 1
    await RisingEdge(clk)
    getattr(dut, f"{prefix}__r_stb").value = 0
    await FallingEdge(clk)
    return int(getattr(dut, f"{prefix}__r_data").value)


async def read_counters(dut, prefix, clk, regmap):
    out = {}
    for reg in regmap:
        out[reg.name] = await csr_read(dut, prefix, clk, reg.addr)
    return out


def write_report(name, report):
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(report, indent=2, sort_keys=True))


async def reset(dut, clk, cycles=4):
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(clk)
    dut.rst.value = 0
