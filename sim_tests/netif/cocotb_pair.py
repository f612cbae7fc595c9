"""cocotb tests of two NetIfs over two emulated links (top: sim_tests/netif/tops.py NetIfPair).

``traffic``: random messages of random kinds and sizes in both directions, idle insertion on the
transmit streams and backpressure on the receive streams; every message must arrive exactly once, in
order and intact; the counters of interfaces and links must agree with each other.

``bandwidth``: a one-way stream of full-line writes with no idle and no backpressure; the rate of
distinct message frames delivered, in wire bytes, is measured against the link's configured bandwidth
between two points in the stream (cycle counted).
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from firmware.protocol_codec import wire_bytes
from hw.link import LINK_COUNTERS
from hw.netif import NETIF_REGISTERS
from sim_tests.netif.msgs import MsgDriver, Scoreboard, random_msg, read_counters, reset, write_report

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))


def link_counters(dut, name):
    return {c: int(getattr(dut, f"{name}_{c}").value) for c in LINK_COUNTERS}


async def run_pair(dut, *, directions, n_msgs, full_lines, idle, backpressure, measure=None):
    clk = dut.clk
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())
    rng = random.Random(SEED)
    w = CFG["netif"].get("data_width", 64)
    maxp = CFG["netif"].get("max_payload", 64)
    await reset(dut, clk)
    drivers = {s: MsgDriver(dut, f"{s}_tx", clk, w, random.Random(rng.random()), idle_prob=idle) for s in "ab"}
    boards = {s: Scoreboard(dut, f"{s}_rx", clk, w, random.Random(rng.random()), node_id=i,
                            backpressure_prob=backpressure) for i, s in enumerate("ab")}
    for src, dst in directions:
        for _ in range(n_msgs):
            msg = random_msg(rng, "ab".index(dst), maxp, full_lines=full_lines)
            boards[dst].expect_from("ab".index(src), msg)
            drivers[src].send(msg)
    sinks = [boards[dst] for _, dst in directions]
    limit = CFG["cycle_limit"]
    cycle = 0
    marks = {}
    while not all(b.done() for b in sinks):
        await RisingEdge(clk)
        cycle += 1
        if measure is not None:
            got = sinks[0].received
            for name, at in (("start", measure[0]), ("end", measure[1])):
                if name not in marks and got >= at:
                    marks[name] = (cycle, got)
        assert cycle < limit, (f"not all messages delivered after {cycle} cycles: "
                               f"{[(b.received, sum(len(v) for v in b.expect.values())) for b in sinks]}")
    for _ in range(CFG.get("drain_cycles", 2000)):   # let acks and in-flight duplicates settle
        await RisingEdge(clk)
    ctr = {s: await read_counters(dut, f"{s}_csr", clk, NETIF_REGISTERS) for s in "ab"}
    links = {name: link_counters(dut, name) for name in ("ab", "ba")}
    return cycle, marks, ctr, links


def check_consistency(ctr, links, n_msgs, directions):
    """Counters that must agree whatever the random losses were."""
    sent = {s: n_msgs * sum(1 for src, _ in directions if src == s) for s in "ab"}
    for s, peer, out_link, in_link in (("a", "b", "ab", "ba"), ("b", "a", "ba", "ab")):
        c = ctr[s]
        assert c["tx_msgs"] == sent[s], (s, c)
        assert c["rx_msgs"] == sent[peer], (s, c)
        assert c["tx_frames"] == links[out_link]["frames_in"], (s, c, links[out_link])
        assert c["rx_frames"] == links[in_link]["frames_out"], (s, c, links[in_link])
        lk = links[out_link]
        assert lk["frames_out"] == lk["frames_in"] - lk["lost"] + lk["duplicated"], lk
        # Every corrupted copy is caught by the CRC; nothing else may be dropped as bad.
        assert ctr[peer]["rx_drop_crc"] == lk["corrupted"], (peer, ctr[peer], lk)
        for bad in ("rx_drop_misrouted", "rx_drop_truncated", "rx_drop_oversize", "rx_drop_malformed",
                    "tx_dropped"):
            assert c[bad] == 0, (s, bad, c)
        if lk["lost"] == 0 and lk["corrupted"] == 0 and lk["duplicated"] == 0 and lk["reordered"] == 0:
            assert ctr[peer]["rx_dup"] == 0, (peer, ctr[peer])


@cocotb.test()
async def traffic(dut):
    directions = [("a", "b"), ("b", "a")]
    n = CFG["n_msgs"]
    cycles, _, ctr, links = await run_pair(dut, directions=directions, n_msgs=n, full_lines=False,
                                           idle=CFG.get("idle", 0.1), backpressure=CFG.get("backpressure", 0.1))
    check_consistency(ctr, links, n, directions)
    report = {"config": CFG, "seed": SEED, "cycles": cycles, "messages": 2 * n, "netif": ctr, "links": links}
    write_report(CFG["report"], report)
    dut._log.info("REPORT %s", json.dumps({"cycles": cycles, "a": ctr["a"], "ab": links["ab"]}))


@cocotb.test()
async def bandwidth(dut):
    n = CFG["n_msgs"]
    lo, hi = n // 8, n - n // 8
    cycles, marks, ctr, links = await run_pair(dut, directions=[("a", "b")], n_msgs=n, full_lines=True,
                                               idle=0.0, backpressure=0.0, measure=(lo, hi))
    check_consistency(ctr, links, n, [("a", "b")])
    (c0, m0), (c1, m1) = marks["start"], marks["end"]
    maxp = CFG["netif"].get("max_payload", 64)
    beat_bytes = CFG["netif"].get("data_width", 64) // 8
    per_msg = wire_bytes(1, 0, maxp, beat_bytes)
    bw = CFG["link"]["bandwidth"]
    fraction = (m1 - m0) * per_msg / ((c1 - c0) * bw)
    report = {"config": CFG, "seed": SEED, "cycles": cycles, "messages": n, "window_cycles": c1 - c0,
              "window_messages": m1 - m0, "wire_bytes_per_message": per_msg, "fraction_of_link": fraction,
              "payload_fraction_of_link": fraction * maxp / per_msg, "netif": ctr, "links": links}
    write_report(CFG["report"], report)
    dut._log.info("REPORT fraction=%.4f retransmits=%d", fraction, ctr["a"]["tx_retransmits"])
    if "min_fraction" in CFG:
        assert fraction >= CFG["min_fraction"], f"achieved {fraction:.3f} of the link's bandwidth"
