"""VCD value strings: unknown-state tests and hexadecimal formatting."""

from __future__ import annotations

__all__ = ["has_xz", "to_int", "to_hex", "extend"]


def has_xz(value: str) -> bool:
    """Whether any bit of ``value`` is x or z (unknown or undriven)."""
    return any(c not in "01" for c in value)


def extend(value: str, width: int) -> str:
    """VCD left-extension of a binary string to ``width`` bits (x and z extend, 0 and 1 extend with 0)."""
    if len(value) >= width:
        return value[-width:] if width else value
    pad = value[0] if value and value[0] in "xz" else "0"
    return pad * (width - len(value)) + value


def to_int(value: str) -> int | None:
    """The integer value, or ``None`` if any bit is x or z."""
    if not value or has_xz(value):
        return None
    return int(value, 2)


def to_hex(value: str, width: int) -> str:
    """Hexadecimal digits of ``value`` (``width`` bits); a digit with an x bit prints ``x``, z prints ``z``."""
    digits = max(1, (width + 3) // 4)
    bits = extend(extend(value, width), digits * 4)
    out = []
    for i in range(digits):
        nibble = bits[4 * i: 4 * i + 4]
        if "x" in nibble:
            out.append("x")
        elif "z" in nibble:
            out.append("z")
        else:
            out.append(format(int(nibble, 2), "x"))
    return "".join(out)
