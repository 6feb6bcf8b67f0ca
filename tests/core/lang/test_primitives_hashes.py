"""Hash tables: equal?-keyed lookups, defaults, insertion order and error messages."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.errors import EvalError
from omega_core.lang.machine import Machine
from omega_core.lang.primitives import all_primitives
from omega_core.lang.printer import write_string
from omega_core.lang.values import NIL, UNSPECIFIED, HashTable, Pair, list_to_python, make_list, sym

PRIMS = all_primitives()


def call(name: str, *args: Any) -> Any:
    prim = PRIMS[name]
    return prim.fn(Machine(), *args) if prim.needs_machine else prim.fn(*args)


def fails(name: str, *args: Any) -> str:
    with pytest.raises(EvalError) as info:
        call(name, *args)
    return info.value.message


def test_set_ref_count() -> None:
    h = call("make-hash")
    assert type(h) is HashTable and call("hash-count", h) == 0
    assert call("hash-set!", h, "a", 1) is UNSPECIFIED
    call("hash-set!", h, sym("b"), 2)
    assert call("hash-ref", h, "a") == 1
    assert call("hash-ref", h, sym("b")) == 2
    assert call("hash-count", h) == 2
    call("hash-set!", h, "a", 10)
    assert call("hash-ref", h, "a") == 10 and call("hash-count", h) == 2
    assert write_string(h) == "<hash-table 2>"


def test_keys_compare_by_equal() -> None:
    h = call("make-hash")
    call("hash-set!", h, make_list([1, 2]), "list")
    call("hash-set!", h, Pair("x", 3), "pair")
    assert call("hash-ref", h, make_list([1, 2])) == "list"
    assert call("hash-ref", h, Pair("x", 3)) == "pair"
    call("hash-set!", h, 1, "int")
    call("hash-set!", h, 1.0, "decimal")
    call("hash-set!", h, True, "true")
    assert call("hash-ref", h, 1) == "int"
    assert call("hash-ref", h, 1.0) == "decimal"  # 1 and 1.0 are not equal?
    assert call("hash-ref", h, True) == "true"  # #t is not 1
    call("hash-set!", h, "1", "string")
    call("hash-set!", h, sym("1"), "symbol")
    assert call("hash-ref", h, "1") == "string" and call("hash-ref", h, sym("1")) == "symbol"
    call("hash-set!", h, NIL, "empty")
    assert call("hash-ref", h, NIL) == "empty"


def test_tables_as_keys_compare_by_identity() -> None:
    h = call("make-hash")
    a, b = call("make-hash"), call("make-hash")
    call("hash-set!", h, a, "a")
    assert call("hash-ref", h, a) == "a"
    assert call("hash-ref", h, b, "missing") == "missing"


def test_default_and_missing_key() -> None:
    h = call("make-hash")
    assert call("hash-ref", h, "nope", 0) == 0
    assert call("hash-ref", h, "nope", False) is False
    assert call("hash-ref", h, "nope", NIL) is NIL
    assert fails("hash-ref", h, "nope") == 'hash-ref: no value for key "nope"'
    assert fails("hash-ref", h, make_list([1, sym("a")])) == "hash-ref: no value for key (1 a)"


def test_keys_in_insertion_order_with_original_values() -> None:
    h = call("make-hash")
    for key in ["z", sym("y"), make_list([1]), 3]:
        call("hash-set!", h, key, 0)
    call("hash-set!", h, "z", 5)  # re-setting keeps the key's place
    keys = call("hash-keys", h)
    assert write_string(keys) == '("z" y (1) 3)'
    assert list_to_python(keys)[1] is sym("y")
    assert call("hash-keys", call("make-hash")) is NIL


def test_many_keys() -> None:
    h = call("make-hash")
    for i in range(10_000):
        call("hash-set!", h, i, i * i)
    assert call("hash-count", h) == 10_000
    assert call("hash-ref", h, 9_999) == 9_999**2
    assert list_to_python(call("hash-keys", h))[:3] == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "args"),
    [("hash-ref", (NIL, "k")), ("hash-set!", (NIL, "k", 1)), ("hash-keys", (NIL,)),
     ("hash-count", (NIL,))],
)
def test_type_errors(name: str, args: tuple[Any, ...]) -> None:
    assert fails(name, *args) == f"{name}: expected a hash table, got null (empty list)"


def test_arity_metadata() -> None:
    expected = {"make-hash": (0, 0), "hash-ref": (2, 3), "hash-set!": (3, 3),
                "hash-keys": (1, 1), "hash-count": (1, 1)}
    for name, (low, high) in expected.items():
        assert (PRIMS[name].min_args, PRIMS[name].max_args) == (low, high)
