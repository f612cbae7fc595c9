"""The fast emulation harness: a Verilated system top plus a C++ driver loop, loaded with ctypes.

* :mod:`.codegen` generates the C++ port and record headers from the Amaranth layouts;
* :mod:`.build` compiles and caches a model per configuration (``build/harness/<key>/``);
* :mod:`.model` is the ctypes binding (:class:`HarnessModel`);
* :mod:`.layouts` holds the result and statistics records shared with C++.

See ``docs/harness.md``.
"""

from .build import BuiltModel, build_model
from .layouts import RESULT_DTYPE, STATS_DTYPE, RunStatus
from .model import HarnessModel, new_results

__all__ = ["BuiltModel", "build_model", "HarnessModel", "new_results", "RESULT_DTYPE", "STATS_DTYPE", "RunStatus"]
