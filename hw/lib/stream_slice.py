"""Register slices for streams: cut a combinational path between two blocks at full throughput.

Two blocks joined by a stream (``valid``/``payload`` one way, ``ready`` the other) form one timing path
from the producer's logic through ``valid`` into the consumer's accept logic and back through ``ready``
into the producer's. A slice between them ends both at flip-flops:

``"full"`` (default): a skid buffer. ``m.valid``/``m.payload`` and ``s.ready`` all come from registers;
  a second ("skid") register takes the beat that arrives in the cycle the output stalls, which is what
  lets ``s.ready`` be a register and still move one beat per cycle. Cycle for cycle it is a two-entry
  FIFO that is not fall-through: ``s.ready`` is "fewer than two beats held", ``m.valid`` is "at least one
  held", beats leave in order, a beat accepted in cycle ``t`` is offered from cycle ``t + 1``.
``"forward"``: only ``m.valid``/``m.payload`` are registered (one entry); ``s.ready`` is
  ``m.ready | ~m.valid``, combinational from the consumer. Half the flip-flops, for a path that is long
  only forward.

Both move one beat per cycle when the consumer is always ready, add **one cycle of latency** per slice
and never drop or repeat a beat under backpressure. Cost: a ``"full"`` slice holds two payloads
(2 x width flip-flops, a 2:1 multiplexer per bit), a ``"forward"`` slice one.

:class:`BundleSlice` slices every stream of a bundle, e.g. both streams (header and data) of a
:class:`hw.protocol.MessagePort`.
"""

from amaranth import Module, Signal
from amaranth.hdl import ShapeCastable, Shape
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SLICE_MODES", "StreamSlice", "BundleSlice"]

#: The kinds of slice (see the module docstring).
SLICE_MODES = ("full", "forward")


def _check_mode(mode):
    if mode not in SLICE_MODES:
        raise ValueError(f"stream slice mode must be one of {', '.join(map(repr, SLICE_MODES))}, not {mode!r}")


class StreamSlice(wiring.Component):
    """A register slice on one stream.

    Parameters
    ----------
    shape : shape-castable
        The payload shape (an ``int`` width, a ``data.StructLayout``, ...).
    mode : str
        ``"full"`` (skid buffer: every output and ``s.ready`` registered) or ``"forward"`` (``valid`` and
        payload registered, ``ready`` combinational).

    Attributes
    ----------
    s : In(stream.Signature(shape))
        From the producer.
    m : Out(stream.Signature(shape))
        To the consumer: the same beats in the same order, one cycle later at the earliest.
    """

    def __init__(self, shape, *, mode="full"):
        if not isinstance(shape, (int, Shape, ShapeCastable)) or isinstance(shape, bool):
            raise TypeError(f"StreamSlice shape must be a shape (a width or a layout), not {shape!r}")
        if isinstance(shape, int) and shape < 1:
            raise TypeError(f"StreamSlice shape must be a positive width, not {shape!r}")
        _check_mode(mode)
        self.shape, self.mode = shape, mode
        super().__init__({
            "s": In(stream.Signature(shape)),
            "m": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        s, out = self.s, self.m
        # The output register: ``out.valid`` and ``out.payload`` are flip-flops in both modes.
        out_free = ~out.valid | out.ready
        if self.mode == "forward":
            m.d.comb += s.ready.eq(out_free)
            with m.If(out_free):
                m.d.sync += out.valid.eq(s.valid)
                with m.If(s.valid):
                    m.d.sync += out.payload.eq(s.payload)
            return m
        # Skid buffer: ``s.ready`` is "the skid register is empty", a flip-flop.
        skid_valid = Signal()
        skid = Signal(self.shape)
        m.d.comb += s.ready.eq(~skid_valid)
        with m.If(out_free):
            with m.If(skid_valid):
                m.d.sync += [out.valid.eq(1), out.payload.eq(skid), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += out.valid.eq(s.valid)
                with m.If(s.valid):
                    m.d.sync += out.payload.eq(s.payload)
        with m.Elif(s.valid & ~skid_valid):
            # The output stalls: hold the beat accepted this cycle until the output is free.
            m.d.sync += [skid.eq(s.payload), skid_valid.eq(1)]
        return m


class BundleSlice(wiring.Component):
    """Register slices on every stream of a bundle of streams, such as a :class:`hw.protocol.MessagePort`
    (header and data streams).

    Parameters
    ----------
    signature : wiring.Signature
        The producer side of the bundle: every member an ``Out(stream.Signature(...))``.
    mode : str
        Mode of every slice (see :class:`StreamSlice`).

    Attributes
    ----------
    s : In(signature)
        From the producer.
    m : Out(signature)
        To the consumer: every stream's beats one cycle later at the earliest, each stream in order
        (the streams are sliced alike, so a header and its data beats keep their relative timing).
    """

    def __init__(self, signature, *, mode="full"):
        if not isinstance(signature, wiring.Signature) or not signature.members:
            raise TypeError(f"BundleSlice needs a signature of streams, not {signature!r}")
        for name, member in signature.members.items():
            if (not member.is_signature or member.flow != wiring.Out
                    or not isinstance(member.signature, stream.Signature)
                    or member.signature.always_valid or member.signature.always_ready):
                raise TypeError(f"BundleSlice signature member {name!r} must be Out(stream.Signature(...)) "
                                f"with valid and ready, not {member!r}")
        _check_mode(mode)
        self.bundle, self.mode = signature, mode
        super().__init__({"s": In(signature), "m": Out(signature)})

    def elaborate(self, platform):
        m = Module()
        for name, member in self.bundle.members.items():
            m.submodules[name] = sl = StreamSlice(member.signature.members["payload"].shape, mode=self.mode)
            wiring.connect(m, wiring.flipped(getattr(self.s, name)), sl.s)
            wiring.connect(m, sl.m, wiring.flipped(getattr(self.m, name)))
        return m
