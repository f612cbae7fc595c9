"""NetIf CSR bank (NETIF_REGISTERS, implemented by the hw.lib.csr kinds): identity and parameters read back,
counters count the components' events, writes are ignored."""

from hw.network.netif import NetIf, NetIfParams
from hw.network.registers import NETIF_REGISTERS
from hw.protocol import MsgKind
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=2, n_nodes=5, window=8, timeout=300, max_payload=32)


async def read(ctx, dut, name):
    ctx.set(dut.csr.addr, NETIF_REGISTERS.addr(name))
    ctx.set(dut.csr.r_stb, 1)
    await ctx.tick()
    ctx.set(dut.csr.r_stb, 0)
    return ctx.get(dut.csr.r_data)          # the value of the cycle the read was requested


def test_identity_parameters_and_counters():
    dut = NetIf(P)

    async def bench(ctx):
        got = {name: await read(ctx, dut, name) for name in ("id", "config", "timeout", "tx_dropped", "tx_msgs")}
        # Two messages for this node (dropped) and one for node 4 (queued), then try to overwrite a counter.
        for dst in (2, 2, 4):
            ctx.set(dut.tx.hdr.payload, {"kind": MsgKind.LINE_READ, "dst": dst, "length": 8})
            ctx.set(dut.tx.hdr.valid, 1)
            await ctx.tick()
        ctx.set(dut.tx.hdr.valid, 0)
        ctx.set(dut.csr.addr, NETIF_REGISTERS.addr("tx_dropped"))
        ctx.set(dut.csr.w_data, 0xFFFF)
        ctx.set(dut.csr.w_stb, 1)
        await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)
        got["after"] = {name: await read(ctx, dut, name) for name in ("tx_dropped", "tx_msgs", "timeout")}
        return got

    got = simulate(dut, bench)
    assert (got["id"], got["config"], got["timeout"]) == (2 | 5 << 8, 8 | 32 << 16, 300)
    assert (got["tx_dropped"], got["tx_msgs"]) == (0, 0)
    assert got["after"] == {"tx_dropped": 2, "tx_msgs": 1, "timeout": 300}
