"""When two Omega values are the same: ``eqv?`` and ``equal?``, and the hash-table keys that make
equal values land on one entry (``hash_key``). Split from ``values`` (what the values are) so each
reads alone; both walks are iterative and take turns on long lists (``turns``).
"""

from __future__ import annotations

from typing import Any

from omega_core.lang.turns import TURN_EVERY, take_turn
from omega_core.lang.values import Closure, HashTable, Pair


class _PairMark:
    """Marks a pair in a flattened hash key; equal only to itself, so no atom's key can pose as it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PAIR"

    def __reduce__(self) -> str:
        return "_PAIR_MARK"


_PAIR_MARK = _PairMark()


def hash_key(value: Any) -> Any:
    """A Python dict key that makes two Omega values equal exactly when ``equal?`` says so.

    A pair's key is one flat tuple: the pre-order walk of its tree, ``_PAIR_MARK`` for each pair
    and an atom's key for each leaf (a binary tree's pre-order with marked inner nodes reads back
    one way only, so equal keys mean equal trees). Flat, because Python hashes and compares nested
    tuples recursively: a key nested 100,000 deep would be stored by ``hash-set!`` and then fail
    in ``hash-ref``. Built with an explicit stack for the same reason.
    """
    kind = type(value)
    if kind is not Pair:
        return _atom_key(value, kind)
    tokens: list[Any] = []
    append = tokens.append
    pending: list[Any] = [value]
    pop = pending.pop
    push = pending.append
    while pending:
        item = pop()
        while type(item) is Pair:  # walk down the cdr chain here; only a pair in a car is pushed
            append(_PAIR_MARK)
            car = item.car
            push(item.cdr)
            item = car
        append(_atom_key(item, type(item)))
    return tuple(tokens)


def _atom_key(value: Any, kind: type) -> Any:
    """The key of a value that is not a pair (numbers keep their type: 1 and 1.0 differ)."""
    if kind is str:
        return value
    if kind is bool:
        return ("#bool", value)
    if kind is int:
        return ("#int", value)
    if kind is float:
        return ("#float", value)
    return ("#id", id(value), value) if kind in (HashTable, Closure) else value


def is_eqv(a: Any, b: Any) -> bool:
    """Identity, except that numbers, booleans and strings compare by value and type."""
    if a is b:
        return True
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is int or ta is float or ta is str:
        return bool(a == b)
    return False


def is_equal(a: Any, b: Any) -> bool:
    """Structural equality (``equal?``), iterative so deep lists cannot overflow the stack. A list
    shared by both sides is equal without a walk (``(equal? big big)`` of millions of pairs was one
    step of seconds)."""
    pending = [(a, b)]
    left = TURN_EVERY
    while pending:
        x, y = pending.pop()
        left -= 1
        if not left:  # a long walk lets other sessions run (``turns``)
            take_turn()
            left = TURN_EVERY
        if type(x) is Pair and type(y) is Pair:
            if x is y:  # the same list: equal, whatever it holds (no need to walk it)
                continue
            pending.append((x.cdr, y.cdr))
            pending.append((x.car, y.car))
        elif not is_eqv(x, y):
            return False
    return True
