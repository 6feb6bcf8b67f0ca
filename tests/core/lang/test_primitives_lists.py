"""List primitives: results, sharing, improper lists, index errors and million-element lists."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.errors import EvalError
from omega_core.lang.builtins import fresh_globals
from omega_core.lang.machine import Machine, Status
from omega_core.lang.primitives import all_primitives
from omega_core.lang.printer import write_string
from omega_core.lang.values import NIL, Pair, list_to_python, make_list, sym

PRIMS = all_primitives()


def call(name: str, *args: Any) -> Any:
    if name not in PRIMS:  # a prelude procedure (append, reverse: chunked): run it on a machine
        return run_procedure(name, *args)
    prim = PRIMS[name]
    return prim.fn(Machine(), *args) if prim.needs_machine else prim.fn(*args)


def run_procedure(name: str, *args: Any) -> Any:
    machine = Machine(fresh_globals())
    machine.start(None)
    machine.apply(machine.globals[name], list(args))
    while machine.run(10_000) is Status.RUNNING:
        pass
    if machine.status is Status.ERROR:
        raise machine.error
    return machine.value


def show(name: str, *args: Any) -> str:
    return write_string(call(name, *args))


def fails(name: str, *args: Any) -> str:
    with pytest.raises(EvalError) as info:
        call(name, *args)
    return info.value.message


L = make_list


def test_cons_car_cdr() -> None:
    pair = call("cons", 1, 2)
    assert type(pair) is Pair and write_string(pair) == "(1 . 2)"
    assert call("car", pair) == 1 and call("cdr", pair) == 2
    assert show("cons", 1, L([2, 3])) == "(1 2 3)"
    assert call("cdr", L([1])) is NIL


def test_composed_accessors() -> None:
    lst = L([L([1, 2]), 3, 4])
    assert show("cadr", lst) == "3"
    assert show("caddr", lst) == "4"
    assert show("caar", lst) == "1"
    assert show("cddr", lst) == "(4)"


@pytest.mark.parametrize(
    ("name", "arg", "message"),
    [
        ("car", NIL, "car: expected a pair, got null (empty list)"),
        ("cdr", NIL, "cdr: expected a pair, got null (empty list)"),
        ("car", 5, "car: expected a pair, got 5 (integer)"),
        ("cdr", "ab", 'cdr: expected a pair, got "ab" (string)'),
        ("cadr", L([1]), "cadr: expected a list of at least 2 elements, got (1) (list)"),
        ("caddr", L([1, 2]), "caddr: expected a list of at least 3 elements, got (1 2) (list)"),
        ("caar", L([1, 2]), "caar: expected a pair whose car is a pair, got (1 2) (list)"),
        ("cddr", NIL, "cddr: expected a pair whose cdr is a pair, got null (empty list)"),
        ("length", Pair(1, 2), "length: expected a proper list, got (1 . 2) (pair)"),
        ("length", 7, "length: expected a proper list, got 7 (integer)"),
        ("length", L([1, 2], 3), "length: expected a proper list, got (1 2 . 3) (improper list)"),
        ("reverse", "abc", 'reverse: expected a proper list, got "abc" (string)'),
        ("last", NIL, "last: expected a non-empty list, got null (empty list)"),
        ("last", L([1], 2), "last: expected a proper list, got (1 . 2) (pair)"),
        ("last", 3, "last: expected a proper list, got 3 (integer)"),
    ],
)
def test_one_argument_errors(name: str, arg: Any, message: str) -> None:
    assert fails(name, arg) == message


def test_list_and_length() -> None:
    assert call("list") is NIL
    assert show("list", 1, "a", sym("b"), L([2])) == '(1 "a" b (2))'
    assert call("length", NIL) == 0
    assert call("length", L([1, 2, 3])) == 3


def test_append() -> None:
    assert call("append") is NIL
    assert show("append", L([1, 2]), L([3]), NIL, L([4, 5])) == "(1 2 3 4 5)"
    assert show("append", L([1]), 2) == "(1 . 2)"
    assert call("append", 5) == 5
    tail = L([3, 4])
    result = call("append", L([1, 2]), tail)
    assert result.cdr.cdr is tail  # the last argument is shared, not copied
    first = L([1, 2])
    assert call("append", first, NIL) is not first  # earlier arguments are copied
    assert fails("append", Pair(1, 2), NIL) == (
        "append: expected a proper list, got (1 . 2) (pair)"
    )
    assert fails("append", 1, NIL) == "append: expected a proper list, got 1 (integer)"


def test_reverse_and_last() -> None:
    assert show("reverse", L([1, 2, 3])) == "(3 2 1)"
    assert call("reverse", NIL) is NIL
    assert call("last", L([1, 2, 3])) == 3
    assert call("last", L([1])) == 1


def test_list_ref() -> None:
    lst = L(["a", "b", "c"])
    assert call("list-ref", lst, 0) == "a"
    assert call("list-ref", lst, 2) == "c"
    assert fails("list-ref", lst, 3) == "list-ref: index 3 is out of range for a list of length 3"
    assert fails("list-ref", NIL, 0) == "list-ref: index 0 is out of range for a list of length 0"
    assert fails("list-ref", lst, -1) == (
        "list-ref: expected a non-negative integer, got -1 (integer)"
    )
    assert fails("list-ref", lst, 1.0) == (
        "list-ref: expected a non-negative integer, got 1.0 (decimal)"
    )
    assert fails("list-ref", Pair(1, 2), 1) == (
        "list-ref: expected a proper list, got (1 . 2) (pair)"
    )


def test_take_and_drop() -> None:
    lst = L([1, 2, 3, 4])
    assert show("take", lst, 2) == "(1 2)"
    assert call("take", lst, 0) is NIL
    assert show("take", lst, 4) == "(1 2 3 4)"
    assert show("drop", lst, 1) == "(2 3 4)"
    assert call("drop", lst, 4) is NIL
    assert call("drop", lst, 0) is lst
    assert call("drop", lst, 2) is lst.cdr.cdr  # shared tail
    assert fails("take", lst, 5) == "take: index 5 is out of range for a list of length 4"
    assert fails("drop", lst, 9) == "drop: index 9 is out of range for a list of length 4"
    assert fails("take", lst, "2") == 'take: expected a non-negative integer, got "2" (string)'
    assert fails("drop", 7, 1) == "drop: expected a proper list, got 7 (integer)"


def test_type_predicates() -> None:
    assert call("null?", NIL) is True
    assert call("null?", L([1])) is False
    assert call("null?", False) is False
    assert call("pair?", Pair(1, 2)) is True
    assert call("pair?", NIL) is False
    assert call("list?", NIL) is True
    assert call("list?", L([1, 2])) is True
    assert call("list?", L([1], 2)) is False
    assert call("list?", "abc") is False


def test_member_and_assoc_use_equal() -> None:
    lst = L([1, L([2, 3]), "x", 4])
    assert show("member", L([2, 3]), lst) == '((2 3) "x" 4)'
    assert show("member", "x", lst) == '("x" 4)'
    assert call("member", 9, lst) is False
    assert call("member", 1.0, lst) is False  # 1.0 is not equal? to 1
    alist = L([Pair(sym("a"), 1), Pair("b", 2), Pair(L([1]), 3)])
    assert show("assoc", "b", alist) == '("b" . 2)'
    assert show("assoc", L([1]), alist) == "((1) . 3)"
    assert call("assoc", sym("z"), alist) is False
    assert call("assoc", 1, NIL) is False
    assert fails("member", 1, Pair(2, 3)) == (
        "member: expected a proper list, got (2 . 3) (pair)"
    )
    assert fails("assoc", 1, L([Pair(2, 3), 4])) == (
        "assoc: expected a list of pairs, but an element is 4 (integer)"
    )


def test_million_element_lists() -> None:
    n = 1_000_000
    lst = L(range(n))
    assert call("length", lst) == n
    assert call("list?", lst) is True
    assert call("last", lst) == n - 1
    assert call("list-ref", lst, n - 1) == n - 1
    assert call("car", call("reverse", lst)) == n - 1
    assert call("length", call("append", lst, lst)) == 2 * n
    assert call("car", call("drop", lst, n - 1)) == n - 1
    assert call("length", call("take", lst, n)) == n
    assert call("car", call("member", n - 1, lst)) == n - 1
    assert call("member", -1, lst) is False
    deep = L([Pair(i, i) for i in range(n)])
    assert call("cdr", call("assoc", n - 1, deep)) == n - 1
    message = fails("list-ref", lst, n)
    assert message == f"list-ref: index {n} is out of range for a list of length {n}"
    assert list_to_python(call("take", lst, 3)) == [0, 1, 2]


def test_arity_metadata() -> None:
    expected = {
        "cons": (2, 2), "car": (1, 1), "list": (0, None),
        "list-ref": (2, 2), "take": (2, 2), "member": (2, 2), "null?": (1, 1),
    }
    for name, (low, high) in expected.items():
        assert (PRIMS[name].min_args, PRIMS[name].max_args) == (low, high)
