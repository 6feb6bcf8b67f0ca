"""String primitives and the number/string/symbol conversions (including ``numtext``)."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omega_core.errors import EvalError
from omega_core.lang.numtext import int_to_text, parse_number, text_to_int
from omega_core.lang.machine import Machine
from omega_core.lang.primitives import all_primitives
from omega_core.lang.printer import write_string
from omega_core.lang.values import NIL, Symbol, list_to_python, make_list, sym

PRIMS = all_primitives()


def call(name: str, *args: Any) -> Any:
    prim = PRIMS[name]
    return prim.fn(Machine(), *args) if prim.needs_machine else prim.fn(*args)


def fails(name: str, *args: Any) -> str:
    with pytest.raises(EvalError) as info:
        call(name, *args)
    return info.value.message


def test_append_length_case_trim() -> None:
    assert call("string-append") == ""
    assert call("string-append", "ab", "", "cd", "é") == "abcdé"
    assert call("string-length", "") == 0
    assert call("string-length", "héllo") == 5
    assert call("string-upcase", "Hello, World") == "HELLO, WORLD"
    assert call("string-downcase", "Hello, World") == "hello, world"
    assert call("string-trim", "  \n\tab c \n") == "ab c"
    assert call("string-trim", "") == ""


def test_substring() -> None:
    assert call("substring", "hello", 1, 3) == "el"
    assert call("substring", "hello", 2) == "llo"
    assert call("substring", "hello", 0, 5) == "hello"
    assert call("substring", "hello", 5) == ""
    assert call("substring", "hello", 2, 2) == ""
    assert fails("substring", "hello", 2, 9) == (
        "substring: indices 2 to 9 are out of range for a string of length 5 "
        "(need 0 <= start <= end <= length)"
    )
    assert fails("substring", "hello", 4, 2).startswith("substring: indices 4 to 2 are out of range")
    assert fails("substring", "hello", 6).startswith("substring: indices 6 to 5 are out of range")
    assert fails("substring", "hello", -1) == (
        "substring: expected a non-negative integer, got -1 (integer)"
    )
    assert fails("substring", sym("s"), 0) == "substring: expected a string, got s (symbol)"


def test_split_and_join() -> None:
    assert list_to_python(call("string-split", "a,b,,c", ",")) == ["a", "b", "", "c"]
    assert list_to_python(call("string-split", "a--b", "--")) == ["a", "b"]
    assert list_to_python(call("string-split", "abc", "")) == ["a", "b", "c"]
    assert list_to_python(call("string-split", "abc", "x")) == ["abc"]
    assert call("string-split", "", "") is NIL
    assert call("string-join", make_list(["a", "b", "c"]), ", ") == "a, b, c"
    assert call("string-join", NIL, ",") == ""
    assert call("string-join", make_list(["x"]), ",") == "x"
    assert fails("string-join", make_list(["a", 1]), ",") == (
        "string-join: expected a list of strings, but an element is 1 (integer)"
    )
    assert fails("string-join", "abc", ",") == (
        'string-join: expected a proper list, got "abc" (string)'
    )
    assert fails("string-split", "a b", 1) == "string-split: expected a string, got 1 (integer)"


def test_contains_and_replace_all() -> None:
    assert call("string-contains?", "hello world", "o w") is True
    assert call("string-contains?", "hello", "") is True
    assert call("string-contains?", "hello", "z") is False
    assert call("string-replace-all", "a-b-c", "-", "+") == "a+b+c"
    assert call("string-replace-all", "aaa", "aa", "b") == "ba"
    assert call("string-replace-all", "abc", "x", "y") == "abc"
    assert fails("string-replace-all", "abc", "", "y") == (
        'string-replace-all: expected a non-empty string to replace, got "" (string)'
    )
    assert fails("string-contains?", "abc", NIL) == (
        "string-contains?: expected a string, got null (empty list)"
    )


def test_string_comparisons_are_chained() -> None:
    assert call("string=?", "a") is True
    assert call("string=?", "a", "a", "a") is True
    assert call("string=?", "a", "a", "b") is False
    assert call("string<?", "a", "b", "c") is True
    assert call("string<?", "a", "c", "b") is False
    assert call("string<?", "a", "a") is False
    assert call("string<?", "Z", "a") is True
    assert fails("string=?", "a", sym("a")) == "string=?: expected a string, got a (symbol)"
    assert fails("string<?", "a", 1) == "string<?: expected a string, got 1 (integer)"


@pytest.mark.parametrize(
    ("number", "text"),
    [(3, "3"), (-7, "-7"), (2.5, "2.5"), (1 / 3, "0.3333333333333333"), (1000.0, "1000.0"),
     (math.inf, "+inf.0"), (10**30, "1" + "0" * 30)],
)
def test_number_to_string(number: Any, text: str) -> None:
    assert call("number->string", number) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-3", -3), ("42", 42), ("+5", 5), ("2.5", 2.5), ("1e3", 1000.0), ("-1.5E-2", -0.015),
     (".5", 0.5), ("5.", 5.0), ("+inf.0", math.inf), ("-inf.0", -math.inf), (" 3", 3),
     ("42\n", 42), ("\t-2.5 ", -2.5)],
)
def test_string_to_number(text: str, expected: Any) -> None:
    result = call("string->number", text)
    assert type(result) is type(expected) and result == expected


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "3 4", "1_000", "0x10", "inf", "nan", "1e", "e3", ".", "-", "1.2.3",
             "#t", "3/4", "١٢"],
)
def test_string_to_number_rejects(text: str) -> None:
    assert call("string->number", text) is False


def test_string_to_number_nan_and_errors() -> None:
    assert math.isnan(call("string->number", "+nan.0"))
    assert fails("string->number", 5) == "string->number: expected a string, got 5 (integer)"
    assert fails("number->string", "5") == 'number->string: expected a number, got "5" (string)'
    assert fails("number->string", True) == "number->string: expected a number, got #t (boolean)"


def test_huge_numbers_round_trip_through_strings() -> None:
    n = -(3**30000)
    text = call("number->string", n)
    assert call("string->number", text) == n
    assert call("string->number", "1" * 10000) == int_to_text_reference("1" * 10000)


def int_to_text_reference(digits: str) -> int:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return int(digits)
    finally:
        sys.set_int_max_str_digits(old)


@given(st.integers(min_value=-(10**12000), max_value=10**12000))
def test_numtext_integers_round_trip(n: int) -> None:
    assert text_to_int(int_to_text(n)) == n


@given(st.floats(allow_nan=False))
def test_decimals_round_trip(x: float) -> None:
    assert parse_number(write_string(x)) == x


def test_symbols() -> None:
    assert call("symbol->string", sym("abc")) == "abc"
    result = call("string->symbol", "hello world")
    assert type(result) is Symbol and result is sym("hello world")
    assert fails("symbol->string", "abc") == 'symbol->string: expected a symbol, got "abc" (string)'
    assert fails("string->symbol", sym("a")) == "string->symbol: expected a string, got a (symbol)"


@pytest.mark.parametrize(
    ("name", "args"),
    [("string-append", ("a", 1)), ("string-length", (1,)), ("string-upcase", (1,)),
     ("string-downcase", (1,)), ("string-trim", (1,)), ("string-split", (1, ","))],
)
def test_type_errors(name: str, args: tuple[Any, ...]) -> None:
    assert fails(name, *args) == f"{name}: expected a string, got 1 (integer)"


def test_arity_metadata() -> None:
    expected = {"substring": (2, 3), "string-append": (0, None), "string=?": (1, None),
                "string-replace-all": (3, 3), "string->number": (1, 1)}
    for name, (low, high) in expected.items():
        assert (PRIMS[name].min_args, PRIMS[name].max_args) == (low, high)
