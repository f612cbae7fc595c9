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


PD = NetIfParams(node_id=2, n_nodes=5, window=8, timeout=16, max_payload=32, retry_limit=2)


async def write(ctx, dut, name, value):
    ctx.set(dut.csr.addr, NETIF_REGISTERS.addr(name))
    ctx.set(dut.csr.w_data, value)
    ctx.set(dut.csr.w_stb, 1)
    await ctx.tick()
    ctx.set(dut.csr.w_stb, 0)


async def offer(ctx, dut, dst):
    """One header-only message for ``dst``, held until the interface takes it."""
    ctx.set(dut.tx.hdr.payload, {"kind": MsgKind.LINE_READ, "dst": dst, "length": 8})
    ctx.set(dut.tx.hdr.valid, 1)
    while True:
        ready = ctx.get(dut.tx.hdr.ready)
        await ctx.tick()
        if ready:
            break
    ctx.set(dut.tx.hdr.valid, 0)


def test_dead_peer_registers_irq_and_reset():
    """Nobody answers node 4: two timeouts declare it dead (peer_dead_0 bit 4, events, irq, peers_dead); a
    message for it is dropped; a reset of the own id does nothing; peer_reset(4) discards the stored message
    and clears the dead bit; the event stays until firmware writes 1 to it."""
    dut = NetIf(PD)

    async def bench(ctx):
        ctx.set(dut.m_axis.tready, 1)
        got = {"retry_limit": await read(ctx, dut, "retry_limit")}
        await offer(ctx, dut, 4)
        cycles = 0
        while not ctx.get(dut.irq):
            await ctx.tick()
            cycles += 1
            assert cycles < 20 * PD.timeout
        got["cycles"] = cycles
        names = ("peer_dead_0", "peer_dead_1", "events", "peers_dead", "tx_timeouts", "tx_msgs")
        got["dead"] = {name: await read(ctx, dut, name) for name in names}
        await offer(ctx, dut, 4)
        await write(ctx, dut, "peer_reset", 2)
        got["own"] = {name: await read(ctx, dut, name) for name in ("peer_dead_0", "tx_dead_dropped", "tx_flushed")}
        await write(ctx, dut, "peer_reset", 4)
        for _ in range(2):       # the reset strobe, the discarded count and the counter's inc are registered
            await ctx.tick()
        got["reset"] = {name: await read(ctx, dut, name) for name in ("peer_dead_0", "tx_flushed", "events")}
        got["irq_before_clear"] = ctx.get(dut.irq)
        await write(ctx, dut, "events", 1)
        got["after_clear"] = (await read(ctx, dut, "events"), ctx.get(dut.irq))
        return got

    got = simulate(dut, bench)
    assert got["retry_limit"] == 2
    # Two timeouts (the first goes back and resends): about two timeout periods and two short frames.
    assert 2 * PD.timeout <= got["cycles"] <= 2 * PD.timeout + 30, got["cycles"]
    assert got["dead"] == {"peer_dead_0": 1 << 4, "peer_dead_1": 0, "events": 1, "peers_dead": 1, "tx_timeouts": 2,
                           "tx_msgs": 1}
    assert got["own"] == {"peer_dead_0": 1 << 4, "tx_dead_dropped": 1, "tx_flushed": 0}
    assert got["reset"] == {"peer_dead_0": 0, "tx_flushed": 1, "events": 1} and got["irq_before_clear"] == 1
    assert got["after_clear"] == (0, 0)
