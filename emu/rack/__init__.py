"""The rack in the fast harness: a compiled ``RackTop`` driven from Python (docs/rack.md, "The rack in the fast
harness").

* :mod:`.bench`: :class:`FastRackBench`, the compiled rack with its firmware and golden model;
* :mod:`.run`: ``disagg run --topology PxM`` on it;
* :mod:`.failover`: a memory-component failure scenario and the failure campaign.
"""
