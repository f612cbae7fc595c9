"""Building blocks of the formal harnesses: free inputs, past values and the valid/ready handshake rules.

A formal harness is an ordinary Amaranth module that instantiates a block, drives every input of the block
from a free value (``AnySeq``: the solver picks it anew each cycle), constrains the environment with
``Assume`` and states what the block guarantees with ``Assert``. :func:`drive_free_inputs` does the first
part, :func:`handshake_properties` the rules every stream port obeys:

* a source keeps ``valid`` high until the transfer (``valid & ready``) happens;
* a source keeps its payload stable while ``valid`` is high and ``ready`` is low.

For a port the block drives (``valid`` flows out of the block) the rules are asserted; for a port the
environment drives they are assumed, so the block is only ever shown well-behaved traffic. A channel is
recognised by its names: ``valid``/``ready`` with ``payload`` (``amaranth.lib.stream``), ``tvalid``/``tready``
with the other ``t*`` signals (AXI-Stream, :mod:`hw.lib.axis`) and ``<ch>valid``/``<ch>ready`` with the other
``<ch>*`` signals of an AXI4 channel (:mod:`hw.lib.axi`).

The harnesses run under SymbiYosys (``disagg formal``); nothing here is synthesised into a design.
"""

from amaranth import Cat, Mux, Signal
from amaranth.hdl import Assert, Assume, ResetSignal, Value
from amaranth.hdl._ast import AnyConst, AnySeq
from amaranth.lib import wiring

__all__ = ["AnyConst", "AnySeq", "Channel", "stream_channels", "past", "drive_free_inputs",
           "check_handshake", "handshake_properties", "handshake_with_mutant", "hold_reset_low", "quiet_config_writes", "check_harness_choice",
           "axi_subordinate_rules"]


class Channel:
    """One valid/ready channel of a component's signature.

    Attributes
    ----------
    name : str
        Dotted path of the channel (``"cpu_req"``, ``"net_tx.hdr"``, ``"axi.ar"``).
    valid, ready : Value
    payload : Value
        Every other signal of the channel, concatenated.
    driven_by_block : bool
        ``valid`` flows out of the block: the block is the source, its rules are asserted.
    """

    def __init__(self, name, valid, ready, payload, driven_by_block):
        self.name, self.valid, self.ready, self.payload = name, valid, ready, payload
        self.driven_by_block = driven_by_block

    def __repr__(self):
        side = "out" if self.driven_by_block else "in"
        return f"Channel({self.name!r}, {side}, payload {len(self.payload)} bits)"


def stream_channels(component):
    """Every valid/ready channel of ``component``'s signature (see the module docstring for the names)."""
    if not isinstance(component, wiring.Component):
        raise TypeError(f"stream_channels needs a wiring.Component, not {component!r}")
    groups = {}
    for path, member, value in component.signature.flatten(component):
        parent, leaf = path[:-1], path[-1]
        groups.setdefault(parent, {})[str(leaf)] = (member.flow, Value.cast(value))
    channels = []
    for parent, members in groups.items():
        for name in sorted(members):
            if not name.endswith("valid"):
                continue
            prefix = name[:-len("valid")]
            if prefix + "ready" not in members:
                continue
            payload = [value for other, (_, value) in sorted(members.items())
                       if other.startswith(prefix) and other not in (name, prefix + "ready")]
            flow, valid = members[name]
            label = ".".join(str(p) for p in parent)
            if prefix and prefix != "t":
                label = f"{label}.{prefix}" if label else prefix
            channels.append(Channel(label or name, valid, members[prefix + "ready"][1], Cat(*payload),
                                    flow == wiring.Out))
    return channels


def past(m, value, *, name=None, init=0):
    """``value`` one cycle ago (``init`` in the first cycle)."""
    value = Value.cast(value)
    prev = Signal(len(value), name=name or "past", init=init)
    m.d.sync += prev.eq(value)
    return prev


def hold_reset_low(m, domain="sync"):
    """Assume the domain's reset never fires: registers start from their initial values, as after reset."""
    m.d.comb += Assume(~ResetSignal(domain))


def drive_free_inputs(m, component, *, skip=()):
    """Drive every input port of ``component`` from a free value, except the paths listed in ``skip``
    (tuples such as ``("csr", "w_stb")`` or a prefix such as ``("net_rx",)``)."""
    skip = [tuple(s) for s in skip]
    for path, member, value in component.signature.flatten(component):
        if member.flow != wiring.In:
            continue
        key = tuple(str(p) for p in path)
        if any(key[:len(s)] == s for s in skip):
            continue
        value = Value.cast(value)
        m.d.comb += value.eq(AnySeq(len(value)))


def check_handshake(m, channel):
    """Assert (the block drives it) or assume (the environment does) the handshake rules of ``channel``."""
    tag = channel.name.replace(".", "_")
    was_waiting = past(m, channel.valid & ~channel.ready, name=f"{tag}_waiting")
    was_payload = past(m, channel.payload, name=f"{tag}_prev_payload")
    rule = ~was_waiting | (channel.valid & (channel.payload == was_payload))
    kind = Assert if channel.driven_by_block else Assume
    m.d.comb += kind(rule, f"{channel.name}: valid held and payload stable until ready")


def handshake_properties(m, component, *, only=None, exclude=()):
    """Assert the handshake rules on the channels ``component`` drives and assume them on the others.

    Parameters
    ----------
    only : iterable of str or None
        Names of the channels to cover (default: all of them).
    exclude : iterable of str
        Names of channels to leave out (a harness that checks them through a seam of its own).

    Returns
    -------
    list of Channel
        The channels covered.
    """
    chans = stream_channels(component)
    if only is not None:
        only = set(only)
        unknown = only - {c.name for c in chans}
        if unknown:
            raise ValueError(f"no such channels: {', '.join(sorted(unknown))}; channels are "
                             f"{', '.join(c.name for c in chans)}")
        chans = [c for c in chans if c.name in only]
    chans = [c for c in chans if c.name not in set(exclude)]
    for c in chans:
        check_handshake(m, c)
    return chans


def handshake_with_mutant(m, component, channel_name=None):
    """:func:`handshake_properties`, except that the channel ``channel_name`` (one the block drives) is
    checked through a seam that drops its ``valid`` every other cycle while it waits: the deliberate bug the
    handshake rules must catch. ``channel_name=None`` checks the block as it is."""
    if channel_name is None:
        return handshake_properties(m, component)
    chans = {c.name: c for c in stream_channels(component)}
    if channel_name not in chans or not chans[channel_name].driven_by_block:
        raise ValueError(f"{channel_name!r} is not a channel the block drives")
    c = chans[channel_name]
    toggle = Signal(name="mutant_toggle")
    m.d.sync += toggle.eq(~toggle)
    check_handshake(m, Channel(c.name, c.valid & ~(toggle & ~c.ready), c.ready, c.payload, True))
    return handshake_properties(m, component, exclude=[channel_name])


def quiet_config_writes(m, component, csr, addrs):
    """Assume firmware writes the configuration registers at word addresses ``addrs`` only while none of
    ``component``'s output channels waits for ready.

    Some blocks drive a payload field straight from a configuration register (a destination node id, a
    page-table base); rewriting that register while the payload waits changes it under backpressure. This
    assumption states the firmware rule that avoids it, so the handshake proof covers everything else;
    ``docs/verification.md`` lists the registers each harness names."""
    waiting = 0
    for c in stream_channels(component):
        if c.driven_by_block:
            waiting = waiting | (c.valid & ~c.ready)
    hit = 0
    for a in addrs:
        hit = hit | (csr.addr == a)
    m.d.comb += Assume(~(csr.w_stb & hit & waiting))


def check_harness_choice(block, prop, properties, mutation, mutations):
    """Validate a harness's ``prop`` (one of ``properties``) and ``mutation`` (``None`` or a value of the
    ``mutations`` dict), with the error wording every harness shares."""
    if prop not in properties:
        raise ValueError(f"{block} property must be one of {', '.join(properties)}, not {prop!r}")
    if mutation not in (None, *mutations.values()):
        raise ValueError(f"mutation must be None or one of {', '.join(mutations.values())}, not {mutation!r}")


def axi_subordinate_rules(m, axi, *, outstanding=4, name="axi"):
    """Assume the subordinate on the AXI4 manager port ``axi`` (a block's output port) answers as AXI4 says
    (free inputs alone may answer what was never asked):

    * read data only for an accepted read address, in order, ``rlast`` exactly on each burst's last beat
      (``arlen + 1`` beats);
    * a write response only for a burst whose address and last data beat it has taken, one per burst.

    At most ``outstanding`` read bursts and write bursts are in flight (the subordinate holds ``arready`` /
    ``awready`` low beyond that, which AXI allows). Timing and data stay free; the handshake rules of the
    channels are :func:`handshake_properties`' business."""
    if outstanding < 1:
        raise ValueError(f"outstanding must be at least 1, not {outstanding!r}")
    # Reads: the lengths of the bursts in flight, oldest first, and the beat of the oldest.
    lens = [Signal(8, name=f"{name}_rd_len{i}") for i in range(outstanding)]
    count = Signal(range(outstanding + 1), name=f"{name}_rd_bursts")
    beat = Signal(8, name=f"{name}_rd_beat")
    ar_fire = axi.arvalid & axi.arready
    r_fire = axi.rvalid & axi.rready
    r_done = r_fire & axi.rlast
    m.d.comb += Assume(~(axi.arready & (count == outstanding)))
    m.d.comb += Assume(~axi.rvalid | ((count != 0) & (axi.rlast == (beat == lens[0]))))
    with m.If(r_fire):
        m.d.sync += beat.eq(Mux(axi.rlast, 0, beat + 1))
    for i in range(outstanding):
        kept = Mux(r_done, lens[i + 1] if i + 1 < outstanding else 0, lens[i])
        slot = Mux(r_done, count - 1, count)          # where a new burst lands
        m.d.sync += lens[i].eq(Mux(ar_fire & (slot == i), axi.arlen, kept))
    m.d.sync += count.eq(count + ar_fire - r_done)
    # Writes: addresses and last beats taken, responses given.
    aws = Signal(range(outstanding + 1), name=f"{name}_wr_addrs")
    lasts = Signal(range(outstanding + 1), name=f"{name}_wr_lasts")
    aw_fire = axi.awvalid & axi.awready
    w_last = axi.wvalid & axi.wready & axi.wlast
    b_fire = axi.bvalid & axi.bready
    m.d.comb += Assume(~(axi.awready & (aws == outstanding)))
    m.d.comb += Assume(~(axi.wready & (lasts == outstanding)))
    m.d.comb += Assume(~axi.bvalid | ((aws != 0) & (lasts != 0)))
    m.d.sync += [aws.eq(aws + aw_fire - b_fire), lasts.eq(lasts + w_last - b_fire)]
