"""cocotb test of NetIfs through the Switch (top: sim_tests/netif/tops.py NetIfStar), and the counter
consistency checks shared with cocotb_traffic.py.

``star``: random messages of random kinds and sizes between all nodes, idle insertion on the transmit
streams and backpressure on the receive streams; every message must arrive exactly once, in order and
intact.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from hw.network.registers import LINK_COUNTERS, NETIF_REGISTERS
from sim_tests.netif.msgs import MsgDriver, Scoreboard, random_msg, read_counters, reset

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))


def link_counters(dut, name):
    return {c: int(getattr(dut, f"{name}_{c}").value) for c in LINK_COUNTERS}


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
                    "tx_dropped", "peers_dead", "tx_dead_dropped", "tx_flushed", "events"):
            assert c[bad] == 0, (s, bad, c)
        if lk["lost"] == 0 and lk["corrupted"] == 0 and lk["duplicated"] == 0 and lk["reordered"] == 0:
            assert ctr[peer]["rx_dup"] == 0, (peer, ctr[peer])


@cocotb.test()
async def star(dut):
    """All-to-all random traffic between the NetIfs of a NetIfStar top (through the Switch)."""
    clk = dut.clk
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())
    rng = random.Random(SEED)
    n_nodes = CFG["netif"]["n_nodes"]
    w = CFG["netif"].get("data_width", 64)
    maxp = CFG["netif"].get("max_payload", 64)
    await reset(dut, clk)
    drivers = [MsgDriver(dut, f"n{i}_tx", clk, w, random.Random(rng.random()), idle_prob=0.1)
               for i in range(n_nodes)]
    boards = [Scoreboard(dut, f"n{i}_rx", clk, w, random.Random(rng.random()), node_id=i, backpressure_prob=0.1)
              for i in range(n_nodes)]
    n = CFG["n_msgs"]
    for src in range(n_nodes):
        for _ in range(n):
            dst = rng.choice([d for d in range(n_nodes) if d != src])
            msg = random_msg(rng, dst, maxp)
            boards[dst].expect_from(src, msg)
            drivers[src].send(msg)
    for b in boards:
        for src in range(n_nodes):
            b.next.setdefault(src, 0)
            b.expect.setdefault(src, [])
    cycle = 0
    while not all(b.done() for b in boards):
        await RisingEdge(clk)
        cycle += 1
        assert cycle < CFG["cycle_limit"], [b.received for b in boards]
    ctr = [await read_counters(dut, f"n{i}_csr", clk, NETIF_REGISTERS) for i in range(n_nodes)]
    for i, c in enumerate(ctr):
        assert c["tx_msgs"] == n and c["rx_msgs"] == sum(len(v) for v in boards[i].expect.values()), c
        assert c["rx_drop_misrouted"] == 0 and c["tx_dropped"] == 0, c
    # The switch sees every frame the up-links deliver; it drops only those whose corrupted dst/src
    # byte names no port or the wrong source (the others are caught by the CRC at the receiver).
    routed, unroutable, spoofed = (int(getattr(dut, f"sw_{c}").value)
                                   for c in ("frames_routed", "dropped_unroutable", "dropped_spoofed"))
    assert routed + unroutable + spoofed == int(dut.up_frames_out.value)
    assert unroutable + spoofed <= int(dut.up_corrupted.value)
    dut._log.info("star: %d nodes, %d messages in %d cycles, retransmits %s", n_nodes, n * n_nodes, cycle,
                  [c["tx_retransmits"] for c in ctr])
