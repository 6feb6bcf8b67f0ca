"""Arithmetic primitives: results, exactness, contagion, chained comparisons and error messages."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omega_core.errors import BudgetExceeded, EvalError
from omega_core.lang.machine import Machine
from omega_core.lang.primitives import all_primitives
from omega_core.lang.values import NIL, make_list, sym

PRIMS = all_primitives()


def call(name: str, *args: Any) -> Any:
    prim = PRIMS[name]
    return prim.fn(Machine(), *args) if prim.needs_machine else prim.fn(*args)


def same(actual: Any, expected: Any) -> bool:
    """Equal value AND same type: exactness is part of the contract (1 is not 1.0)."""
    if type(expected) is float and math.isnan(expected):
        return type(actual) is float and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


def fails(name: str, *args: Any) -> str:
    with pytest.raises(EvalError) as info:
        call(name, *args)
    return info.value.message


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("+", (), 0),
        ("+", (1, 2, 3), 6),
        ("+", (1, 2.5), 3.5),
        ("+", (0.1, 0.2), 0.30000000000000004),
        ("*", (), 1),
        ("*", (2, 3, 4), 24),
        ("*", (2, 0.5), 1.0),
        ("-", (5,), -5),
        ("-", (2.5,), -2.5),
        ("-", (10, 1, 2), 7),
        ("-", (10, 0.5), 9.5),
        ("/", (10, 2), 5),
        ("/", (10, 4), 2.5),
        ("/", (1, 3), 1 / 3),
        ("/", (2,), 0.5),
        ("/", (1,), 1),
        ("/", (-1,), -1),
        ("/", (10.0, 2), 5.0),
        ("/", (120, 2, 3, 4), 5),
        ("modulo", (7, 2), 1),
        ("modulo", (-7, 2), 1),
        ("modulo", (7, -2), -1),
        ("modulo", (-7, -2), -1),
        ("modulo", (5.5, 2), 1.5),
        ("modulo", (-5.5, 2), 0.5),
        ("remainder", (7, 2), 1),
        ("remainder", (-7, 2), -1),
        ("remainder", (7, -2), 1),
        ("remainder", (-7.0, 2), -1.0),
        ("quotient", (7, 2), 3),
        ("quotient", (-7, 2), -3),
        ("quotient", (7, -2), -3),
        ("quotient", (-7, -2), 3),
        ("quotient", (7.0, 2), 3.0),
        ("quotient", (-7.5, 2), -3.0),
        ("abs", (-5,), 5),
        ("abs", (-2.5,), 2.5),
        ("abs", (3,), 3),
        ("min", (3, 1, 2), 1),
        ("min", (3, 1, 2.0), 1.0),
        ("max", (1, 5, 3), 5),
        ("max", (1.5, 5), 5.0),
        ("max", (7,), 7),
        ("expt", (2, 10), 1024),
        ("expt", (2, 0), 1),
        ("expt", (0, 0), 1),
        ("expt", (-2, 3), -8),
        ("expt", (2, -1), 0.5),
        ("expt", (2.0, 3), 8.0),
        ("expt", (4, 0.5), 2.0),
        ("expt", (-8.0, 3.0), -512.0),
        ("sqrt", (16,), 4),
        ("sqrt", (0,), 0),
        ("sqrt", (2,), math.sqrt(2)),
        ("sqrt", (16.0,), 4.0),
        ("sqrt", (2.25,), 1.5),
        ("floor", (2.7,), 2),
        ("floor", (-2.5,), -3),
        ("floor", (5,), 5),
        ("ceiling", (2.1,), 3),
        ("ceiling", (-2.5,), -2),
        ("ceiling", (5,), 5),
        ("round", (2.5,), 2),
        ("round", (3.5,), 4),
        ("round", (-2.5,), -2),
        ("round", (2.6,), 3),
        ("round", (7,), 7),
        ("even?", (4,), True),
        ("even?", (-3,), False),
        ("even?", (0,), True),
        ("odd?", (3,), True),
        ("odd?", (-3,), True),
        ("odd?", (4,), False),
        ("zero?", (0,), True),
        ("zero?", (0.0,), True),
        ("zero?", (-0.0,), True),
        ("zero?", (1,), False),
    ],
)
def test_results(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert same(call(name, *args), expected)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("=", (1,), True),
        ("=", (1, 1, 1), True),
        ("=", (1, 1.0), True),
        ("=", (1, 1, 2), False),
        ("<", (1, 2, 3), True),
        ("<", (1, 3, 2), False),
        ("<", (1, 1), False),
        (">", (3, 2, 1), True),
        (">", (3, 2, 2), False),
        ("<=", (1, 1, 2), True),
        ("<=", (2, 1), False),
        (">=", (2, 2, 1), True),
        (">=", (1, 2), False),
        ("<", (1, 2.5, 3), True),
        ("=", (math.nan, math.nan), False),
    ],
)
def test_chained_comparisons(name: str, args: tuple[Any, ...], expected: bool) -> None:
    assert call(name, *args) is expected


def test_huge_integers_stay_exact() -> None:
    big = 2**200
    assert call("+", big, 1) == 2**200 + 1
    assert call("*", big, big) == 2**400
    assert call("-", big, big) == 0
    assert call("/", 2**400, big) == big
    assert same(call("expt", 10, 30), 10**30)
    assert call("quotient", 10**40 + 7, 10**20) == 10**20
    assert call("remainder", -(10**40 + 7), 10**20) == -7
    assert call("modulo", -(10**40 + 7), 10**20) == 10**20 - 7
    assert same(call("sqrt", 10**400), 10**200)
    assert call("<", 2**1100, math.inf) is True
    assert call(">", 2**1100, 1e308) is True
    assert call("=", 2**53 + 1, float(2**53)) is False  # compared exactly, not through floats


def test_huge_int_to_decimal_conversion_is_a_clear_error() -> None:
    big = 10**400
    for name, args in [("+", (big, 1.5)), ("*", (0.5, big)), ("-", (1.0, big)), ("/", (big, 3.0)),
                       ("max", (big, 1.0)), ("expt", (big, 0.5))]:
        assert fails(name, *args) == f"{name}: an integer is too large to convert to a decimal"
    assert fails("/", 10**400 + 1, 3) == "/: the result is too large for a decimal"
    assert same(call("/", 1, 10**400), 0.0)  # tiny, not an error


def test_decimal_overflow_gives_infinity() -> None:
    assert same(call("expt", 10.0, 400), math.inf)
    assert same(call("expt", -10.0, 401), -math.inf)
    assert same(call("expt", -10.0, 400.0), math.inf)
    assert same(call("*", 1e308, 10), math.inf)
    assert same(call("+", 1e308, 1e308), math.inf)
    assert same(call("sqrt", math.inf), math.inf)


def test_expt_limits_exact_results() -> None:
    assert call("expt", 2, 60_000) == 2**60_000
    with pytest.raises(BudgetExceeded) as info:  # past [language] max_integer_bits (the default)
        call("expt", 10, 10**10)
    assert "integer size budget exceeded" in info.value.message and "max_integer_bits" in info.value.message
    assert same(call("expt", 1, 10**30), 1)
    assert same(call("expt", -1, 10**30 + 1), -1)
    assert same(call("expt", 0, 10**30), 0)
    assert same(call("expt", 10, -(10**10)), 0.0)


def test_sqrt_of_huge_non_square() -> None:
    result = call("sqrt", 10**401)
    assert type(result) is float and math.isclose(result, math.sqrt(10) * 1e200)


@pytest.mark.parametrize("name", ["/", "modulo", "remainder", "quotient"])
def test_division_by_zero(name: str) -> None:
    assert fails(name, 1, 0) == f"{name}: division by zero"
    assert fails(name, 1.5, 0.0) == f"{name}: division by zero"
    assert fails(name, 1, -0.0) == f"{name}: division by zero"


def test_division_by_zero_variants() -> None:
    assert fails("/", 0) == "/: division by zero"
    assert fails("/", 0.0) == "/: division by zero"
    assert fails("/", 6, 2, 0) == "/: division by zero"
    assert fails("expt", 0, -1) == "expt: division by zero"
    assert fails("expt", 0.0, -2.5) == "expt: division by zero"


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("+", (1, "abc"), '+: expected a number, got "abc" (string)'),
        ("+", (1, True), "+: expected a number, got #t (boolean)"),
        ("-", (False,), "-: expected a number, got #f (boolean)"),
        ("*", (2, NIL), "*: expected a number, got null (empty list)"),
        ("/", (sym("x"), 2), "/: expected a number, got x (symbol)"),
        ("<", (1, 2, "3"), '<: expected a number, got "3" (string)'),
        ("=", (make_list([1, 2]),), "=: expected a number, got (1 2) (list)"),
        ("modulo", (7, "2"), 'modulo: expected a number, got "2" (string)'),
        ("quotient", (math.inf, 2), "quotient: expected a finite number, got +inf.0 (decimal)"),
        ("abs", ("x",), 'abs: expected a number, got "x" (string)'),
        ("min", (1, "2"), 'min: expected a number, got "2" (string)'),
        ("max", (True,), "max: expected a number, got #t (boolean)"),
        ("expt", ("2", 2), 'expt: expected a number, got "2" (string)'),
        ("sqrt", (-4,), "sqrt: expected a non-negative number, got -4 (integer)"),
        ("sqrt", (-0.25,), "sqrt: expected a non-negative number, got -0.25 (decimal)"),
        ("floor", ("1",), 'floor: expected a number, got "1" (string)'),
        ("round", (math.nan,), "round: expected a finite number, got +nan.0 (decimal)"),
        ("ceiling", (-math.inf,), "ceiling: expected a finite number, got -inf.0 (decimal)"),
        ("even?", (2.5,), "even?: expected an integer, got 2.5 (decimal)"),
        ("odd?", (2.0,), "odd?: expected an integer, got 2.0 (decimal)"),
        ("zero?", (NIL,), "zero?: expected a number, got null (empty list)"),
    ],
)
def test_type_errors(name: str, args: tuple[Any, ...], message: str) -> None:
    assert fails(name, *args) == message


def test_fractional_power_of_negative_is_an_error() -> None:
    assert fails("expt", -8, 0.5) == (
        "expt: a negative base to a fractional power has no real result (got -8.0 and 0.5)"
    )


def test_error_shows_long_values_cut() -> None:
    message = fails("+", make_list(range(1000)))
    assert message.startswith("+: expected a number, got (0 1 2 3 ")
    assert message.endswith("... (list)") and len(message) < 120


def test_arity_metadata() -> None:
    expected = {
        "+": (0, None), "*": (0, None), "-": (1, None), "/": (1, None), "=": (1, None),
        "<": (1, None), "modulo": (2, 2), "expt": (2, 2), "sqrt": (1, 1), "round": (1, 1),
        "min": (1, None), "max": (1, None), "even?": (1, 1),
    }
    for name, (low, high) in expected.items():
        prim = PRIMS[name]
        # ``*`` and ``expt`` see the machine: they check the integer budget before computing
        assert (prim.name, prim.min_args, prim.max_args, prim.needs_machine) == (name, low, high, name in ("*", "expt"))


ints = st.integers(min_value=-(10**30), max_value=10**30)


@given(ints, ints.filter(lambda n: n != 0))
def test_quotient_remainder_modulo_identities(a: int, b: int) -> None:
    q = call("quotient", a, b)
    r = call("remainder", a, b)
    m = call("modulo", a, b)
    assert q * b + r == a and abs(r) < abs(b) and (r == 0 or (r > 0) == (a > 0))
    assert (m - r) % b == 0 and abs(m) < abs(b) and (m == 0 or (m > 0) == (b > 0))


@given(ints, ints.filter(lambda n: n != 0))
def test_exact_division_when_it_divides(a: int, b: int) -> None:
    result = call("/", a * b, b)
    assert same(result, a)
