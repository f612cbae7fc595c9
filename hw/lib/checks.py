"""Parameter checks shared by every block: one wording, one rule for bools, one place to change.

Every check names what it checks (``what``, e.g. ``"MMUParams.tlb_ways"`` or ``"TLB ways"``) and raises

* :class:`ParameterTypeError` when the value is not an integer (a ``bool`` is not an integer here,
  although Python says it is: ``tlb_ways=True`` is a mistake, not 1);
* :class:`ValueError` when it is an integer outside the allowed set.

Messages end in ``..., not {value!r}`` like every other argument check of the project.

:class:`ParameterTypeError` is a :class:`TypeError` *and* a :class:`ValueError`: callers that turn bad
configuration into a one-line user error catch ``ValueError`` (some blocks always did, for wrong types
too), and callers that distinguish the two still can.
"""

__all__ = ["ParameterTypeError", "is_int", "is_pow2", "check_int", "check_pow2", "log2"]


class ParameterTypeError(TypeError, ValueError):
    """A parameter that must be an integer is not one (see the module docstring)."""


def is_int(value):
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_pow2(value):
    """True for a positive integer power of two (``1, 2, 4, ...``); False for bools and non-integers."""
    return is_int(value) and value > 0 and value & (value - 1) == 0


def _range_text(lo, hi):
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" of at least {lo}"
    if hi is not None:
        return f" of at most {hi}"
    return ""


def check_int(what, value, lo=None, hi=None):
    """Check that ``value`` is an integer in ``lo .. hi`` (both inclusive, either may be None).

    Returns
    -------
    int
        ``value``, so that a check can be used inline.
    """
    if not is_int(value):
        raise ParameterTypeError(f"{what} must be an integer, not {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{what} must be an integer{_range_text(lo, hi)}, not {value!r}")
    return value


def check_pow2(what, value, lo=None, hi=None):
    """Check that ``value`` is a power of two in ``lo .. hi`` (both inclusive, either may be None).

    Returns
    -------
    int
        ``value``.
    """
    if not is_int(value):
        raise ParameterTypeError(f"{what} must be a power of two, not {value!r}")
    if not is_pow2(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{what} must be a power of two{_range_text(lo, hi)}, not {value!r}")
    return value


def log2(value):
    """Exact base-2 logarithm of a power of two (checked)."""
    check_pow2("log2 argument", value)
    return value.bit_length() - 1
