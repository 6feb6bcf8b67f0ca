"""What one of a session's values holds in memory, estimated from the object alone (O(1)).

The per-session memory budget (``budgets.py``) counts what a session keeps between commands as
the sum of these estimates over the objects its checkpoint encoder has addressed: the encoder
already meets every pair, string, frame, environment and table once (its captures cost what
changed), so the count costs one ``sys.getsizeof`` per new object and never a walk of the heap.
An object's own size is what ``getsizeof`` says; the atoms a pair or an environment holds inline
(numbers, short strings: written inside the holder's record, never addressed themselves) are
added to their holder, so a list of a million 200-character strings is counted as such.
"""

from __future__ import annotations

import sys
from typing import Any

from omega_core.lang.values import HashTable, Pair

_getsizeof = sys.getsizeof
_INLINE_ATOMS = (str, int, float)
_PAIR_BYTES = _getsizeof(Pair(None, None))
_SMALL_INT_BYTES = _getsizeof(1)
_SMALL_INT = 1 << 30
"""Integers below this in size take ``_SMALL_INT_BYTES`` (one 30-bit digit)."""


def held_bytes(obj: Any) -> int:
    """Bytes ``obj`` holds: itself, plus the atoms stored in it that have no address of their own.
    Pairs come first and are sized without a call (a capture sizes millions of them)."""
    kind = type(obj)
    if kind is Pair:
        car = obj.car
        car_kind = type(car)
        if car_kind is int:
            return _PAIR_BYTES + (_SMALL_INT_BYTES if -_SMALL_INT < car < _SMALL_INT else _getsizeof(car))
        if car_kind is str or car_kind is float:
            return _PAIR_BYTES + _getsizeof(car)
        return _PAIR_BYTES
    if kind is list:  # an environment's slots
        return _getsizeof(obj) + sum(_getsizeof(item) for item in obj if type(item) in _INLINE_ATOMS)
    if kind is HashTable:
        return _getsizeof(obj) + _getsizeof(obj.table) + _getsizeof(obj.keys) + sum(
            _getsizeof(value) for value in obj.table.values() if type(value) in _INLINE_ATOMS)
    return _getsizeof(obj)
