"""Argument checks shared by the primitives, and the one format of their error messages.

Every type error reads ``NAME: expected WHAT, got VALUE (TYPE)``, e.g.
``car: expected a pair, got null (empty list)``, with the value printed and cut to a short length,
so users see both what was wrong and what the primitive wanted.
"""

from __future__ import annotations

from typing import Any

from omega_core.errors import EvalError
from omega_core.lang.printer import short_string
from omega_core.lang.turns import TURN_EVERY, take_turn
from omega_core.lang.values import NIL, Pair, Symbol, count_pairs, type_name


def describe(value: Any) -> str:
    """``VALUE (TYPE)`` for messages.

    ``values.type_name`` calls every pair a pair; here a proper list is called a list and a chain
    of pairs ending in something else an improper list, which is what users think they passed.
    """
    kind = type_name(value)
    if type(value) is Pair:
        if is_proper_list(value):
            kind = "list"
        elif type(value.cdr) is Pair:
            kind = "improper list"
    return f"{short_string(value)} ({kind})"


def type_error(who: str, expected: str, value: Any) -> EvalError:
    """The error to raise when ``value`` is not what ``who`` expected."""
    return EvalError(f"{who}: expected {expected}, got {describe(value)}")


def is_proper_list(value: Any) -> bool:
    """True for ``NIL`` and chains of pairs ending in ``NIL`` (iterative: any length)."""
    return count_pairs(value)[1] is NIL


def number(who: str, value: Any) -> int | float:
    kind = type(value)
    if kind is int or kind is float:
        return value
    raise type_error(who, "a number", value)


def integer(who: str, value: Any) -> int:
    if type(value) is int:
        return value
    raise type_error(who, "an integer", value)


def index(who: str, value: Any) -> int:
    """A non-negative integer (list and string positions, counts)."""
    if type(value) is int and value >= 0:
        return value
    raise type_error(who, "a non-negative integer", value)


def string(who: str, value: Any) -> str:
    if type(value) is str:
        return value
    raise type_error(who, "a string", value)


def symbol(who: str, value: Any) -> Symbol:
    if type(value) is Symbol:
        return value
    raise type_error(who, "a symbol", value)


def pair(who: str, value: Any) -> Pair:
    if type(value) is Pair:
        return value
    raise type_error(who, "a pair", value)


def proper_list(who: str, value: Any) -> list[Any]:
    """The elements of a proper list as a Python list; anything else is a type error."""
    items: list[Any] = []
    append = items.append
    current = value
    while True:
        for _ in range(TURN_EVERY):
            if type(current) is not Pair:
                if current is not NIL:
                    raise type_error(who, "a proper list", value)
                return items
            append(current.car)
            current = current.cdr
        take_turn()
