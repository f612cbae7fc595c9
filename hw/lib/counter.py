"""Event counters: one primitive for every statistics counter of the design.

:class:`Counter` is one wrapping counter with an increment input (a 1-bit event or a multi-bit amount),
a synchronous clear and a load. :class:`CounterBank` is a set of named counters sharing a clear, the
form the blocks' statistics take (``bank.inc.<name>`` in, ``bank.count.<name>`` out).

Priority within a cycle: ``clear`` over ``load`` over ``inc``. A counter wraps around at ``2**width``
(statistics are read as differences by firmware; use ``width=64`` where a wrap within a run is plausible).

Registered increments (default). ``inc`` is sampled into a register and added on the *following* clock
edge, so an event shows in ``value`` two edges after its cycle instead of one. The reason is timing: an
event strobe is usually the end of a long cone of block logic (a handshake, a verdict), and without the
register that cone ran straight into the counter's carry chain (in the memory component the critical path
ended in a statistics counter, 18 levels + 41 carry steps); with it, every carry chain starts at a
flip-flop. ``clear`` and ``load`` also drop the registered increment, so the priority is unchanged: an event
in a clear's (or load's) cycle or in the cycle before is lost exactly as with an unregistered counter,
and only the visibility is one cycle later. ``registered=False`` keeps the one-edge counter (for a
constant increment such as a cycle counter, where the register gains nothing and the count should be
exact).
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import check_int

__all__ = ["Counter", "CounterBank"]


class Counter(wiring.Component):
    """One counter.

    Parameters
    ----------
    width : int
        Counter bits (1 .. 64).
    step_width : int
        Width of ``inc`` (default 1: count events; wider: add an amount, e.g. bytes per cycle).
    registered : bool
        ``True`` (default): ``inc`` is registered before the adder (the count shows it one cycle later,
        see the module docstring); ``False``: added on the next edge.

    Ports
    -----
    inc : In(step_width)
        Added to the count every cycle (0 when idle).
    clear : In(1)
        Zero the count.
    load : In(1)
        Set the count to ``load_value``.
    load_value : In(width)
    value : Out(width)
        The count (a register: this cycle's ``inc`` shows two cycles later, or one with
        ``registered=False``).
    """

    def __init__(self, width=32, *, step_width=1, registered=True):
        check_int("Counter width", width, 1, 64)
        check_int("Counter step_width", step_width, 1, width)
        if not isinstance(registered, bool):
            raise TypeError(f"Counter registered must be a bool, not {registered!r}")
        self.width, self.step_width, self.registered = width, step_width, registered
        super().__init__({
            "inc": In(step_width), "clear": In(1), "load": In(1), "load_value": In(width),
            "value": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        step = self.inc
        if self.registered:
            # The adder's carry chain starts at this register, not at the block's event logic.
            step = Signal(self.step_width, name="inc_q")
            m.d.sync += step.eq(Mux(self.clear | self.load, 0, self.inc))
        with m.If(self.clear):
            m.d.sync += self.value.eq(0)
        with m.Elif(self.load):
            m.d.sync += self.value.eq(self.load_value)
        with m.Else():
            m.d.sync += self.value.eq(self.value + step)
        return m


class CounterBank(wiring.Component):
    """Named counters with one common clear.

    Parameters
    ----------
    names : sequence of str
        Counter names (identifiers, unique); the ports are named after them.
    width : int
        Bits of every counter.
    step_widths : dict of str to int, optional
        ``inc`` width of the counters that add an amount rather than count events.
    registered : bool
        Register every counter's ``inc`` (default; see :class:`Counter`).

    Ports
    -----
    inc : In(Signature({name: Out(step)}))
        ``inc.<name>``: the increment of that counter this cycle.
    count : Out(Signature({name: Out(width)}))
        ``count.<name>``: its value.
    clear : In(1)
        Zero every counter.
    """

    def __init__(self, names, *, width=32, step_widths=None, registered=True):
        names = tuple(names)
        if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise TypeError(f"CounterBank names must be a non-empty sequence of identifiers, not {names!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"CounterBank names must be unique, not {names!r}")
        check_int("CounterBank width", width, 1, 64)
        step_widths = dict(step_widths or {})
        for name, step in step_widths.items():
            if name not in names:
                raise ValueError(f"CounterBank step width given for an unknown counter, not {name!r}")
            check_int(f"CounterBank step width of {name}", step, 1, width)
        if not isinstance(registered, bool):
            raise TypeError(f"CounterBank registered must be a bool, not {registered!r}")
        self.names, self.width, self.registered = names, width, registered
        self.step_widths = {n: step_widths.get(n, 1) for n in names}
        super().__init__({
            "inc": In(wiring.Signature({n: Out(self.step_widths[n]) for n in names})),
            "count": Out(wiring.Signature({n: Out(width) for n in names})),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        for name in self.names:
            ctr = Counter(self.width, step_width=self.step_widths[name], registered=self.registered)
            m.submodules[f"ctr_{name}"] = ctr
            m.d.comb += [ctr.inc.eq(getattr(self.inc, name)), ctr.clear.eq(self.clear),
                         getattr(self.count, name).eq(ctr.value)]
        return m
