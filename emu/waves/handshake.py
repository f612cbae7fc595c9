"""The valid/ready handshake rules, checked cycle by cycle on a sampled waveform.

A beat moves in a cycle where ``valid`` and ``ready`` are both 1 at the rising edge. Once a source
raises ``valid`` it must keep it, and keep the payload unchanged, until the beat moves (AXI4 A3.2.1,
and the contract of ``amaranth.lib.stream``). The rules, checked only in cycles out of reset:

``x-valid`` / ``x-ready``
    ``valid`` or ``ready`` is x or z (reported once per run of unknown cycles).
``valid-retracted``
    ``valid`` was 1 and ``ready`` 0 in the previous cycle, and ``valid`` is 0 now: the beat vanished.
``payload-changed``
    ``valid`` was 1 and ``ready`` 0 in the previous cycle, and a payload signal differs now.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cycles import Cycles
from .streams import Stream
from .values import extend, has_xz, to_hex

__all__ = ["Violation", "check_stream", "transfers"]


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Parameters
    ----------
    time : int
        VCD time of the rising edge where it is seen.
    cycle : int
        Index of that edge in the file (0 = first rising edge).
    rule : str
        Short rule name, e.g. ``valid-retracted``.
    signal : str
        The signal (or stream) at fault.
    detail : str
        The values involved.
    """
    time: int
    cycle: int
    rule: str
    signal: str
    detail: str

    def format(self, cycles: Cycles) -> str:
        return f"{cycles.wave.format_time(self.time)} (cycle {self.cycle}) {self.signal}: {self.rule}: {self.detail}"


def transfers(cycles: Cycles, stream: Stream) -> list[bool]:
    """Per cycle, whether a beat moved (valid and ready both 1, out of reset)."""
    v, r = cycles.sample(stream.valid), cycles.sample(stream.ready)
    return [a and vv == "1" and rr == "1" for a, vv, rr in zip(cycles.active, v, r)]


def check_stream(cycles: Cycles, stream: Stream) -> list[Violation]:
    """All handshake violations of ``stream``."""
    out = []
    valid, ready = cycles.sample(stream.valid), cycles.sample(stream.ready)
    payloads = [(t, cycles.sample(t)) for t in stream.payload]
    edges, active = cycles.edges, cycles.active
    prev_x = {"valid": False, "ready": False}
    for k in range(len(edges)):
        if not active[k]:
            prev_x = {"valid": False, "ready": False}
            continue
        t = edges[k]
        for role, trace, values in (("valid", stream.valid, valid), ("ready", stream.ready, ready)):
            x = has_xz(values[k])
            if x and not prev_x[role]:
                out.append(Violation(t, k, f"x-{role}", trace.name,
                                     f"{role} is {values[k]} out of reset (stream {stream.name})"))
            prev_x[role] = x
        if k == 0 or not active[k - 1]:
            continue
        if not (valid[k - 1] == "1" and ready[k - 1] == "0"):
            continue
        # A beat was offered and not taken at edge k-1: it must still be there, unchanged.
        if valid[k] != "1":  # an x here is reported as x-valid above
            if valid[k] == "0":
                out.append(Violation(t, k, "valid-retracted", stream.valid.name,
                                     f"valid went 1 -> 0 while ready was 0 (beat not taken; stream {stream.name})"))
            continue
        for trace, values in payloads:
            if extend(values[k], trace.width) != extend(values[k - 1], trace.width):
                out.append(Violation(t, k, "payload-changed", trace.name,
                                     f"0x{to_hex(values[k - 1], trace.width)} -> "
                                     f"0x{to_hex(values[k], trace.width)} while valid=1 and ready=0 "
                                     f"(stream {stream.name})"))
    return out
