"""Find the valid/ready streams of a waveform from their signal names.

Three naming conventions are recognised, in each scope of the hierarchy:

* Amaranth streams (``amaranth.lib.stream``), flattened to Verilog or dumped by ``amaranth.sim``:
  ``<name>__valid``, ``<name>__ready``, ``<name>__payload`` (or only its fields ``<name>__payload.<f>``).
  Nested interfaces keep their path, e.g. ``net_tx__hdr__valid`` is stream ``net_tx__hdr``.
* AXI4-Stream: ``<prefix>tvalid``, ``<prefix>tready`` with payload ``tdata``, ``tkeep``, ``tstrb``,
  ``tlast``, ``tid``, ``tdest``, ``tuser`` (``s_axis_tvalid`` is stream ``s_axis``).
* AXI4 / AXI4-Lite channels: ``<prefix>{aw,w,b,ar,r}valid`` / ``...ready`` with the channel's own
  payload signals (``m_axi_arvalid`` is stream ``m_axi_ar``).

A stream without a ready signal (``always_ready``) has no handshake to check and is not listed. Copies of
one net (Verilator dumps a top port both in ``TOP`` or ``$rootio`` and in the top module, with one or
two identifier codes) are listed once, preferring the design's own scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .reader import Waveform, Trace

__all__ = ["Stream", "find_streams", "AXI_CHANNEL_PAYLOAD", "AXIS_PAYLOAD"]

AXIS_PAYLOAD = ("tdata", "tkeep", "tstrb", "tlast", "tid", "tdest", "tuser")

#: Payload signals of each AXI4 channel, after the channel prefix (``m_axi_`` + ``aw`` + ``addr``).
AXI_CHANNEL_PAYLOAD = {
    "aw": ("addr", "len", "size", "burst", "lock", "cache", "prot", "qos", "region", "id", "user"),
    "ar": ("addr", "len", "size", "burst", "lock", "cache", "prot", "qos", "region", "id", "user"),
    "w": ("data", "strb", "last", "id", "user"),
    "b": ("resp", "id", "user"),
    "r": ("data", "resp", "last", "id", "user"),
}


@dataclass
class Stream:
    """One valid/ready stream found in a waveform.

    Parameters
    ----------
    name : str
        Hierarchical name of the stream (scope + prefix), e.g. ``TOP.dut.cpu_req``.
    convention : str
        ``"amaranth"``, ``"axis"`` or ``"axi"``.
    valid, ready : Trace
    payload : list of Trace
        The signals that must hold still while a beat waits (may be empty).
    """
    name: str
    convention: str
    valid: Trace
    ready: Trace
    payload: list = field(default_factory=list)

    @property
    def short(self) -> str:
        """The stream's name without its scope (``cpu_req``)."""
        return self.name.rsplit(".", 1)[-1]


def _amaranth(scope, leaf, by_leaf):
    if not leaf.endswith("__valid"):
        return None
    prefix = leaf[: -len("__valid")]
    ready = by_leaf.get(prefix + "__ready")
    if ready is None:
        return None
    whole = by_leaf.get(prefix + "__payload")
    if whole is not None:
        payload = [whole]
    else:
        payload = [t for l, t in by_leaf.items() if l.startswith(prefix + "__payload.")]
    return prefix, "amaranth", ready, payload


def _axis(scope, leaf, by_leaf):
    if not leaf.endswith("tvalid"):
        return None
    prefix = leaf[: -len("tvalid")]
    ready = by_leaf.get(prefix + "tready")
    if ready is None:
        return None
    payload = [by_leaf[prefix + p] for p in AXIS_PAYLOAD if prefix + p in by_leaf]
    return prefix.rstrip("_") or "axis", "axis", ready, payload


def _axi(scope, leaf, by_leaf):
    # aw/ar before w/r: "awvalid" also ends with "wvalid".
    for channel in ("aw", "ar", "w", "b", "r"):
        if leaf.endswith(channel + "valid"):
            prefix = leaf[: -len("valid")]
            ready = by_leaf.get(prefix + "ready")
            if ready is None:
                return None
            payload = [by_leaf[prefix + p] for p in AXI_CHANNEL_PAYLOAD[channel] if prefix + p in by_leaf]
            return prefix, "axi", ready, payload
    return None


def _is_copy_scope(scope: str) -> bool:
    return any(part.startswith("$") for part in scope.split("."))


def find_streams(wave: Waveform) -> list[Stream]:
    """All valid/ready streams in ``wave``, scope by scope in declaration order."""
    scopes: dict[str, dict[str, Trace]] = {}
    for trace in wave.traces.values():
        scopes.setdefault(trace.scope, {})[trace.leaf] = trace
    streams, seen, copies = [], set(), {}
    # Simulator-made scopes (Verilator's "$rootio" copy of the top ports) go last, so the design's scope wins.
    for scope, by_leaf in sorted(scopes.items(), key=lambda item: _is_copy_scope(item[0])):
        for leaf, valid in by_leaf.items():
            if valid.width != 1:
                continue
            for rule in (_amaranth, _axis, _axi):
                found = rule(scope, leaf, by_leaf)
                if found is None:
                    continue
                prefix, convention, ready, payload = found
                key = (valid.ident, ready.ident)
                # The same net dumped twice under different codes has the same changes: check it once.
                copy = (prefix, tuple(valid.changes), tuple(ready.changes))
                if key not in seen and copy not in copies:
                    seen.add(key)
                    copies[copy] = True
                    name = f"{scope}.{prefix}" if scope else prefix
                    streams.append(Stream(name, convention, valid, ready, payload))
                break
    return streams
