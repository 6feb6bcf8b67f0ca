"""Pairs and lists.

Every walk is a loop, never recursion: lists a million elements long are ordinary data.
Errors about positions name the index and the list's length.
"""

from __future__ import annotations

from typing import Any

from omega_core.errors import EvalError
from omega_core.lang.budgets import list_bytes
from omega_core.lang.equality import is_equal
from omega_core.lang.primitives import _checks as check
from omega_core.lang.primitives._registry import primitive
from omega_core.lang.slice_work import keep_built
from omega_core.lang.turns import TURN_EVERY, take_turn
from omega_core.lang.values import NIL, Pair, count_pairs, make_list


@primitive("cons", 2)
def cons(a: Any, b: Any) -> Pair:
    return Pair(a, b)


@primitive("car", 1)
def car(p: Any) -> Any:
    return check.pair("car", p).car


@primitive("cdr", 1)
def cdr(p: Any) -> Any:
    return check.pair("cdr", p).cdr


def _path(who: str, value: Any, steps: str, expected: str) -> Any:
    """Follow ``steps`` (``a``/``d``, applied left to right) from ``value``; on a non-pair, say
    what the whole argument should have been rather than which intermediate cell failed."""
    current = value
    for step in steps:
        if type(current) is not Pair:
            raise check.type_error(who, expected, value)
        current = current.car if step == "a" else current.cdr
    return current


@primitive("cadr", 1)
def cadr(p: Any) -> Any:
    return _path("cadr", p, "da", "a list of at least 2 elements")


@primitive("caddr", 1)
def caddr(p: Any) -> Any:
    return _path("caddr", p, "dda", "a list of at least 3 elements")


@primitive("caar", 1)
def caar(p: Any) -> Any:
    return _path("caar", p, "aa", "a pair whose car is a pair")


@primitive("cddr", 1)
def cddr(p: Any) -> Any:
    return _path("cddr", p, "dd", "a pair whose cdr is a pair")


@primitive("list", 0, None)
def list_(*items: Any) -> Any:
    return make_list(items)


@primitive("length", 1)
def length(lst: Any) -> int:
    count, tail = count_pairs(lst)
    if tail is not NIL:
        raise check.type_error("length", "a proper list", lst)
    return count


# ``append`` and ``reverse`` are prelude procedures over the machine primitive ``%reverse-onto``
# (``Machine.op_reverse_onto``): copying a list of millions of pairs in one step would stall every
# other session of the backend for seconds, so the copy runs in chunks, each ending the slice.


def _drop(who: str, lst: Any, n: Any) -> Any:
    """The list after its first ``n`` pairs; a short list is an index error with its length."""
    count = check.index(who, n)
    current = lst
    left = TURN_EVERY
    for _ in range(count):
        if type(current) is not Pair:
            break
        current = current.cdr
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    else:
        return current
    if current is not NIL:
        raise check.type_error(who, "a proper list", lst)
    raise _out_of_range(who, count, lst)


def _out_of_range(who: str, index: int, lst: Any) -> EvalError:
    return EvalError(
        f"{who}: index {index} is out of range for a list of length {length(lst)}"
    )


@primitive("list-ref", 2)
def list_ref(lst: Any, n: Any) -> Any:
    """The element at 0-based index ``n``."""
    rest = _drop("list-ref", lst, n)
    if type(rest) is not Pair:
        if rest is not NIL:
            raise check.type_error("list-ref", "a proper list", lst)
        raise _out_of_range("list-ref", n, lst)
    return rest.car


@primitive("take", 2, needs_machine=True)
def take(m: Any, lst: Any, n: Any) -> Any:
    """A fresh list of the first ``n`` elements (its size checked against the memory budget
    before the pairs are built)."""
    count = check.index("take", n)
    items: list[Any] = []
    current = lst
    left = TURN_EVERY
    while len(items) < count and type(current) is Pair:
        items.append(current.car)
        current = current.cdr
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    if len(items) < count:
        if current is not NIL:
            raise check.type_error("take", "a proper list", lst)
        raise _out_of_range("take", count, lst)
    m.reserve(list_bytes(count), "take")
    result = make_list(items)
    keep_built(m, result, count)
    return result


@primitive("drop", 2)
def drop(lst: Any, n: Any) -> Any:
    """The list without its first ``n`` elements (shared, not copied)."""
    return _drop("drop", lst, n)


@primitive("last", 1)
def last(lst: Any) -> Any:
    """The last element of a non-empty proper list."""
    if type(lst) is not Pair:
        expected = "a non-empty list" if lst is NIL else "a proper list"
        raise check.type_error("last", expected, lst)
    current = lst
    left = TURN_EVERY
    while type(current.cdr) is Pair:
        current = current.cdr
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    if current.cdr is not NIL:
        raise check.type_error("last", "a proper list", lst)
    return current.car


@primitive("null?", 1)
def is_null(value: Any) -> bool:
    return value is NIL


@primitive("pair?", 1)
def is_pair(value: Any) -> bool:
    return type(value) is Pair


@primitive("list?", 1)
def is_list(value: Any) -> bool:
    """True only for proper lists (the empty list included)."""
    return check.is_proper_list(value)


@primitive("member", 2)
def member(item: Any, lst: Any) -> Any:
    """The first tail whose car is ``equal?`` to ``item``, or ``#f``."""
    current = lst
    left = TURN_EVERY
    while type(current) is Pair:
        if is_equal(item, current.car):
            return current
        current = current.cdr
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    if current is not NIL:
        raise check.type_error("member", "a proper list", lst)
    return False


@primitive("assoc", 2)
def assoc(key: Any, alist: Any) -> Any:
    """The first pair of ``alist`` whose car is ``equal?`` to ``key``, or ``#f``."""
    current = alist
    left = TURN_EVERY
    while type(current) is Pair:
        entry = current.car
        if type(entry) is not Pair:
            raise EvalError(
                f"assoc: expected a list of pairs, but an element is {check.describe(entry)}"
            )
        if is_equal(key, entry.car):
            return entry
        current = current.cdr
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    if current is not NIL:
        raise check.type_error("assoc", "a proper list", alist)
    return False
