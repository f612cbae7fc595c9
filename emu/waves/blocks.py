"""The invariants that block docs state, registered by block name (see :mod:`emu.waves.invariants`).

Each factory takes the block's configuration dict (empty for the default) and cites where the rule is
stated. Block modules are imported only when their invariants are asked for.
"""

from ..errors import DisaggError
from .invariants import MaxOutstanding, register_block


def _excache(params):
    """ExCache (``hw/processor/excache.py``, ``hw/processor/excache_controller.py``, ``hw/processor/miss_handler.py``).

    * ``cpu_resp`` answers ``cpu_req`` in request order, one answer per access, and the hit pipeline
      holds at most ``HIT_LATENCY`` accesses (accept -> S1 -> S2): at most that many are outstanding.
    * The miss handler keeps one network request outstanding at a time ("the next header on ``net_rx``
      is taken as its response"): at most one ``net_tx`` header unanswered on ``net_rx``.

    ``params`` may override ``cpu_outstanding`` and ``net_outstanding``.
    """
    try:
        from hw.processor.excache_controller import HIT_LATENCY
    except ImportError as exc:
        raise DisaggError(f"the ExCache RTL is not importable here ({exc})") from None
    return [
        MaxOutstanding("cpu_req", "cpu_resp", int(params.get("cpu_outstanding", HIT_LATENCY))),
        MaxOutstanding("net_tx__hdr", "net_rx__hdr", int(params.get("net_outstanding", 1))),
    ]


register_block("excache", _excache, "cpu_resp <= cpu_req with at most HIT_LATENCY outstanding; "
                                    "one net_tx request outstanding")
