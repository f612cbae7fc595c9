"""cocotb tests on NetIfPairTraffic: traffic generated and checked in RTL, cocotb only starts the run,
waits in large steps and reads counters (see sim_tests/netif/traffic.py)."""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer

from firmware.protocol_codec import wire_bytes
from hw.network.registers import NETIF_REGISTERS
from sim_tests.netif.cocotb_pair import check_consistency, link_counters
from sim_tests.netif.msgs import read_counters, reset, write_report

CFG = json.loads(os.environ.get("DISAGG_CONFIG", "{}"))
SEED = int(os.environ.get("DISAGG_SEED", "1"))


@cocotb.test()
async def run(dut):
    clk = dut.clk
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())
    dut.start.value = 0
    n = CFG["n_msgs"]
    directions = {"both": [("a", "b"), ("b", "a")], "ab": [("a", "b")], "ba": [("b", "a")]}[CFG["directions"]]
    lo, hi = n // 8, n - n // 8
    dut.n_ab.value = n if ("a", "b") in directions else 0
    dut.n_ba.value = n if ("b", "a") in directions else 0
    dut.full_lines.value = int(CFG.get("full_lines", False))
    for name, value in CFG["rates"].items():
        getattr(dut, f"rate_{name}").value = value
    dut.mark_lo.value = lo
    dut.mark_hi.value = hi
    for s in "ab":
        getattr(dut, f"{s}_csr__r_stb").value = 0
        getattr(dut, f"{s}_csr__w_stb").value = 0
    await reset(dut, clk)
    dut.start.value = 1
    waited = 0
    step = 20_000

    def progress():
        return {k: int(getattr(dut, k).value) for k in ("a_sent", "b_sent", "a_received", "b_received",
                                                          "a_errors", "b_errors", "a_first_error", "b_first_error")}

    while True:
        # A Timer lets Verilator run the clock without waking Python every cycle (ClockCycles would).
        await Timer(step * 10, unit="ns")
        waited += step
        p = progress()
        assert p["a_errors"] == 0 and p["b_errors"] == 0, f"messages differ from the sequence: {p}"
        if all(p[f"{dst}_received"] == n for _, dst in directions):
            break
        if waited > CFG["cycle_limit"]:
            ctr = {s: await read_counters(dut, f"{s}_csr", clk, NETIF_REGISTERS) for s in "ab"}
            raise AssertionError(f"not delivered after {waited} cycles: {p}; counters {ctr}; "
                                 f"links {[link_counters(dut, l) for l in ('ab', 'ba')]}")
    cycles = int(dut.t_all.value)
    await Timer(CFG.get("drain_cycles", 3000) * 10, unit="ns")
    await ClockCycles(clk, 1)
    p = progress()
    assert all(p[f"{dst}_received"] == n for _, dst in directions), p   # nothing extra arrived later
    ctr = {s: await read_counters(dut, f"{s}_csr", clk, NETIF_REGISTERS) for s in "ab"}
    links = {name: link_counters(dut, name) for name in ("ab", "ba")}
    check_consistency(ctr, links, n, directions)
    # Receive cut-through (the checker at a node of rx_cut_through_at): a message shown early is discarded only
    # when its frame fails the CRC (the links corrupt, they never truncate), so at most once per corrupted copy.
    discarded = {s: int(getattr(dut, f"{s}_discarded").value) for s in "ab"}
    for s, in_link in (("a", "ba"), ("b", "ab")):
        assert discarded[s] <= links[in_link]["corrupted"], (s, discarded, links[in_link])
        if "ab".index(s) not in CFG.get("rx_cut_through_at", ()):
            assert discarded[s] == 0, (s, discarded)
    report = {"config": CFG, "seed": SEED, "messages": n * len(directions), "cycles_to_deliver_all": cycles,
              "netif": ctr, "links": links, "retransmits": {s: ctr[s]["tx_retransmits"] for s in "ab"},
              "timeouts": {s: ctr[s]["tx_timeouts"] for s in "ab"}, "discarded": discarded}
    if CFG.get("full_lines") and CFG["directions"] == "ab":
        t_lo, t_hi = int(dut.t_lo.value), int(dut.t_hi.value)
        maxp = CFG["netif"].get("max_payload", 64)
        per_msg = wire_bytes(1, 0, maxp, CFG["netif"].get("data_width", 64) // 8)
        fraction = (hi - lo) * per_msg / ((t_hi - t_lo) * CFG["rates"]["bandwidth"] / 256)
        report.update(window_cycles=t_hi - t_lo, window_messages=hi - lo, wire_bytes_per_message=per_msg,
                      fraction_of_link=fraction, payload_fraction_of_link=fraction * maxp / per_msg)
        dut._log.info("bandwidth: %.4f of the link (%d messages in %d cycles)", fraction, hi - lo, t_hi - t_lo)
        if "min_fraction" in CFG:
            assert fraction >= CFG["min_fraction"], f"achieved {fraction:.4f} of the link's bandwidth"
    write_report(CFG["report"], report)
    dut._log.info("REPORT %s", json.dumps({k: report[k] for k in ("messages", "cycles_to_deliver_all",
                                                                  "retransmits", "timeouts", "discarded")}))
