"""Block-specific invariants over recorded streams.

A block's doc states rules its streams obey beyond the handshake, e.g. "a response is never sent
before its request was accepted" or "at most N requests are outstanding". They are written here as
:class:`Invariant` objects; :mod:`emu.waves.blocks` names the ones of each block, so ``disagg waves
check --block NAME`` applies them. One-off rules are given as text specs (:func:`parse_invariant`):
``outstanding:REQ:RESP[:N]``.

Counts start at zero at the first cycle out of reset (and again after every reset), so a window
used with count invariants must start at or before reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from ..errors import DisaggError
from .cycles import Cycles
from .handshake import Violation, transfers
from .streams import Stream

__all__ = ["Invariant", "MaxOutstanding", "parse_invariant"]


class Invariant:
    """A rule over the streams of one waveform. Subclasses set :attr:`name` and implement :meth:`check`."""
    name = "invariant"

    def describe(self) -> str:
        return self.name

    def check(self, cycles: Cycles, streams: list[Stream]) -> list[Violation]:
        raise NotImplementedError


def _pairs(streams, request, response):
    """(request stream, response stream) pairs in the same scope, matched by name or name suffix."""
    def matches(s, want):
        return s.name == want or s.name.endswith("." + want)
    reqs = [s for s in streams if matches(s, request)]
    pairs = []
    for req in reqs:
        scope = req.name[: len(req.name) - len(request)]
        want = response if "." in response else scope + response
        resp = next((s for s in streams if s.name == want), None)
        if resp is not None:
            pairs.append((req, resp))
    return pairs


@dataclass
class MaxOutstanding(Invariant):
    """Responses never outnumber requests, and at most ``limit`` requests are outstanding.

    A request is a beat on stream ``request``, a response a beat on ``response`` (for message ports,
    name the header streams, e.g. ``net_tx__hdr``). Both are counted in the same cycle before comparing,
    so a request answered in the cycle it is accepted is never outstanding.

    Parameters
    ----------
    request, response : str
        Stream names (as found by :func:`find_streams`, without scope, or with it).
    limit : int or None
        Most outstanding requests allowed; ``None`` checks only that responses do not exceed requests.
    """
    request: str
    response: str
    limit: int | None = None

    def __post_init__(self):
        for what in ("request", "response"):
            if not isinstance(getattr(self, what), str) or not getattr(self, what):
                raise TypeError(f"{what} stream name must be a non-empty string, not {getattr(self, what)!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or isinstance(self.limit, bool)
                                       or self.limit < 1):
            raise ValueError(f"outstanding limit must be a positive integer or None, not {self.limit!r}")

    @property
    def name(self):
        return f"outstanding({self.request}->{self.response}{'' if self.limit is None else f', max {self.limit}'})"

    def describe(self) -> str:
        text = f"{self.response} beats never exceed {self.request} beats"
        return text + ("" if self.limit is None else f"; at most {self.limit} outstanding")

    def check(self, cycles: Cycles, streams: list[Stream]) -> list[Violation]:
        pairs = _pairs(streams, self.request, self.response)
        if not pairs:
            names = ", ".join(s.name for s in streams) or "none"
            raise DisaggError(f"invariant {self.name}: no streams {self.request!r} and {self.response!r} "
                              f"in one scope (streams found: {names})")
        out = []
        for req, resp in pairs:
            sent, answered = transfers(cycles, req), transfers(cycles, resp)
            n_req = n_resp = 0
            over = False
            for k, t in enumerate(cycles.edges):
                if not cycles.active[k]:
                    n_req = n_resp = 0
                    over = False
                    continue
                n_req += sent[k]
                n_resp += answered[k]
                if n_resp > n_req:
                    out.append(Violation(t, k, "response-without-request", resp.name,
                                         f"{n_resp} {resp.short} beats after only {n_req} {req.short} beats"))
                    n_resp = n_req  # report each unmatched response once
                outstanding = n_req - n_resp
                if self.limit is not None and outstanding > self.limit and not over:
                    out.append(Violation(t, k, "too-many-outstanding", req.name,
                                         f"{outstanding} {req.short} beats outstanding (limit {self.limit}): "
                                         f"{n_req} sent, {n_resp} answered"))
                over = self.limit is not None and outstanding > self.limit
        return out


def parse_invariant(spec: str) -> Invariant:
    """An invariant from a text spec: ``outstanding:REQ:RESP`` or ``outstanding:REQ:RESP:N``."""
    parts = str(spec).split(":")
    if parts[0] == "outstanding" and len(parts) in (3, 4) and all(parts[1:3]):
        limit = None
        if len(parts) == 4:
            if not parts[3].isdigit() or int(parts[3]) < 1:
                raise DisaggError(f"bad invariant {spec!r}: the limit must be a positive integer")
            limit = int(parts[3])
        return MaxOutstanding(parts[1], parts[2], limit)
    raise DisaggError(f"bad invariant {spec!r}: expected outstanding:REQ:RESP or outstanding:REQ:RESP:N")

