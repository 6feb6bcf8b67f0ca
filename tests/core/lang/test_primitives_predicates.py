"""Equality and type predicates, and the registry as a whole."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from omega_core.lang.machine import Machine
from omega_core.lang.primitives import all_primitives
from omega_core.lang.values import (
    NIL,
    UNSPECIFIED,
    Closure,
    Continuation,
    HashTable,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    Promise,
    make_list,
    sym,
)

PRIMS = all_primitives()


def call(name: str, *args: Any) -> Any:
    prim = PRIMS[name]
    return prim.fn(Machine(), *args) if prim.needs_machine else prim.fn(*args)


def test_equal_is_structural() -> None:
    assert call("equal?", make_list([1, make_list(["a", sym("b")])]),
                make_list([1, make_list(["a", sym("b")])])) is True
    assert call("equal?", make_list([1, 2]), make_list([1, 3])) is False
    assert call("equal?", make_list([1, 2]), make_list([1, 2, 3])) is False
    assert call("equal?", Pair(1, 2), Pair(1, 2)) is True
    assert call("equal?", "ab", "ab") is True
    assert call("equal?", 1, 1.0) is False
    assert call("equal?", 1, True) is False
    assert call("equal?", NIL, NIL) is True
    assert call("equal?", NIL, UNSPECIFIED) is False


def test_equal_on_deep_and_long_lists() -> None:
    a: Any = NIL
    b: Any = NIL
    for i in range(100_000):
        a = Pair(a, make_list([i]))
        b = Pair(b, make_list([i]))
    assert call("equal?", a, b) is True
    assert call("equal?", make_list(range(1_000_000)), make_list(range(1_000_000))) is True


def test_equal_does_not_walk_a_list_shared_by_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    """``(equal? big big)`` of millions of pairs was one step of seconds; the shared tail is equal
    whatever it holds, so no atom of it is compared."""
    from omega_core.lang import equality

    compared: list[Any] = []
    real_eqv = equality.is_eqv
    monkeypatch.setattr(equality, "is_eqv", lambda a, b: compared.append(a) or real_eqv(a, b))
    shared = make_list(range(1_000))
    assert call("equal?", Pair("head", shared), Pair("head", shared)) is True
    assert compared == ["head"]
    cycle = Pair(1, NIL)
    cycle.cdr = cycle
    assert call("equal?", cycle, cycle) is True


@pytest.mark.parametrize("name", ["eq?", "eqv?"])
def test_eq_and_eqv(name: str) -> None:
    assert call(name, sym("a"), sym("a")) is True
    assert call(name, 5, 5) is True
    assert call(name, 10**30, 10**30) is True
    assert call(name, 2.5, 2.5) is True
    assert call(name, 1, 1.0) is False
    assert call(name, True, True) is True
    assert call(name, True, 1) is False
    assert call(name, NIL, NIL) is True
    assert call(name, "ab", "ab") is True
    assert call(name, make_list([1]), make_list([1])) is False
    lst = make_list([1])
    assert call(name, lst, lst) is True
    h = HashTable()
    assert call(name, h, h) is True and call(name, h, HashTable()) is False


def test_not_only_false_is_false() -> None:
    assert call("not", False) is True
    for value in [True, 0, "", NIL, UNSPECIFIED, sym("f")]:
        assert call("not", value) is False


def test_type_predicates() -> None:
    assert [call("number?", v) for v in [1, 2.5, 10**40, True, "1", NIL]] == [
        True, True, True, False, False, False]
    assert [call("string?", v) for v in ["", "a", sym("a"), 1]] == [True, True, False, False]
    assert [call("symbol?", v) for v in [sym("a"), "a", NIL, True]] == [True, False, False, False]
    assert [call("boolean?", v) for v in [True, False, 0, 1, NIL]] == [
        True, True, False, False, False]


def test_procedure_predicate() -> None:
    procedures = [
        Closure(SimpleNamespace(params=(), rest=None), None),
        Closure(SimpleNamespace(params=(), rest=None), None, "map"),
        Primitive("car", lambda p: p, 1, 1),
        MachinePrimitive("apply", "apply", 2, None),
        Continuation(()),
        OracleProc(None, None),
        PRIMS["car"],
    ]
    for value in procedures:
        assert call("procedure?", value) is True
    for value in [1, "f", sym("car"), NIL, Promise(), HashTable(), make_list([1])]:
        assert call("procedure?", value) is False


def test_registry_contents() -> None:
    names = set(PRIMS)
    expected = set(
        "+ - * / modulo remainder quotient abs min max expt sqrt floor ceiling round even? odd? "
        "zero? = < > <= >= cons car cdr cadr caddr caar cddr list length list-ref "
        "null? pair? list? member assoc take drop last equal? eq? eqv? not number? string? "
        "symbol? boolean? procedure? string-append string-length substring string-upcase "
        "string-downcase string-trim string-split string-join string-contains? "
        "string-replace-all string=? string<? number->string string->number symbol->string "
        "string->symbol make-hash hash-ref hash-set! hash-keys hash-count".split()
    )
    assert names == expected  # append and reverse are prelude procedures copying in chunks
    # the primitives that can build something big see the machine, to check its budgets first
    budgeted = {"*", "expt", "string-append", "string-split", "string-join", "string-replace-all",
                "string->number", "take", "hash-keys"}
    for name, prim in PRIMS.items():
        assert isinstance(prim, Primitive) and prim.name == name and prim.needs_machine == (name in budgeted)
    assert all_primitives() is not all_primitives()  # callers get their own dict
