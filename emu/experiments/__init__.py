"""Long reproductions of published results (``disagg sweep --preset NAME``); not part of the default tests."""
