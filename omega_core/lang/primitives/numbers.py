"""Arithmetic and numeric comparison.

Integers are exact Python ints of any size; a decimal operand makes the result a decimal (float).
Nothing is ever coerced: a boolean or a string where a number belongs is an error, never NaN.
Division by zero is an error for integers and decimals alike. Python raises ``OverflowError`` when
a huge integer meets a decimal; that becomes a clear error, while a decimal result that overflows
(``expt`` of a decimal) becomes an infinity, as decimal arithmetic does everywhere else.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

from omega_core.errors import EvalError
from omega_core.lang.budgets import integer_bits_of_product
from omega_core.lang.primitives import _checks as check
from omega_core.lang.printer import write_string
from omega_core.lang.primitives._registry import primitive

Number = int | float


def _numbers(who: str, args: tuple[Any, ...]) -> tuple[Number, ...]:
    """Check every argument before computing, so the message names the first bad one."""
    for arg in args:
        check.number(who, arg)
    return args


def _zero_division(who: str) -> EvalError:
    return EvalError(f"{who}: division by zero")


def _too_large(who: str) -> EvalError:
    return EvalError(f"{who}: an integer is too large to convert to a decimal")


def _to_float(who: str, value: Number) -> float:
    try:
        return float(value)
    except OverflowError:
        raise _too_large(who) from None


def _fold(who: str, args: tuple[Number, ...], op: Callable[[Any, Any], Any]) -> Number:
    """Left fold of ``op``, mapping int-to-float overflow to a clear error."""
    result = args[0]
    try:
        for arg in args[1:]:
            result = op(result, arg)
    except OverflowError:
        raise _too_large(who) from None
    return result


@primitive("+", 0, None)
def add(*args: Any) -> Number:
    """Sum; ``(+)`` is 0."""
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:  # the common case, without the general checks
            return a + b
    return _fold("+", _numbers("+", args), operator.add) if args else 0


@primitive("*", 0, None, needs_machine=True)
def multiply(m: Any, *args: Any) -> Number:
    """Product; ``(*)`` is 1. The size of an integer product is checked against the integer budget
    before multiplying (repeated squaring must stop at the budget, not after minutes)."""
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:  # the common case, without the general checks
            if a.bit_length() + b.bit_length() > m.max_integer_bits:
                return _budgeted_product(m, (a, b))
            return a * b
    _numbers("*", args)
    integers = tuple(arg for arg in args if type(arg) is int)
    if len(integers) > 1 and integer_bits_of_product(integers) > m.max_integer_bits:
        _budgeted_product(m, integers)
    return _fold("*", args, operator.mul) if args else 1


def _budgeted_product(m: Any, factors: tuple[int, ...]) -> int:
    """A product whose size bound passes the integer budget: refused before multiplying when even
    its smallest possible size does; computed and measured when it might just fit."""
    bound = integer_bits_of_product(factors)
    if bound - (len(factors) - 1) > m.max_integer_bits:
        m.check_integer_bits(bound, "*")
    result = math.prod(factors)
    m.check_integer_bits(result.bit_length(), "*")
    return result


@primitive("-", 1, None)
def subtract(*args: Any) -> Number:
    """Difference left to right; ``(- x)`` negates."""
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:  # the common case, without the general checks
            return a - b
    _numbers("-", args)
    if len(args) == 1:
        return -args[0]
    return _fold("-", args, operator.sub)


def _divide(who: str, a: Number, b: Number) -> Number:
    """Exact when two integers divide evenly, a decimal otherwise."""
    if b == 0:
        raise _zero_division(who)
    if type(a) is int and type(b) is int:
        quotient, remainder = divmod(a, b)
        if remainder == 0:
            return quotient
        try:
            return a / b  # correctly rounded, even for huge operands
        except OverflowError:
            raise EvalError(f"{who}: the result is too large for a decimal") from None
    try:
        return a / b
    except OverflowError:
        raise _too_large(who) from None


@primitive("/", 1, None)
def divide(*args: Any) -> Number:
    """Quotient left to right; ``(/ x)`` is ``1/x``."""
    _numbers("/", args)
    if len(args) == 1:
        return _divide("/", 1, args[0])
    result = args[0]
    for arg in args[1:]:
        result = _divide("/", result, arg)
    return result


def _division_operands(who: str, a: Any, b: Any) -> tuple[Number, Number]:
    """Operands of quotient/remainder/modulo: numbers, finite, divisor non-zero; floats if mixed."""
    check.number(who, a)
    check.number(who, b)
    for value in (a, b):
        if type(value) is float and not math.isfinite(value):
            raise check.type_error(who, "a finite number", value)
    if b == 0:
        raise _zero_division(who)
    if type(a) is float or type(b) is float:
        return _to_float(who, a), _to_float(who, b)
    return a, b


@primitive("quotient", 2)
def quotient(a: Any, b: Any) -> Number:
    """Integer quotient truncated toward zero."""
    x, y = _division_operands("quotient", a, b)
    if type(x) is int:
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q
    return float(round((x - math.fmod(x, y)) / y))


@primitive("remainder", 2)
def remainder(a: Any, b: Any) -> Number:
    """Remainder with the sign of the dividend (``(remainder -7 2)`` is -1)."""
    x, y = _division_operands("remainder", a, b)
    if type(x) is int:
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    return math.fmod(x, y)


@primitive("modulo", 2)
def modulo(a: Any, b: Any) -> Number:
    """Remainder with the sign of the divisor (``(modulo -7 2)`` is 1); Python's ``%`` is exactly that."""
    x, y = _division_operands("modulo", a, b)
    return x % y


@primitive("abs", 1)
def absolute(x: Any) -> Number:
    return abs(check.number("abs", x))


def _extremum(who: str, args: tuple[Any, ...], pick: Callable[..., Number]) -> Number:
    """``min``/``max``: a decimal if any argument is one; NaN wins, as in IEEE arithmetic."""
    _numbers(who, args)
    if any(type(a) is float and a != a for a in args):
        return math.nan
    result = pick(args)
    if type(result) is int and any(type(a) is float for a in args):
        return _to_float(who, result)
    return result


@primitive("min", 1, None)
def minimum(*args: Any) -> Number:
    return _extremum("min", args, min)


@primitive("max", 1, None)
def maximum(*args: Any) -> Number:
    return _extremum("max", args, max)


@primitive("expt", 2, needs_machine=True)
def expt(m: Any, base: Any, exponent: Any) -> Number:
    """Exact for an integer to a non-negative integer power; a decimal otherwise."""
    check.number("expt", base)
    check.number("expt", exponent)
    if type(base) is int and type(exponent) is int:
        return _int_power(m, base, exponent)
    return _float_power(_to_float("expt", base), _to_float("expt", exponent))


def _int_power(m: Any, base: int, exponent: int) -> Number:
    if exponent < 0 and base == 0:
        raise _zero_division("expt")
    magnitude = abs(base)
    if magnitude > 1:
        bits = int(abs(exponent) * math.log2(magnitude)) + 1  # size of |base|**|exponent|
        if bits > m.max_integer_bits:
            if exponent > 0:
                m.check_integer_bits(bits, "expt")
            # 1 / (a number past the integer budget) is zero in a decimal; keep the sign.
            return -0.0 if base < 0 and exponent % 2 == 1 else 0.0
    if exponent >= 0:
        return base**exponent
    return 1 / base ** (-exponent)  # int/int true division: correctly rounded


def _float_power(base: float, exponent: float) -> float:
    if base == 0 and exponent < 0:
        raise _zero_division("expt")
    if base < 0 and math.isfinite(exponent) and not exponent.is_integer():
        raise EvalError(
            f"expt: a negative base to a fractional power has no real result "
            f"(got {write_string(base)} and {write_string(exponent)})"
        )
    try:
        return math.pow(base, exponent)
    except OverflowError:
        odd = exponent.is_integer() and int(exponent) % 2 == 1
        return -math.inf if base < 0 and odd else math.inf


@primitive("sqrt", 1)
def sqrt(x: Any) -> Number:
    """Exact for a perfect square integer, a decimal otherwise; negative numbers are an error."""
    check.number("sqrt", x)
    if x < 0:
        raise check.type_error("sqrt", "a non-negative number", x)
    if type(x) is int:
        root = math.isqrt(x)
        if root * root == x:
            return root
        try:
            return math.sqrt(x)
        except OverflowError:
            return _to_float("sqrt", root)  # x has hundreds of digits: the fraction is negligible
    return math.sqrt(x)


def _rounding(who: str, x: Any, op: Callable[[float], int]) -> int:
    """``floor``/``ceiling``/``round`` give exact integers; integers come back unchanged."""
    check.number(who, x)
    if type(x) is int:
        return x
    if not math.isfinite(x):
        raise check.type_error(who, "a finite number", x)
    return op(x)


@primitive("floor", 1)
def floor(x: Any) -> int:
    return _rounding("floor", x, math.floor)


@primitive("ceiling", 1)
def ceiling(x: Any) -> int:
    return _rounding("ceiling", x, math.ceil)


@primitive("round", 1)
def round_(x: Any) -> int:
    """Half to even, as in Scheme: ``(round 2.5)`` is 2."""
    return _rounding("round", x, round)


@primitive("even?", 1)
def is_even(x: Any) -> bool:
    if type(x) is int:  # the common case first: ``(filter even? xs)`` calls this per element
        return x & 1 == 0
    return check.integer("even?", x) % 2 == 0


@primitive("odd?", 1)
def is_odd(x: Any) -> bool:
    if type(x) is int:
        return x & 1 == 1
    return check.integer("odd?", x) % 2 == 1


@primitive("zero?", 1)
def is_zero(x: Any) -> bool:
    return check.number("zero?", x) == 0


def _chain(who: str, args: tuple[Any, ...], test: Callable[[Any, Any], bool]) -> bool:
    """Chained comparison: ``(< a b c)`` is ``a < b`` and ``b < c``. Python compares int and
    float exactly (no conversion), so huge integers compare correctly with decimals."""
    _numbers(who, args)
    return all(test(args[i], args[i + 1]) for i in range(len(args) - 1))


@primitive("=", 1, None)
def num_eq(*args: Any) -> bool:
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:
            return a == b
    return _chain("=", args, operator.eq)


@primitive("<", 1, None)
def num_lt(*args: Any) -> bool:
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:
            return a < b
    return _chain("<", args, operator.lt)


@primitive(">", 1, None)
def num_gt(*args: Any) -> bool:
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:
            return a > b
    return _chain(">", args, operator.gt)


@primitive("<=", 1, None)
def num_le(*args: Any) -> bool:
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:
            return a <= b
    return _chain("<=", args, operator.le)


@primitive(">=", 1, None)
def num_ge(*args: Any) -> bool:
    if len(args) == 2:
        a, b = args
        if type(a) is int and type(b) is int:
            return a >= b
    return _chain(">=", args, operator.ge)
