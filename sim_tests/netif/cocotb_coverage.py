"""Directed cocotb test of one NetIf: the drop and nak paths the random wire test never takes (the
uncovered lines of ``disagg coverage --block netif_wire``, docs/verification.md).

* ``tx_dropped``: messages from the component to its own node, to an unknown node and longer than the
  largest payload are dropped (the long one's data beats drained), and nothing goes on the wire;
* ``naks_received``: a standalone ACK frame from a peer with the nak bit set is counted;
* ``rx_drop_nobuf``: with the component not reading ``rx``, the in-order frame that finds the receive
  buffer full is dropped and counted once (those after it are out of order); once the component reads, the
  buffered messages come out in order.
"""

import json
import os
import random

import cocotb
from cocotb.triggers import ClockCycles

from firmware import protocol_codec as codec
from hw.network.registers import NETIF_REGISTERS
from sim_tests.netif.cocotb_wire import BB, MAXP, N_NODES, NODE, W, setup
from sim_tests.netif.msgs import Msg, MsgDriver, Scoreboard, random_msg, read_counters

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))
RX_MSGS = CFG.get("netif", {}).get("rx_buffer_msgs", 4)


def _header_only(dst, tag):
    """A LINE_READ request: a header with no data beats."""
    return Msg(kind=0, status=0, dst=dst, tag=tag, pid=1, vaddr=0x1000 * tag, length=0, payload=b"")


@cocotb.test(timeout_time=CFG.get("timeout_us", 20_000), timeout_unit="us")
async def drops_and_naks(dut):
    rng = random.Random(SEED)
    dut.rx__hdr__ready.value = 0
    dut.rx__data__ready.value = 0
    src, sink = await setup(dut, rng)
    peer = next(n for n in range(N_NODES) if n != NODE)

    # Messages the interface must refuse: own node, unknown nodes, a payload over the maximum.
    drv = MsgDriver(dut, "tx", dut.clk, W, random.Random(rng.random()))
    long_payload = bytes(rng.randrange(256) for _ in range(MAXP + BB))
    refused = [_header_only(NODE, 1), _header_only(N_NODES, 2), _header_only(255, 3),
               Msg(kind=1, status=0, dst=peer, tag=4, pid=1, vaddr=0, length=len(long_payload),
                   payload=long_payload)]
    for msg in refused:
        assert msg.dst != peer or msg.length > MAXP
        drv.send(msg)
    await ClockCycles(dut.clk, 200)
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert ctr["tx_dropped"] == len(refused) and ctr["tx_msgs"] == 0 and ctr["tx_frames"] == 0, ctr
    assert sink.empty(), "a refused message went on the wire"

    # A nak from the peer (nothing outstanding: the go-back-N round it starts resends nothing).
    await src.send(codec.encode(codec.Frame(dst=NODE, src=peer, type=codec.TYPE_ACK, ack=0, nak=1), BB))
    await ClockCycles(dut.clk, 100)
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert ctr["naks_received"] == 1 and ctr["rx_acks"] == 1 and ctr["tx_retransmits"] == 0, ctr

    # More in-order messages than the receive buffer holds, while the component reads nothing: the first
    # that finds it full is dropped (rx_drop_nobuf), the ones after it are then out of order (rx_dup).
    # Full-size messages: the payload ring holds rx_buffer_msgs of them (the header FIFO holds more headers).
    msgs = [random_msg(rng, NODE, MAXP, full_lines=True) for _ in range(RX_MSGS + 3)]
    for seq, msg in enumerate(msgs):
        f = codec.Frame(dst=NODE, src=peer, type=codec.TYPE_MSG, kind=msg.kind, status=msg.status, seq=seq, ack=0,
                        tag=msg.tag, pid=msg.pid, length=msg.length, vaddr=msg.vaddr, payload=msg.payload)
        await src.send(codec.encode(f, BB))
    await ClockCycles(dut.clk, 300)
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    rx = {k: v for k, v in ctr.items() if k.startswith("rx_") or k.startswith("nak")}
    assert ctr["rx_drop_nobuf"] == 1, rx
    held = len(msgs) - 1 - ctr["rx_dup"]
    assert held == RX_MSGS, (f"the receive buffer held {held} full-size messages, not rx_buffer_msgs={RX_MSGS}", rx)

    # The component reads: the buffered messages come out in order, the dropped one and those after it do not
    # (rx_msgs counts messages committed to the buffer).
    board = Scoreboard(dut, "rx", dut.clk, W, random.Random(rng.random()), node_id=NODE, backpressure_prob=0.2)
    for msg in msgs[:held]:
        board.expect_from(peer, msg)
    for _ in range(100):
        await ClockCycles(dut.clk, 10)
        if board.done():
            break
    assert board.done(), f"{board.received} of {held} buffered messages delivered"
    await ClockCycles(dut.clk, 50)
    ctr = await read_counters(dut, "csr", dut.clk, NETIF_REGISTERS)
    assert ctr["rx_msgs"] == held and ctr["rx_drop_nobuf"] == 1, ctr
    dut._log.info("refused %d messages, 1 nak counted, buffer held %d messages, then dropped 1 (nobuf) and %d (dup)",
                  len(refused), held, ctr["rx_dup"])
