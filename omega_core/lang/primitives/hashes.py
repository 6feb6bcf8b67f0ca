"""Mutable hash tables keyed by ``equal?``.

``HashTable.table`` maps ``equality.hash_key(key)`` (equal keys give equal hash keys) to the value,
and ``HashTable.keys`` maps the same hash key to the first key value stored under it, so
``hash-keys`` returns real Omega values in insertion order.
"""

from __future__ import annotations

from typing import Any

from omega_core.errors import EvalError
from omega_core.lang.budgets import list_bytes
from omega_core.lang.equality import hash_key
from omega_core.lang.primitives import _checks as check
from omega_core.lang.primitives._registry import primitive
from omega_core.lang.printer import short_string
from omega_core.lang.slice_work import keep_built
from omega_core.lang.values import UNSPECIFIED, HashTable, make_list

_MISSING = object()


def table_of(who: str, value: Any) -> HashTable:
    if type(value) is HashTable:
        return value
    raise check.type_error(who, "a hash table", value)


_table = table_of


def set_entry(h: HashTable, k: Any, key: Any, value: Any) -> None:
    """Store ``value`` under hash key ``k`` (``key`` is kept as the entry's key value if new)."""
    h.table[k] = value
    h.keys.setdefault(k, key)


@primitive("make-hash", 0)
def make_hash() -> HashTable:
    return HashTable()


@primitive("hash-ref", 2, 3)
def hash_ref(table: Any, key: Any, default: Any = _MISSING) -> Any:
    """``(hash-ref h key [default])``: a missing key without a default is an error naming it.

    The default is a plain value, returned as is (it is not called even if it is a procedure).
    """
    found = _table("hash-ref", table).table.get(hash_key(key), _MISSING)
    if found is not _MISSING:
        return found
    if default is not _MISSING:
        return default
    raise EvalError(f"hash-ref: no value for key {short_string(key)}")


@primitive("hash-set!", 3)
def hash_set(table: Any, key: Any, value: Any) -> Any:
    set_entry(_table("hash-set!", table), hash_key(key), key, value)
    return UNSPECIFIED


@primitive("hash-keys", 1, needs_machine=True)
def hash_keys(m: Any, table: Any) -> Any:
    """The keys in insertion order (re-setting a key keeps its place); the list's size is checked
    against the memory budget before it is built."""
    keys = _table("hash-keys", table).keys
    m.reserve(list_bytes(len(keys)), "hash-keys")
    result = make_list(keys.values())
    keep_built(m, result, len(keys))
    return result


@primitive("hash-count", 1)
def hash_count(table: Any) -> int:
    return len(_table("hash-count", table).table)
