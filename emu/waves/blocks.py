"""The invariants that block docs state, by block name: ``disagg waves check --block NAME``.

:data:`BLOCKS` is written out here, one entry per block (no registration as an import side effect):
each factory takes the block's configuration dict (empty for the default) and cites where the rule is
stated. Block RTL modules are imported only when their invariants are asked for. Tools and tests add
their own blocks with :func:`register_block`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import DisaggError
from .invariants import Invariant, MaxOutstanding

__all__ = ["BLOCKS", "register_block", "known_blocks", "block_invariants"]


def _excache(params):
    """ExCache (``hw/processor/excache.py``, ``hw/processor/excache_controller.py``, ``hw/processor/miss_handler.py``).

    * ``cpu_resp`` answers ``cpu_req`` in request order, one answer per access, and the hit pipeline
      holds at most ``HIT_LATENCY`` accesses (S0 -> S1 -> S2): at most that many are outstanding.
    * The miss handler keeps at most two network requests outstanding (a dirty victim's LINE_WRITE and the
      LINE_READ sent behind it, answered in order): at most two ``net_tx`` headers unanswered on ``net_rx``.

    ``params`` may override ``cpu_outstanding`` and ``net_outstanding``.
    """
    try:
        from hw.processor.excache_controller import HIT_LATENCY
    except ImportError as exc:
        raise DisaggError(f"the ExCache RTL is not importable here ({exc})") from None
    return [
        MaxOutstanding("cpu_req", "cpu_resp", int(params.get("cpu_outstanding", HIT_LATENCY))),
        MaxOutstanding("net_tx__hdr", "net_rx__hdr", int(params.get("net_outstanding", 2))),
    ]


#: Block name -> (``factory(params) -> [Invariant, ...]``, one-line description).
BLOCKS: dict[str, tuple[Callable[[dict], list[Invariant]], str]] = {
    "excache": (_excache, "cpu_resp <= cpu_req with at most HIT_LATENCY outstanding; at most two net_tx requests outstanding"),
}


def register_block(block: str, factory: Callable[[dict], list[Invariant]], doc: str = "") -> None:
    """Add (or replace) the invariants of ``block`` in :data:`BLOCKS`.

    ``params`` is the block's configuration (for example the number of outstanding misses); factories
    must work with an empty dict, using the block's default configuration.
    """
    if not isinstance(block, str) or not block:
        raise TypeError(f"block name must be a non-empty string, not {block!r}")
    if not callable(factory):
        raise TypeError(f"invariant factory must be callable, not {factory!r}")
    BLOCKS[block] = (factory, doc)


def known_blocks() -> dict[str, str]:
    """Block names and their one-line descriptions."""
    return {name: doc for name, (_, doc) in sorted(BLOCKS.items())}


def block_invariants(block: str, params: dict | None = None) -> list[Invariant]:
    """The invariants of ``block``, built for configuration ``params``."""
    if block not in BLOCKS:
        raise DisaggError(f"no invariants registered for block {block!r}; known: "
                          f"{', '.join(sorted(BLOCKS)) or 'none'}")
    return list(BLOCKS[block][0](dict(params or {})))
