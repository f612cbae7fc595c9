"""hw.lib.checks: the shared parameter checks."""

import pytest

from hw.lib.checks import ParameterTypeError, check_int, check_pow2, is_pow2, log2


def test_accepts_and_returns_the_value():
    assert check_int("x", 5, 1, 8) == 5
    assert check_int("x", -3) == -3
    assert check_pow2("x", 64, 8, 512) == 64
    assert log2(4096) == 12


@pytest.mark.parametrize("value", [True, False, 2.0, "4", None])
def test_non_integers_are_type_errors(value):
    with pytest.raises(TypeError, match=f"x must be an integer, not {value!r}"):
        check_int("x", value)
    with pytest.raises(ParameterTypeError, match=f"x must be a power of two, not {value!r}"):
        check_pow2("x", value)


def test_type_errors_are_also_value_errors():
    # Configuration readers catch ValueError for any bad parameter.
    with pytest.raises(ValueError):
        check_int("x", "1")


@pytest.mark.parametrize("check, args, text", [
    (check_int, (0, 1, 8), "x must be an integer from 1 to 8, not 0"),
    (check_int, (9, None, 8), "x must be an integer of at most 8, not 9"),
    (check_int, (-1, 0, None), "x must be an integer of at least 0, not -1"),
    (check_pow2, (12, None, None), "x must be a power of two, not 12"),
    (check_pow2, (0, None, None), "x must be a power of two, not 0"),
    (check_pow2, (4, 8, 64), "x must be a power of two from 8 to 64, not 4"),
])
def test_out_of_range_is_a_value_error(check, args, text):
    with pytest.raises(ValueError, match=text) as info:
        check("x", *args)
    assert not isinstance(info.value, TypeError)


def test_is_pow2_rejects_bools():
    assert [is_pow2(v) for v in (1, 2, 3, 0, -4, True, 8.0)] == [True, True, False, False, False, False, False]
