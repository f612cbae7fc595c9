"""PeerState (hw/network/peer_state.py): window accounting, acks, retransmit timer, go-back-N, ack/nak owed."""

import random

from hw.network.params import NetIfParams
from hw.network.peer_state import PeerState
from sim_tests.network.bench import simulate

P = NetIfParams(node_id=0, n_nodes=3, window=4, timeout=16)
EVENTS = ("stored", "frame_started", "go_back", "ack_sent", "nak_sent", "ack_in", "nak_in", "msg_in", "gap_in",
          "delivered")


async def pulse(ctx, dut, ack_value=None, **events):
    """One cycle with the given events (peer index or list of them) high, then all low. With ``ack_value``,
    a cycle without events comes first in which it is given: like the frame receiver's verdict, the ack
    is there in the cycle before its ``ack_in``."""
    if ack_value is not None:
        ctx.set(dut.ack_value, ack_value)
        await ctx.tick()
    for name, peers in events.items():
        peers = peers if isinstance(peers, list) else [peers]
        ctx.set(getattr(dut, name), sum(1 << p for p in peers))
    await ctx.tick()
    for name in EVENTS:
        ctx.set(getattr(dut, name), 0)


def query(ctx, dut, peer):
    ctx.set(dut.send_peer, peer)
    ctx.set(dut.recv_peer, peer)
    return {"slot": ctx.get(dut.store_tail[peer]), "room": ctx.get(dut.store_room) >> peer & 1, "seq": ctx.get(dut.send_seq),
            "ack": ctx.get(dut.send_ack), "nak": ctx.get(dut.send_nak), "retransmit": ctx.get(dut.send_retransmit),
            "expected": ctx.get(dut.recv_expected), "unsent": ctx.get(dut.unsent) >> peer & 1,
            "owed": ctx.get(dut.owed) >> peer & 1, "expired": ctx.get(dut.expired) >> peer & 1}


def test_transmit_window_ack_timeout_and_go_back():
    dut = PeerState(P)

    async def bench(ctx):
        got = {"start": query(ctx, dut, 1)}
        for _ in range(4):
            await pulse(ctx, dut, stored=1)
        got["full"] = query(ctx, dut, 1)
        for _ in range(3):
            await pulse(ctx, dut, frame_started=1)
        got["sent3"] = query(ctx, dut, 1)
        await pulse(ctx, dut, ack_in=1, ack_value=2)             # releases seq 0 and 1 ...
        got["ack_pending"] = query(ctx, dut, 1)
        await ctx.tick()                                         # ... applied a cycle later
        got["acked"] = query(ctx, dut, 1)
        await pulse(ctx, dut, ack_in=1, ack_value=7)             # beyond the window: ignored
        await ctx.tick()
        got["stale"] = query(ctx, dut, 1)
        # The timer restarted when the ack that made progress was applied (four ticks ago: the stale ack's
        # value cycle, its event and the tick after it); count cycles until it fires.
        cycles = 4
        while not ctx.get(dut.timeouts):
            await ctx.tick()
            cycles += 1
        got["timeout_cycles"], got["timeouts"] = cycles, ctx.get(dut.timeouts)
        await ctx.tick()
        got["expired"] = query(ctx, dut, 1)
        await pulse(ctx, dut, go_back=1)
        got["went_back"] = query(ctx, dut, 1)
        await pulse(ctx, dut, frame_started=1)
        got["resent"] = query(ctx, dut, 1)
        await pulse(ctx, dut, ack_in=1, nak_in=1, ack_value=2)   # nak without progress: go back now
        got["nak_pending"] = query(ctx, dut, 1)
        await ctx.tick()
        got["naked"] = query(ctx, dut, 1)
        await pulse(ctx, dut, stored=0)                          # own node id: never changes
        got["own"] = query(ctx, dut, 0)
        return got

    got = simulate(dut, bench)
    assert got["start"] == dict(slot=0, room=1, seq=0, ack=0, nak=0, retransmit=0, expected=0, unsent=0, owed=0,
                                expired=0)
    assert (got["full"]["room"], got["full"]["unsent"], got["full"]["owed"], got["full"]["seq"]) == (0, 1, 1, 0)
    assert (got["sent3"]["seq"], got["sent3"]["retransmit"], got["sent3"]["unsent"]) == (3, 0, 1)
    # base 2, count 2, sent 1: the next frame is seq 3, the next free slot is (2 + 2) % 4.
    assert (got["acked"]["seq"], got["acked"]["slot"], got["acked"]["room"]) == (3, 0, 1)
    assert got["ack_pending"] == got["sent3"]
    assert got["stale"] == got["acked"]
    assert got["timeout_cycles"] == P.timeout and got["timeouts"] == 1 << 1
    assert got["expired"]["expired"] == 1
    # Back to base 2: seq 2 again, sent before, so a retransmission.
    assert (got["went_back"]["expired"], got["went_back"]["seq"], got["went_back"]["retransmit"]) == (0, 2, 1)
    assert (got["resent"]["seq"], got["resent"]["retransmit"]) == (3, 0)
    assert got["nak_pending"]["expired"] == 0 and got["naked"]["expired"] == 1
    assert (got["own"]["unsent"], got["own"]["owed"], got["own"]["room"]) == (0, 0, 1)


def test_receive_side_ack_and_nak_owed():
    dut = PeerState(P)

    async def bench(ctx):
        got = {}
        await pulse(ctx, dut, msg_in=2, delivered=2)
        got["delivered"] = query(ctx, dut, 2)
        await pulse(ctx, dut, ack_sent=2)
        got["ack_sent"] = query(ctx, dut, 2)
        await pulse(ctx, dut, msg_in=2, gap_in=2)
        got["gap"] = query(ctx, dut, 2)
        await pulse(ctx, dut, ack_sent=2, nak_sent=2)
        got["nak_sent"] = query(ctx, dut, 2)
        await pulse(ctx, dut, msg_in=2, gap_in=2)                # same gap: one nak only
        got["same_gap"] = query(ctx, dut, 2)
        await pulse(ctx, dut, msg_in=2, delivered=2)
        await pulse(ctx, dut, msg_in=2, gap_in=2)                # a new gap after progress
        got["new_gap"] = query(ctx, dut, 2)
        return got

    got = simulate(dut, bench)
    assert (got["delivered"]["expected"], got["delivered"]["ack"], got["delivered"]["owed"]) == (1, 1, 1)
    assert got["ack_sent"]["owed"] == 0
    assert (got["gap"]["nak"], got["gap"]["owed"]) == (1, 1)
    assert (got["nak_sent"]["nak"], got["nak_sent"]["owed"]) == (0, 0)
    assert (got["same_gap"]["nak"], got["same_gap"]["owed"]) == (0, 1)
    assert (got["new_gap"]["nak"], got["new_gap"]["expected"]) == (1, 2)


PD = NetIfParams(node_id=0, n_nodes=3, window=4, timeout=16, retry_limit=3)


async def until_timeout(ctx, dut, limit=100):
    """Ticks until the next timer expiry of any peer; returns (cycles waited, timeouts, died) of that cycle,
    or (limit, 0, 0) if none came."""
    for cycles in range(limit):
        if ctx.get(dut.timeouts):
            return cycles, ctx.get(dut.timeouts), ctx.get(dut.died)
        await ctx.tick()
    return limit, 0, 0


def test_dead_peer_after_retry_limit_timeouts_and_flush():
    """retry_limit consecutive timeouts without ack progress declare the peer dead (no go-back, no frames
    owed, timer stopped); ack progress restarts the count; a flush discards the stored messages and
    restarts the peer at sequence 0."""
    dut = PeerState(PD)

    async def bench(ctx):
        got = {"fires": []}
        for _ in range(3):
            await pulse(ctx, dut, stored=1)
        for _ in range(2):
            await pulse(ctx, dut, frame_started=1)
        # Two timeouts, each followed by a go-back and a resend of the oldest frame, then ack progress.
        for _ in range(2):
            got["fires"].append(await until_timeout(ctx, dut))
            await ctx.tick()
            await pulse(ctx, dut, go_back=1)
            await pulse(ctx, dut, frame_started=1)
        await pulse(ctx, dut, ack_in=1, ack_value=1)             # progress: the count starts again
        await ctx.tick()
        await pulse(ctx, dut, frame_started=1)                   # (the ack released the frame in flight)
        for k in range(3):
            got["fires"].append(await until_timeout(ctx, dut))
            got[f"after_{k}"] = query(ctx, dut, 1)
            await ctx.tick()
            got[f"expired_{k}"] = query(ctx, dut, 1)
            got[f"dead_{k}"] = ctx.get(dut.dead)
            if k < 2:
                await pulse(ctx, dut, go_back=1)
                await pulse(ctx, dut, frame_started=1)
        got["quiet"] = await until_timeout(ctx, dut, limit=5 * PD.timeout)   # the dead peer's timer is stopped
        await pulse(ctx, dut, stored=1)                          # ignored while dead
        got["dead_stored"] = query(ctx, dut, 1)
        ctx.set(dut.flush, 1 << 1)
        got["flushed"] = ctx.get(dut.flushed)
        await ctx.tick()
        ctx.set(dut.flush, 0)
        got["after_flush"] = query(ctx, dut, 1)
        got["dead_after_flush"] = ctx.get(dut.dead)
        await pulse(ctx, dut, stored=1)
        got["restart"] = query(ctx, dut, 1)
        return got

    got = simulate(dut, bench)
    assert [f[1:] for f in got["fires"]] == [(2, 0)] * 4 + [(2, 2)], got["fires"]
    assert all(f[0] < PD.timeout + 2 for f in got["fires"]), got["fires"]
    # The first two timeouts after the progress go back (expired); the third declares the peer dead.
    assert (got["expired_0"]["expired"], got["expired_1"]["expired"], got["dead_0"], got["dead_1"]) == (1, 1, 0, 0)
    assert got["after_2"]["owed"] == 1 and got["dead_2"] == 1 << 1
    assert (got["expired_2"]["expired"], got["expired_2"]["owed"], got["expired_2"]["unsent"]) == (0, 0, 1)
    assert got["quiet"] == (5 * PD.timeout, 0, 0)
    assert got["dead_stored"]["room"] == 1 and got["dead_stored"]["slot"] == got["expired_2"]["slot"]
    # Three stored, one acked: two discarded; then sequence 0, slot 0, nothing owed, alive.
    assert got["flushed"] == 2 and got["dead_after_flush"] == 0
    assert got["after_flush"] == dict(slot=0, room=1, seq=0, ack=0, nak=0, retransmit=0, expected=0, unsent=0,
                                      owed=0, expired=0)
    assert (got["restart"]["slot"], got["restart"]["seq"], got["restart"]["unsent"]) == (1, 0, 1)


def test_retry_limit_zero_never_declares_dead():
    dut = PeerState(P)

    async def bench(ctx):
        await pulse(ctx, dut, stored=1)
        await pulse(ctx, dut, frame_started=1)
        fires = []
        for _ in range(6):
            fires.append(await until_timeout(ctx, dut))
            await ctx.tick()
            await pulse(ctx, dut, go_back=1)
            await pulse(ctx, dut, frame_started=1)
        return fires, ctx.get(dut.dead)

    fires, dead = simulate(dut, bench)
    assert [f[1:] for f in fires] == [(2, 0)] * 6 and dead == 0


def test_registered_owed_and_unsent_follow_the_state():
    """``unsent_q``/``owed_q`` (the sender's registered copies) equal ``unsent``/``owed`` in every cycle but
    the one after a sender event (frame_started, ack_sent, nak_sent) of that peer, over random events: stores,
    frames, acks in and beyond the window, naks, gaps, go-backs of expired peers, timeouts, deaths, flushes."""
    rng = random.Random(18)
    dut = PeerState(PD)
    peers = [1, 2]

    async def bench(ctx):
        mismatches, compared, sender_events, deaths, timeouts = [], 0, 0, 0, 0
        last_ack = {p: -2 for p in peers}
        for cycle in range(3000):
            events = {name: 0 for name in EVENTS}
            for p in peers:
                bit = 1 << p
                for name, prob in (("frame_started", 0.25), ("ack_sent", 0.1),
                                   ("nak_sent", 0.05), ("msg_in", 0.1), ("gap_in", 0.05), ("delivered", 0.05)):
                    if rng.random() < prob:
                        events[name] |= bit
                events["frame_started"] &= ctx.get(dut.unsent)       # a frame only when one is unsent
                if ctx.get(dut.expired) & bit and rng.random() < 0.5:
                    events["go_back"] |= bit
            p = rng.choice(peers)                            # one message stored at a time, with room
            if ctx.get(dut.store_room) >> p & 1 and rng.random() < 0.3:
                events["stored"] = 1 << p
            p = rng.choice(peers)
            # Acks at least three cycles apart per peer (the receiver's are a frame apart); each with the
            # value given in the cycle before.
            if cycle - last_ack[p] >= 3 and rng.random() < 0.15:
                events["ack_in"] |= 1 << p
                events["nak_in"] |= (rng.random() < 0.3) << p
                last_ack[p] = cycle
            ctx.set(dut.ack_value, rng.randrange(1 << 8))   # the ack of an event in the next cycle, if any
            flush = (1 << rng.choice(peers)) if rng.random() < 0.005 else 0
            for name, value in events.items():
                ctx.set(getattr(dut, name), value)
            ctx.set(dut.flush, flush)
            deaths += bin(ctx.get(dut.died)).count("1")
            timeouts += bin(ctx.get(dut.timeouts)).count("1")
            await ctx.tick()
            for name in EVENTS:
                ctx.set(getattr(dut, name), 0)
            ctx.set(dut.flush, 0)
            fresh = ~(events["frame_started"] | events["ack_sent"] | events["nak_sent"])
            sender_events += bin(~fresh & 0b110).count("1")
            for name in ("unsent", "owed"):
                exact, registered = ctx.get(getattr(dut, name)), ctx.get(getattr(dut, f"{name}_q"))
                compared += 1
                if (exact ^ registered) & fresh:
                    mismatches.append((cycle, name, exact, registered))
        return mismatches, compared, sender_events, deaths, timeouts

    mismatches, compared, sender_events, deaths, timeouts = simulate(dut, bench)
    assert not mismatches, mismatches[:5]
    assert compared == 6000 and sender_events > 1000 and timeouts > 20 and deaths > 2, (sender_events, timeouts,
                                                                                        deaths)
